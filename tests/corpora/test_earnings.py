"""Tests for usm_espnet.corpora.earnings (Earnings-21/22 layout) and prepare_longform.

The long-form stand-in's tests are in tests/standin/test_longform.py."""

import re
import shutil
from pathlib import Path
from typing import Dict, Sequence, Tuple

import numpy as np
import pytest
import soundfile as sf
from shared_data import real_speech

from usm_espnet.bin import prepare_longform as prepare_bin
from usm_espnet.corpora.earnings import NLP_COLUMNS, prepare_longform, read_nlp, write_nlp
from usm_espnet.data.kaldi import DataDirError, read_datadir

REAL_EARNINGS = real_speech("whisperstt")  # ../shared/real_speech from the repository root, or $USM_REAL_SPEECH
REAL_CLIP = "earnings22_1_4482311_3_62"

HEADER = "|".join(NLP_COLUMNS)


# ------------------------------------------------------------------- preparation


def _make_corpus(root: Path, recs: Dict[str, Tuple[str, Sequence[str]]],
                 metadata: str = "") -> Path:
    """A tiny Earnings-layout corpus: ``{id: (extension, words)}``, 0.5 s of tone each."""
    (root / "media").mkdir(parents=True, exist_ok=True)
    (root / "transcripts" / "nlp_references").mkdir(parents=True, exist_ok=True)
    tone = 0.1 * np.sin(np.arange(8000) * 2 * np.pi * 440 / 16000)
    for rec, (ext, words) in recs.items():
        fmt = {"wav": "WAV", "flac": "FLAC", "mp3": "MP3"}[ext]
        sf.write(str(root / "media" / f"{rec}.{ext}"), tone, 16000, format=fmt)
        write_nlp(root / "transcripts" / "nlp_references" / f"{rec}.nlp", words)
    if metadata:
        (root / "metadata.tsv").write_text(metadata, encoding="utf-8")
    return root


META = "id\tlang\tminutes\tseconds\tnum_sentences\n"


def test_prepare_formats_and_metadata(tmp_path: Path) -> None:
    recs = {"a1": ("wav", ["Hello,", "world."]), "b2": ("flac", ["hallo", "welt"]),
            "c3": ("mp3", ["one"])}
    root = _make_corpus(tmp_path / "c", recs, META + "b2\tde_de\t\t\t\n")
    (root / "media" / "README.txt").write_text("not audio")  # ignored with a warning
    st = prepare_longform(root, tmp_path / "d", lang="fr_fr")
    assert st["per_lang"] == {"de_de": 1, "fr_fr": 2} and st["num_words"] == 5
    data = read_datadir(tmp_path / "d")
    assert data.text == {"a1": "Hello, world.", "b2": "hallo welt", "c3": "one"}
    assert data.utt2lang == {"a1": "fr_fr", "b2": "de_de", "c3": "fr_fr"}
    assert data.utt2dur["a1"] == pytest.approx(0.5) and data.utt2dur["b2"] == pytest.approx(0.5)
    assert data.utt2dur["c3"] == pytest.approx(0.5, abs=0.1)  # mp3 frames include codec padding
    assert data.wav_scp["c3"] == str(root / "media" / "c3.mp3")
    assert prepare_bin.main(["--root", str(root), "--out_dir", str(tmp_path / "e"), "--quiet"]) == 0


def test_read_write_nlp(tmp_path: Path) -> None:
    path = tmp_path / "x.nlp"
    write_nlp(path, [("Good", "1", "0.5", "0.9", ",", "UC", "[]", "[]"), "morning"])
    lines = path.read_text().splitlines()
    assert lines == [HEADER + "|wer_tags", "Good|1|0.5|0.9|,|UC|[]|[]", "morning|||||||"]
    assert read_nlp(path) == ["Good", "morning"]
    path.write_bytes(("\ufeff" + HEADER + "\r\nHi|2|||||[]\r\n\r\n").encode("utf-8"))
    assert read_nlp(path) == ["Hi"]  # BOM, CRLF and blank lines are fine
    path.write_text(HEADER + "\n")
    assert read_nlp(path) == []
    for rows in (["two words"], [""], ["a|b"], [tuple("123456789")]):
        with pytest.raises(ValueError):
            write_nlp(tmp_path / "bad.nlp", rows)


