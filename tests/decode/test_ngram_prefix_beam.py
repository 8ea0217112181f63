"""Token n-gram LM (Witten-Bell) and CTC prefix beam search, against brute force."""

import itertools
import math

import numpy as np
import pytest

from usm_espnet.decode.ctc_prefix_beam import prefix_beam_search
from usm_espnet.decode.ngram_lm import EOS, NgramLM, train_lms


def _collapse(path, blank=0):
    out, prev = [], None
    for t in path:
        if t != prev and t != blank:
            out.append(t)
        prev = t
    return tuple(out)


def _brute_force(logp, blank=0, lm=None, weight=0.0, bonus=0.0):
    """Every label sequence's exact CTC log-probability (sum over all paths) + LM terms."""
    T, V = logp.shape
    seq_lp = {}
    for path in itertools.product(range(V), repeat=T):
        lp = sum(logp[t, c] for t, c in enumerate(path))
        y = _collapse(path, blank)
        seq_lp[y] = np.logaddexp(seq_lp.get(y, -np.inf), lp)
    best = None
    for y, lp in seq_lp.items():
        s = lp + bonus * len(y)
        if lm is not None:
            s += weight * lm.sentence_logprob(list(y))
        if best is None or s > best[0]:
            best = (s, list(y))
    return best


def _random_logp(rng, T, V, sharp=2.0):
    x = rng.normal(size=(T, V)) * sharp
    return x - np.log(np.exp(x).sum(axis=1, keepdims=True))


@pytest.mark.parametrize("seed", range(6))
def test_prefix_beam_with_a_wide_beam_finds_the_most_probable_sequence(seed):
    rng = np.random.default_rng(seed)
    logp = _random_logp(rng, T=5, V=3)
    hyp, score = prefix_beam_search(logp, beam=50, prune=-1e9)
    want_score, want = _brute_force(logp)
    assert hyp == want
    assert score == pytest.approx(want_score, abs=1e-9)


@pytest.mark.parametrize("seed", range(4))
def test_prefix_beam_with_lm_matches_brute_force(seed):
    rng = np.random.default_rng(100 + seed)
    logp = _random_logp(rng, T=5, V=3, sharp=1.0)
    lm = NgramLM(2, vocab_size=3).fit([[1, 2, 1], [2, 2], [1]])
    hyp, score = prefix_beam_search(logp, beam=60, lm=lm, lm_weight=0.7, bonus=0.3, prune=-1e9)
    want_score, want = _brute_force(logp, lm=lm, weight=0.7, bonus=0.3)
    assert hyp == want
    assert score == pytest.approx(want_score, abs=1e-9)


def test_beam_one_without_lm_is_greedy_best_path():
    rng = np.random.default_rng(7)
    logp = _random_logp(rng, T=40, V=6, sharp=4.0)
    hyp, _ = prefix_beam_search(logp, beam=1)
    assert tuple(hyp) == _collapse(logp.argmax(axis=1).tolist())


def test_repeated_token_needs_a_blank_between():
    # frames: a a blank a -> "a a" (two tokens), not one
    eps = 1e-4
    logp = np.log(np.array([[eps, 1 - eps], [eps, 1 - eps], [1 - eps, eps], [eps, 1 - eps]]))
    hyp, _ = prefix_beam_search(logp, beam=4)
    assert hyp == [1, 1]


def test_lm_resolves_an_acoustically_ambiguous_token():
    # frame 2 cannot tell token 2 from 3; the LM has only ever seen 1 -> 3
    logp = np.log(np.array([[0.05, 0.9, 0.025, 0.025], [0.9, 0.04, 0.03, 0.03],
                            [0.02, 0.02, 0.49, 0.47], [0.97, 0.01, 0.01, 0.01]]))
    assert prefix_beam_search(logp, beam=4)[0] == [1, 2]
    lm = NgramLM(3, vocab_size=4).fit([[1, 3]] * 5)
    assert prefix_beam_search(logp, beam=4, lm=lm, lm_weight=1.0)[0] == [1, 3]


def test_allowed_mask_keeps_other_tokens_out():
    logp = np.log(np.array([[0.1, 0.8, 0.1], [0.8, 0.1, 0.1], [0.1, 0.1, 0.8]]))
    hyp, _ = prefix_beam_search(logp, beam=4, allowed=[True, False, True])
    assert 1 not in hyp and hyp == [2]


@pytest.mark.parametrize("order", [1, 2, 4])
def test_witten_bell_is_a_distribution(order):
    lm = NgramLM(order, vocab_size=5).fit([[1, 2, 3], [1, 2, 2, 4], [3], [0, 1]])
    for ctx in ([], [1], [1, 2], [4, 4, 4], [9]):
        total = sum(math.exp(lm.logprob(ctx, w)) for w in list(range(5)) + [EOS])
        assert total == pytest.approx(1.0, abs=1e-12)


def test_lm_prefers_seen_sequences_and_backs_off_to_unseen():
    lm = NgramLM(3, vocab_size=10).fit([[1, 2, 3]] * 3 + [[4, 5]])
    assert lm.sentence_logprob([1, 2, 3]) > lm.sentence_logprob([1, 3, 2])
    assert math.isfinite(lm.sentence_logprob([7, 8, 9]))  # never seen: the uniform floor


def test_bad_order_and_empty_text(tmp_path):
    with pytest.raises(ValueError, match="order"):
        NgramLM(0, 5)
    with pytest.raises(ValueError, match="beam"):
        prefix_beam_search(np.zeros((2, 2)), beam=0)
    text = tmp_path / "text"
    text.write_text("")
    with pytest.raises(ValueError, match="no transcripts"):
        train_lms(str(text), lambda s: [1], 2, 3)


def test_train_lms_one_model_per_language(tmp_path):
    text = tmp_path / "text"
    text.write_text("\ufeffu1 ab\nu2 ba\nu3 cc\nu4 zz\n", encoding="utf-8")
    ids = {"a": 1, "b": 2, "c": 3, "z": 4}
    lms = train_lms(str(text), lambda s: [ids[c] for c in s], 2, 5,
                    {"u1": "x", "u2": "x", "u3": "y"})
    assert sorted(lms) == ["x", "y"] and lms["x"].sentences == 2 and lms["y"].sentences == 1
    assert lms["y"].logprob([3], 3) > lms["x"].logprob([3], 3)
