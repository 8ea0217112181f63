"""egs/fleurs/asr1/local/real_clips.py: real FLEURS clips as a data dir, decoded and scored."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.shared_data import real_speech
from tests.tiny_model import tiny_chunk_conformer

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "egs" / "fleurs" / "asr1" / "local" / "real_clips.py"


def _module():
    spec = importlib.util.spec_from_file_location("real_clips", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _clip(d: Path, name: str, text) -> None:
    (d / f"{name}.ogg").write_bytes(b"")
    if text is not None:
        (d / f"{name}.txt").write_text(text, encoding="utf-8")


def test_data_dir_rows(tmp_path):
    clips = tmp_path / "clips"
    clips.mkdir()
    _clip(clips, "fleurs-de-000", "Guten  Tag\n")
    _clip(clips, "fleurs-pt-003", "Bom dia")
    n = _module().write_data_dir(clips, tmp_path / "data")
    assert n == 2
    text = (tmp_path / "data" / "text").read_text(encoding="utf-8").splitlines()
    assert text == ["de_de-fleurs-de-000 Guten Tag", "pt_br-fleurs-pt-003 Bom dia"]
    lang = (tmp_path / "data" / "utt2lang").read_text().split()
    assert lang == ["de_de-fleurs-de-000", "de_de", "pt_br-fleurs-pt-003", "pt_br"]
    wav = (tmp_path / "data" / "wav.scp").read_text().splitlines()[0].split()
    assert wav[1] == str((clips / "fleurs-de-000.ogg").resolve())


@pytest.mark.parametrize("name,text,needle", [
    ("fleurs-de-000", None, "no transcript fleurs-de-000.txt"),
    ("fleurs-xx-000", "hallo", "language 'xx'"),
    ("fleurs-en-000", "  \n", "fleurs-en-000.txt:1: empty transcript"),
])
def test_data_dir_errors(tmp_path, name, text, needle):
    _clip(tmp_path, name, text)
    with pytest.raises(ValueError, match=needle):
        _module().write_data_dir(tmp_path, tmp_path / "data")


def test_missing_model_is_one_error(tmp_path):
    r = subprocess.run([sys.executable, str(SCRIPT), "--exp", str(tmp_path), "--token_sets", ""],
                       capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 1
    assert r.stderr.strip() == f"ERROR: {tmp_path / 'config.yaml'}: not found"


@pytest.mark.timeout(600)  # full tier: decodes 100 real clips
def test_decodes_and_scores_real_clips(tmp_path):
    clips = real_speech("fleurs_cuttledoc")
    if not clips.is_dir():
        pytest.skip(f"no real FLEURS clips at {clips}")
    model = tiny_chunk_conformer(tmp_path / "model")
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, str(SCRIPT), "--exp", str(model), "--model", "model.pth",
                        "--token_sets", "", "--clips", str(clips), "--out", str(out)],
                       capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0, r.stderr[-2000:]
    n = len(list(clips.glob("fleurs-*-*.ogg")))
    hyp = (out / "decode" / "1best_recog" / "text").read_text(encoding="utf-8").splitlines()
    assert len(hyp) == n
    scores = json.loads((out / "score" / "scores.json").read_text())
    assert "de_de" in json.dumps(scores) and "pt_br" in json.dumps(scores)
