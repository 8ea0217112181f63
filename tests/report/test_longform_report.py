"""Long-form scoring tables: WER split into substitutions, deletions and insertions."""

from usm_espnet.report import longform as lfr


def test_sdi_split_adds_up_and_is_shown_per_recording_and_model():
    refs = {"r1": "a b c d e f g h i j", "r2": "one two three four"}
    hyps = {"r1": "a x c d e f g h i j k l"}  # 1 substitution, 2 insertions; r2 not decoded
    scores = lfr.score_recordings(refs, hyps, {"r1": "en_us", "r2": "en_us"},
                                  {"r1": 60.0, "r2": 600.0})
    s, d, i = scores["r1"]["wer_sdi"]
    assert (s, d, i) == (10.0, 0.0, 20.0) and abs(s + d + i - scores["r1"]["wer"]) < 1e-9
    assert scores["r2"]["missing_hyp"] and scores["r2"]["wer_sdi"] == [0.0, 100.0, 0.0]
    md = lfr.recordings_markdown(scores, "t", standin=False)
    assert "| Sub (%) | Del (%) | Ins (%) |" in md
    assert "| r1 | en_us | 1.0 | 30.00 | 10.00 | 0.00 | 20.00 |" in md
    assert "| r2 | en_us | 10 | not decoded | - | - | - | - |" in md
    cmp = lfr.comparison_markdown([("chunk", scores), ("local", scores)], "t", standin=False,
                                  paper=None)
    assert "S/D/I (%) chunk" in cmp and "| 10.0/0.0/20.0 | 10.0/0.0/20.0 |" in cmp
    # a scores.json from before the split still renders
    old = {k: {kk: vv for kk, vv in v.items() if kk != "wer_sdi"} for k, v in scores.items()}
    assert "| - | - | - |" in lfr.recordings_markdown(old, "t", standin=False)
