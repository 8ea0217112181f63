"""bench/long_input_train.py: a training step of the whole ESPnet model on one utterance, our pad mask vs ESPnet's."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_bench_runs_both_masks_and_prints_its_ratios():
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "long_input_train.py"),
                          "--minutes", "0.5,2", "--chars_per_second", "1"],
                         capture_output=True, text=True, timeout=600, env=env, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stdout.strip().splitlines()
    assert sum(1 for ln in lines if "pad mask" in ln and " MB " in ln) == 4, lines
    names = [ln.split("=", 1)[0] for ln in lines[-2:]]
    assert names == ["long_input_baseline_over_fixed_2min", "long_input_growth_per_minute_ratio"]
    # at 2 minutes ESPnet's two (12001^2)-byte masks already cost more than our whole step
    assert float(lines[-2].split("=")[1]) > 1.2, lines
