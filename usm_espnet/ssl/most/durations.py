"""MOST's durations: everything that turns a token sequence into an encoder-rate frame sequence.

Durations are counted in encoder frames (after subsampling, e.g. 40 ms). On paired
data they come from forced alignment of the model's own CTC head
(:func:`ctc_durations`, rule in :func:`alignment_to_durations`) unless the batch
carries its own; they upsample the text encoder (:func:`upsample`) for the
consistency loss, so text and speech have the same number of frames, and are the
targets of the :class:`DurationModel`. Unspoken text is upsampled with the learned
model's predictions (``duration_mode="learned"``), a fixed repetition
(:func:`fixed_durations`) or a random one (:func:`random_durations`).
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import nn

from usm_espnet.ssl.best_rq import check_int
from usm_espnet.ssl.most.checks import check_lengths, check_tokens, valid_mask


def upsample(x: torch.Tensor, durations: torch.Tensor,
             token_lens: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor]:
    """Repeat each token vector ``durations`` times (differentiable in ``x``).

    Args:
        x: (B, L, D) token-rate features.
        durations: (B, L) integer frames per token, >= 0 (a 0 drops the token).
        token_lens: Optional (B,) valid token counts; durations beyond them are
            ignored.

    Returns:
        (B, T, D) frames with ``T = max(frame_lens)``, zero at padding, and (B,)
        ``frame_lens = durations.sum(1)`` (over valid tokens).

    Raises:
        ValueError: Shapes disagree, durations are not integers or negative.
    """
    if x.dim() != 3:
        raise ValueError(f"x must be (B, L, D), got shape {tuple(x.shape)}")
    if durations.shape != x.shape[:2]:
        raise ValueError(f"durations {tuple(durations.shape)} do not match the tokens "
                         f"{tuple(x.shape[:2])}")
    if durations.is_floating_point():
        raise ValueError("durations must be integer frame counts")
    B, L, _ = x.shape
    durations = durations.to(x.device).long()
    if token_lens is not None:
        check_lengths("token_lens", token_lens, B, L, allow_empty=True)
        durations = durations.masked_fill(~valid_mask(token_lens.to(x.device), L), 0)
    if durations.numel() and int(durations.min()) < 0:
        raise ValueError(f"durations must be >= 0, got a minimum of {int(durations.min())}")
    frame_lens = durations.sum(1)
    T = int(frame_lens.max()) if B else 0
    if T == 0 or L == 0:
        return x.new_zeros(B, T, x.size(2)), frame_lens
    ends = durations.cumsum(1)  # token l covers frames [ends[l] - d[l], ends[l])
    t = torch.arange(T, device=x.device).expand(B, T).contiguous()
    idx = torch.searchsorted(ends, t, right=True).clamp(max=L - 1)
    out = torch.gather(x, 1, idx[..., None].expand(B, T, x.size(2)))
    return out.masked_fill(~valid_mask(frame_lens, T)[..., None], 0.0), frame_lens


def fixed_durations(token_lens: torch.Tensor, max_len: int, repeat: int) -> torch.Tensor:
    """Every token lasts ``repeat`` frames (fixed repetition).

    Args:
        token_lens: (B,) valid token counts.
        max_len: Padded token length L.
        repeat: Frames per token (>= 1).

    Returns:
        (B, L) long durations, 0 at padding.
    """
    check_int("repeat", repeat, 1)
    return valid_mask(token_lens, max_len).long() * repeat


def random_durations(token_lens: torch.Tensor, max_len: int, low: int, high: int,
                     generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Every token lasts a uniform random number of frames in ``[low, high]``.

    Args:
        token_lens: (B,) valid token counts.
        max_len: Padded token length L.
        low: Smallest duration (>= 1).
        high: Largest duration (>= low), inclusive.
        generator: Optional CPU generator.

    Returns:
        (B, L) long durations on ``token_lens.device``, 0 at padding.
    """
    check_int("low", low, 1)
    check_int("high", high, low)
    B = token_lens.size(0)
    d = torch.randint(low, high + 1, (B, max_len), generator=generator)
    d = d.to(token_lens.device)
    return d * valid_mask(token_lens, max_len).long()


