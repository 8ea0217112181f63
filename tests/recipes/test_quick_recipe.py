"""The quick tier's one recipe run: egs/fleurs/asr1 stages 1-9 end to end at debug size.

Stand-in synthesis -> prepare_fleurs -> format -> token list -> statistics -> training ->
greedy CTC decoding -> scoring, without pre-training or unseen languages (the full
recipe test, tests/recipes/test_recipe_fleurs.py, runs all 12 stages with BEST-RQ and MOST).
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RECIPE = ROOT / "egs" / "fleurs" / "asr1"


@pytest.mark.recipe
@pytest.mark.timeout(280)
def test_fleurs_debug_stages_1_to_9(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1",
               USM_VENV=str(Path(sys.executable).parent.parent))
    env.pop("FLEURS", None)
    cmd = ["./run.sh", "--preset", "debug", "--ssl_config", "", "--most_config", "", "--adapt_langs", "",
           "--stop_stage", "9", "--langs", "en_us,ru_ru",
           "--data_dir", str(tmp_path / "data"), "--dump_dir", str(tmp_path / "dump"),
           "--exp_dir", str(tmp_path / "exp"), "--results_md", str(tmp_path / "RESULTS.md"),
           "--local_data_opts",
           f"--standin_sentences 8 --standin_train_speakers 2 --standin_test_speakers 1 "
           f"--standin_dir {tmp_path / 'standin'}"]
    r = subprocess.run(cmd, cwd=RECIPE, env=env, capture_output=True, text=True, timeout=270)
    assert r.returncode == 0, r.stderr[-4000:]
    exp = tmp_path / "exp" / "asr_debug"
    for n in (1, 2, 3, 6, 7, 8, 9):
        assert list(tmp_path.rglob(f".done.stage{n}")), f"stage {n} left no marker"
    assert (exp / "config.yaml").is_file() and (exp / "resume.sh").is_file()
    hyp = exp / "decode_test" / "1best_recog" / "text"
    ref_ids = {line.split(maxsplit=1)[0] for line in (tmp_path / "dump" / "raw" / "test" / "text").open()}
    hyp_ids = {line.split(maxsplit=1)[0] for line in hyp.open() if line.strip()}
    assert hyp_ids == ref_ids  # every test utterance decoded, no others
    results = (tmp_path / "RESULTS.md").read_text()
    assert "stand-in" in results.lower() and "en_us" in results and "ru_ru" in results
