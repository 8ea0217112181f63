"""egs/coraal/asr1 end to end on a tiny stand-in (debug preset), and its per-component scorer."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import jiwer
import pytest

from usm_espnet.data.kaldi import read_datadir, read_kaldi_map, validate_datadir
from usm_espnet.scoring.normalize import normalize_text

ROOT = Path(__file__).resolve().parents[2]
RECIPE = ROOT / "egs" / "coraal" / "asr1"


def _map(path):
    return dict(read_kaldi_map(path, allow_empty_value=True).items())


def _jiwer_by_component(refs, hyps, utt2comp):
    """Pooled word errors per component and overall, recomputed with jiwer alone."""
    groups = {}
    for utt in refs:
        groups.setdefault(utt2comp[utt], []).append(utt)
    groups["overall"] = list(refs)
    out = {}
    for name, utts in groups.items():
        r = [normalize_text(refs[u]) for u in utts]
        h = [normalize_text(hyps.get(u, "")) for u in utts]
        o = jiwer.process_words(r, h)
        out[name] = (o.substitutions + o.deletions + o.insertions, sum(len(x.split()) for x in r))
    return out


def _check_against_jiwer(section, refs, hyps, utt2comp):
    expected = _jiwer_by_component(refs, hyps, utt2comp)
    got = dict(section["per_component"], overall=section["overall"])
    assert set(got) == set(expected)
    for name, (errors, words) in expected.items():
        assert (got[name]["errors"], got[name]["ref_len"]) == (errors, words), name
        assert got[name]["wer"] == pytest.approx(100.0 * errors / words, abs=1e-3)


@pytest.mark.timeout(1500)
def test_coraal_recipe_debug(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1",
               USM_VENV=str(Path(sys.executable).parent.parent))
    env.pop("CORAAL", None)
    r = subprocess.run(
        ["./run.sh", "--preset", "debug", "--data_dir", str(tmp_path / "data"),
         "--dump_dir", str(tmp_path / "dump"), "--exp_dir", str(tmp_path / "exp"),
         "--results_md", str(tmp_path / "RESULTS.md"),
         "--local_data_opts", "--standin_components ATL,DCB --standin_interviews 3 "
         f"--standin_turns 4 --standin_dir {tmp_path / 'standin'}"],
        cwd=RECIPE, env=env, capture_output=True, text=True, timeout=1400)
    assert r.returncode == 0, r.stderr[-5000:]
    data, exp = tmp_path / "data", tmp_path / "exp" / "asr_debug"
    # the stand-in is in CORAAL's layout, and every data dir validates
    assert (tmp_path / "standin" / "ATL_textfiles_2023.06").is_dir()
    assert (tmp_path / "standin" / "DCB_metadata_2023.06.txt").is_file()
    for s in ("train", "dev", "test", "test_longform"):
        validate_datadir(data / s)
    validate_datadir(tmp_path / "dump" / "raw" / "test", check_audio=True)
    prep = json.loads((data / "coraal_prep.json").read_text())["stats"]
    assert prep["rows_in"] == prep["rows_kept"] + sum(prep["rows_dropped"].values())
    assert prep["rows_dropped"]["no_speech"] > 0  # the stand-in's pause rows
    # per-component and overall WER agree with jiwer on the files
    scores = json.loads((exp / "score_coraal" / "scores.json").read_text())
    seg_refs = _map(tmp_path / "dump" / "raw" / "test" / "text")
    seg_hyps = _map(exp / "decode_test" / "1best_recog" / "text")
    assert set(seg_hyps) == set(seg_refs)
    assert set(scores["segments"]["per_component"]) == {"ATL", "DCB"}
    _check_against_jiwer(scores["segments"], seg_refs, seg_hyps, _map(data / "test" / "utt2component"))
    # whole interviews: one long-form output per test interview, scored the same way
    lf = read_datadir(data / "test_longform")
    assert len(lf.wav_scp) == 2 and {k.split("_")[0] for k in lf.wav_scp} == {"ATL", "DCB"}
    lf_hyps = _map(exp / "decode_test_longform" / "text")
    assert set(lf_hyps) == set(lf.text)
    stats = (exp / "decode_test_longform" / "stats.tsv").read_text()
    assert all(rec in stats for rec in lf.text)
    # the hypothesis is scored without its words inside the unscored spans (speech of rows
    # dropped as mostly unintelligible), read from the CTM
    spans = {}
    for line in (data / "test_longform" / "unscored_spans").read_text().splitlines():
        rec, st, en = line.split()
        spans.setdefault(rec, []).append((float(st), float(en)))
    ctm = {}
    for line in (exp / "decode_test_longform" / "words.ctm").read_text().splitlines():
        rec, _, st, dur, word = line.split()
        ctm.setdefault(rec, []).append((float(st) + float(dur) / 2, word))
    kept = {r: " ".join(w for mid, w in ws if not any(a <= mid < b for a, b in spans.get(r, ())))
            for r, ws in ctm.items()}
    _check_against_jiwer(scores["interviews"], dict(lf.text), kept,
                         _map(data / "test_longform" / "utt2component"))
    results = (tmp_path / "RESULTS.md").read_text()
    assert "coraal_debug start" in results and "stand-in for CORAAL" in results
    # local/longform_ablation.sh: its word-gap 0.3 + masked variant is the recipe's decode and score
    abl = tmp_path / "ablation"
    r = subprocess.run(
        ["local/longform_ablation.sh", "--exp_dir", str(exp), "--data_dir", str(data),
         "--dump_dir", str(tmp_path / "dump"), "--corpus_dir", str(tmp_path / "standin"),
         "--out_dir", str(abl)], cwd=RECIPE, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-5000:]
    rows = [line.split("\t") for line in (abl / "summary.tsv").read_text().splitlines()]
    table = {row[0]: dict(zip(rows[0], row)) for row in rows[1:]}
    assert set(table) == {"gap0_all_words", "gap0_masked", "gap0.3_all_words", "gap0.3_masked"}
    assert (abl / "decode_gap0.3" / "text").read_text() == (exp / "decode_test_longform" / "text").read_text()
    assert float(table["gap0.3_masked"]["lf_wer"]) == scores["interviews"]["overall"]["wer"]
    assert float(table["gap0_masked"]["seg_wer"]) == scores["segments"]["overall"]["wer"]
    assert int(table["gap0_all_words"]["lf_ref"]) >= int(table["gap0_masked"]["lf_ref"])
    assert "| ATL | Atlanta, GA |" in results and "Whole-interview WER" in results
    assert (tmp_path / "exp" / "RESULTS_template.md").exists()


def test_score_components_against_jiwer(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("score_components",
                                                  RECIPE / "local" / "score_components.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    refs = {"a1": "we went down to the river", "a2": "my uncle worked at the shipyard",
            "b1": "school was alright", "b2": "yeah"}
    hyps = {"a1": "we went to the river river", "a2": "my uncle work at the ship yard", "b1": ""}
    comp = {"a1": "ATL", "a2": "ATL", "b1": "DCB", "b2": "DCB"}
    lf_refs = {"ATL_x_1": "we went down to the river my uncle", "DCB_y_1": "school was alright yeah"}
    lf_hyps = {"ATL_x_1": "we went down the river my uncle", "DCB_y_1": "school was all right yeah"}
    lf_comp = {"ATL_x_1": "ATL", "DCB_y_1": "DCB"}
    files = {}
    for name, m in (("ref", refs), ("hyp", hyps), ("comp", comp), ("lref", lf_refs), ("lhyp", lf_hyps),
                    ("lcomp", lf_comp)):
        files[name] = tmp_path / name
        files[name].write_text("".join(f"{k} {v}\n" for k, v in sorted(m.items())))
    out = tmp_path / "score"
    rc = mod.main(["--seg_ref", str(files["ref"]), "--seg_hyp", str(files["hyp"]),
                   "--seg_utt2component", str(files["comp"]), "--lf_ref", str(files["lref"]),
                   "--lf_hyp", str(files["lhyp"]), "--lf_utt2component", str(files["lcomp"]),
                   "--out_dir", str(out), "--results_md", str(tmp_path / "R.md"),
                   "--section_id", "coraal_x", "--standin", "false"])
    assert rc == 0
    doc = json.loads((out / "scores.json").read_text())
    _check_against_jiwer(doc["segments"], refs, hyps, comp)
    _check_against_jiwer(doc["interviews"], lf_refs, lf_hyps, lf_comp)
    assert doc["segments"]["overall"]["missing_hyp"] == 1  # b2 scored as empty
    assert doc["segments"]["per_component"]["DCB"]["wer"] == 100.0
    assert doc["segments"]["overall"]["macro_average"] == pytest.approx(
        (doc["segments"]["per_component"]["ATL"]["wer"] + 100.0) / 2, abs=1e-3)
    md = (tmp_path / "R.md").read_text()
    assert "stand-in" not in md and "1 reference(s) had no hypothesis" in md
    capsys.readouterr()
    rc = mod.main(["--seg_ref", str(files["ref"]), "--seg_hyp", str(tmp_path / "nope"),
                   "--seg_utt2component", str(files["comp"]), "--lf_ref", str(files["lref"]),
                   "--lf_hyp", str(files["lhyp"]), "--lf_utt2component", str(files["lcomp"]),
                   "--out_dir", str(out)])
    assert rc == 1 and "nope: no decoding output" in capsys.readouterr().err


def test_score_components_leaves_unscored_spans_out(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("score_components",
                                                  RECIPE / "local" / "score_components.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    # a mostly unintelligible row at 2-4 s: its speech is decoded, its words are not in the
    # reference; without masking they are three insertions
    for name, text in (("ref", "s1 we went home\n"), ("hyp", "s1 we went home\n"),
                       ("comp", "s1 ATL\n"), ("lref", "ATL_x_1 we went home yeah\n"),
                       ("lhyp", "ATL_x_1 we went i don't know home yeah\n"),
                       ("lcomp", "ATL_x_1 ATL\n"), ("unscored", "ATL_x_1 2.0 4.0\n")):
        (tmp_path / name).write_text(text)
    (tmp_path / "ctm").write_text("".join(
        f"ATL_x_1 1 {s:.2f} 0.30 {w}\n" for s, w in ((0.5, "we"), (1.0, "went"), (2.2, "i"),
                                                     (2.8, "don't"), (3.5, "know"), (4.5, "home"),
                                                     (6.0, "yeah"))))
    base = ["--seg_ref", str(tmp_path / "ref"), "--seg_hyp", str(tmp_path / "hyp"),
            "--seg_utt2component", str(tmp_path / "comp"), "--lf_ref", str(tmp_path / "lref"),
            "--lf_hyp", str(tmp_path / "lhyp"), "--lf_utt2component", str(tmp_path / "lcomp")]
    assert mod.main(base + ["--out_dir", str(tmp_path / "a")]) == 0
    plain = json.loads((tmp_path / "a" / "scores.json").read_text())["interviews"]["overall"]
    assert (plain["insertions"], plain["wer"]) == (3, 75.0)
    masked = base + ["--out_dir", str(tmp_path / "b"), "--lf_ctm", str(tmp_path / "ctm"),
                     "--lf_unscored", str(tmp_path / "unscored")]
    assert mod.main(masked) == 0
    doc = json.loads((tmp_path / "b" / "scores.json").read_text())["interviews"]["overall"]
    assert (doc["insertions"], doc["wer"], doc["hyp_words_unscored"]) == (0, 0.0, 3)
    assert "3 hypothesis word(s) fell in unscored spans" in capsys.readouterr().out
    (tmp_path / "unscored").write_text("ATL_x_1 4.0 2.0\n")
    assert mod.main(masked) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("ERROR: ") and "unscored:1: expected" in err and len(err.splitlines()) == 1
    assert mod.main(base + ["--out_dir", str(tmp_path / "c"), "--lf_unscored",
                            str(tmp_path / "unscored")]) == 1
    assert "--lf_unscored needs --lf_ctm" in capsys.readouterr().err


def test_coraal_recipe_help_bad_option_and_bad_corpus_path():
    env = dict(os.environ, USM_VENV=str(Path(sys.executable).parent.parent))
    env.pop("CORAAL", None)
    r = subprocess.run(["./run.sh", "--help"], cwd=RECIPE, env=env, capture_output=True, text=True)
    assert r.returncode == 0 and "longform_sets" in r.stdout
    r = subprocess.run(["./run.sh", "--bogus_option", "1"], cwd=RECIPE, env=env, capture_output=True,
                       text=True)
    assert r.returncode != 0 and "unknown option --bogus_option" in r.stderr
    r = subprocess.run(["./run.sh", "--stage", "1", "--stop_stage", "1"], cwd=RECIPE,
                       env=dict(env, CORAAL="/nonexistent/coraal"), capture_output=True, text=True)
    assert r.returncode != 0 and "CORAAL=/nonexistent/coraal is not a directory" in r.stderr
