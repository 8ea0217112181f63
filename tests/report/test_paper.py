"""usm_espnet.report.paper: the one table of the paper's numbers, and the writers that read it."""

import json
import re
import shlex
from pathlib import Path

import pytest

from usm_espnet.bin import compare_results
from usm_espnet.report import paper
from usm_espnet.report.longform import PAPER_TABLE7
from usm_espnet.report.results import PAPER_RESULTS

ROOT = Path(__file__).resolve().parents[2]

# What the writers printed before the table existed (their hard-coded values), verbatim.
OLD_SOURCES = {
    "table5": "USM paper (arXiv 2303.01037) Table 5, multi-softmax ablation, FLEURS CER",
    "table7": "USM paper (arXiv 2303.01037) Table 7, YouTube long-form WER (%), "
              "local self-attention (LSA-128) vs chunk-wise attention (CW-8s)",
    "fleurs102": "USM paper (arXiv 2303.01037), USM-M on FLEURS-102 (the paper's FLEURS "
                 "results; this row not re-checked against its table)",
    "covost2": "USM paper (arXiv 2303.01037), CoVoST 2 X -> En, BLEU averaged over the "
               "21 source languages",
}
OLD_PAPER_RESULTS = {
    "fleurs": {"source": OLD_SOURCES["fleurs102"], "wer": 17.4, "cer": 6.5},
    "covost2": {"source": OLD_SOURCES["covost2"], "metric": "BLEU", "bleu": 30.7,
                "systems": {"USM-M": 30.7, "previous best (as cited by the USM paper)": 29.6},
                "wer": None, "cer": None},
}
OLD_TABLE7 = {"source": OLD_SOURCES["table7"],
              "rows": [("LSA-128", {"en": 16.2, "ru": 16.6, "ko": 26.2, "uk": 15.5}),
                       ("CW-8s", {"en": 12.5, "ru": 14.7, "ko": 19.5, "uk": 15.3})]}
# The --paper_row values the recipe scripts passed as numbers before they passed keys.
OLD_SCRIPT_ROWS = {
    "egs/fleurs/asr1/local/pretrain_ablation.sh": {"BEST-RQ, 1 softmax": 7.4,
                                                   "BEST-RQ, 16 softmaxes": 6.9},
    "egs/fleurs/asr1/local/most_ablation.sh": {"BEST-RQ only": 6.9, "BEST-RQ + MOST (USM-M)": 6.5},
}


def _script_paper_rows(path: Path):
    """(label, value-or-key) of every --paper_row "..." in a shell script."""
    rows = []
    for m in re.finditer(r'--paper_row\s+("[^"]*"|\S+)', path.read_text()):
        label, _, value = shlex.split(m.group(1))[0].rpartition("=")
        rows.append((label, value))
    return rows


def test_table_values_are_the_papers_as_the_writers_printed_them():
    assert paper.paper_value("table5", "BEST-RQ, 1 softmax", "FLEURS CER") == 7.4
    assert paper.paper_value("table5", "BEST-RQ, 16 softmaxes", "FLEURS CER") == 6.9
    assert paper.paper_value("fleurs102", "USM-M", "CER") == 6.5
    assert paper.paper_value("summary_unseen", "Shona", "WER adapters") == 29.1
    assert paper.paper_value("summary_unseen", "Shona", "WER adapters + noisy student") == 22.2
    for table, source in OLD_SOURCES.items():
        assert paper.paper_source(table) == source
    assert PAPER_RESULTS == OLD_PAPER_RESULTS
    assert PAPER_TABLE7 == OLD_TABLE7
    assert [lang for lang in PAPER_TABLE7["rows"][0][1]] == ["en", "ru", "ko", "uk"]  # column order


