"""RNN-T loss from torchaudio, in the call convention ESPnet's ASR model uses.

ESPnet's ``ESPnetASRModel`` imports ``warprnnt_pytorch`` for its transducer
loss, which is not on PyPI. :class:`TransducerLoss` takes the same arguments
(joint output ``(B, T, U+1, V)``, targets ``(B, U)``, frame and label lengths)
and computes the loss with ``torchaudio.functional.rnnt_loss``, which ships in
torchaudio's wheel and runs on CPU and GPU.
"""

from __future__ import annotations

import torch
from torch import nn


class TransducerLoss(nn.Module):
    """Negative log-likelihood of the targets under the RNN-T lattice.

    Args:
        blank: Blank id.
        reduction: ``"mean"`` (over the batch, as warp-transducer), ``"sum"`` or ``"none"``.
        clamp: Gradient clamp passed to torchaudio (-1: off).
    """

    def __init__(self, blank: int = 0, reduction: str = "mean", clamp: float = -1.0) -> None:
        super().__init__()
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(f"reduction must be mean, sum or none, got {reduction!r}")
        self.blank, self.reduction, self.clamp = blank, reduction, clamp

    def forward(self, logits: torch.Tensor, targets: torch.Tensor, logit_lengths: torch.Tensor,
                target_lengths: torch.Tensor) -> torch.Tensor:
        import torchaudio.functional as taf

        if logits.dim() != 4:
            raise ValueError(f"logits must be (B, T, U+1, V), got shape {tuple(logits.shape)}")
        # torchaudio wants float32 (or float16 on GPU) logits and int32 indices
        if logits.dtype not in (torch.float32, torch.float16) or (
                logits.dtype == torch.float16 and not logits.is_cuda):
            logits = logits.float()
        return taf.rnnt_loss(
            logits, targets.to(torch.int32), logit_lengths.to(torch.int32),
            target_lengths.to(torch.int32), blank=self.blank, clamp=self.clamp,
            reduction=self.reduction)
