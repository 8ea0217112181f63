"""Every stage of egs/fleurs/asr1 on a tiny stand-in with the debug preset."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "egs" / "fleurs" / "asr1"


def _run(args, tmp_path, check=True):
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1",
               USM_VENV=str(Path(sys.executable).parent.parent))
    env.pop("FLEURS", None)
    r = subprocess.run(
        ["./run.sh", "--preset", "debug", "--data_dir", str(tmp_path / "data"),
         "--dump_dir", str(tmp_path / "dump"), "--exp_dir", str(tmp_path / "exp"),
         "--results_md", str(tmp_path / "RESULTS.md"),
         "--local_data_opts",
         f"--standin_sentences 10 --standin_train_speakers 2 --standin_test_speakers 1 "
         f"--standin_untranscribed 4 "
         f"--standin_dir {tmp_path / 'standin'}", *args],
        cwd=RECIPE, env=env, capture_output=True, text=True, timeout=1200)
    if check:
        assert r.returncode == 0, f"run.sh {args} failed:\n{r.stderr[-5000:]}"
    return r


@pytest.mark.timeout(1500)
def test_fleurs_recipe_all_stages_then_rerun_skips(tmp_path):
    _run([], tmp_path)
    exp = tmp_path / "exp" / "asr_debug"
    for n in range(1, 10):
        assert list(tmp_path.rglob(f".done.stage{n}")), f"stage {n} left no marker"
    assert not exp.exists()  # with ssl_config (the debug preset) the model is fine-tuned
    exp = tmp_path / "exp" / "asr_debug_ft_pretrain_best_rq_debug"
    assert (exp / "resume.sh").exists() and (exp / "config.yaml").exists()
    ssl = tmp_path / "exp" / "ssl_pretrain_best_rq_debug"
    assert (ssl / "valid.loss.ave.pth").exists() and (ssl / "resume.sh").exists()
    assert (tmp_path / "dump" / "raw" / "untranscribed" / "wav.scp").exists()
    train_log = (exp / "train.log").read_text()
    assert f"Loading pretrained params from {ssl}/valid.loss.ave.pth:encoder:encoder" in train_log
    score = exp / "decode_test" / "score"
    assert (score / "scores.json").exists() and (score / "per_language.png").exists()
    results = (tmp_path / "RESULTS.md").read_text()
    assert "stand-in" in results.lower()
    for lang in ("en_us", "ru_ru", "hi_in"):
        assert lang in results
    # a rerun skips every finished stage
    r = _run([], tmp_path)
    assert r.stderr.count("already done") == 9, r.stderr[-3000:]
    # a finished stage rerun with other options stops instead of reusing stale output
    r = _run(["--stage", "2", "--stop_stage", "2", "--min_dur", "0.5"], tmp_path, check=False)
    assert r.returncode != 0 and "with other options" in r.stderr
    # --force true redoes it
    r = _run(["--stage", "2", "--stop_stage", "2", "--min_dur", "0.5", "--force", "true"],
             tmp_path)
    assert "Stage 2 finished" in r.stderr
    # pre-training data that is not there: one clear error
    r = _run(["--stage", "4", "--stop_stage", "4", "--ssl_train_set", "nope", "--force", "true"],
             tmp_path, check=False)
    assert r.returncode != 0 and "no " in r.stderr and "nope/wav.scp" in r.stderr, r.stderr[-2000:]
    # the same recipe without pre-training trains from scratch into its own exp dir
    r = _run(["--ssl_config", "", "--stage", "7", "--stop_stage", "9"], tmp_path)
    scratch = tmp_path / "exp" / "asr_debug"
    assert (scratch / "decode_test" / "score" / "scores.json").exists()
    assert "Loading pretrained params" not in (scratch / "train.log").read_text()


def test_fleurs_recipe_help_and_bad_option():
    env = dict(os.environ, USM_VENV=str(Path(sys.executable).parent.parent))
    r = subprocess.run(["./run.sh", "--help"], cwd=RECIPE, env=env, capture_output=True, text=True)
    assert r.returncode == 0 and "Stage" not in r.stderr
    for n in range(1, 10):
        assert f"  {n}  " in r.stdout
    for bad, msg in ((["--no_such_option", "1"], "unknown option --no_such_option"),
                     (["--help_message", "x"], "unknown option --help_message"),
                     (["--stage", "x"], "--stage must be a non-negative integer")):
        r = subprocess.run(["./run.sh", *bad], cwd=RECIPE, env=env, capture_output=True,
                           text=True)
        assert r.returncode != 0 and msg in r.stderr, r.stderr
