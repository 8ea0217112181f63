"""Token n-gram language model (interpolated Witten-Bell), for CTC prefix beam search.

Trained in a second from the training transcripts, one model per language, so a
decoding job needs no LM stage or model file: ``--ngram_text dump/raw/train/text``
is enough. Its tokens are the ASR model's token ids (the same tokenizer and token
list), so the search and the LM agree on what a "character" is.

Why Witten-Bell rather than Kneser-Ney: with a few thousand sentences per language
the two differ little for characters, and Witten-Bell needs only counts and the
number of distinct continuations of each context (no count-of-counts, no discount
estimation that breaks on tiny corpora).

    P(w | h) = (c(h, w) + N1+(h .) * P(w | h')) / (c(h) + N1+(h .))

where ``h'`` drops the oldest token of ``h``; a context never seen falls through to
the shorter one; below the unigram is the uniform distribution over the token list
plus the end of sentence.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from usm_espnet.data.kaldi import read_kaldi_map

BOS = -1  #: start-of-sentence padding of a context
EOS = -2  #: end of sentence, predicted after the last token


class NgramLM:
    """An interpolated Witten-Bell n-gram model over integer tokens.

    Args:
        order: n (the model conditions on the n - 1 previous tokens); >= 1.
        vocab_size: Size of the token list; the uniform floor is 1 / (vocab_size + 1).
    """

    def __init__(self, order: int, vocab_size: int) -> None:
        if not isinstance(order, int) or order < 1:
            raise ValueError(f"n-gram order must be an integer >= 1, got {order!r}")
        if vocab_size < 1:
            raise ValueError(f"vocab_size must be >= 1, got {vocab_size}")
        self.order = order
        self.vocab_size = vocab_size
        # context (tuple, 0 .. order-1 tokens) -> token -> count
        self._counts: Dict[Tuple[int, ...], Dict[int, int]] = defaultdict(lambda: defaultdict(int))
        self._total: Dict[Tuple[int, ...], int] = {}
        self._types: Dict[Tuple[int, ...], int] = {}
        self._cache: Dict[Tuple[Tuple[int, ...], int], float] = {}
        self.sentences = 0

    def fit(self, sentences: Iterable[Sequence[int]]) -> "NgramLM":
        """Count every n-gram (orders 1 .. n) of the sentences; returns self."""
        n = self.order
        for sent in sentences:
            s = [BOS] * (n - 1) + list(sent) + [EOS]
            for i in range(n - 1, len(s)):
                w = s[i]
                for k in range(n):  # context lengths 0 .. n-1
                    self._counts[tuple(s[i - k: i])][w] += 1
            self.sentences += 1
        self._total = {h: sum(c.values()) for h, c in self._counts.items()}
        self._types = {h: len(c) for h, c in self._counts.items()}
        self._cache.clear()
        return self

    def logprob(self, context: Sequence[int], token: int) -> float:
        """Natural log of P(token | the last n - 1 tokens of context)."""
        h = tuple(context[-(self.order - 1):]) if self.order > 1 else ()
        if len(h) < self.order - 1:
            h = (BOS,) * (self.order - 1 - len(h)) + h
        key = (h, token)
        hit = self._cache.get(key)
        if hit is None:
            hit = math.log(self._prob(h, token))
            self._cache[key] = hit
        return hit

    def _prob(self, h: Tuple[int, ...], w: int) -> float:
        p = 1.0 / (self.vocab_size + 1)
        for k in range(len(h) + 1):  # shortest context first: () .. h
            ctx = h[len(h) - k:]
            total = self._total.get(ctx)
            if not total:
                break  # a longer context holding an unseen shorter one does not exist either
            types = self._types[ctx]
            p = (self._counts[ctx].get(w, 0) + types * p) / (total + types)
        return p

    def sentence_logprob(self, tokens: Sequence[int]) -> float:
        """log P(tokens, end of sentence)."""
        ctx: List[int] = []
        lp = 0.0
        for t in list(tokens) + [EOS]:
            lp += self.logprob(ctx, t)
            ctx.append(t)
        return lp


def train_lms(
    text: str,
    encode,
    order: int,
    vocab_size: int,
    utt2lang: Optional[Dict[str, str]] = None,
) -> Dict[Optional[str], NgramLM]:
    """One :class:`NgramLM` per language (key None: all utterances, no utt2lang).

    Args:
        text: Kaldi ``text`` file of the training transcripts (read by
            :func:`usm_espnet.data.kaldi.read_kaldi_map`: file:line errors).
        encode: transcript -> token ids (the ASR model's tokenizer and token list).
        order: n-gram order.
        vocab_size: The token list's size.
        utt2lang: {utt: language} of the training utterances (one model per language;
            utterances it does not list are left out), or None for one model on everything.
    """
    per_lang: Dict[Optional[str], List[List[int]]] = defaultdict(list)
    for utt, transcript in read_kaldi_map(text, allow_empty_value=True).items():
        lang = None if utt2lang is None else utt2lang.get(utt)
        if utt2lang is not None and lang is None:
            continue
        per_lang[lang].append(encode(transcript))
    if not per_lang:
        raise ValueError(f"{text}: no transcripts to train the n-gram LM on")
    return {lang: NgramLM(order, vocab_size).fit(sents) for lang, sents in per_lang.items()}
