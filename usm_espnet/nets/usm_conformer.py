"""ESPnet's Conformer encoder with USM's block layout as defaults.

USM (arXiv 2303.01037, Sec. 3) uses Conformer blocks with macaron feed-forward
modules, relative-position self-attention and a convolution module of kernel 5,
after a 4x convolutional subsampling of 128-dim log-mel features. This class
only changes ESPnet's defaults to those values so that a yaml can say
``encoder: usm_conformer`` and get USM's block without spelling every option;
the chunk-wise attention encoder lives in its own module.

``subsampling_channels`` narrows the two convolutions of the 4x subsampling. ESPnet's
``Conv2dSubsampling`` gives them ``output_size`` channels; its second convolution then
costs ``9 * d^2`` multiply-adds per (time, frequency) position at a quarter of the frame
rate, which for a small model outweighs all its Conformer blocks (measured for the demo's
d=144, 4 blocks, 31 s batch, one CPU thread: the subsampling took 61 % of the encoder's
forward + backward time; with 32 channels the whole step took 0.49x as long). Wide
models keep the default (``None``: ``output_size`` channels, ESPnet's layer unchanged).
"""

from typing import Optional

import torch
from espnet2.asr.encoder.conformer_encoder import ConformerEncoder
from espnet2.legacy.nets.pytorch_backend.transformer.subsampling import Conv2dSubsampling


class NarrowConv2dSubsampling(Conv2dSubsampling):
    """ESPnet's 4x ``Conv2dSubsampling`` with ``channels`` convolution channels.

    A subclass, so that ESPnet's encoder passes it the padding mask and subsamples the
    mask exactly as for its own layer (same kernels and strides; only the width differs).
    """

    def __init__(self, idim: int, odim: int, dropout_rate: float, pos_enc=None,
                 channels: int = 32):
        super().__init__(idim, odim, dropout_rate, pos_enc)
        self.conv = torch.nn.Sequential(
            torch.nn.Conv2d(1, channels, 3, 2),
            torch.nn.ReLU(inplace=True),
            torch.nn.Conv2d(channels, channels, 3, 2),
            torch.nn.ReLU(inplace=True),
        )
        self.out = torch.nn.Linear(channels * (((idim - 1) // 2 - 1) // 2), odim)


class USMConformerEncoder(ConformerEncoder):
    """Conformer encoder with USM defaults (macaron FFN, rel-pos MHSA, kernel 5).

    Args:
        input_size: Input feature dimension.
        output_size: Model dimension d.
        attention_heads: Number of attention heads.
        linear_units: Feed-forward hidden size (USM: 4 d).
        num_blocks: Number of Conformer blocks.
        cnn_module_kernel: Depthwise convolution kernel size (USM: 5).
        subsampling_channels: Channels of the two subsampling convolutions (``None``:
            ``output_size``, ESPnet's layer); only with ``input_layer: conv2d``.
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
        subsampling_channels: Optional[int] = None,
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
        if subsampling_channels is not None:
            if kwargs["input_layer"] != "conv2d":
                raise ValueError(f"subsampling_channels needs input_layer: conv2d, got "
                                 f"input_layer: {kwargs['input_layer']}")
            if not isinstance(subsampling_channels, int) or subsampling_channels < 1:
                raise ValueError(f"subsampling_channels must be a positive integer, got "
                                 f"{subsampling_channels!r}")
            self.embed = NarrowConv2dSubsampling(input_size, output_size,
                                                 kwargs.get("dropout_rate", 0.1),
                                                 self.embed.pos_enc, subsampling_channels)
