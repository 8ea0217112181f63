"""Tests for usm_espnet.corpora.fleurs and prepare_fleurs (the stand-in: tests/standin/test_fleurs.py)."""

import io
import logging
import os
import shutil
import tarfile
from pathlib import Path
from typing import Dict, Optional, Sequence

import numpy as np
import pytest
import soundfile as sf
from shared_data import real_speech

from usm_espnet.bin import prepare_fleurs as prepare_bin
from usm_espnet.corpora.fleurs import (
    FleursFormatError,
    extract_split_archive,
    fleurs_chars,
    fleurs_normalize,
    prepare_fleurs,
    utt_id_of,
)
from usm_espnet.data.audio import load_audio
from usm_espnet.data.kaldi import read_datadir, read_kaldi_map, validate_datadir
from usm_espnet.data.languages import UnknownLanguageError
from usm_espnet.standin.espeak import gender_of_variant

REAL_FLEURS = real_speech("fleurs_cuttledoc")  # ../shared/real_speech from the repository root, or $USM_REAL_SPEECH

# (sentence id, file name, raw text, num_samples, gender); sentence 7 is read twice.
EN_ROWS = [
    (7, "1001.wav", "Hello, World!", 1600, "FEMALE"),
    (7, "1002.wav", "Hello, World!", 2400, "MALE"),
    (9, "1003.wav", "A cat sat.", 800, "OTHER"),
]
HI_ROWS = [
    (7, "2001.wav", "नमस्ते, दुनिया!", 1200, "MALE"),
    (9, "2002.wav", "बिल्ली बैठी।", 1000, "FEMALE"),
]


def tsv_line(sid: int, file_name: str, raw: str, num_samples: int, gender: str) -> str:
    norm = fleurs_normalize(raw)
    return "\t".join([str(sid), file_name, raw, norm, fleurs_chars(norm), str(num_samples), gender])


