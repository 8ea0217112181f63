"""tools/install.sh builds a venv whose scripts run, from nothing, at any path.

The venv must not be relocated after creation (its scripts keep their interpreter's
absolute path), and a half-built venv must never be taken for a finished one.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
INSTALL = REPO / "tools" / "install.sh"


def _lock_sum() -> str:
    return hashlib.sha256((REPO / "tools" / "requirements.lock").read_bytes()).hexdigest()


def _install(venv: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, USM_VENV=str(venv))
    return subprocess.run(["bash", str(INSTALL)], env=env, capture_output=True, text=True, timeout=840)


@pytest.mark.timeout(900)
def test_install_from_nothing_then_every_script_runs(tmp_path: Path) -> None:
    venv = tmp_path / "a dir" / "venv"  # a space in the path too
    r = _install(venv)
    assert r.returncode == 0, r.stderr[-3000:]
    assert (venv / ".usm-complete").is_file()
    pip = subprocess.run([str(venv / "bin" / "pip"), "--version"], capture_output=True, text=True)
    assert pip.returncode == 0 and str(venv) in pip.stdout, pip.stdout + pip.stderr
    uv = subprocess.run([str(venv / "bin" / "uv"), "--version"], capture_output=True, text=True)
    assert uv.returncode == 0 and uv.stdout.startswith("uv "), uv.stdout + uv.stderr
    env = dict(os.environ, PYTHONPATH=str(REPO))
    imp = subprocess.run([str(venv / "bin" / "python"), "-c", "import espnet2, usm_espnet; print('ok')"],
                         capture_output=True, text=True, env=env, cwd=tmp_path)
    assert imp.returncode == 0 and imp.stdout.strip() == "ok", imp.stderr[-2000:]

    assert (venv / ".usm-complete").read_text().strip() == _lock_sum()
    assert not (venv / ".usm-building").exists()

    # an interrupted build (its .usm-building mark left, no completion stamp) is rebuilt, not reused
    (venv / ".usm-complete").unlink()
    (venv / ".usm-building").write_text("")
    (venv / "bin" / "pip").write_text("#!/nonexistent/python\n")
    r = _install(venv)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "removing unfinished or broken venv" in r.stderr
    assert subprocess.run([str(venv / "bin" / "pip"), "--version"], capture_output=True).returncode == 0

    # a stamp of another lock file: synced and checked again, then re-stamped
    (venv / ".usm-complete").write_text("0" * 64 + "\n")
    r = _install(venv)
    assert r.returncode == 0 and "creating" not in r.stderr, r.stderr[-2000:]
    assert (venv / ".usm-complete").read_text().strip() == _lock_sum()

    # a finished venv is reused: the second run only syncs
    r = _install(venv)
    assert r.returncode == 0 and "creating" not in r.stderr, r.stderr[-2000:]
    shutil.rmtree(venv)


@pytest.mark.timeout(120)
def test_a_directory_that_is_not_our_venv_is_never_removed(tmp_path: Path) -> None:
    other = tmp_path / "my_env"
    (other / "bin").mkdir(parents=True)
    (other / "notes.txt").write_text("mine\n")
    r = _install(other)
    assert r.returncode == 1 and r.stderr.startswith("ERROR: ") and r.stderr.count("\n") == 1, r.stderr
    assert "is not a venv this script built" in r.stderr
    assert (other / "notes.txt").read_text() == "mine\n"
