"""Input checks shared by the MOST modules: padded length, token and feature batches.

Each raises ``ValueError`` with the offending shape or values, so a malformed batch
fails at the boundary of the module that received it rather than deep inside a
gather or a CTC call.
"""

from __future__ import annotations

from typing import Optional

import torch


def check_lengths(name: str, lens: torch.Tensor, batch: int, max_len: int,
                   allow_empty: bool = False) -> None:
    """Raise ValueError unless ``lens`` is (batch,) with 0/1 <= lens <= max_len.

    Args:
        name: Name used in the message.
        lens: Lengths.
        batch: Expected batch size.
        max_len: Padded length they index into.
        allow_empty: Whether a length of 0 is allowed.
    """
    if lens.dim() != 1 or lens.size(0) != batch:
        raise ValueError(f"{name} must have shape ({batch},), got {tuple(lens.shape)}")
    if lens.numel() == 0:
        return
    lo = int(lens.min())
    if lo < 0:
        raise ValueError(f"{name} must be >= 0, got {lens.tolist()}")
    if lo == 0 and not allow_empty:
        raise ValueError(f"empty sequence: {name} contains 0 ({lens.tolist()})")
    if int(lens.max()) > max_len:
        raise ValueError(f"{name} {lens.tolist()} exceed the padded length {max_len}")


def check_tokens(tokens: torch.Tensor, token_lens: torch.Tensor,
                  vocab_size: Optional[int] = None, blank: Optional[int] = None) -> None:
    """Validate a padded token batch (padding may hold anything, e.g. -1).

    Args:
        tokens: (B, L) token ids.
        token_lens: (B,) lengths, each >= 1.
        vocab_size: Ids must be < this.
        blank: Id that must not occur in the valid part.
    """
    if tokens.dim() != 2:
        raise ValueError(f"tokens must be (B, L), got shape {tuple(tokens.shape)}")
    if tokens.is_floating_point():
        raise ValueError("tokens must be integer ids")
    check_lengths("text lengths", token_lens, tokens.size(0), tokens.size(1))
    valid = valid_mask(token_lens, tokens.size(1))
    vals = tokens[valid]
    if vals.numel() and int(vals.min()) < 0:
        raise ValueError("token ids must be >= 0 inside the text lengths")
    if vocab_size is not None and vals.numel() and int(vals.max()) >= vocab_size:
        raise ValueError(f"token id {int(vals.max())} >= vocab size {vocab_size}")
    if blank is not None and bool((vals == blank).any()):
        raise ValueError(f"the text contains the blank id {blank}")


def check_feats(feats: torch.Tensor, feat_lens: torch.Tensor) -> None:
    """Raise ValueError unless ``feats`` is (B, T, F) and ``feat_lens`` fits it.

    Args:
        feats: Padded features.
        feat_lens: (B,) lengths, each in [1, T].
    """
    if feats.dim() != 3:
        raise ValueError(f"feats must be (B, T, F), got shape {tuple(feats.shape)}")
    check_lengths("feat_lens", feat_lens, feats.size(0), feats.size(1))


def valid_mask(lens: torch.Tensor, T: int) -> torch.Tensor:
    """Boolean (B, T) tensor, True where ``t < lens[b]``.

    Args:
        lens: (B,) lengths.
        T: Time dimension.
    """
    return torch.arange(T, device=lens.device)[None, :] < lens[:, None]
