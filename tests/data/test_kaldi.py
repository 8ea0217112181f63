"""Tests for usm_espnet.data.kaldi, usm_espnet.data.audio and usm_espnet.bin.validate_data_dir."""

import logging
import os
import struct
import subprocess
import sys
from pathlib import Path
from typing import Dict, Optional

import kaldiio
import numpy as np
import pytest
import soundfile as sf

from usm_espnet.bin import validate_data_dir
from usm_espnet.data import kaldi
from usm_espnet.data.audio import AudioError, iter_audio, load_audio, read_audio_info
from usm_espnet.data.kaldi import DataDir, DataDirError, read_datadir, read_kaldi_map, validate_datadir, write_datadir

REPO = Path(__file__).resolve().parents[2]


def make_wav(
    path: Path, n: int = 1600, sr: int = 16000, channels: int = 1, seed: int = 0
) -> np.ndarray:
    """Write a small PCM-16 wav; return the samples as float32 (frames[, channels])."""
    rng = np.random.default_rng(seed)
    shape = (n,) if channels == 1 else (n, channels)
    x = (rng.uniform(-0.5, 0.5, size=shape) * 32768).astype(np.int16)
    sf.write(str(path), x, sr, subtype="PCM_16")
    return x.astype(np.float32) / 32768


def write_files(d: Path, files: Dict[str, str]) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (d / name).write_text(content, encoding="utf-8")
    return d


def sample_data(wav_dir: Optional[Path] = None) -> DataDir:
    """Keys chosen so that C order differs from locale/natural order."""
    utts = ["B-2", "a_1", "a-1", "é3", "Z10", "Z9"]
    wav_dir = wav_dir or Path("/nonexistent")
    return DataDir(
        wav_scp={u: str(wav_dir / f"{u}.wav") for u in utts},
        text={u: f"transcript of {u} ünïcode" for u in utts},
        utt2spk={u: ("spkA" if u[0] in "aZ" else "spkB") for u in utts},
        utt2lang={u: ("en_us" if i % 2 else "fr_fr") for i, u in enumerate(utts)},
        utt2dur={u: 0.1 * (i + 1) for i, u in enumerate(utts)},
    )


# ------------------------------------------------------------------ round trip


def test_round_trip_and_c_order(tmp_path: Path) -> None:
    data = sample_data()
    out = tmp_path / "data" / "train"
    write_datadir(out, data)
    back = read_datadir(out)
    assert back == data
    assert back.utt_ids() == ["B-2", "Z10", "Z9", "a-1", "a_1", "é3"]
    keys = [line.split()[0] for line in (out / "text").read_text("utf-8").splitlines()]
    assert keys == sorted(keys, key=lambda k: k.encode("utf-8"))
    assert (out / "spk2utt").read_text() == "spkA Z10 Z9 a-1 a_1\nspkB B-2 é3\n"
    assert back.spk2utt() == {"spkA": ["Z10", "Z9", "a-1", "a_1"], "spkB": ["B-2", "é3"]}
    assert sorted(os.listdir(out.parent)) == ["train"]  # no temp dirs left behind
    # line numbers are remembered for later messages
    assert back.text.where("Z9") == f"{out}/text:3"


def test_round_trip_segments_and_default_utt2spk(tmp_path: Path) -> None:
    data = DataDir(
        wav_scp={"rec1": "/x/rec1.wav", "rec2": "/x/rec2.wav"},
        text={"u1": "hello", "u2": "world", "u3": "again"},
        segments={"u1": ("rec1", 0.0, 1.25), "u2": ("rec1", 1.25, 2.5), "u3": ("rec2", 0.1, -1.0)},
    )
    write_datadir(tmp_path / "d", data)
    back = read_datadir(tmp_path / "d")
    assert back.segments == data.segments
    assert back.utt2spk == {"u1": "u1", "u2": "u2", "u3": "u3"}
    assert (tmp_path / "d" / "spk2utt").read_text() == "u1 u1\nu2 u2\nu3 u3\n"
    sub = back.subset(["u3"])
    assert sub.wav_scp == {"rec2": "/x/rec2.wav"} and list(sub.segments) == ["u3"]
    with pytest.raises(KeyError):
        back.subset(["nope"])


