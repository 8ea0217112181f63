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


def _scores(hyp_extra):
    """Two languages x lengths 1, 15 and 60 min; ``hyp_extra`` words inserted per recording."""
    refs, hyps, u2l, u2d = {}, {}, {}, {}
    for lang in ("en_us", "ru_ru"):
        for minutes, sec in ((1, 61.0), (15, 905.0), (60, 3610.0)):
            rec = f"{lang}_{minutes}min"
            refs[rec] = " ".join(f"w{i}" for i in range(20))
            hyps[rec] = " ".join(["f"] * hyp_extra + [f"w{i}" for i in range(18)])  # 2 deletions
            u2l[rec], u2d[rec] = lang, sec + (5.0 if lang == "ru_ru" else 0.0)
    return lfr.score_recordings(refs, hyps, u2l, u2d)


def _short(errors, ref_len=100):
    c = {"errors": errors, "ref_len": ref_len, "substitutions": errors, "deletions": 0,
         "insertions": 0, "num_utts": 10, "rate": 100.0 * errors / ref_len}
    return {"languages": {"en_us": {"wer_counts": c}, "ru_ru": {"wer_counts": c},
                          "de_de": {"wer_counts": dict(c, errors=100, substitutions=100)}}}


def test_pooled_per_length_and_metrics():
    chunk, local = _scores(1), _scores(3)
    p = lfr.pooled_wer(chunk, lfr.recordings_of_length(chunk, 60))
    assert p["recordings"] == 2 and p["words"] == 40
    assert (round(p["sub"], 6), round(p["del"], 6), round(p["ins"], 6)) == (0.0, 10.0, 5.0)
    assert lfr.recordings_of_length(chunk, 15, at_least=True) == [
        "en_us_15min", "en_us_60min", "ru_ru_15min", "ru_ru_60min"]
    # the short-test WER is pooled over the long recordings' languages only (de_de left out)
    assert lfr.short_wer(_short(10), ["en_us", "ru_ru"]) == 10.0
    m = lfr.longform_metrics([("chunk", chunk), ("local", local)], {"chunk": _short(10)})
    assert abs(m["longform_wer_ratio_60min"]["value"] - 1.5) < 1e-9  # 15 % / 10 %
    assert abs(m["cw_over_lsa_15min_plus"]["value"] - 15.0 / 25.0) < 1e-9
    assert lfr.metrics_lines(m) == ["longform_wer_ratio_60min=1.5000", "cw_over_lsa_15min_plus=0.6000"]
    # missing pieces give nan with the reason, not a crash
    m2 = lfr.longform_metrics([("chunk", chunk)], {})
    assert lfr.metrics_lines(m2) == ["longform_wer_ratio_60min=nan", "cw_over_lsa_15min_plus=nan"]
    assert "short-utterance" in m2["longform_wer_ratio_60min"]["why"]


def test_comparison_per_length_table_marks_not_decoded():
    chunk = _scores(1)
    glob = {r: dict(s) for r, s in chunk.items()}
    for r in glob:
        if not r.endswith("_1min"):
            glob[r].update(missing_hyp=True)
    m = lfr.longform_metrics([("chunk", chunk), ("global", glob)], {"chunk": _short(10)})
    md = lfr.comparison_markdown([("chunk", chunk), ("global", glob)], "t", standin=False,
                                 paper=None, short={"chunk": _short(10)}, metrics=m)
    assert "| Minutes | WER (%) chunk | Sub | Del | Ins | WER (%) global | Sub | Del | Ins |" in md
    assert "| short test utterances | 10.00 | 10.00 | 0.00 | 0.00 | - | - | - | - |" in md
    assert "| 60 | 15.00 | 0.00 | 10.00 | 5.00 | not decoded | - | - | - |" in md
    assert "| 1.0 | 15.00 | 0.00 | 10.00 | 5.00 | 15.00 | 0.00 | 10.00 | 5.00 |" in md
    assert "`longform_wer_ratio_60min=1.5000` (15.00 / 10.00)" in md
    assert "`cw_over_lsa_15min_plus=nan` needs models" in md


