"""Tests for usm_espnet.report.results and the usm_espnet.bin.score_asr entry point."""

import json
from pathlib import Path
from typing import Dict

import pytest

from usm_espnet.bin.score_asr import main
from usm_espnet.report.results import (
    PAPER_RESULTS,
    plot_per_language,
    print_table,
    results_markdown,
    update_recipe_results,
)
from usm_espnet.scoring.asr import ErrorCounts, LangScore

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _scores() -> Dict[str, LangScore]:
    return {
        "en_us": LangScore("en_us", ErrorCounts(10, 100, 5, 3, 2, 4),
                           ErrorCounts(20, 500, 10, 5, 5, 4)),
        "hi_in": LangScore("hi_in", ErrorCounts(30, 100, 20, 5, 5, 3),
                           ErrorCounts(40, 400, 30, 5, 5, 3)),
        "xx_test": LangScore("xx_test", ErrorCounts(0, 10, 0, 0, 0, 1),
                             ErrorCounts(0, 40, 0, 0, 0, 1)),
    }


def test_paper_results_have_source() -> None:
    for entry in PAPER_RESULTS.values():
        assert entry["source"]
        assert any(k in entry for k in ("wer", "cer"))


def test_markdown_rows_average_and_standin_label() -> None:
    md = results_markdown(_scores(), "FLEURS demo", "fleurs", standin=True,
                          extra_info={"model": "tiny | conformer",
                                      "command": "./run.sh --stage 5"})
    lines = md.splitlines()
    assert lines[0] == "## FLEURS demo"
    label = next(i for i, l in enumerate(lines) if "stand-in" in l)
    table = next(i for i, l in enumerate(lines) if l.startswith("| Lang |"))
    assert label < table and "not comparable" in lines[label].lower()
    en = next(l for l in lines if l.startswith("| en_us |"))
    assert "English" in en and "| 4 |" in en and "10.00" in en and "4.00" in en
    assert any(l.startswith("| xx_test |  |") for l in lines)  # unknown name: blank
    avg = next(l for l in lines if "Average (macro)" in l)
    # macro WER (10 + 30 + 0) / 3, macro CER (4 + 10 + 0) / 3
    assert "13.33" in avg and "4.67" in avg and "| 8 |" in avg
    assert "tiny \\| conformer" in md and "`./run.sh --stage 5`" in md

    paper = PAPER_RESULTS["fleurs"]
    paper_rows = [l for l in lines if str(paper["source"]) in l]
    assert len(paper_rows) == 1
    prow = lines.index(paper_rows[0])
    assert f"{paper['wer']:.1f}" in paper_rows[0] and f"{paper['cer']:.1f}" in paper_rows[0]
    # The paper's numbers sit in their own table after a heading, not in ours.
    assert prow > lines.index(avg)
    heading = max(i for i, l in enumerate(lines[:prow]) if l.startswith("### "))
    assert heading > lines.index(avg)
    assert "not comparable" in lines[heading]
    assert all(str(paper["source"]) not in l for l in lines[table:lines.index(avg) + 1])


def test_markdown_without_paper_or_standin() -> None:
    md = results_markdown(_scores(), "t", None, standin=False)
    assert "stand-in" not in md and "Paper reference" not in md
    assert "Average (macro)" in md


def test_markdown_unknown_paper_key() -> None:
    with pytest.raises(KeyError):
        results_markdown(_scores(), "t", "nope", standin=False)


def test_plot_is_png(tmp_path: Path) -> None:
    png = tmp_path / "sub" / "per_language.png"
    plot_per_language(_scores(), png, "per-language")
    data = png.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 5000
    assert [p.name for p in png.parent.iterdir()] == ["per_language.png"]


