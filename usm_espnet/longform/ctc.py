"""Streaming CTC decoding for long-form audio: greedy and prefix beam search, word times.

Both decoders take the log-posteriors of one window at a time, so a recording of
any length is decoded with memory bounded by the window (the beam search keeps
only its beam). Token emission frames give word timestamps.
"""

from __future__ import annotations

import math
from typing import Dict, List, Sequence, Tuple

import torch

#: (token id, first frame, last frame) of one emitted token
Emission = Tuple[int, int, int]


class StreamingGreedy:
    """Greedy CTC over successive windows of log-posteriors.

    Args:
        blank: Blank id.
    """

    def __init__(self, blank: int = 0) -> None:
        self.blank = blank
        self.prev = blank
        self.emissions: List[List[int]] = []  # [token, first, last]

    def feed(self, log_probs: torch.Tensor, offset: int) -> None:
        """Consume (T, V) log-posteriors whose first frame is ``offset``."""
        best = log_probs.argmax(-1).tolist()
        for t, tok in enumerate(best, start=offset):
            if tok != self.blank:
                if tok != self.prev:
                    self.emissions.append([tok, t, t])
                else:
                    self.emissions[-1][2] = t
            self.prev = tok

    def result(self) -> List[Emission]:
        return [tuple(e) for e in self.emissions]


def _logaddexp(a: float, b: float) -> float:
    if a == -math.inf:
        return b
    if b == -math.inf:
        return a
    m = max(a, b)
    return m + math.log(math.exp(a - m) + math.exp(b - m))


class StreamingPrefixBeam:
    """CTC prefix beam search, frame by frame, carrying its beam across windows.

    Each hypothesis keeps the frame at which each of its tokens was first
    emitted (for timestamps).

    Args:
        beam: Beam size.
        blank: Blank id.
        token_prune: Tokens considered per frame (the most probable ones).
    """

    def __init__(self, beam: int = 8, blank: int = 0, token_prune: int = 16) -> None:
        self.beam, self.blank, self.k = beam, blank, token_prune
        # prefix -> (log p ending in blank, log p ending in non-blank, frames)
        self.hyps: Dict[Tuple[int, ...], Tuple[float, float, Tuple[int, ...]]] = {(): (0.0, -math.inf, ())}

    def feed(self, log_probs: torch.Tensor, offset: int) -> None:
        """Consume (T, V) log-posteriors whose first frame is ``offset``."""
        lp = log_probs.float().cpu()
        k = min(self.k, lp.size(1))
        top_v, top_i = lp.topk(k, dim=-1)
        for t in range(lp.size(0)):
            frame = offset + t
            p_blank = float(lp[t, self.blank])
            cand = [(int(i), float(v)) for i, v in zip(top_i[t], top_v[t]) if int(i) != self.blank]
            new: Dict[Tuple[int, ...], List] = {}

            def add(prefix, pb, pnb, frames):
                cur = new.get(prefix)
                if cur is None:
                    new[prefix] = [pb, pnb, frames]
                else:
                    cur[0] = _logaddexp(cur[0], pb)
                    cur[1] = _logaddexp(cur[1], pnb)

            for prefix, (pb, pnb, frames) in self.hyps.items():
                total = _logaddexp(pb, pnb)
                add(prefix, total + p_blank, -math.inf, frames)  # blank
                last = prefix[-1] if prefix else None
                for tok, p in cand:
                    if tok == last:
                        add(prefix, -math.inf, pnb + p, frames)  # repeat collapses
                        add(prefix + (tok,), -math.inf, pb + p, frames + (frame,))
                    else:
                        add(prefix + (tok,), -math.inf, total + p, frames + (frame,))
            best = sorted(new.items(), key=lambda kv: _logaddexp(kv[1][0], kv[1][1]), reverse=True)
            self.hyps = {pfx: (v[0], v[1], v[2]) for pfx, v in best[: self.beam]}

    def result(self) -> List[Emission]:
        prefix, (_, _, frames) = max(self.hyps.items(), key=lambda kv: _logaddexp(kv[1][0], kv[1][1]))
        return [(tok, f, f) for tok, f in zip(prefix, frames)]


def split_at_gaps(emissions: Sequence[Emission], max_gap_frames: int | None
                  ) -> List[List[Emission]]:
    """Split emissions where more than ``max_gap_frames`` frames pass between two tokens.

    A model trained on single utterances ends each one without a word separator
    (``<space>``), so in a long recording the last word of one utterance and the first
    of the next, with a pause between them, would be emitted as one word. A run of
    more than ``max_gap_frames`` frames with no token (from the last frame of one
    token to the first frame of the next) is a pause, hence a word boundary.
    ``None`` keeps one group.

    Raises:
        ValueError: ``max_gap_frames`` below 1.
    """
    if max_gap_frames is None:
        return [list(emissions)] if emissions else []
    if max_gap_frames < 1:
        raise ValueError(f"max_gap_frames must be >= 1, got {max_gap_frames}")
    groups: List[List[Emission]] = []
    prev_last = None
    for em in emissions:
        if prev_last is None or em[1] - prev_last > max_gap_frames:
            groups.append([])
        groups[-1].append(em)
        prev_last = em[2]
    return groups


def gap_frames(gap_seconds: float | None, frame_seconds: float) -> int | None:
    """``gap_seconds`` in whole output frames (at least 1); ``None`` stays ``None``."""
    if gap_seconds is None:
        return None
    return max(1, int(round(gap_seconds / frame_seconds)))


def words_with_times(emissions: Sequence[Emission], token_list: Sequence[str],
                     frame_seconds: float, word_gap_seconds: float | None = None
                     ) -> List[Tuple[str, float, float]]:
    """Group emitted tokens into words with (start s, end s).

    Word boundaries: the ``<space>`` token (character models), a token
    starting with ``▁`` (SentencePiece), or (with ``word_gap_seconds``) a pause
    longer than that between two tokens (:func:`split_at_gaps`). Tokens in
    ``<...>`` (language tags, ``<unk>``) are left out of the word text.
    """
    words: List[Tuple[str, float, float]] = []
    cur, start, end = "", None, None
    max_gap = gap_frames(word_gap_seconds, frame_seconds)

    def flush():
        nonlocal cur, start, end
        if cur:
            words.append((cur, start * frame_seconds, (end + 1) * frame_seconds))
        cur, start, end = "", None, None

    for tok_id, first, last in emissions:
        tok = token_list[tok_id]
        if max_gap is not None and end is not None and first - end > max_gap:
            flush()
        if tok == "<space>":
            flush()
            continue
        if tok.startswith("<") and tok.endswith(">"):
            continue
        if tok.startswith("\u2581"):
            flush()
            tok = tok[1:]
            if not tok:
                continue
        if start is None:
            start = first
        cur += tok
        end = last
    flush()
    return words
