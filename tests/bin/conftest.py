"""Shared helpers for the entry-point tests."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def run_module():
    """Run ``python -m <module> ...`` in a directory; fail the test with its stderr tail."""

    def run(args, cwd):
        env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
        r = subprocess.run([sys.executable, "-m", *args], cwd=cwd, env=env,
                           capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, f"{args[0]} failed:\n{r.stderr[-4000:]}"
        return r

    return run
