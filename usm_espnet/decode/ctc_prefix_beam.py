"""CTC prefix beam search with an optional n-gram LM (shallow fusion), one utterance at a time.

The search keeps, for each candidate prefix, the probability of all alignments that
end in a blank and of those that end in its last token (Graves 2012; Hannun et al.
2014 for the LM term), so repeated tokens separated by a blank are told apart from
one token held over several frames. Hypotheses are ranked by

    log P_ctc(prefix) + lm_weight * log P_lm(prefix) + bonus * len(prefix)

and at the end the LM's end-of-sentence probability is added. With ``lm=None`` and
``beam=1`` it is greedy best-path decoding up to ties.

Speed: only tokens whose frame log-probability is above ``prune`` (at most ``beam``
of them) extend a prefix, so frames where the blank dominates cost one update per
hypothesis; a 4-s utterance with beam 8 takes milliseconds in Python.
"""

from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from usm_espnet.decode.ngram_lm import EOS, NgramLM

_NEG = float("-inf")


def _lse(a: float, b: float) -> float:
    if a == _NEG:
        return b
    if b == _NEG:
        return a
    if a > b:
        return a + math.log1p(math.exp(b - a))
    return b + math.log1p(math.exp(a - b))


def prefix_beam_search(
    log_probs: np.ndarray,
    beam: int = 8,
    blank: int = 0,
    lm: Optional[NgramLM] = None,
    lm_weight: float = 0.0,
    bonus: float = 0.0,
    prune: float = -10.0,
    allowed: Optional[Sequence[bool]] = None,
) -> Tuple[List[int], float]:
    """The best token sequence for one utterance.

    Args:
        log_probs: (T, V) CTC log-probabilities of the valid frames.
        beam: Hypotheses kept after each frame (>= 1).
        blank: Index of the blank.
        lm: Token n-gram model (None: CTC alone).
        lm_weight: Weight of the LM's log-probability.
        bonus: Added per emitted token (counters the LM's preference for short output).
        prune: A token extends prefixes at a frame only where its log-probability is
            above this (the frame's best token always may).
        allowed: (V,) tokens that may be emitted (e.g. the language's characters); None: all.

    Returns:
        (token ids, the hypothesis' final score).
    """
    if beam < 1:
        raise ValueError(f"beam must be >= 1, got {beam}")
    lp = np.asarray(log_probs, dtype=np.float64)
    if lp.ndim != 2:
        raise ValueError(f"log_probs must be (T, V), got shape {lp.shape}")
    if allowed is not None:
        mask = np.asarray(allowed, dtype=bool).copy()
        mask[blank] = True
        lp = np.where(mask[None, :], lp, _NEG)
    use_lm = lm is not None and lm_weight != 0.0
    # prefix -> [log P(ends in blank), log P(ends in its last token)]
    beams: Dict[Tuple[int, ...], List[float]] = {(): [0.0, _NEG]}
    lm_score: Dict[Tuple[int, ...], float] = {(): 0.0}  # weighted LM log-prob + bonus
    k = min(beam, lp.shape[1])
    for row in lp:
        top = np.argpartition(-row, k - 1)[:k] if k < row.shape[0] else np.arange(row.shape[0])
        best = float(row.max())
        cands = [int(c) for c in top if c != blank and (row[c] > prune or row[c] == best)
                 and row[c] != _NEG]
        p_blank = float(row[blank])
        nxt: Dict[Tuple[int, ...], List[float]] = {}

        def slot(p: Tuple[int, ...]) -> List[float]:
            s = nxt.get(p)
            if s is None:
                s = nxt[p] = [_NEG, _NEG]
            return s

        for prefix, (pb, pnb) in beams.items():
            total = _lse(pb, pnb)
            s = slot(prefix)
            if p_blank != _NEG:
                s[0] = _lse(s[0], total + p_blank)
            last = prefix[-1] if prefix else None
            if last is not None and row[last] != _NEG:  # the last token held one more frame
                s[1] = _lse(s[1], pnb + float(row[last]))
            for c in cands:
                pc = float(row[c])
                new = prefix + (c,)
                # after the same token, a new one needs a blank in between
                src = pb if c == last else total
                if src == _NEG:
                    continue
                sn = slot(new)
                sn[1] = _lse(sn[1], src + pc)
                if new not in lm_score:
                    extra = bonus
                    if use_lm:
                        extra += lm_weight * lm.logprob(prefix, c)
                    lm_score[new] = lm_score[prefix] + extra
        ranked = sorted(nxt.items(), key=lambda kv: _lse(*kv[1]) + lm_score[kv[0]], reverse=True)
        beams = dict(ranked[:beam])
    final = []
    for prefix, (pb, pnb) in beams.items():
        score = _lse(pb, pnb) + lm_score[prefix]
        if use_lm:
            score += lm_weight * lm.logprob(prefix, EOS)
        final.append((score, prefix))
    score, prefix = max(final, key=lambda x: x[0])
    return list(prefix), score
