"""ESPnet's Conformer encoder with USM's block layout as defaults.

USM (arXiv 2303.01037, Sec. 3) uses Conformer blocks with macaron feed-forward
modules, relative-position self-attention and a convolution module of kernel 5,
after a 4x convolutional subsampling of 128-dim log-mel features. This class
only changes ESPnet's defaults to those values so that a yaml can say
``encoder: usm_conformer`` and get USM's block without spelling every option;
the chunk-wise attention encoder lives in its own module.
"""

from espnet2.asr.encoder.conformer_encoder import ConformerEncoder


class USMConformerEncoder(ConformerEncoder):
    """Conformer encoder with USM defaults (macaron FFN, rel-pos MHSA, kernel 5).

    Args:
        input_size: Input feature dimension.
        output_size: Model dimension d.
        attention_heads: Number of attention heads.
        linear_units: Feed-forward hidden size (USM: 4 d).
        num_blocks: Number of Conformer blocks.
        cnn_module_kernel: Depthwise convolution kernel size (USM: 5).
        **kwargs: Any other ``ConformerEncoder`` argument.
    """

    def __init__(
        self,
        input_size: int,
        output_size: int = 256,
        attention_heads: int = 4,
        linear_units: int = 1024,
        num_blocks: int = 12,
        cnn_module_kernel: int = 5,
        **kwargs,
    ):
        kwargs.setdefault("macaron_style", True)
        kwargs.setdefault("pos_enc_layer_type", "rel_pos")
        kwargs.setdefault("selfattention_layer_type", "rel_selfattn")
        kwargs.setdefault("rel_pos_type", "latest")
        kwargs.setdefault("activation_type", "swish")
        kwargs.setdefault("use_cnn_module", True)
        kwargs.setdefault("input_layer", "conv2d")
        kwargs.setdefault("normalize_before", True)
        super().__init__(
            input_size=input_size,
            output_size=output_size,
            attention_heads=attention_heads,
            linear_units=linear_units,
            num_blocks=num_blocks,
            cnn_module_kernel=cnn_module_kernel,
            **kwargs,
        )
