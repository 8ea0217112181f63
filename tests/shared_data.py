"""Paths the tests share: the recipes, and the shared real recordings (never a machine's absolute path).

``USM_REAL_SPEECH`` names the folder when set; otherwise it is ``../shared/real_speech``
beside the repository root (the layout of a developer's checkout). Tests that need it
skip with a reason naming where they looked when it is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
#: Every recipe directory, by corpus.
RECIPES = {
    "fleurs": REPO_ROOT / "egs" / "fleurs" / "asr1",
    "coraal": REPO_ROOT / "egs" / "coraal" / "asr1",
    "covost2": REPO_ROOT / "egs" / "covost2" / "st1",
    "youtube_longform": REPO_ROOT / "egs" / "youtube_longform" / "asr1",
    "yesno": REPO_ROOT / "egs" / "yesno" / "asr1",
}


def real_speech_root() -> Path:
    env = os.environ.get("USM_REAL_SPEECH")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "real_speech"


def real_speech(sub: str) -> Path:
    """``<real_speech_root>/<sub>`` (may not exist; check before use)."""
    return real_speech_root() / sub
