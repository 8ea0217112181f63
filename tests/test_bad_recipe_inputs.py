"""Bad command lines of the recipes' run.sh (the bad-input matrix's recipe rows, see
docs/reliability.md): each ends in exactly one clear error line naming what is wrong, never
a bash error ('unbound variable', 'line N: ...'), and exit status 1."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from shared_data import RECIPES

ROOT = Path(__file__).resolve().parents[1]
CORPUS_VAR = {"fleurs": "FLEURS", "coraal": "CORAAL", "covost2": "COVOST2",
              "youtube_longform": "LONGFORM", "yesno": "YESNO"}

# kind -> (what, run.sh arguments, environment, expected message; {cwd}: the caller's directory)
CASES = {
    "unknown_option": ("an option no script declares", ["--no_such_option", "1"], {},
                       "unknown option --no_such_option (see ./run.sh --help)"),
    "unknown_option_eq": ("the same as --name=value", ["--no_such_option=1"], {},
                          "unknown option --no_such_option"),
    "option_without_value": ("the last argument is an option", ["--stage"], {},
                             "option --stage needs a value"),
    "option_before_option": ("an option followed by another option", ["--asr_config", "--stage", "3"],
                             {}, "option --asr_config needs a value (got the option --stage after it)"),
    "preset_without_value": ("--preset last", ["--preset"], {}, "option --preset needs a value"),
    "unknown_preset": ("no conf/presets/NAME.sh", ["--preset", "nope"], {},
                       "unknown preset 'nope' (no {recipe}/conf/presets/nope.sh); available: debug"),
    "empty_stage_range": ("--stage after --stop_stage", ["--stage", "9", "--stop_stage", "3"], {},
                          "--stage 9 is after --stop_stage 3: nothing would run"),
    "non_integer": ("--stop_stage x", ["--stop_stage=x"], {},
                    "--stop_stage must be a non-negative integer, got 'x'"),
    "stray_argument": ("a word that is not an option", ["stray"], {},
                       "unexpected argument 'stray'"),
    "missing_config_relative": ("a relative config path absent from the caller's directory",
                                ["--asr_config", "conf/nope.yaml"], {},
                                "--asr_config {cwd}/conf/nope.yaml: no such file"),
    "missing_corpus_relative": ("a relative corpus directory absent from the caller's directory",
                                ["--stage", "1", "--stop_stage", "1"], {"CORPUS": "corpus"},
                                "=corpus is not a directory (looked for {cwd}/corpus)"),
}


def _env(**extra):
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1",
               USM_VENV=str(Path(sys.executable).parent.parent))
    for v in ("FLEURS", "CORAAL", "COVOST2", "COMMONVOICE", "LONGFORM", "UNTRANSCRIBED",
              "UNSPOKEN_TEXT"):
        env.pop(v, None)
    env.update(extra)
    return env


@pytest.mark.parametrize("kind", sorted(CASES))
@pytest.mark.parametrize("name", sorted(RECIPES))
def test_bad_command_line_is_one_error_line(name, kind, tmp_path):
    _, args, env, msg = CASES[kind]
    recipe = RECIPES[name]
    env = {CORPUS_VAR[name] if k == "CORPUS" else k: v for k, v in env.items()}
    if name == "covost2" and "COVOST2" in env:
        env["COMMONVOICE"] = str(tmp_path)  # both or neither
    # called from another directory than the recipe's
    r = subprocess.run([str(recipe / "run.sh"), *args], cwd=tmp_path, env=_env(**env),
                       capture_output=True, text=True, timeout=120)
    lines = [line for line in r.stderr.splitlines() if line.strip() and not line.startswith("db.sh:")]
    assert r.returncode == 1, r.stderr
    assert len(lines) == 1, r.stderr
    assert "ERROR" in lines[0]
    assert msg.format(cwd=tmp_path, recipe=recipe) in lines[0], lines[0]
    for bash_error in ("unbound variable", "line ", "command not found", "syntax error"):
        assert bash_error not in lines[0], lines[0]