def test_every_key_the_scripts_use_exists_and_gives_the_old_number():
    scripts = sorted(ROOT.glob("egs/*/*/run.sh")) + sorted(ROOT.glob("egs/*/*/local/*.sh")) \
        + sorted(ROOT.glob("egs/TEMPLATE/*.sh"))
    keys = 0
    for script in scripts:
        for label, value in _script_paper_rows(script):
            if paper.KEY_SEP in value:
                paper.value_for_key(value)  # KeyError if missing
                keys += 1
            else:
                float(value)
    assert keys >= 4
    for rel, old in OLD_SCRIPT_ROWS.items():
        rows = _script_paper_rows(ROOT / rel)
        assert {label for label, _ in rows} == set(old), rel
        for label, value in rows:
            assert paper.KEY_SEP in value, (rel, label)  # a key, not a copied number
            assert paper.value_for_key(value) == old[label], (rel, label)


def _scores(path, cer):
    path.parent.mkdir(parents=True, exist_ok=True)
    langs = {"en_us": {"wer": 2 * cer, "cer": cer, "num_utts": 5}}
    path.write_text(json.dumps({"languages": langs, "pooled": {},
                                "macro_average": {"wer": 2 * cer, "cer": cer, "num_langs": 1}}))
    return path


def test_compare_results_key_prints_what_the_number_printed(tmp_path, capsys):
    a = _scores(tmp_path / "a" / "scores.json", 20.0)
    base = ["--section_id", "pt", "--title", "t", "--row", f"scratch={a}", "--paper_source", "USM"]
    old_md, new_md = tmp_path / "old.md", tmp_path / "new.md"
    assert compare_results.main(base + ["--recipe_results", str(old_md), "--paper_row", "N=1=7.4",
                                        "--paper_row", "N=16=6.9"]) == 0
    assert compare_results.main(base + [
        "--recipe_results", str(new_md),
        "--paper_row", "N=1=table5/BEST-RQ, 1 softmax/FLEURS CER",
        "--paper_row", "N=16=table5/BEST-RQ, 16 softmaxes/FLEURS CER"]) == 0

    def table(md):  # everything but the recorded command line
        return [line for line in md.read_text().splitlines() if "compare_results" not in line]

    assert table(new_md) == table(old_md)
    assert "| USM | N=16 | 6.9 |" in new_md.read_text()
    capsys.readouterr()
    rc = compare_results.main(base + ["--recipe_results", str(tmp_path / "x.md"),
                                      "--paper_row", "N=1=table5/BEST-RQ, 2 softmaxes/FLEURS CER"])
    err = capsys.readouterr().err
    assert rc == 1 and "table5/BEST-RQ, 1 softmax/FLEURS CER" in err  # lists what there is
    rc = compare_results.main(base + ["--recipe_results", str(tmp_path / "x.md"),
                                      "--paper_row", "N=1=seven"])
    assert rc == 1 and "neither a number nor" in capsys.readouterr().err
    assert not (tmp_path / "x.md").exists()


@pytest.mark.parametrize("body, match", [
    ("table\trow\tmetric\tvalue\n", "header"),
    ("table\trow\tmetric\tvalue\tsource\nt\tr\tm\tx\ts\n", "not a number"),
    ("table\trow\tmetric\tvalue\tsource\nt\tr\tm\t1\n", "5 non-empty"),
    ("table\trow\tmetric\tvalue\tsource\nt\tr\tm\t1\ts\nt\tr\tm\t2\ts\n", "repeats line 2"),
    ("table\trow\tmetric\tvalue\tsource\nt\tr\tm\t1\ts\nt\tq\tm\t2\tz\n", "two sources"),
    ("table\trow\tmetric\tvalue\tsource\nt\tr/x\tm\t1\ts\n", "may not contain"),
    ("# only a comment\n", "no header"),
])
def test_malformed_table_is_refused_with_file_and_line(tmp_path, body, match):
    f = tmp_path / "p.tsv"
    f.write_text(body)
    with pytest.raises(ValueError, match=match):
        paper.read_paper_numbers(f)


def test_unknown_keys():
    with pytest.raises(KeyError, match="tables: "):
        paper.paper_value("table99", "x", "y")
    with pytest.raises(KeyError, match="TABLE/ROW/METRIC"):
        paper.value_for_key("table5/BEST-RQ, 1 softmax")
    with pytest.raises(KeyError):
        paper.paper_source("table99")
