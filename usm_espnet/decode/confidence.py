"""Confidence of CTC hypotheses and the pseudo-label filter of noisy-student training.

Confidence of one utterance (documented choice): the mean, over the frames where
the best path emits a token (its argmax is not blank), of that token's posterior
probability. Blank frames are left out because they dominate CTC paths and are
almost always confident, which would make every hypothesis look sure of itself.
An utterance whose best path is all blank has confidence 0.

:func:`filter_pseudo_labels` keeps a hypothesis when it is non-empty, its
confidence is at least ``min_confidence`` and its speaking rate (characters per
second of audio) is plausible; every dropped utterance gets a reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import torch


def ctc_confidence(log_probs: torch.Tensor, length: Optional[int] = None, blank: int = 0) -> float:
    """Mean posterior of the emitted (non-blank) best-path frames of one utterance.

    Args:
        log_probs: (T, V) log-posteriors.
        length: Valid frames (default: all).
        blank: Blank id.
    """
    lp = log_probs[: length if length is not None else log_probs.size(0)]
    best, idx = lp.max(dim=-1)
    emit = idx != blank
    if not bool(emit.any()):
        return 0.0
    return float(best[emit].exp().mean())


@dataclass
class FilterResult:
    """Kept utterances (id -> text) and dropped ones (id -> reason)."""

    kept: Dict[str, str]
    dropped: Dict[str, str]


def filter_pseudo_labels(
    hyps: Dict[str, str],
    confidence: Dict[str, float],
    utt2dur: Optional[Dict[str, float]] = None,
    min_confidence: float = 0.9,
    min_chars_per_second: float = 2.0,
    max_chars_per_second: float = 40.0,
) -> FilterResult:
    """Select pseudo-labels for the student.

    Args:
        hyps: Utterance id -> hypothesis text.
        confidence: Utterance id -> :func:`ctc_confidence`.
        utt2dur: Utterance id -> seconds (the rate check is skipped without it).
        min_confidence: Lowest confidence kept.
        min_chars_per_second, max_chars_per_second: Plausible speaking rates
            (characters without spaces per second).

    Raises:
        ValueError: An option out of range, or a hypothesis without a confidence.
    """
    if not 0.0 <= min_confidence <= 1.0:
        raise ValueError(f"min_confidence must be in [0, 1], got {min_confidence}")
    if min_chars_per_second > max_chars_per_second:
        raise ValueError("min_chars_per_second is above max_chars_per_second")
    kept: Dict[str, str] = {}
    dropped: Dict[str, str] = {}
    for utt in sorted(hyps):
        text = " ".join(hyps[utt].split())
        if utt not in confidence:
            raise ValueError(f"no confidence for utterance {utt!r}")
        conf = confidence[utt]
        if not text:
            dropped[utt] = "empty hypothesis"
        elif conf < min_confidence:
            dropped[utt] = f"confidence {conf:.3f} < {min_confidence}"
        elif utt2dur is not None and utt in utt2dur and utt2dur[utt] > 0:
            rate = len(text.replace(" ", "")) / utt2dur[utt]
            if rate < min_chars_per_second:
                dropped[utt] = f"{rate:.1f} chars/s < {min_chars_per_second} (too little text for the audio)"
            elif rate > max_chars_per_second:
                dropped[utt] = f"{rate:.1f} chars/s > {max_chars_per_second} (too much text for the audio)"
            else:
                kept[utt] = text
        else:
            kept[utt] = text
    return FilterResult(kept, dropped)


def summary(result: FilterResult) -> Tuple[int, int, List[Tuple[str, int]]]:
    """(kept, dropped, [(reason kind, count)])."""
    kinds: Dict[str, int] = {}
    for reason in result.dropped.values():
        kind = reason.split(" ")[0] if not reason[0].isdigit() else "rate"
        kinds[kind] = kinds.get(kind, 0) + 1
    return len(result.kept), len(result.dropped), sorted(kinds.items())
