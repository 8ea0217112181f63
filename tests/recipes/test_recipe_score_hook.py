"""Stage 9's recipe hook: the template runs local/score.sh when a recipe has one (as ESPnet's
egs2 asr.sh does), with the template's directories, then --local_score_opts.

A copy of egs/fleurs/asr1 with a local/score.sh, and a fake decoded experiment: stage 9 only
(no training), so the test takes seconds.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

HOOK = """#!/usr/bin/env bash
# test hook: records what it was given
set -euo pipefail
data_dir=        # from the template
dump_dir=        # from the template
asr_exp=         # from the template
asr_tag=         # from the template
test_sets=       # from the template
longform_sets=   # from the template
standin=         # from the template
results_md=      # from the template
extra=           # from --local_score_opts
opt_files=(local/score.sh)
script_name=local/score.sh
. ../../TEMPLATE/parse_options.sh
printf '%s\\n' "${asr_exp}" "${asr_tag}" "${test_sets}" "${standin}" "${results_md}" "${extra}" \\
    > "${asr_exp}/local_score.txt"
[ "${extra}" != fail ]
"""


def _recipe(tmp_path: Path, hook: bool) -> Path:
    egs = tmp_path / "egs"
    egs.mkdir()
    (egs / "TEMPLATE").symlink_to(ROOT / "egs" / "TEMPLATE")
    recipe = egs / "fleurs" / "asr1"
    shutil.copytree(ROOT / "egs" / "fleurs" / "asr1", recipe, symlinks=True,
                    ignore=shutil.ignore_patterns("exp*", "results", "RESULTS*", "data*", "dump*"))
    if hook:
        (recipe / "local" / "score.sh").write_text(HOOK)
        (recipe / "local" / "score.sh").chmod(0o755)
    return recipe


def _decoded(tmp_path: Path) -> Path:
    """dump/raw/test and exp/asr_debug/decode_test as stage 8 leaves them."""
    test = tmp_path / "dump" / "raw" / "test"
    test.mkdir(parents=True)
    (test / "text").write_text("a1 hello world\na2 good morning\n")
    (test / "utt2lang").write_text("a1 en_us\na2 en_us\n")
    exp = tmp_path / "exp" / "asr_debug"
    (exp / "decode_test" / "1best_recog").mkdir(parents=True)
    (exp / "decode_test" / "1best_recog" / "text").write_text("a1 hello world\na2 good mornin\n")
    (exp / ".done.stage8").write_text("0\n\n")
    return exp


def _run(recipe: Path, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1",
               USM_VENV=str(Path(sys.executable).parent.parent))
    env.pop("FLEURS", None)
    cmd = ["./run.sh", "--preset", "debug", "--ssl_config", "", "--most_config", "",
           "--adapt_langs", "", "--stage", "9", "--stop_stage", "9",
           "--data_dir", str(tmp_path / "data"), "--dump_dir", str(tmp_path / "dump"),
           "--exp_dir", str(tmp_path / "exp"), "--results_md", str(tmp_path / "RESULTS.md"), *extra]
    return subprocess.run(cmd, cwd=recipe, env=env, capture_output=True, text=True, timeout=300)


def test_stage_9_runs_the_recipes_local_score_sh(tmp_path):
    recipe = _recipe(tmp_path, hook=True)
    exp = _decoded(tmp_path)
    r = _run(recipe, tmp_path, "--local_score_opts", "--extra 7")
    assert r.returncode == 0, r.stderr[-3000:]
    assert "recipe scoring: local/score.sh --extra 7" in r.stderr
    got = (exp / "local_score.txt").read_text().splitlines()
    assert got == [str(exp), "debug", "test", "true", str(tmp_path / "RESULTS.md"), "7"]
    assert (exp / "decode_test" / "score" / "scores.json").is_file()  # after the template's scoring
    marker = (exp / ".done.stage9").read_text().splitlines()
    assert marker[1] == "local_score_opts=--extra 7"  # other options redo stage 9 (or stop it)


def test_a_failing_hook_fails_stage_9_and_leaves_no_marker(tmp_path):
    recipe = _recipe(tmp_path, hook=True)
    exp = _decoded(tmp_path)
    r = _run(recipe, tmp_path, "--local_score_opts", "--extra fail")
    assert r.returncode != 0 and "local/score.sh failed" in r.stderr
    assert not (exp / ".done.stage9").exists()


def test_without_a_hook_stage_9_is_the_templates_alone(tmp_path):
    recipe = _recipe(tmp_path, hook=False)
    exp = _decoded(tmp_path)
    r = _run(recipe, tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "local/score.sh" not in r.stderr
    assert (exp / ".done.stage9").read_text().splitlines()[1] == ""  # as before the hook