def test_plot_ticks_at_lengths_and_not_decoded(tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    chunk = _scores(1)
    glob = {r: dict(s, missing_hyp=not r.endswith("_1min")) for r, s in chunk.items()}
    seen = {}
    orig = plt.Figure.savefig

    def grab(fig, *args, **kw):
        seen["ticks"] = [[t.get_text() for t in ax.get_xticklabels()] for ax in fig.axes]
        seen["ylabels"] = [ax.get_ylabel() for ax in fig.axes]
        return orig(fig, *args, **kw)

    monkeypatch.setattr(plt.Figure, "savefig", grab)
    labels = lfr.plot_wer_vs_length([("chunk", chunk), ("global", glob)], str(tmp_path / "p.png"),
                                    "t", standin=False)
    assert (tmp_path / "p.png").stat().st_size > 0
    assert seen["ticks"] == [["1.0", "15", "60"]] * 3  # one tick per length, not per recording
    assert seen["ylabels"][1].startswith("insertions")
    assert "global en_us: not decoded" in labels and "global ru_ru: not decoded" in labels


def test_score_longform_cli_metrics(tmp_path, capsys):
    import json

    from usm_espnet.bin.score_longform import main

    paths = {}
    for label, extra in (("chunk", 1), ("local", 3)):
        paths[label] = tmp_path / f"{label}.json"
        lfr.save_scores(str(paths[label]), _scores(extra))
    (tmp_path / "short.json").write_text(json.dumps(_short(10)))
    rc = main(["--compare", f"chunk={paths['chunk']}", "--compare", f"local={paths['local']}",
               "--short", f"chunk={tmp_path / 'short.json'}", "--title", "t",
               "--metrics_out", str(tmp_path / "m.txt"), "--plot", str(tmp_path / "p.png")])
    assert rc == 0
    assert (tmp_path / "m.txt").read_text().split() == [
        "longform_wer_ratio_60min=1.5000", "cw_over_lsa_15min_plus=0.6000"]
    assert "Ins" in capsys.readouterr().out
    assert main(["--compare", f"chunk={paths['chunk']}", "--short", f"chunk={tmp_path / 'no.json'}",
                 "--title", "t"]) == 1


def test_runs_of_one_model_are_pooled_and_shown_each(tmp_path, capsys):
    import json

    from usm_espnet.bin.score_longform import main

    # chunk: two seeds with 1 and 5 inserted words (15 % and 35 % WER), local: 25 % twice
    files = {}
    for name, extra in (("c0", 1), ("c1", 5), ("l0", 3), ("l1", 3)):
        files[name] = tmp_path / f"{name}.json"
        lfr.save_scores(str(files[name]), _scores(extra))
    for name, err in (("s0", 10), ("s1", 30)):
        files[name] = tmp_path / f"{name}.json"
        files[name].write_text(json.dumps(_short(err)))
    compare = ["--compare", f"chunk={files['c0']}", "--compare", f"local={files['l0']}",
               "--compare", f"chunk={files['c1']}", "--compare", f"local={files['l1']}", "--title", "t"]
    assert main(compare + ["--short", f"chunk={files['s0']}", "--short", f"chunk={files['s1']}",
                           "--metrics_out", str(tmp_path / "m.txt")]) == 0
    md = capsys.readouterr().out
    # pooled: chunk 25 % (the mean of 15 and 35), local 25 %; short 20 % (10 and 30)
    assert (tmp_path / "m.txt").read_text().split() == [
        "longform_wer_ratio_60min=1.2500", "cw_over_lsa_15min_plus=1.0000"]
    assert "chunk: 2, local: 2" in md and "mean of the runs' WERs" in md
    # and each run on its own: 15/25 and 35/25; 15/10 and 35/30
    assert "| 1 | 10.00 | - | 15.00 | 25.00 | 0.6000 | 1.5000 |" in md
    assert "| 2 | 30.00 | - | 35.00 | 25.00 | 1.4000 | 1.1667 |" in md
    # a --short per run, in the same order: a count that does not match is one error
    assert main(compare + ["--short", f"chunk={files['s0']}"]) == 1
    assert "given 1 times" in capsys.readouterr().err


def test_merge_runs_marks_a_recording_not_decoded_in_some_run():
    a, b = _scores(1), _scores(5)
    b["en_us_60min"] = dict(b["en_us_60min"], missing_hyp=True)
    del b["ru_ru_1min"]
    m = lfr.merge_runs([a, b])
    assert m["en_us_60min"]["missing_hyp"] and m["ru_ru_1min"]["missing_hyp"]
    assert m["en_us_1min"]["wer_counts"] == [10, 40] and abs(m["en_us_1min"]["wer"] - 25.0) < 1e-9
    assert m["en_us_1min"]["wer_sdi_counts"] == [0, 4, 6]
    assert lfr.merge_runs([a]) is a
    p = lfr.pooled_wer(m)
    assert p["recordings"] == 4  # the two not decoded in every run are left out
