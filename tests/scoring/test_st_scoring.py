"""BLEU/chrF per source language: the wrapper agrees with sacrebleu's command line."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from usm_espnet.bin import score_st as cli
from usm_espnet.scoring.st import average, read_text_map, score_st, st_results_markdown, write_st_scores

SACREBLEU = Path(sys.executable).parent / "sacrebleu"

REFS = {
    "de-a": "The train is late again today.",
    "de-b": "I would like a cup of coffee, please.",
    "de-c": "See you tomorrow at the station.",
    "fr-a": "He said \"yes\" and left the room.",
    "fr-b": "The next name in the atlas is Malta.",
    "zh-CN-a": "Room number five hundred is on floor sixteen.",
}
HYPS = {
    "de-a": "The train is late today.",
    "de-b": "I want a cup of coffee please.",
    "de-c": "",
    "fr-a": "He said yes and left the room.",
    "fr-b": "The next name in the atlas is Malta.",
    "zh-CN-a": "Room five hundred is on the sixteenth floor.",
}
U2L = {u: u.rsplit("-", 1)[0] for u in REFS}


def _cli(ref: Path, hyp: Path):
    out = subprocess.run([str(SACREBLEU), str(ref), "-i", str(hyp), "-m", "bleu", "chrf",
                          "-w", "4", "-f", "json"], capture_output=True, text=True, check=True)
    return {d["name"]: d["score"] for d in json.loads(out.stdout)}


@pytest.mark.skipif(not SACREBLEU.exists(), reason="sacrebleu CLI not installed beside python")
def test_per_language_scores_equal_sacrebleu_cli(tmp_path):
    scores = score_st(REFS, HYPS, U2L)
    assert list(scores.languages) == ["de", "fr", "zh-CN"]
    write_st_scores(tmp_path, scores, REFS, HYPS)
    doc = json.loads((tmp_path / "scores.json").read_text())
    for lang in ("de", "fr"):
        ref, hyp = tmp_path / f"ref.{lang}.txt", tmp_path / f"hyp.{lang}.txt"
        # the files hold the language's sentences, one a line, in utterance-id order
        ids = sorted(u for u in REFS if U2L[u] == lang)
        assert ref.read_text().splitlines() == [REFS[u] for u in ids]
        assert hyp.read_text().splitlines() == [HYPS[u] for u in ids]
        want = _cli(ref, hyp)
        assert doc["languages"][lang]["bleu"] == want["BLEU"]
        assert doc["languages"][lang]["chrf"] == want["chrF2"]
        assert doc["languages"][lang]["num_utts"] == len(ids)
    assert 0 < scores.languages["de"].bleu < 100 and scores.languages["fr"].bleu > scores.languages["de"].bleu
    bleu, chrf = average(scores)
    assert bleu == pytest.approx(sum(s.bleu for s in scores.languages.values()) / 3)
    assert doc["macro_average"] == {"bleu": round(bleu, 4), "chrf": round(chrf, 4), "num_langs": 3}
    # pooled: all utterances as one corpus, what the CLI gives on the concatenated files
    allref, allhyp = tmp_path / "all.ref", tmp_path / "all.hyp"
    allref.write_text("".join(REFS[u] + "\n" for u in sorted(REFS)))
    allhyp.write_text("".join(HYPS[u] + "\n" for u in sorted(REFS)))
    assert doc["pooled"]["bleu"] == _cli(allref, allhyp)["BLEU"]
    assert doc["signatures"]["bleu"].startswith("nrefs:1|case:mixed|eff:no|tok:13a")
    rows = (tmp_path / "per_utt.tsv").read_text().splitlines()
    assert rows[0] == "utt\tlang\tbleu\tchrf\tref\thyp" and len(rows) == 7
    assert next(r for r in rows if r.startswith("fr-b\t")).split("\t")[2] == "100.00"


def test_missing_hypotheses_options_and_case():
    hyps = {u: h for u, h in HYPS.items() if u != "fr-b"}
    with pytest.raises(ValueError, match="no hypothesis for 1 utterance"):
        score_st(REFS, hyps, U2L)
    empty = score_st(REFS, hyps, U2L, missing="empty")
    assert empty.languages["fr"].bleu < score_st(REFS, HYPS, U2L).languages["fr"].bleu
    with pytest.raises(ValueError, match="no language in utt2lang"):
        score_st(REFS, HYPS, {"de-a": "de"})
    with pytest.raises(ValueError, match="tokenize must be one of"):
        score_st(REFS, HYPS, U2L, tokenize="moses")
    with pytest.raises(ValueError, match="missing must be one of"):
        score_st(REFS, HYPS, U2L, missing="skip")
    upper = {u: h.upper() for u, h in HYPS.items()}
    assert score_st(REFS, upper, U2L).languages["fr"].bleu < 10
    assert score_st(REFS, upper, U2L, lowercase=True).languages["fr"].bleu == pytest.approx(
        score_st(REFS, HYPS, U2L).languages["fr"].bleu)


def test_markdown_keeps_paper_numbers_apart():
    from usm_espnet.report.results import PAPER_RESULTS

    md = st_results_markdown(score_st(REFS, HYPS, U2L), "CoVoST 2 test", PAPER_RESULTS["covost2"],
                             standin=True, lang_names={"fr": "French"}, extra_info={"command": "./run.sh"})
    lines = md.splitlines()
    table = lines.index("| Source | Language | #utts | BLEU | chrF |")
    assert "stand-in" in md[: md.index("| Source |")].lower()
    assert any(line.startswith("| fr | French | 2 |") for line in lines)
    avg = next(i for i, line in enumerate(lines) if "Average (macro)" in line)
    paper = next(i for i, line in enumerate(lines) if line.startswith("### Paper reference"))
    assert table < avg < paper and "| USM-M | 30.7 |" in md
    assert "| previous best (as cited by the USM paper) | 29.6 |" in md
    assert "`./run.sh`" in md


def test_cli_writes_results_section_and_reports_bad_input(tmp_path, capsys):
    ref, hyp, u2l = tmp_path / "text", tmp_path / "hyp", tmp_path / "utt2lang"
    ref.write_text("".join(f"{u} {t}\n" for u, t in sorted(REFS.items())))
    hyp.write_text("".join(f"{u} <fr> {t}\n" if t else f"{u}\n" for u, t in sorted(HYPS.items())))
    u2l.write_text("".join(f"{u} {l}\n" for u, l in sorted(U2L.items())))
    md = tmp_path / "RESULTS.md"
    assert cli.main(["--ref", str(ref), "--hyp", str(hyp), "--utt2lang", str(u2l), "--strip_tags", "true",
                     "--out_dir", str(tmp_path / "score"), "--paper", "covost2", "--standin", "true",
                     "--recipe_results", str(md), "--section_id", "st_test", "--title", "t"]) == 0
    assert "average (3 langs)" in capsys.readouterr().out
    doc = json.loads((tmp_path / "score" / "scores.json").read_text())
    want = score_st(read_text_map(ref), HYPS, U2L)
    assert doc["languages"]["fr"]["bleu"] == round(want.languages["fr"].bleu, 4)  # tags stripped
    text = md.read_text()
    assert "<!-- st_test start -->" in text and "30.7" in text and (tmp_path / "score" / "RESULTS.md").exists()
    hyp.write_text("de-a ok\n de-b starts with a space\n")
    assert cli.main(["--ref", str(ref), "--hyp", str(hyp), "--utt2lang", str(u2l),
                     "--out_dir", str(tmp_path / "s2")]) == 1
    assert f"ERROR: {hyp}:2: malformed line" in capsys.readouterr().err