def uniform_durations(num_frames: int, num_tokens: int) -> List[int]:
    """Split ``num_frames`` as evenly as possible over ``num_tokens`` (sums exactly).

    Args:
        num_frames: Frames to distribute.
        num_tokens: Tokens (>= 1).
    """
    b = [(i * num_frames) // num_tokens for i in range(num_tokens + 1)]
    return [b[i + 1] - b[i] for i in range(num_tokens)]


def alignment_to_durations(path: Union[torch.Tensor, Sequence[int]], num_tokens: int,
                           blank: int = 0) -> List[int]:
    """Per-token durations from a frame-level CTC path; they sum to ``len(path)``.

    A token occupies the run of identical non-blank labels CTC emits for it
    (two occurrences of one label are two tokens only with a blank between
    them). Blank frames are then given to tokens so that every frame belongs
    to exactly one token and each token's frames are contiguous:

    * blanks before the first token go to the first token, blanks after the
      last token to the last token;
    * a run of ``g`` blanks between two tokens is split at its middle: the
      first ``g // 2`` frames go to the token on the left, the remaining
      ``g - g // 2`` (the extra one when ``g`` is odd) to the token on the right.

    Example: path ``_ a a _ b _ _ b`` (``_`` blank) for tokens ``a b b`` gives
    durations ``[3, 3, 2]``.

    Args:
        path: (T,) frame labels (e.g. ``torchaudio.functional.forced_align``'s).
        num_tokens: Tokens the path must contain (>= 1).
        blank: Blank id.

    Returns:
        ``num_tokens`` durations, each >= 1, summing to ``T``.

    Raises:
        ValueError: The path does not contain exactly ``num_tokens`` tokens.
    """
    labels = path.tolist() if isinstance(path, torch.Tensor) else list(path)
    first: List[int] = []
    last: List[int] = []
    prev = blank
    for t, c in enumerate(labels):
        if c != blank:
            if c != prev:
                first.append(t)
                last.append(t)
            else:
                last[-1] = t
        prev = c
    if len(first) != num_tokens or num_tokens == 0:
        raise ValueError(f"the alignment holds {len(first)} tokens, expected {num_tokens}")
    bounds = [0]
    for k in range(num_tokens - 1):
        gap = first[k + 1] - last[k] - 1
        bounds.append(last[k] + 1 + gap // 2)
    bounds.append(len(labels))
    return [bounds[k + 1] - bounds[k] for k in range(num_tokens)]


def ctc_durations(log_probs: torch.Tensor, input_lens: torch.Tensor, tokens: torch.Tensor,
                  token_lens: torch.Tensor, blank: int = 0,
                  uniform_fallback: bool = False) -> torch.Tensor:
    """Token durations (in frames) from CTC forced alignment.

    Each utterance is aligned with ``torchaudio.functional.forced_align`` (Viterbi
    over the CTC topology) on the columns of its own tokens only (so a large
    vocabulary costs nothing), then blank frames are assigned to tokens by the
    rule of :func:`alignment_to_durations`: durations are >= 1 and sum exactly to
    ``input_lens[b]``.

    Args:
        log_probs: (B, T, V) CTC log-probabilities (no gradient is taken).
        input_lens: (B,) valid frames.
        tokens: (B, L) token ids (padding arbitrary, e.g. -1).
        token_lens: (B,) token counts, each >= 1.
        blank: Blank id (must not occur in the text).
        uniform_fallback: For an utterance too short to align (fewer frames than
            tokens plus repeated neighbours), split its frames evenly over its
            tokens instead of raising.

    Returns:
        (B, L) long durations on ``log_probs.device``, 0 at padding.

    Raises:
        ValueError: Bad shapes / lengths, empty text, blank in the text, or (without
            ``uniform_fallback``) an utterance too short to align.
    """
    import torchaudio.functional as taF  # imported lazily: only this function needs it

    if log_probs.dim() != 3:
        raise ValueError(f"log_probs must be (B, T, V), got shape {tuple(log_probs.shape)}")
    B, T, V = log_probs.shape
    if tokens.dim() != 2 or tokens.size(0) != B:
        raise ValueError(f"tokens must be ({B}, L), got shape {tuple(tokens.shape)}")
    check_lengths("input_lens", input_lens, B, T, allow_empty=True)
    check_tokens(tokens, token_lens, V, blank)
    out = torch.zeros(B, tokens.size(1), dtype=torch.long)
    lp_all = log_probs.detach()
    for b in range(B):
        n, L = int(input_lens[b]), int(token_lens[b])
        tgt = tokens[b, :L].to(lp_all.device).long()
        repeats = int((tgt[1:] == tgt[:-1]).sum()) if L > 1 else 0
        if n < L + repeats:
            if not uniform_fallback:
                raise ValueError(f"utterance {b}: {n} frames cannot align {L} tokens "
                                 f"({repeats} repeated neighbours need a blank each)")
            out[b, :L] = torch.tensor(uniform_durations(n, L))
            continue
        uniq, inv = torch.unique(tgt, return_inverse=True)
        cols = torch.cat([tgt.new_tensor([blank]), uniq])
        lp = lp_all[b, :n].index_select(1, cols).float().cpu()
        lp = lp.log_softmax(-1)  # renormalised over blank + its tokens: same Viterbi path
        path, _ = taF.forced_align(lp[None], (inv + 1).int().cpu()[None], blank=0)
        out[b, :L] = torch.tensor(alignment_to_durations(path[0], L, blank=0))
    return out.to(log_probs.device)


class DurationModel(nn.Module):
    """Predicts each token's log-duration (in encoder frames) from token embeddings.

    ``num_layers`` x (Conv1d over tokens, ReLU, LayerNorm, dropout), then a linear
    projection to one value per token. Trained with MSE on ``log(duration)``
    against forced-alignment durations of the paired data (:meth:`loss`).

    Args:
        input_dim: Token embedding dimension.
        hidden_dim: Convolution width (None: ``input_dim``).
        kernel_size: Convolution kernel over tokens (odd).
        num_layers: Convolution layers.
        dropout_rate: Dropout after each layer.
    """

    def __init__(self, input_dim: int, hidden_dim: Optional[int] = None, kernel_size: int = 3,
                 num_layers: int = 2, dropout_rate: float = 0.1) -> None:
        super().__init__()
        check_int("input_dim", input_dim, 1)
        hidden_dim = input_dim if hidden_dim is None else hidden_dim
        check_int("hidden_dim", hidden_dim, 1)
        check_int("num_layers", num_layers, 1)
        if kernel_size < 1 or kernel_size % 2 != 1:
            raise ValueError(f"kernel_size must be odd and >= 1, got {kernel_size}")
        self.convs = nn.ModuleList(
            nn.Conv1d(input_dim if i == 0 else hidden_dim, hidden_dim, kernel_size,
                      padding=kernel_size // 2) for i in range(num_layers))
        self.norms = nn.ModuleList(nn.LayerNorm(hidden_dim) for _ in range(num_layers))
        self.dropout = nn.Dropout(dropout_rate)
        self.proj = nn.Linear(hidden_dim, 1)

    def forward(self, x: torch.Tensor, token_lens: torch.Tensor) -> torch.Tensor:
        """Predict log-durations.

        Args:
            x: (B, L, D) token embeddings.
            token_lens: (B,) valid token counts.

        Returns:
            (B, L) predicted ``log(duration)``, 0 at padding.
        """
        valid = valid_mask(token_lens.to(x.device), x.size(1))
        h = x
        for conv, norm in zip(self.convs, self.norms):
            h = h.masked_fill(~valid[..., None], 0.0)
            h = self.dropout(norm(F.relu(conv(h.transpose(1, 2)).transpose(1, 2))))
        return self.proj(h).squeeze(-1).masked_fill(~valid, 0.0)

    @staticmethod
    def loss(log_pred: torch.Tensor, durations: torch.Tensor,
             token_lens: torch.Tensor) -> torch.Tensor:
        """MSE between predicted and target log-durations over valid tokens.

        Tokens with a target duration of 0 (possible only with the uniform
        fallback of :func:`ctc_durations`) are left out.

        Args:
            log_pred: (B, L) predictions of :meth:`forward`.
            durations: (B, L) integer target durations.
            token_lens: (B,) valid token counts.

        Returns:
            Scalar loss (0 with a graph if no token is usable).
        """
        if log_pred.shape != durations.shape:
            raise ValueError(f"log_pred {tuple(log_pred.shape)} and durations "
                             f"{tuple(durations.shape)} differ in shape")
        sel = valid_mask(token_lens.to(log_pred.device), log_pred.size(1)) & (durations > 0)
        if not bool(sel.any()):
            return log_pred.sum() * 0.0
        target = durations[sel].float().log()
        return F.mse_loss(log_pred[sel].float(), target)

    @staticmethod
    def to_durations(log_pred: torch.Tensor, token_lens: torch.Tensor, min_duration: int = 1,
                     max_duration: Optional[int] = None) -> torch.Tensor:
        """Round predicted log-durations to integer frame counts.

        Args:
            log_pred: (B, L) predicted log-durations.
            token_lens: (B,) valid token counts.
            min_duration: Lower clamp (>= 1).
            max_duration: Optional upper clamp.

        Returns:
            (B, L) long durations, 0 at padding.
        """
        check_int("min_duration", min_duration, 1)
        d = log_pred.detach().float().exp().round().clamp(min=min_duration)
        if max_duration is not None:
            d = d.clamp(max=max_duration)
        return d.long() * valid_mask(token_lens.to(d.device), d.size(1)).long()
