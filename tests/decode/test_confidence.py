"""CTC confidence and the noisy-student pseudo-label filter (usm_espnet.decode.confidence)."""

import math

import pytest
import torch

from usm_espnet.decode.confidence import ctc_confidence, filter_pseudo_labels, summary


def _lp(rows):
    return torch.log(torch.tensor(rows))


def test_confidence_is_mean_posterior_of_emitted_frames():
    lp = _lp([[0.9, 0.05, 0.05],    # blank, ignored
              [0.2, 0.7, 0.1],      # token 1 at 0.7
              [0.1, 0.1, 0.8],      # token 2 at 0.8
              [0.99, 0.005, 0.005]])
    assert math.isclose(ctc_confidence(lp), 0.75, rel_tol=1e-5)
    assert math.isclose(ctc_confidence(lp, length=2), 0.7, rel_tol=1e-5)  # padding ignored
    assert ctc_confidence(_lp([[0.9, 0.1, 0.0]])) == 0.0  # all blank


def test_filter_keeps_and_drops_the_right_utterances():
    hyps = {"a": "hello world", "b": "hello world", "c": "", "d": "x", "e": "y" * 200, "f": "ok then"}
    conf = {"a": 0.95, "b": 0.5, "c": 0.99, "d": 0.99, "e": 0.99, "f": 0.91}
    dur = {"a": 2.0, "b": 2.0, "c": 1.0, "d": 5.0, "e": 2.0}  # f: no duration -> no rate check
    r = filter_pseudo_labels(hyps, conf, dur, min_confidence=0.9)
    assert r.kept == {"a": "hello world", "f": "ok then"}
    assert r.dropped["b"].startswith("confidence 0.500 < 0.9")
    assert r.dropped["c"] == "empty hypothesis"
    assert "too little text" in r.dropped["d"] and "too much text" in r.dropped["e"]
    kept, dropped, kinds = summary(r)
    assert (kept, dropped) == (2, 4) and dict(kinds) == {"confidence": 1, "empty": 1, "rate": 2}
    # a looser threshold keeps b too
    assert "b" in filter_pseudo_labels(hyps, conf, dur, min_confidence=0.4).kept


def test_filter_errors():
    with pytest.raises(ValueError, match="no confidence for utterance 'a'"):
        filter_pseudo_labels({"a": "x"}, {})
    with pytest.raises(ValueError, match="min_confidence"):
        filter_pseudo_labels({}, {}, min_confidence=1.5)
