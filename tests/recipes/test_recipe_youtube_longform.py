"""egs/youtube_longform/asr1 end to end on a tiny stand-in (debug preset)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RECIPE = ROOT / "egs" / "youtube_longform" / "asr1"


@pytest.mark.timeout(1500)
def test_longform_recipe_debug(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1",
               USM_VENV=str(Path(sys.executable).parent.parent))
    env.pop("FLEURS", None)
    env.pop("LONGFORM", None)
    r = subprocess.run(
        ["./run.sh", "--preset", "debug", "--data_dir", str(tmp_path / "data"),
         "--dump_dir", str(tmp_path / "dump"), "--exp_dir", str(tmp_path / "exp"),
         "--results_md", str(tmp_path / "RESULTS.md"),
         "--local_data_opts",
         f"--standin_sentences 10 --standin_train_speakers 2 --standin_test_speakers 1 "
         f"--longform_minutes 0.2,0.5 --standin_dir {tmp_path / 'standin'}"],
        cwd=RECIPE, env=env, capture_output=True, text=True, timeout=1400)
    assert r.returncode == 0, r.stderr[-5000:]
    data = tmp_path / "data" / "longform"
    recs = (data / "text").read_text().split("\n")
    assert [line.split()[0] for line in recs if line] == ["en_us_0.2min", "en_us_0.5min"]
    for att in ("chunk", "local", "global"):
        score = tmp_path / "exp" / f"asr_{att}" / "decode_longform" / "score" / "scores.json"
        scores = json.loads(score.read_text())
        assert set(scores) == {"en_us_0.2min", "en_us_0.5min"}
        assert all(s["seconds"] >= 12 for s in scores.values())
        stats = (score.parent.parent / "stats.tsv").read_text()
        assert "en_us_0.5min" in stats
        # the short test utterances are decoded by the same model (ratio's denominator)
        assert (tmp_path / "exp" / f"asr_{att}" / "decode_test" / "score" / "scores.json").exists()
    # trained on the long-form training set (short utterances + concatenations with noise)
    train = (tmp_path / "data" / "train_longform" / "text").read_text().splitlines()
    assert any("-lf0-" in line for line in train) and any("-lf1-" in line for line in train)
    # the scoring ends with the two summary numbers (nan here: no 15 or 60 min recordings)
    assert r.stdout.splitlines()[-2:] == ["longform_wer_ratio_60min=nan", "cw_over_lsa_15min_plus=nan"]
    results = (tmp_path / "RESULTS.md").read_text()
    assert "longform_compare start" in results and "CW-8s" in results and "stand-in" in results.lower()
    assert "| short test utterances |" in results and "Ins" in results
    assert (tmp_path / "results" / "longform_wer_vs_length.png").exists()

    # --seeds: chunk and local trained once per seed in exp_s<seed>, pooled by the comparison
    # (the data stages are reused)
    r = subprocess.run(
        ["./run.sh", "--preset", "debug", "--data_dir", str(tmp_path / "data"),
         "--dump_dir", str(tmp_path / "dump"), "--exp_dir", str(tmp_path / "exp"),
         "--results_md", str(tmp_path / "RESULTS.md"), "--models", "chunk local",
         "--seeds", "0 1", "--stage", "6"],
        cwd=RECIPE, env=env, capture_output=True, text=True, timeout=1400)
    assert r.returncode == 0, r.stderr[-5000:]
    for seed in (0, 1):
        for att in ("chunk", "local"):
            exp = tmp_path / f"exp_s{seed}" / f"asr_{att}"
            assert (exp / "decode_longform" / "score" / "scores.json").exists()
            assert f"seed: {seed}" in (exp / "config.yaml").read_text()
            # each seed's per-model tables in its own RESULTS.md, not over each other
            own = (tmp_path / f"exp_s{seed}" / "RESULTS.md").read_text()
            assert f"asr_{att}_test start" in own and f"asr_{att}_longform start" in own
    results = (tmp_path / "RESULTS.md").read_text()
    assert "chunk: 2, local: 2" in results and "| 2 | " in results
    assert r.stdout.splitlines()[-2:] == ["longform_wer_ratio_60min=nan", "cw_over_lsa_15min_plus=nan"]
    assert (tmp_path / "exp" / "longform_metrics.txt").exists()