def write_wav(path: Path, n: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    x = (rng.uniform(-0.3, 0.3, n) * 32767).astype(np.int16)
    sf.write(str(path), x, 16000, subtype="PCM_16")


def make_corpus(
    root: Path,
    langs: Optional[Dict[str, list]] = None,
    splits: Sequence[str] = ("train", "dev", "test"),
    form: str = "tar",
    missing_audio: Sequence[str] = (),
) -> Path:
    """A tiny corpus in the real FLEURS layout; every split holds the same rows."""
    langs = langs if langs is not None else {"en_us": EN_ROWS, "hi_in": HI_ROWS}
    for lang, rows in langs.items():
        ldir = root / lang
        for split in splits:
            (ldir / "audio").mkdir(parents=True, exist_ok=True)
            (ldir / f"{split}.tsv").write_text(
                "".join(tsv_line(*r) + "\n" for r in rows), encoding="utf-8")
            loose = ldir / "audio" / split
            for i, (_, name, _, n, _) in enumerate(rows):
                if name not in missing_audio:
                    write_wav(loose / name, n, seed=i)
            if form == "tar":
                with tarfile.open(ldir / "audio" / f"{split}.tar.gz", "w:gz") as tar:
                    for name in sorted(os.listdir(loose)):
                        tar.add(loose / name, arcname=f"{split}/{name}")
                shutil.rmtree(loose)
    return root


# ------------------------------------------------------------------------ text


@pytest.mark.parametrize("raw,norm", [
    ("Hello, World!", "hello world"),
    ("  L'accident   a eu lieu. ", "l accident a eu lieu"),
    ("Straße GROSS", "straße gross"),
    ("नमस्ते, दुनिया!", "नमस्ते दुनिया"),  # combining vowel signs and virama kept
    ("ｆｕｌｌ－width", "full width"),  # NFKC
    ("你好，世界。", "你好 世界"),
    ("...", ""),
])
def test_fleurs_normalize(raw: str, norm: str) -> None:
    assert fleurs_normalize(raw) == norm
    assert fleurs_normalize(norm) == norm


def test_fleurs_chars_and_gender() -> None:
    assert fleurs_chars("a cat") == "a | c a t |"
    genders = [gender_of_variant(v) for v in ("m3", "f1", "klatt", "m")]
    assert genders == ["MALE", "FEMALE", "OTHER", "OTHER"]
    assert utt_id_of("en_us", "dev", "123.wav") == "en_us-dev-123"


# ------------------------------------------------------------------ preparation


@pytest.mark.parametrize("form", ["tar", "dir"])
def test_prepare_real_layout(tmp_path: Path, form: str) -> None:
    corpus = make_corpus(tmp_path / "fleurs", form=form)
    out = tmp_path / "data"
    stats = prepare_fleurs(corpus, out)
    assert sorted(stats) == ["dev", "test", "train"]
    st = stats["train"]
    assert (st.num_utts, st.num_skipped, st.per_lang) == (5, 0, {"en_us": 3, "hi_in": 2})
    assert st.hours == pytest.approx((1600 + 2400 + 800 + 1200 + 1000) / 16000 / 3600)
    for split in ("train", "dev", "test"):
        validate_datadir(out / split)
    data = read_datadir(out / "train")
    ids = ["en_us-train-1001", "en_us-train-1002", "en_us-train-1003",
           "hi_in-train-2001", "hi_in-train-2002"]
    assert data.utt_ids() == ids
    assert data.text["en_us-train-1001"] == "hello world"
    assert data.text["en_us-train-1002"] == "hello world"  # same sentence, second speaker
    assert data.text["hi_in-train-2002"] == "बिल्ली बैठी"
    assert data.utt2lang["hi_in-train-2001"] == "hi_in"
    assert dict(data.utt2spk) == {u: u for u in ids}
    assert data.utt2dur["en_us-train-1002"] == pytest.approx(0.15)
    for utt in ids:
        path = data.wav_scp[utt]
        assert os.path.isabs(path)
        assert len(load_audio(path)) == round(data.utt2dur[utt] * 16000)
    if form == "dir":  # extracted audio is used in place
        expected = corpus / "en_us" / "audio" / "train" / "1001.wav"
        assert data.wav_scp["en_us-train-1001"] == str(expected)
    else:
        expected = out / "audio" / "en_us" / "train" / "1001.wav"
        assert data.wav_scp["en_us-train-1001"] == str(expected)
    assert read_kaldi_map(out / "train" / "utt2gender")["en_us-train-1002"] == "MALE"
    assert read_kaldi_map(out / "train" / "utt2raw")["en_us-train-1001"] == "Hello, World!"

    raw = prepare_fleurs(corpus, tmp_path / "raw", splits=["dev"], langs=["hi_in"],
                         text_column="raw_transcription", max_utts_per_lang=1)
    assert raw["dev"].num_utts == 1
    text = dict(read_datadir(tmp_path / "raw" / "dev").text)
    assert text == {"hi_in-dev-2001": "नमस्ते, दुनिया!"}


def test_prepare_idempotent_extraction(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path / "fleurs", langs={"en_us": EN_ROWS}, splits=["test"])
    out = tmp_path / "data"
    prepare_fleurs(corpus, out, splits=["test"])
    wav = out / "audio" / "en_us" / "test" / "1001.wav"
    assert (wav.parent / ".done").is_file()
    os.utime(wav, ns=(1, 1))  # a re-extraction would reset this
    (out / "test" / "stale").write_text("x")
    prepare_fleurs(corpus, out, splits=["test"])
    assert wav.stat().st_mtime_ns == 1
    assert not (out / "test" / "stale").exists()  # data dir replaced as a whole
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temp dirs left
    # a changed archive is extracted again
    archive = corpus / "en_us" / "audio" / "test.tar.gz"
    os.utime(archive, ns=(10**18, 10**18))
    extract_split_archive(archive, out / "audio" / "en_us")
    assert wav.stat().st_mtime_ns != 1


def test_huggingface_data_subdir(tmp_path: Path) -> None:
    make_corpus(tmp_path / "fleurs" / "data", langs={"en_us": EN_ROWS}, splits=["dev"])
    stats = prepare_fleurs(tmp_path / "fleurs", tmp_path / "out", splits=["dev"])
    assert stats["dev"].num_utts == 3


def test_missing_audio_is_counted_skip(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    corpus = make_corpus(tmp_path / "c", langs={"en_us": EN_ROWS}, splits=["train"],
                         missing_audio=["1002.wav"])
    with caplog.at_level(logging.WARNING):
        stats = prepare_fleurs(corpus, tmp_path / "out", splits=["train"])
    st = stats["train"]
    assert (st.num_utts, st.num_skipped) == (2, 1)
    assert f"{corpus}/en_us/train.tsv:2" in st.skipped[0] and "1002.wav" in st.skipped[0]
    messages = [r.getMessage() for r in caplog.records]
    assert any("train.tsv:2" in m and "1002.wav" in m for m in messages)
    assert "en_us-train-1002" not in read_datadir(tmp_path / "out" / "train").wav_scp


def _break_line(corpus: Path, lineno: int, fn, split: str = "train") -> Path:
    tsv = corpus / "en_us" / f"{split}.tsv"
    lines = tsv.read_text(encoding="utf-8").splitlines()
    lines[lineno - 1] = fn(lines[lineno - 1].split("\t"))
    tsv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return tsv


@pytest.mark.parametrize("fn,message", [
    (lambda c: "\t".join(c[:5]), "expected 7 tab-separated columns, got 5"),
    (lambda c: "\t".join(c[:3] + [""] + c[4:]), "empty transcription for 1002.wav"),
    (lambda c: "\t".join(c[:5] + ["12.5"] + c[6:]), "num_samples '12.5' is not an integer"),
    (lambda c: "\t".join(["x7"] + c[1:]), "sentence id 'x7' is not an integer"),
])
def test_bad_tsv_line(tmp_path: Path, fn, message: str) -> None:
    corpus = make_corpus(tmp_path / "c", langs={"en_us": EN_ROWS}, splits=["train"], form="dir")
    tsv = _break_line(corpus, 2, fn)
    with pytest.raises(FleursFormatError) as e:
        prepare_fleurs(corpus, tmp_path / "out", splits=["train"])
    assert str(e.value) == f"{tsv}:2: {message}"
    assert not (tmp_path / "out").exists()  # nothing written before all tsvs are checked


def test_missing_split_lang_and_unknown_codes(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path / "c", langs={"en_us": EN_ROWS}, splits=["train", "test"],
                         form="dir")
    with pytest.raises(FleursFormatError, match=f"^{corpus}/en_us/dev.tsv not found$"):
        prepare_fleurs(corpus, tmp_path / "out")
    with pytest.raises(FleursFormatError,
                       match=r"fr_fr: language directory not found \(present: en_us\)"):
        prepare_fleurs(corpus, tmp_path / "out", langs=["fr_fr"], splits=["train"])
    with pytest.raises(UnknownLanguageError, match="did you mean 'en_us'"):
        prepare_fleurs(corpus, tmp_path / "out", langs=["en"], splits=["train"])
    (corpus / "xx_yy").mkdir()
    (corpus / "xx_yy" / "train.tsv").write_text("")
    with pytest.raises(UnknownLanguageError, match="xx_yy"):
        prepare_fleurs(corpus, tmp_path / "out", splits=["train"])
    with pytest.raises(FleursFormatError, match="corpus directory not found"):
        prepare_fleurs(tmp_path / "nowhere", tmp_path / "out")
    with pytest.raises(ValueError, match="allowed: train, dev, test"):
        prepare_fleurs(corpus, tmp_path / "out", splits=["valid"])
    shutil.rmtree(corpus / "en_us" / "audio" / "test")
    with pytest.raises(FleursFormatError, match=r"neither test.tar.gz nor test/ found"):
        prepare_fleurs(corpus, tmp_path / "out", langs=["en_us"], splits=["test"])


def test_unsafe_archive_member(tmp_path: Path) -> None:
    archive = tmp_path / "c" / "train.tar.gz"
    archive.parent.mkdir()
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("../../evil.wav")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"abc"))
    with pytest.raises(FleursFormatError, match="unsafe member"):
        extract_split_archive(archive, tmp_path / "x")
    assert not (tmp_path / "evil.wav").exists()
    archive.write_bytes(b"not a tar")
    with pytest.raises(FleursFormatError, match="cannot read archive"):
        extract_split_archive(archive, tmp_path / "x")