@pytest.mark.parametrize("content,message", [
    ("Hello|1|||||[]\n", r":1: missing header: expected 'token\|speaker"),
    (HEADER + "\nHello|1|||||[]\nworld|1|||[]\n", r":3: expected 7 '\|'-separated columns"),
    (HEADER + "|wer_tags\nHello|1|||||[]|[]\nworld|1|||||[]\n",
     r":3: expected 8 '\|'-separated columns"),
    (HEADER + "\nHello|1|||||[]\n  |1|||||[]\n", r":3: empty token"),
    ("", r": empty file: missing header"),
])
def test_malformed_nlp_names_file_and_line(tmp_path: Path, content: str, message: str) -> None:
    root = _make_corpus(tmp_path / "c", {"a": ("wav", ["x"]), "b": ("wav", ["y"])})
    nlp = root / "transcripts" / "nlp_references" / "b.nlp"
    nlp.write_text(content, encoding="utf-8")
    with pytest.raises(DataDirError, match=f"^{re.escape(str(nlp))}{message}"):
        prepare_longform(root, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_missing_and_empty_files_are_named(tmp_path: Path) -> None:
    root = _make_corpus(tmp_path / "c", {"a": ("wav", ["x"]), "b": ("wav", ["y"])})
    media = root / "media" / "b.wav"
    nlp = root / "transcripts" / "nlp_references" / "b.nlp"
    media.rename(tmp_path / "b.wav")  # transcript without media
    with pytest.raises(DataDirError, match=f"^{nlp}: no media file .*media/b"):
        prepare_longform(root, tmp_path / "out")
    (tmp_path / "b.wav").rename(media)
    nlp.rename(tmp_path / "b.nlp")  # media without transcript
    with pytest.raises(DataDirError, match=f"^{media}: no transcript .*nlp_references/b.nlp"):
        prepare_longform(root, tmp_path / "out")
    nlp.write_text(HEADER + "\n")  # header only
    with pytest.raises(DataDirError, match=f"^{nlp}: empty transcript"):
        prepare_longform(root, tmp_path / "out")
    sf.write(str(root / "media" / "b.flac"), np.zeros(100), 16000)
    with pytest.raises(DataDirError, match="recording 'b' has two media files"):
        prepare_longform(root, tmp_path / "out")
    shutil.rmtree(root / "media")
    with pytest.raises(DataDirError, match="media: directory not found"):
        prepare_longform(root, tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("lines,message", [
    ("a\ten_us\t\t\t\nb\txx_yy\t\t\t\n", r":3: unknown FLEURS language code 'xx_yy'"),
    ("a\ten\t\t\t\n", r":2: unknown FLEURS language code 'en'; did you mean 'en_us'"),
    ("a\ten_us\t\t\t\na\tfr_fr\t\t\t\n", r":3: recording 'a' listed twice"),
    ("a\ten_us\n", r":2: expected 5 tab-separated columns, got 2"),
    ("zz\ten_us\t\t\t\n", r":2: recording 'zz' has no media file"),
])
def test_bad_metadata_names_line(tmp_path: Path, lines: str, message: str) -> None:
    root = _make_corpus(tmp_path / "c", {"a": ("wav", ["x"]), "b": ("wav", ["y"])}, META + lines)
    with pytest.raises(DataDirError, match=f"^{re.escape(str(root / 'metadata.tsv'))}{message}"):
        prepare_longform(root, tmp_path / "out")
    (root / "metadata.tsv").write_text("name\tlanguage\n")
    with pytest.raises(DataDirError, match=r"metadata.tsv:1: expected a tab-separated header"):
        prepare_longform(root, tmp_path / "out")


def test_prepare_bin_errors(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = _make_corpus(tmp_path / "c", {"a": ("wav", ["x"])})
    (root / "transcripts" / "nlp_references" / "a.nlp").write_text("oops\n")
    assert prepare_bin.main(["--root", str(root), "--out_dir", str(tmp_path / "d")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ERROR: ") and err.strip().count("\n") == 0 and "a.nlp:1" in err
    assert prepare_bin.main(["--root", str(tmp_path / "none"), "--out_dir", str(tmp_path / "d")]) == 1
    assert prepare_bin.main(["--root", str(root), "--out_dir", str(tmp_path / "d"),
                             "--lang", "english"]) == 1
    assert "unknown FLEURS language code 'english'" in capsys.readouterr().err


@pytest.mark.skipif(not (REAL_EARNINGS / f"{REAL_CLIP}.wav").is_file(),
                    reason=f"real Earnings clip not found in {REAL_EARNINGS} (set USM_REAL_SPEECH)")
def test_real_earnings22_clip(tmp_path: Path) -> None:
    root = tmp_path / "earnings22"
    (root / "media").mkdir(parents=True)
    shutil.copy(REAL_EARNINGS / f"{REAL_CLIP}.wav", root / "media" / f"{REAL_CLIP}.wav")
    words = (REAL_EARNINGS / f"{REAL_CLIP}.txt").read_text(encoding="utf-8").split()
    nlp = root / "transcripts" / "nlp_references" / f"{REAL_CLIP}.nlp"
    write_nlp(nlp, [(w, "1", "", "", "", "", "[]", "[]") for w in words])  # Earnings-22 form
    assert read_nlp(nlp) == words
    st = prepare_longform(root, tmp_path / "data")
    assert st["num_recordings"] == 1 and st["num_words"] == len(words) > 50
    data = read_datadir(tmp_path / "data")
    assert data.utt2dur[REAL_CLIP] == pytest.approx(60.0, abs=1.0)  # 24 kHz, 59.62 s
    assert data.text[REAL_CLIP] == " ".join(words)
    assert data.text[REAL_CLIP].startswith("We are gathered to review")
    assert data.utt2lang[REAL_CLIP] == "en_us"
