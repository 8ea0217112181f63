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

* **A fine-tuning recipe for a pre-trained encoder** (BEST-RQ, MOST or an imported
  one): ``encoder_lr_scale`` gives the encoder its own learning rate, a fraction of
  the optimizer's (one parameter group each; the scheduler scales both), and
  ``head_warmup_steps`` trains only the new head for that many steps first (the
  encoder runs without gradient, so Adam leaves it untouched and keeps no state for
  it yet). Why: a randomly initialised CTC head sends large, noisy gradients into
  the encoder in its first steps, which at the from-scratch learning rate overwrite
  what pre-training put there before the head has learnt to read it. The values in
  ``egs/fleurs/asr1/conf/tuning/finetune_*.yaml`` (0.5, 50 steps) were the recipe's
  choice for the low-resource ablation; 1.0 and 0 (the defaults) are plain ESPnet.
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


def _default_forward_count(module, state_dict, prefix, *args) -> None:
    """Checkpoints written before ``num_train_forwards`` existed load with a count of 0."""
    state_dict.setdefault(prefix + "num_train_forwards", torch.zeros((), dtype=torch.long))


class USMASRModel(ESPnetASRModel):
    """``ESPnetASRModel`` + torchaudio RNN-T loss + per-language adapters + encoder freezing.

    Args:
        adapter_language: Attach adapters to the encoder and train this language's.
        adapter_fraction: Adapter size as a fraction of the encoder's parameters.
        adapter_bottleneck: Explicit bottleneck width (overrides ``adapter_fraction``).
        freeze_encoder: Keep every encoder weight fixed (adapters excepted).
        encoder_lr_scale: The encoder's learning rate as a fraction of the optimizer's
            ``lr`` (the frontend, normalisation and adapters count as encoder).
        head_warmup_steps: Training forward passes (with ``accum_grad`` N: N per
            update) in which only the parts after the encoder learn.
        **kwargs: ``ESPnetASRModel``'s arguments.
    """

    def __init__(self, *, adapter_language: Optional[str] = None, adapter_fraction: float = 0.02,
                 adapter_bottleneck: Optional[int] = None, freeze_encoder: bool = False,
                 encoder_lr_scale: float = 1.0, head_warmup_steps: int = 0,
                 **kwargs) -> None:
        if not 0.0 <= float(encoder_lr_scale) <= 10.0:
            raise ValueError(f"encoder_lr_scale must be in [0, 10], got {encoder_lr_scale}")
        if int(head_warmup_steps) != head_warmup_steps or head_warmup_steps < 0:
            raise ValueError(f"head_warmup_steps must be an integer >= 0, got {head_warmup_steps}")
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

        self.encoder_lr_scale = float(encoder_lr_scale)
        self.head_warmup_steps = int(head_warmup_steps)
        # training forward passes so far; a buffer, so that a resumed run continues the count
        self.register_buffer("num_train_forwards", torch.zeros((), dtype=torch.long))
        self.register_load_state_dict_pre_hook(_default_forward_count)
        if self.head_warmup_steps:
            logger.info("head warm-up: the encoder gets no gradient for the first %d steps",
                        self.head_warmup_steps)

    def _encoder_prefixes(self):
        return ("frontend.", "specaug.", "normalize.", "preencoder.", "encoder.", "adapters.")

    def optimizer_param_groups(self, lr: float):
        """Parameter groups for the optimizer: ``None`` when one group does (scale 1.0)."""
        if self.encoder_lr_scale == 1.0:
            return None
        enc, rest = [], []
        for name, p in self.named_parameters():
            if p.requires_grad:
                (enc if name.startswith(self._encoder_prefixes()) else rest).append(p)
        logger.info("encoder learning rate %.3g x %.3g (%d tensors), head %.3g (%d tensors)",
                    lr, self.encoder_lr_scale, len(enc), lr, len(rest))
        return [{"params": rest, "lr": lr}, {"params": enc, "lr": lr * self.encoder_lr_scale}]

    def in_head_warmup(self) -> bool:
        """True while only the head trains (see ``head_warmup_steps``)."""
        return self.training and int(self.num_train_forwards) < self.head_warmup_steps

    def encode(self, speech: torch.Tensor, speech_lengths: torch.Tensor):
        if self.in_head_warmup():
            with torch.no_grad():
                return super().encode(speech, speech_lengths)
        return super().encode(speech, speech_lengths)

    def forward(self, *args, **kwargs):
        out = super().forward(*args, **kwargs)
        if self.training:
            self.num_train_forwards += 1
            if int(self.num_train_forwards) == self.head_warmup_steps:
                logger.info("head warm-up done after %d steps: the encoder trains from now on",
                            self.head_warmup_steps)
        return out

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
