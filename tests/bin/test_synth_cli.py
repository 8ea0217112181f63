"""`python -m usm_espnet.bin.synth`: 100 utterances in 3 languages -> a valid data dir."""

import subprocess
import sys
from pathlib import Path

from usm_espnet.data.kaldi import read_datadir, validate_datadir

ROOT = Path(__file__).resolve().parents[2]


def test_synth_100_utts_3_langs_valid_datadir(tmp_path):
    out = tmp_path / "synth"
    r = subprocess.run(
        [sys.executable, "-m", "usm_espnet.bin.synth", "--langs", "en_us,ru_ru,cmn_hans_cn",
         "--num_utts", "100", "--num_speakers", "3", "--nj", "2", "--seed", "3",
         "--no_progress", "--out_dir", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, r.stderr[-3000:]
    validate_datadir(str(out), require_text=True, check_audio=True)
    data = read_datadir(out)
    assert len(data.text) >= 99
    langs = {l: sum(1 for v in data.utt2lang.values() if v == l) for l in set(data.utt2lang.values())}
    assert set(langs) == {"en_us", "ru_ru", "cmn_hans_cn"} and min(langs.values()) >= 33
    assert all(d > 0.3 for d in data.utt2dur.values())
