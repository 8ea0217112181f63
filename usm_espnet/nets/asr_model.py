"""ESPnet's ASR model with what USM fine-tuning adds: ``model: usm`` in a training yaml.

Three things differ from ``model: espnet`` (``ESPnetASRModel``), everything else
(CTC, attention decoder, hybrid loss, decoding through ``Speech2Text``) is ESPnet's:

* **RNN-T without warp-transducer.** With ``decoder: transducer`` ESPnet imports
  ``warprnnt_pytorch``, which is not on PyPI; here the transducer loss is
  :class:`usm_espnet.nets.rnnt_loss.TransducerLoss` (torchaudio's ``rnnt_loss``).
* **Per-language residual adapters** (``adapter_language: sw_ke``): two adapters
  per Conformer block (:mod:`usm_espnet.nets.adapters`), stored in the
  checkpoint under ``adapters.bank.<lang>``; ``python -m
  usm_espnet.bin.extract_adapters`` writes them to ``<lang>.pth``.
* **A frozen encoder** (``freeze_encoder: true``): no encoder weight gets a
  gradient and its BatchNorm statistics stay as loaded (BatchNorm layers run in
  eval mode), so the encoder is exactly the one it started from; the adapters
  and the decoder / CTC head still train.

    model: usm
    model_conf:
        ctc_weight: 1.0
        adapter_language: sw_ke     # adapters for this language, ~2 % of the encoder
        freeze_encoder: true
"""

from __future__ import annotations

import logging
from typing import Optional

import torch
from espnet2.asr.espnet_model import ESPnetASRModel
from espnet2.asr.transducer.error_calculator import ErrorCalculatorTransducer

from usm_espnet.nets.adapters import Adapters
from usm_espnet.nets.rnnt_loss import TransducerLoss

logger = logging.getLogger(__name__)


class USMASRModel(ESPnetASRModel):
    """``ESPnetASRModel`` + torchaudio RNN-T loss + per-language adapters + encoder freezing.

    Args:
        adapter_language: Attach adapters to the encoder and train this language's.
        adapter_fraction: Adapter size as a fraction of the encoder's parameters.
        adapter_bottleneck: Explicit bottleneck width (overrides ``adapter_fraction``).
        freeze_encoder: Keep every encoder weight fixed (adapters excepted).
        **kwargs: ``ESPnetASRModel``'s arguments.
    """

    def __init__(self, *, adapter_language: Optional[str] = None, adapter_fraction: float = 0.02,
                 adapter_bottleneck: Optional[int] = None, freeze_encoder: bool = False,
                 **kwargs) -> None:
        joint_network = kwargs.pop("joint_network", None)
        decoder = kwargs.get("decoder")
        if joint_network is not None and kwargs.get("transducer_multi_blank_durations"):
            raise ValueError("model: usm does not support multi-blank transducers; use model: espnet")
        # Built as a CTC/attention model (no warprnnt import), then given the transducer parts.
        super().__init__(joint_network=None, **kwargs)
        if joint_network is not None:
            self.use_transducer_decoder = True
            self.decoder = decoder
            self.joint_network = joint_network
            self.criterion_transducer = TransducerLoss(blank=self.blank_id, reduction="mean")
            if hasattr(self, "criterion_att"):
                del self.criterion_att
            report_cer, report_wer = kwargs.get("report_cer", True), kwargs.get("report_wer", True)
            self.error_calculator_trans = None
            if report_cer or report_wer:
                self.error_calculator_trans = ErrorCalculatorTransducer(
                    decoder, joint_network, self.token_list, kwargs.get("sym_space", "<space>"),
                    kwargs.get("sym_blank", "<blank>"), report_cer=report_cer, report_wer=report_wer)
            if self.ctc_weight == 0.0:
                self.error_calculator = None

        self.adapter_language = adapter_language
        if adapter_language is not None:
            self.adapters = Adapters.attach(self.encoder, fraction=adapter_fraction,
                                            bottleneck=adapter_bottleneck)
            self.adapters.add_language(adapter_language)
            self.adapters.set_language(adapter_language)
            n_enc = sum(p.numel() for p in self.encoder.parameters())
            logger.info("adapters for %s: %d parameters (%.2f %% of the encoder's %d)",
                        adapter_language, self.adapters.num_parameters(adapter_language),
                        100.0 * self.adapters.num_parameters(adapter_language) / n_enc, n_enc)
        self.freeze_encoder = freeze_encoder
        if freeze_encoder:
            for p in self.encoder.parameters():
                p.requires_grad_(False)
            logger.info("encoder frozen: %d parameters get no gradient",
                        sum(p.numel() for p in self.encoder.parameters()))

    def train(self, mode: bool = True):
        """As ``nn.Module.train``, but a frozen encoder's BatchNorm layers stay in eval mode.

        Without this their running statistics would drift with the adaptation data
        although no weight is trained.
        """
        super().train(mode)
        if getattr(self, "freeze_encoder", False):
            for m in self.encoder.modules():
                if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                    m.eval()
        return self

    def trainable_parameters(self) -> int:
        """Number of parameters that get a gradient."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)