def test_prepare_bin(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    corpus = make_corpus(tmp_path / "c", langs={"en_us": EN_ROWS}, splits=["dev"], form="dir")
    assert prepare_bin.main(["--corpus_dir", str(corpus), "--out_dir", str(tmp_path / "d"),
                             "--splits", "dev", "--quiet"]) == 0
    assert "3 utterances" in capsys.readouterr().out
    _break_line(corpus, 3, lambda c: "\t".join(c[:4]), split="dev")
    assert prepare_bin.main(["--corpus_dir", str(corpus), "--out_dir", str(tmp_path / "d"),
                             "--splits", "dev", "--langs", "en_us"]) == 1
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0  # ERROR line only (no traceback); logs go elsewhere
    assert err.startswith("ERROR: ") and "dev.tsv:3: expected 7 tab-separated columns, got 4" in err


# ------------------------------------------------------------ real FLEURS clips


@pytest.mark.skipif(not REAL_FLEURS.is_dir(),
                    reason=f"real FLEURS clips not found at {REAL_FLEURS} (set USM_REAL_SPEECH)")
def test_real_fleurs_clips(tmp_path: Path) -> None:
    """Real FLEURS test clips (Ogg/Opus + normalised transcripts) repacked in the FLEURS layout.

    The folder holds per-clip files rather than FLEURS tsv/tar files, so the clips are
    decoded to 16 kHz wav and packed as ``<lang>/test.tsv`` + ``audio/test.tar.gz``.
    """
    codes = {"en": "en_us", "de": "de_de", "fr": "fr_fr"}
    expected = {}
    for short, lang in codes.items():
        ldir = tmp_path / "fleurs" / lang
        (ldir / "audio").mkdir(parents=True)
        lines = []
        with tarfile.open(ldir / "audio" / "test.tar.gz", "w:gz") as tar:
            for i in range(2):
                clip = REAL_FLEURS / f"fleurs-{short}-{i:03d}"
                text = " ".join(clip.with_suffix(".txt").read_text(encoding="utf-8").split())
                x, sr = sf.read(str(clip.with_suffix(".ogg")), dtype="int16")
                assert sr == 16000
                name = f"{len(expected) + 1}0123456789.wav"
                wav = tmp_path / name
                sf.write(str(wav), x, sr, subtype="PCM_16")
                tar.add(wav, arcname=f"test/{name}")
                lines.append("\t".join(
                    [str(100 + i), name, text, text, fleurs_chars(text), str(len(x)), "OTHER"]))
                expected[utt_id_of(lang, "test", name)] = (text, len(x) / 16000)
        (ldir / "test.tsv").write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    stats = prepare_fleurs(tmp_path / "fleurs", tmp_path / "data", splits=["test"],
                           check_audio=True)
    assert (stats["test"].num_utts, stats["test"].num_skipped) == (6, 0)
    data = read_datadir(tmp_path / "data" / "test", check_audio=True)
    assert {u: data.text[u] for u in data.utt_ids()} == {u: t for u, (t, _) in expected.items()}
    for u, (_, dur) in expected.items():
        assert data.utt2dur[u] == pytest.approx(dur)
        assert data.utt2lang[u] == u.split("-")[0]
        assert len(load_audio(data.wav_scp[u])) == round(dur * 16000)
    german = [data.text[u] for u in data.utt_ids() if u.startswith("de_de")]
    assert any(c in "äöüß" for t in german for c in t)
