"""Tests for usm_espnet.tasks.stream_mixer (MOST's per-step sampling of its three streams)."""

import pytest

from usm_espnet.ssl.most import MOSTConfig
from usm_espnet.tasks.stream_mixer import StreamMixer


def test_stream_mixer_ratios_schedule_and_determinism():
    ids = {"speech": [f"s{i}" for i in range(40)], "paired": [f"p{i}" for i in range(10)],
           "text": [f"t{i}" for i in range(80)]}
    sizes = {"speech": 4, "paired": 1, "text": 8}
    mix = StreamMixer(ids, sizes, seed=3, start_steps={"text": 2})
    batches = list(mix.iterate(0, 12))
    assert "text" not in batches[0] and "text" not in batches[1]
    for b in batches[2:]:
        assert [len(b[s]) for s in ("speech", "paired", "text")] == [4, 1, 8]
    # one epoch of speech = 10 steps: every id exactly once
    epoch = [i for b in batches[:10] for i in b["speech"]]
    assert sorted(epoch) == sorted(ids["speech"])
    assert [i for b in batches[2:12] for i in b["text"]] != [f"t{i}" for i in range(80)]
    assert sorted(i for b in batches[2:12] for i in b["text"]) == sorted(ids["text"])
    # deterministic, random-access, seed-dependent
    again = StreamMixer(ids, sizes, seed=3, start_steps={"text": 2})
    assert list(again.iterate(0, 12)) == batches and again.batch(7) == batches[7]
    assert StreamMixer(ids, sizes, seed=4).batch(0)["speech"] != batches[0]["speech"]
    # wraps across epochs inside a batch
    small = StreamMixer({"paired": ["a", "b", "c"]}, {"paired": 2}, shuffle=False)
    assert [small.batch(i)["paired"] for i in range(3)] == [["a", "b"], ["c", "a"], ["b", "c"]]


def test_stream_mixer_from_config_and_bad_input():
    ids = {"speech": ["s"] * 100, "paired": ["p"] * 100, "text": ["t"] * 100}
    mix = StreamMixer.from_config(MOSTConfig(), ids, scale=1 / 1024)
    assert mix.batch_sizes == {"speech": 4, "paired": 1, "text": 8}
    assert "text" not in mix.batch(19999) and len(mix.batch(20000)["text"]) == 8
    no_text = StreamMixer.from_config(MOSTConfig(), {**ids, "text": []})
    assert "text" not in no_text.batch(30000)
    with pytest.raises(ValueError, match="no ids"):
        StreamMixer({"text": []}, {"text": 2})
    with pytest.raises(ValueError, match="without ids"):
        StreamMixer({"text": ["a"]}, {"speech": 2})