def test_update_recipe_results_replace_and_append(tmp_path: Path) -> None:
    path = tmp_path / "RESULTS.md"
    update_recipe_results(path, "exp_a", "## A\nold a\n")
    update_recipe_results(path, "exp_b", "## B\nb\n")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# RESULTS\n")
    assert text.index("old a") < text.index("## B")

    # Hand-written text around the sections must survive.
    path.write_text(text.replace("# RESULTS\n", "# RESULTS\n\nintro kept\n") + "\nfooter\n",
                    encoding="utf-8")
    update_recipe_results(path, "exp_a", "## A\nnew a\n")
    new = path.read_text(encoding="utf-8")
    assert "old a" not in new and "new a" in new
    assert new.count("<!-- exp_a start -->") == 1 and new.count("<!-- exp_a end -->") == 1
    assert new.index("new a") < new.index("## B")  # replaced in place, not moved
    assert "intro kept" in new and new.rstrip().endswith("footer")
    assert "<!-- exp_b start -->\n## B\nb\n<!-- exp_b end -->" in new


def test_update_recipe_results_bad_markers(tmp_path: Path) -> None:
    path = tmp_path / "RESULTS.md"
    path.write_text("# R\n<!-- x start -->\nno end\n", encoding="utf-8")
    with pytest.raises(ValueError, match="unbalanced"):
        update_recipe_results(path, "x", "y")
    with pytest.raises(ValueError, match="invalid section id"):
        update_recipe_results(path, "bad id -->", "y")


def test_print_table() -> None:
    out = print_table(_scores())
    lines = out.splitlines()
    assert lines[0].split()[:2] == ["lang", "language"]
    assert any(l.startswith("en_us") and "10.00" in l for l in lines)
    assert lines[-1].startswith("average (macro)") and "13.33" in lines[-1]
    assert "no utterances" in print_table({})


def test_score_asr_bin_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "ref").write_text("u1 Hello, World!\nu2 नमस्ते दुनिया\nu3 今天天气很好\n",
                                  encoding="utf-8")
    (tmp_path / "hyp").write_text("u1 hello word\nu2 नमस्ते दुनिया\nu3 今天天汽好\n",
                                  encoding="utf-8")
    (tmp_path / "utt2lang").write_text("u1 en_us\nu2 hi_in\nu3 cmn_hans_cn\n",
                                       encoding="utf-8")
    recipe = tmp_path / "recipe" / "RESULTS.md"
    out_dir = tmp_path / "exp" / "decode" / "score"
    argv = ["--ref", str(tmp_path / "ref"), "--hyp", str(tmp_path / "hyp"),
            "--utt2lang", str(tmp_path / "utt2lang"), "--out_dir", str(out_dir),
            "--paper", "fleurs", "--standin", "true", "--title", "demo",
            "--recipe_results", str(recipe), "--section_id", "demo_exp",
            "--info", "model=tiny"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "average (macro)" in printed and "en_us" in printed

    for name in ("scores.json", "per_utt.tsv", "RESULTS.md", "per_language.png",
                 "alignments.txt"):
        assert (out_dir / name).is_file(), name
    doc = json.loads((out_dir / "scores.json").read_text(encoding="utf-8"))
    assert doc["languages"]["en_us"]["wer"] == 50.0
    assert doc["languages"]["hi_in"]["wer"] == 0.0
    # cmn: 6 chars, 1 sub + 1 del
    assert doc["languages"]["cmn_hans_cn"]["wer_counts"]["errors"] == 2
    assert doc["macro_average"]["wer"] == pytest.approx((50 + 0 + 100 / 3) / 3, abs=1e-3)
    assert (out_dir / "per_language.png").read_bytes().startswith(PNG_MAGIC)
    md = (out_dir / "RESULTS.md").read_text(encoding="utf-8")
    assert "stand-in" in md and "model" in md and "(per_language.png)" in md
    rec = recipe.read_text(encoding="utf-8")
    assert "<!-- demo_exp start -->" in rec and "(results/demo_exp.png)" in rec

    # Missing hypothesis: error by default, scored as empty with --missing empty.
    (tmp_path / "hyp").write_text("u1 hello world\n", encoding="utf-8")
    capsys.readouterr()
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "ERROR: " in err and "no hypothesis" in err and str(tmp_path / "hyp") in err
    assert main(argv + ["--missing", "empty"]) == 0
    rec2 = recipe.read_text(encoding="utf-8")
    assert rec2.count("<!-- demo_exp start -->") == 1
    doc = json.loads((out_dir / "scores.json").read_text(encoding="utf-8"))
    assert doc["languages"]["hi_in"]["wer"] == 100.0
