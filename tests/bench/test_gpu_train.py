"""bench/gpu_train.py --tiny: the GPU training bench runs end to end on the CPU and ends with its two result lines."""

import math
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_tiny_run_prints_the_two_result_lines(tmp_path):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "gpu_train.py"), "--tiny",
                          "--cases", "8x1,30x1,300x1", "--json", str(tmp_path / "r.json")],
                         capture_output=True, text=True, timeout=600, env=env, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stdout.strip().splitlines()
    names = [ln.split("=", 1)[0] for ln in lines[-2:]]
    assert names == ["gpu_mfu_30s", "gpu_speedup_300s"], lines[-5:]
    values = [float(ln.split("=", 1)[1]) for ln in lines[-2:]]
    assert all(math.isfinite(v) and v > 0 for v in values), values
    assert (tmp_path / "r.json").exists()
    assert sum(1 for ln in lines if ln.startswith(("ours ", "espnet "))) == 6


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_tiny_longform_run_prints_single_and_batched_rtfx(tmp_path):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "gpu_train.py"), "--tiny",
                          "--longform", "0.5", "--lf-windows", "64", "--lf-batch", "1,2",
                          "--json", str(tmp_path / "r.json")],
                         capture_output=True, text=True, timeout=300, env=env, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stdout.strip().splitlines()
    names = [ln.split("=", 1)[0] for ln in lines[-2:]]
    assert names == ["gpu_longform_rtfx_0.5min_batch2", "gpu_longform_rtfx_0.5min"], lines[-5:]
    assert all(float(ln.split("=", 1)[1]) > 0 for ln in lines[-2:])
    rows = [ln for ln in lines if ln.startswith("longform stream")]
    assert len(rows) == 2 and "x2" in rows[1]
    # both runs decode every frame of every recording: 750 frames of 40 ms per 30 s
    assert rows[0].endswith("(749 frames)") and rows[1].endswith("(1498 frames)"), rows


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_tiny_profile_lists_ops_and_prints_the_matmul_share(tmp_path):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "gpu_train.py"), "--tiny",
                          "--profile", "30x1", "--profile-top", "5", "--json", str(tmp_path / "r.json")],
                         capture_output=True, text=True, timeout=300, env=env, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stdout.strip().splitlines()
    assert lines[-1].startswith("gpu_profile_matmul_share=")
    assert 0 < float(lines[-1].split("=")[1]) < 1
    ops = [ln for ln in lines if ln.startswith("# profile ") and " ms " in ln]
    assert len(ops) == 5 and any(ln.startswith("# profile by category: ") for ln in lines)