def test_write_without_text(tmp_path: Path) -> None:
    write_datadir(tmp_path / "d", DataDir(wav_scp={"a": "/a.wav"}))
    with pytest.raises(DataDirError, match=r"text: file not found"):
        validate_datadir(tmp_path / "d")
    validate_datadir(tmp_path / "d", require_text=False)


def test_write_under_a_file_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("not a directory\n")
    with pytest.raises(DataDirError, match=r"afile/sub/d: cannot create it: .*afile is a file, not a directory"):
        write_datadir(tmp_path / "afile" / "sub" / "d", DataDir(wav_scp={"a": "/a.wav"}))
    assert sorted(os.listdir(tmp_path)) == ["afile"]


def test_prepare_untranscribed_out_dir_under_a_file_is_one_error_line(tmp_path: Path, capsys) -> None:
    from usm_espnet.bin import prepare_untranscribed

    wav = tmp_path / "a.wav"
    sf = pytest.importorskip("soundfile")
    sf.write(wav, [0.0] * 1600, 16000)
    (tmp_path / "root" / "en_us").mkdir(parents=True)
    (tmp_path / "root" / "en_us" / "wav.lst").write_text(f"{wav}\n")
    (tmp_path / "afile").write_text("x\n")
    out = tmp_path / "afile" / "untranscribed"
    assert prepare_untranscribed.main(["--root", str(tmp_path / "root"), "--out_dir", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == f"ERROR: {out}: cannot create it: {tmp_path / 'afile'} is a file, not a directory"
    assert "Traceback" not in "\n".join(err)


# ---------------------------------------------------------------- atomic write


def _old_dir(tmp_path: Path) -> Path:
    old = tmp_path / "train"
    write_datadir(old, DataDir(wav_scp={"old": "/old.wav"}, text={"old": "old text"}))
    (old / "extra_file").write_text("keep me\n")
    return old


def _assert_old_intact(tmp_path: Path, old: Path) -> None:
    assert sorted(os.listdir(tmp_path)) == ["train"]
    assert (old / "text").read_text() == "old old text\n"
    assert (old / "extra_file").exists()


def test_atomic_write_invalid_data_leaves_old_dir(tmp_path: Path) -> None:
    old = _old_dir(tmp_path)
    bad = DataDir(wav_scp={"a": "/a.wav", "b": "/b.wav"}, text={"a": "fine", "b": "  "})
    with pytest.raises(DataDirError) as ei:
        write_datadir(old, bad)
    # message names the target (not the temp dir) and the line
    assert str(ei.value).startswith(f"{old}/text:2: empty transcript")
    _assert_old_intact(tmp_path, old)


def test_atomic_write_crash_midway_leaves_old_dir(tmp_path: Path, monkeypatch) -> None:
    old = _old_dir(tmp_path)
    real = kaldi._write_file
    calls = []

    def flaky(path: str, lines):
        calls.append(path)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        real(path, lines)

    monkeypatch.setattr(kaldi, "_write_file", flaky)
    with pytest.raises(OSError, match="No space"):
        write_datadir(old, sample_data())
    assert len(calls) == 3
    _assert_old_intact(tmp_path, old)


def test_overwrite_replaces_and_overwrite_false_refuses(tmp_path: Path) -> None:
    old = _old_dir(tmp_path)
    with pytest.raises(FileExistsError):
        write_datadir(old, sample_data(), overwrite=False)
    _assert_old_intact(tmp_path, old)
    write_datadir(old, sample_data())
    assert sorted(os.listdir(tmp_path)) == ["train"]
    assert not (old / "extra_file").exists()
    assert read_datadir(old) == sample_data()


def test_write_rejects_bad_keys(tmp_path: Path) -> None:
    with pytest.raises(DataDirError, match=r"wav.scp:1: invalid key 'a b'"):
        write_datadir(tmp_path / "d", DataDir(wav_scp={"a b": "/x.wav"}))
    with pytest.raises(DataDirError, match=r"text:1: .*line break"):
        write_datadir(tmp_path / "d", DataDir(wav_scp={"a": "/x.wav"}, text={"a": "x\ny"}))
    assert os.listdir(tmp_path) == []


# ------------------------------------------------------------------ bad inputs

WAV2 = "a /a.wav\nb /b.wav\n"
TEXT2 = "a hello\nb world\n"

BAD_CASES = {
    "malformed": ({"wav.scp": "a /a.wav\nb\n"}, "wav.scp:2", "no value"),
    "blank_line": ({"wav.scp": "a /a.wav\n\nb /b.wav\n"}, "wav.scp:2", "blank line"),
    "leading_space": ({"wav.scp": WAV2, "text": " a x\nb y\n"}, "text:1", "whitespace"),
    "duplicate": ({"wav.scp": WAV2, "text": "a hi\na ho\n"}, "text:2", "duplicate key 'a'"),
    "unsorted": ({"wav.scp": "b /b.wav\na /a.wav\n"}, "wav.scp:2", "not sorted"),
    "unsorted_c_order": ({"wav.scp": "a /a.wav\nB /b.wav\n"}, "wav.scp:2", "not sorted"),
    "unsorted_utt2spk": (
        {"wav.scp": WAV2, "text": TEXT2, "utt2spk": "b s\na s\n"}, "utt2spk:2", "not sorted"),
    "empty_transcript": ({"wav.scp": WAV2, "text": "a hello\nb\n"}, "text:2", "empty transcript"),
    "blank_transcript": (
        {"wav.scp": WAV2, "text": "a \t \u3000\nb x\n"}, "text:1", "empty transcript for utterance 'a'"),
    "text_not_in_wav": (
        {"wav.scp": WAV2, "text": "a x\nb y\nc z\n"}, "text:3", "'c' not found in wav.scp"),
    "wav_not_in_text": ({"wav.scp": WAV2, "text": "a x\n"}, "wav.scp:2", "'b' has no entry in text"),
    "utt2spk_extra": (
        {"wav.scp": WAV2, "text": TEXT2, "utt2spk": "a s\nb s\nc s\n"}, "utt2spk:3", "not found"),
    "utt2spk_missing": (
        {"wav.scp": WAV2, "text": TEXT2, "utt2spk": "b s\n"}, "wav.scp:1", "no entry in utt2spk"),
    "utt2spk_two_tokens": (
        {"wav.scp": WAV2, "text": TEXT2, "utt2spk": "a s t\nb s\n"}, "utt2spk:1", "one token"),
    "utt2lang_extra": (
        {"wav.scp": WAV2, "text": TEXT2, "utt2lang": "a en\nab en\nb en\n"}, "utt2lang:2", "not found"),
    "utt2lang_missing": (
        {"wav.scp": WAV2, "text": TEXT2, "utt2lang": "a en\n"}, "wav.scp:2", "no entry in utt2lang"),
    "seg_end_before_start": (
        {"wav.scp": "r /r.wav\n", "text": TEXT2, "segments": "a r 0 1\nb r 2.5 2.5\n"},
        "segments:2", "end time 2.5 <= start time 2.5"),
    "seg_unknown_rec": (
        {"wav.scp": "r /r.wav\n", "text": TEXT2, "segments": "a q 0 1\nb r 1 2\n"},
        "segments:1", "unknown recording 'q'"),
    "seg_bad_number": (
        {"wav.scp": "r /r.wav\n", "segments": "a r 0 x\n"}, "segments:1", "not a number"),
    "seg_fields": ({"wav.scp": "r /r.wav\n", "segments": "a r 0\n"}, "segments:1", "malformed"),
    "text_not_in_segments": (
        {"wav.scp": "r /r.wav\n", "text": "a x\nb y\nc z\n", "segments": "a r 0 1\nb r 1 2\n"},
        "text:3", "not found in segments"),
    "utt2dur_non_numeric": (
        {"wav.scp": WAV2, "text": TEXT2, "utt2dur": "a 1.5\nb abc\n"}, "utt2dur:2", "not a number"),
    "utt2dur_negative": (
        {"wav.scp": WAV2, "text": TEXT2, "utt2dur": "a -1\nb 2\n"}, "utt2dur:1", "negative"),
    "spk2utt_inconsistent": (
        {"wav.scp": WAV2, "text": TEXT2, "utt2spk": "a s1\nb s2\n", "spk2utt": "s1 a b\ns2 b\n"},
        "spk2utt:1", "utt2spk maps it to 's2'"),
    "spk2utt_missing_utt": (
        {"wav.scp": WAV2, "text": TEXT2, "utt2spk": "a s1\nb s2\n", "spk2utt": "s1 a\n"},
        "utt2spk:2", "not listed in spk2utt"),
    "not_utf8": ({"wav.scp": WAV2, "text": "a caf\udce9\nb x\n"}, "text:1", "UTF-8"),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_inputs(tmp_path: Path, case: str) -> None:
    files, where, fragment = BAD_CASES[case]
    d = tmp_path / "data"
    d.mkdir()
    for name, content in files.items():
        (d / name).write_bytes(content.encode("utf-8", "surrogateescape"))
    with pytest.raises(DataDirError) as ei:
        validate_datadir(d, require_text=False)
    msg = str(ei.value)
    assert msg.startswith(f"{d}/{where}: "), msg
    assert fragment in msg, msg
    assert "\n" not in msg


def test_missing_dir_and_wav_scp(tmp_path: Path) -> None:
    with pytest.raises(DataDirError, match="not a directory"):
        read_datadir(tmp_path / "nope")
    (tmp_path / "d").mkdir()
    with pytest.raises(DataDirError, match=r"d/wav.scp: file not found"):
        read_datadir(tmp_path / "d")


def test_read_kaldi_map(tmp_path: Path) -> None:
    p = tmp_path / "text"
    p.write_text("x  hello   world \r\ny\n", encoding="utf-8")
    with pytest.raises(DataDirError, match=r"text:2: malformed"):
        read_kaldi_map(p)
    m = read_kaldi_map(p, allow_empty_value=True)
    assert m == {"x": "hello   world", "y": ""}
    assert m.lines == {"x": 1, "y": 2} and m.where("y") == f"{p}:2"


def test_read_without_validation(tmp_path: Path) -> None:
    d = write_files(tmp_path / "d", {"wav.scp": "b /b.wav\na /a.wav\n", "text": "a \n"})
    data = read_datadir(d, validate=False)
    assert data.utt_ids() == ["a", "b"] and data.text == {"a": ""}


# ----------------------------------------------------------------------- audio


def test_iter_audio_skips_and_raises(tmp_path: Path, caplog) -> None:
    good = make_wav(tmp_path / "good.wav")
    (tmp_path / "corrupt.wav").write_bytes(b"RIFF\x00garbage" * 20)
    d = write_files(tmp_path / "d", {
        "wav.scp": f"a {tmp_path}/corrupt.wav\nb {tmp_path}/good.wav\nc {tmp_path}/missing.wav\n",
    })
    data = read_datadir(d, require_text=False)
    skipped = []
    with caplog.at_level(logging.WARNING, logger="usm_espnet.data.audio"):
        it = iter_audio(data, on_skip=lambda utt, err: skipped.append(utt))
        out = list(it)
    assert [u for u, _ in out] == ["b"]
    np.testing.assert_allclose(out[0][1], good, atol=1e-6)
    assert (it.num_loaded, it.num_skipped) == (1, 2)
    assert skipped == ["a", "c"] and [u for u, _ in it.skipped] == ["a", "c"]
    assert "corrupt.wav" in caplog.text and "missing.wav" in caplog.text

    with pytest.raises(AudioError) as ei:
        list(iter_audio(data, on_error="raise"))
    assert f"{d}/wav.scp:1" in str(ei.value) and "corrupt.wav" in str(ei.value)
    with pytest.raises(AudioError, match=r"wav.scp:3: .*missing.wav"):
        list(iter_audio(data.subset(["c"]), on_error="raise"))
    with pytest.raises(ValueError):
        iter_audio(data, on_error="ignore")


@pytest.mark.parametrize("content", [None, b"", b"\x00" * 100, b"RIFF1234WAVEfmt junk"])
def test_load_audio_bad_files(tmp_path: Path, content: Optional[bytes]) -> None:
    p = tmp_path / "bad.wav"
    if content is not None:
        p.write_bytes(content)
    with pytest.raises(AudioError, match="bad.wav"):
        load_audio(str(p))
    with pytest.raises(AudioError, match="bad.wav"):
        read_audio_info(str(p))


def test_check_audio_sample_rate_and_resample(tmp_path: Path) -> None:
    make_wav(tmp_path / "ok.wav")
    t = np.arange(22050) / 22050
    sine = 0.5 * np.sin(2 * np.pi * 440 * t)
    sf.write(str(tmp_path / "hi.wav"), sine, 22050, subtype="FLOAT")
    d = write_files(tmp_path / "d", {
        "wav.scp": f"a {tmp_path}/ok.wav\nb {tmp_path}/hi.wav\n", "text": "a x\nb y\n",
    })
    validate_datadir(d)  # audio not checked
    with pytest.raises(DataDirError) as ei:
        validate_datadir(d, check_audio=True)
    assert str(ei.value).startswith(f"{d}/wav.scp:2: ")
    assert "expected 16000 Hz, got 22050 Hz" in str(ei.value)

    assert read_audio_info(f"{tmp_path}/hi.wav") == (22050, 22050)
    y = load_audio(f"{tmp_path}/hi.wav", target_sr=16000)
    assert y.dtype == np.float32 and y.shape == (16000,)
    ref = 0.5 * np.sin(2 * np.pi * 440 * np.arange(16000) / 16000)
    inner = slice(200, -200)  # ignore filter edge effects
    assert np.max(np.abs(y[inner] - ref[inner])) < 1e-2
    assert load_audio(f"{tmp_path}/hi.wav", target_sr=22050).shape == (22050,)
    assert load_audio(f"{tmp_path}/hi.wav", segment=(0.5, -1)).shape == (8000,)


def test_check_audio_ok_and_segment_outside(tmp_path: Path) -> None:
    make_wav(tmp_path / "r.wav", n=16000)
    files = {"wav.scp": f"r {tmp_path}/r.wav\n", "text": "u1 x\nu2 y\n",
             "segments": "u1 r 0 0.5\nu2 r 0.5 1.0\n"}
    d = write_files(tmp_path / "d", files)
    validate_datadir(d, check_audio=True)
    files["segments"] = "u1 r 0 0.5\nu2 r 0.5 3.0\n"
    write_files(d, files)
    with pytest.raises(DataDirError, match=r"segments:2: .*outside recording 'r'"):
        validate_datadir(d, check_audio=True)
    (tmp_path / "r.wav").unlink()
    with pytest.raises(DataDirError, match=r"wav.scp:1: recording 'r': audio file not found"):
        validate_datadir(d, check_audio=True)


def test_stereo_to_mono(tmp_path: Path) -> None:
    x = make_wav(tmp_path / "st.wav", n=800, channels=2)
    y = load_audio(str(tmp_path / "st.wav"))
    assert y.shape == (800,) and y.dtype == np.float32
    np.testing.assert_allclose(y, x.mean(axis=1), atol=1e-6)


def test_segments_slicing(tmp_path: Path) -> None:
    x = make_wav(tmp_path / "rec.wav", n=16000)
    d = write_files(tmp_path / "d", {
        "wav.scp": f"rec {tmp_path}/rec.wav\n",
        "segments": "u1 rec 0.1 0.3\nu2 rec 0.5 -1\nu3 rec 0.9 1.2\n",
    })
    data = read_datadir(d, require_text=False)
    got = dict(iter_audio(data, on_error="raise"))
    np.testing.assert_allclose(got["u1"], x[1600:4800], atol=1e-6)
    np.testing.assert_allclose(got["u2"], x[8000:], atol=1e-6)
    np.testing.assert_allclose(got["u3"], x[14400:], atol=1e-6)  # end clamped
    with pytest.raises(AudioError, match="past the end"):
        load_audio(str(tmp_path / "rec.wav"), segment=(2.0, 3.0))
    # the same through a pipe (whole recording decoded once, then sliced)
    data.wav_scp["rec"] = f"cat {tmp_path}/rec.wav |"
    got_pipe = dict(iter_audio(data, on_error="raise"))
    for utt in got:
        np.testing.assert_array_equal(got_pipe[utt], got[utt])


@pytest.mark.parametrize("prefix", ["", "ark:"])
def test_kaldiio_ark_round_trip(tmp_path: Path, prefix: str) -> None:
    rng = np.random.default_rng(1)
    pcm = (rng.uniform(-0.5, 0.5, size=1200) * 32768).astype(np.int16)
    stereo = (rng.uniform(-0.5, 0.5, size=(600, 2)) * 32768).astype(np.int16)
    ark, scp = tmp_path / "wav.ark", tmp_path / "wav.scp"
    kaldiio.save_ark(str(ark), {"u1": (16000, pcm), "u2": (8000, stereo)}, scp=str(scp))
    entries = dict(line.split(maxsplit=1) for line in scp.read_text().splitlines())
    spec1 = prefix + entries["u1"].strip()
    np.testing.assert_allclose(load_audio(spec1), pcm / 32768, atol=1e-6)
    assert read_audio_info(spec1) == (16000, 1200)
    y2 = load_audio(prefix + entries["u2"].strip(), target_sr=8000)
    np.testing.assert_allclose(y2, stereo.mean(axis=1) / 32768, atol=1e-6)
    # a data dir whose wav.scp is the kaldiio scp
    d = write_files(tmp_path / "d", {"wav.scp": scp.read_text()})
    data = read_datadir(d, require_text=False)
    assert [u for u, _ in iter_audio(data, target_sr=8000, on_error="raise")] == ["u1", "u2"]


def test_ark_errors(tmp_path: Path) -> None:
    ark = tmp_path / "feats.ark"
    kaldiio.save_ark(str(ark), {"f": np.zeros((3, 4), dtype=np.float32)}, scp=str(tmp_path / "f.scp"))
    spec = (tmp_path / "f.scp").read_text().split()[1]
    with pytest.raises(AudioError, match="not audio"):
        load_audio(spec)
    with pytest.raises(AudioError, match="feats.ark"):
        load_audio(f"{ark}:1")


def test_piped_command(tmp_path: Path) -> None:
    x = make_wav(tmp_path / "p.wav", n=1000)
    y = load_audio(f"cat {tmp_path}/p.wav |")
    np.testing.assert_allclose(y, x, atol=1e-6)
    assert read_audio_info(f"cat {tmp_path}/p.wav |") == (16000, 1000)
    d = write_files(tmp_path / "d", {
        "wav.scp": f"a cat {tmp_path}/p.wav |\nb cat {tmp_path}/nope.wav |\nc true |\n",
    })
    data = read_datadir(d, require_text=False)
    it = iter_audio(data)
    assert [u for u, _ in it] == ["a"] and it.num_skipped == 2
    assert "exit status 1" in it.skipped[0][1] and "nope.wav" in it.skipped[0][1]
    assert "no output" in it.skipped[1][1]
    with pytest.raises(DataDirError, match=r"wav.scp:2: recording 'b': command .*failed"):
        validate_datadir(d, require_text=False, check_audio=True)


@pytest.mark.parametrize("size", [0, 0xFFFFFFFF])
def test_streamed_wav_with_unset_sizes(tmp_path: Path, size: int) -> None:
    x = make_wav(tmp_path / "s.wav", n=700)
    raw = bytearray((tmp_path / "s.wav").read_bytes())
    data_at = raw.index(b"data")
    raw[4:8] = struct.pack("<I", size)
    raw[data_at + 4:data_at + 8] = struct.pack("<I", size)
    (tmp_path / "stream.bin").write_bytes(bytes(raw))
    y = load_audio(f"cat {tmp_path}/stream.bin |")
    np.testing.assert_allclose(y, x, atol=1e-6)


# ------------------------------------------------------------------------- bin


def test_bin_main(tmp_path: Path, capsys) -> None:
    data = sample_data()
    write_datadir(tmp_path / "ok", data)
    assert validate_data_dir.main([str(tmp_path / "ok")]) == 0
    out = capsys.readouterr().out.strip()
    assert out == f"{tmp_path / 'ok'}: 6 utterances, 2 speakers, 2 languages, 0.00 hours"

    write_files(tmp_path / "nt", {"wav.scp": "a /a.wav\n"})
    assert validate_data_dir.main([str(tmp_path / "nt")]) == 1
    assert "nt/text: file not found" in capsys.readouterr().err
    assert validate_data_dir.main([str(tmp_path / "nt"), "--no-text"]) == 0
    assert capsys.readouterr().out.strip().endswith("1 utterances, 1 speakers, 0 languages")


def test_bin_subprocess_error(tmp_path: Path) -> None:
    d = write_files(tmp_path / "bad", {"wav.scp": WAV2, "text": "a hello\nb \n"})
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run(
        [sys.executable, "-m", "usm_espnet.bin.validate_data_dir", str(d), "--check-audio"],
        capture_output=True, text=True, env=env, timeout=60,
    )
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr.strip() == f"error: {d}/text:2: empty transcript for utterance 'b'"
