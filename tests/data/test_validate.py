"""Tests for usm_espnet.data.validate: the input checks preflight, validate_data_dir and
format_data share (and that the three report a problem in the same words)."""

import logging
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from usm_espnet.data import kaldi, validate
from usm_espnet.data.audio import AudioError, probe_audio_file
from usm_espnet.data.kaldi import DataDirError, KaldiMap, read_kaldi_map
from usm_espnet.data.validate import (
    check_audio_file,
    check_audio_format,
    check_finite,
    check_recordings,
    check_same_ids,
    check_segments,
    check_single_token,
    check_sorted,
    check_spk2utt,
    check_transcripts,
    count_nonfinite,
    find_control_char,
)


def _map(tmp_path: Path, name: str, content: str, **kw) -> KaldiMap:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return read_kaldi_map(path, **kw)


def _wav(path: Path, n: int = 1600, sr: int = 16000, channels: int = 1,
         subtype: str = "PCM_16", value: float = 0.1) -> Path:
    x = np.full((n, channels) if channels > 1 else (n,), value, dtype=np.float32)
    sf.write(str(path), x, sr, subtype=subtype)
    return path


# -------------------------------------------------------------------------- text


def test_find_control_char() -> None:
    assert find_control_char("plain text\twith tab") is None
    assert find_control_char("ab\x07c\x1b") == (2, "U+0007")
    assert find_control_char("x\x85") == (1, "U+0085")


def test_check_transcripts_names_file_and_line(tmp_path: Path) -> None:
    text = _map(tmp_path, "text", "a hello\nb \x07ring\nc\n", allow_empty_value=True)
    with pytest.raises(DataDirError) as ei:
        check_transcripts(text)
    # file order: line 2 (control character) comes before line 3 (empty)
    assert str(ei.value) == (f"{tmp_path}/text:2: transcript of utterance 'b' contains "
                             f"control character U+0007 at position 0")
    text = _map(tmp_path, "text", "a hello\nb \u3000\t\n", allow_empty_value=True)
    with pytest.raises(DataDirError, match=r"/text:2: empty transcript for utterance 'b'$"):
        check_transcripts(text)


def test_check_transcripts_characters_per_second(tmp_path: Path) -> None:
    text = _map(tmp_path, "text", "a " + "x y " * 30 + "\nb short\n")  # a: 60 characters
    check_transcripts(text)  # no durations: length not judged
    check_transcripts(text, {"a": 2.0, "b": 0.1})  # 30/s and 50/s: at most the limit
    check_transcripts(text, {"a": 0.0})  # unknown length (0 s): not judged
    with pytest.raises(DataDirError) as ei:
        check_transcripts(text, {"a": 1.0})
    assert str(ei.value) == (f"{tmp_path}/text:1: transcript of utterance 'a' has 60 characters "
                             f"for 1.00 s of audio (60/s, more than the 50/s speech can carry)")
    with pytest.raises(DataDirError, match=r"text:2: .* \(25/s, more than the 20/s"):
        check_transcripts(text, {"b": 0.2}, max_rate=20)
    # a plain dict has no lines: the message names the file kind
    with pytest.raises(DataDirError, match=r"^text: empty transcript for utterance 'u'"):
        check_transcripts({"u": " "})


# --------------------------------------------------------------------------- ids


def test_check_same_ids_both_directions_and_count(tmp_path: Path) -> None:
    wav = _map(tmp_path, "wav.scp", "a x\nb x\nc x\n")
    check_same_ids(wav, "wav.scp", _map(tmp_path, "text", "a 1\nb 2\nc 3\n"), "text")
    with pytest.raises(DataDirError) as ei:
        check_same_ids(wav, "wav.scp", _map(tmp_path, "text", "a 1\nb 2\nc 3\nd 4\n"), "text")
    assert str(ei.value) == f"{tmp_path}/text:4: utterance 'd' not found in wav.scp"
    with pytest.raises(DataDirError) as ei:
        check_same_ids(wav, "wav.scp", _map(tmp_path, "text", "b 2\n"), "text")
    assert str(ei.value) == f"{tmp_path}/wav.scp:1: utterance 'a' has no entry in text (and 1 more)"


def test_check_sorted_and_single_token(tmp_path: Path) -> None:
    check_sorted(_map(tmp_path, "utt2spk", "A s\na s\nb s\n"))  # C order: upper case first
    with pytest.raises(DataDirError, match=r"utt2spk:2: file is not sorted \(LC_ALL=C sort\): "
                                           r"key 'B' comes after 'a'"):
        check_sorted(_map(tmp_path, "utt2spk", "a s\nB s\n"))
    with pytest.raises(DataDirError, match=r"utt2lang:2: language of utterance 'b' must be one "
                                           r"token, got 'en fr'"):
        check_single_token(_map(tmp_path, "utt2lang", "a en\nb en fr\n"), "language")


def test_check_segments(tmp_path: Path) -> None:
    wav = {"r": "/r.wav"}
    seg = KaldiMap({"a": ("r", 0.0, -1.0), "b": ("r", 1.0, 2.0)}, path="segments",
                   lines={"a": 1, "b": 2})
    check_segments(seg, wav)
    seg["b"] = ("q", 1.0, 2.0)
    with pytest.raises(DataDirError, match=r"^segments:2: unknown recording 'q'"):
        check_segments(seg, wav)
    seg["b"] = ("r", -0.5, 2.0)
    with pytest.raises(DataDirError, match=r"^segments:2: negative start time -0.5"):
        check_segments(seg, wav)
    seg["b"] = ("r", 2.0, 2.0)
    with pytest.raises(DataDirError, match=r"^segments:2: end time 2.0 <= start time 2.0"):
        check_segments(seg, wav)


def test_check_spk2utt(tmp_path: Path) -> None:
    utt2spk = _map(tmp_path, "utt2spk", "a s1\nb s2\n")
    check_spk2utt(_map(tmp_path, "spk2utt", "s1 a\ns2 b\n"), utt2spk)
    with pytest.raises(DataDirError, match=r"spk2utt:1: utterance 'a' listed more than once"):
        check_spk2utt(_map(tmp_path, "spk2utt", "s1 a a\ns2 b\n"), utt2spk)
    with pytest.raises(DataDirError, match=r"utt2spk:2: utterance 'b' \(speaker 's2'\) is not "
                                           r"listed in spk2utt"):
        check_spk2utt(_map(tmp_path, "spk2utt", "s1 a\n"), utt2spk)
    with pytest.raises(DataDirError, match=r"spk2utt present but utt2spk is missing"):
        check_spk2utt(_map(tmp_path, "spk2utt", "s1 a\n"), KaldiMap())


# ------------------------------------------------------------------------- audio


def test_probe_audio_file_problems(tmp_path: Path) -> None:
    info = probe_audio_file(str(_wav(tmp_path / "ok.wav", n=8000, channels=2)))
    assert (info.samplerate, info.frames, info.channels, info.subtype) == (16000, 8000, 2, "PCM_16")
    assert info.seconds == pytest.approx(0.5)
    with pytest.raises(AudioError, match=r"^audio file not found: .*/nope.wav$"):
        probe_audio_file(str(tmp_path / "nope.wav"))
    with pytest.raises(AudioError, match=r"^not a regular file: "):
        probe_audio_file(str(tmp_path))
    whole = _wav(tmp_path / "whole.wav").read_bytes()
    (tmp_path / "cut.wav").write_bytes(whole[: len(whole) // 4])
    with pytest.raises(AudioError, match=r"^truncated audio file .*cut.wav: its header declares"):
        probe_audio_file(str(tmp_path / "cut.wav"))
    (tmp_path / "page.wav").write_bytes(b"<html>not audio</html>")
    with pytest.raises(AudioError, match=r"^cannot read audio file .*page.wav: "):
        probe_audio_file(str(tmp_path / "page.wav"))


def test_check_audio_format_order_and_advice() -> None:
    check_audio_format("x", 16000, 10, 2, rate=16000)  # channels not required
    with pytest.raises(AudioError, match=r"^x holds no samples$"):
        check_audio_format("x", 8000, 0, rate=16000)  # empty first, then the rate
    with pytest.raises(AudioError, match=r"^x: expected 16000 Hz, got 8000 Hz$"):
        check_audio_format("x", 8000, 10, rate=16000)
    with pytest.raises(AudioError) as ei:
        check_audio_format("x", 8000, 10, 2, rate=16000, mono=True, advise=True)
    assert str(ei.value) == ("x: expected 16000 Hz, got 8000 Hz "
                             "(stage 2, usm_espnet.bin.format_data, resamples)")
    with pytest.raises(AudioError) as ei:
        check_audio_format("x", 16000, 10, 2, rate=16000, mono=True, advise=True)
    assert str(ei.value) == ("x has 2 channels, the model expects mono "
                             "(stage 2, usm_espnet.bin.format_data, mixes down)")
    check_audio_format("x", 16000, 10, None, rate=16000, mono=True)  # channels unknown


def test_nonfinite_samples_only_in_float_files(tmp_path: Path, monkeypatch) -> None:
    bad = tmp_path / "nan.wav"
    x = np.full(1600, 0.1, dtype=np.float32)
    x[10:13] = [np.nan, np.inf, -np.inf]
    sf.write(str(bad), x, 16000, subtype="FLOAT")
    info = probe_audio_file(str(bad))
    assert count_nonfinite(info) == 3
    with pytest.raises(AudioError, match=r"nan.wav: 3 non-finite samples \(NaN or infinite\)$"):
        check_finite(info)
    with pytest.raises(AudioError, match=r"nan.wav: 3 non-finite samples"):
        check_audio_file(str(bad), rate=16000, mono=True)
    good = probe_audio_file(str(_wav(tmp_path / "f.wav", subtype="FLOAT")))
    assert count_nonfinite(good) == 0
    pcm = probe_audio_file(str(_wav(tmp_path / "p.wav")))

    def no_read(*a, **k):
        raise AssertionError("an integer PCM file was read in full")

    monkeypatch.setattr(sf, "read", no_read)
    assert count_nonfinite(pcm) == 0
    check_finite(pcm)


def test_check_audio_file(tmp_path: Path) -> None:
    info = check_audio_file(str(_wav(tmp_path / "ok.wav", n=3200)), rate=16000, mono=True)
    assert info.seconds == pytest.approx(0.2)
    with pytest.raises(AudioError, match=r"empty.wav holds no samples$"):
        check_audio_file(str(_wav(tmp_path / "empty.wav", n=0)), rate=16000)
    with pytest.raises(AudioError, match=r"8k.wav: expected 16000 Hz, got 8000 Hz$"):
        check_audio_file(str(_wav(tmp_path / "8k.wav", sr=8000)), rate=16000)
    assert check_audio_file(str(tmp_path / "8k.wav")).samplerate == 8000  # no rate asked


def test_check_recordings(tmp_path: Path) -> None:
    r1 = _wav(tmp_path / "r1.wav", n=16000)
    wav = _map(tmp_path, "wav.scp", f"r1 {r1}\n")
    seg = KaldiMap({"a": ("r1", 0.0, 1.4), "b": ("r1", 0.5, -1.0)}, path="segments",
                   lines={"a": 1, "b": 2})
    check_recordings(wav, seg)  # 0.4 s past the end: within Kaldi's overshoot
    seg["b"] = ("r1", 1.0, 2.0)
    with pytest.raises(DataDirError, match=r"^segments:2: segment 1.0-2.0 s of utterance 'b' "
                                           r"lies outside recording 'r1' \(1.000 s\)"):
        check_recordings(wav, seg)
    r2 = _wav(tmp_path / "r2.wav", sr=22050)
    wav = _map(tmp_path, "wav.scp", f"r1 {r1}\nr2 {r2}\n")
    with pytest.raises(DataDirError) as ei:
        check_recordings(wav, KaldiMap())
    assert str(ei.value) == (f"{tmp_path}/wav.scp:2: recording 'r2' ({r2}): expected 16000 Hz, "
                             f"got 22050 Hz")
    wav = _map(tmp_path, "wav.scp", f"r1 {tmp_path}/gone.wav\n")
    with pytest.raises(DataDirError, match=r"wav.scp:1: recording 'r1': audio file not found: "):
        check_recordings(wav, KaldiMap())


def test_moved_names_still_importable_from_kaldi() -> None:
    from usm_espnet.data.kaldi import MAX_CHARS_PER_SECOND
    from usm_espnet.data.kaldi import find_control_char as fcc

    assert fcc is validate.find_control_char
    assert MAX_CHARS_PER_SECOND == validate.MAX_CHARS_PER_SECOND == 50.0
    assert kaldi.EXPECTED_SAMPLE_RATE == 16000
    with pytest.raises(AttributeError):
        kaldi.no_such_name  # noqa: B018


# ------------------------------------------ the three callers, one wording per problem


def _datadir(tmp_path: Path, wav: Path, text: str = "hello") -> Path:
    d = tmp_path / "data"
    d.mkdir(exist_ok=True)
    (d / "wav.scp").write_text(f"u1 {wav}\n", encoding="utf-8")
    (d / "text").write_text(f"u1 {text}\n", encoding="utf-8")
    return d


@pytest.mark.parametrize("kind", ["missing", "truncated"])
def test_callers_word_an_audio_problem_alike(tmp_path: Path, caplog, kind: str) -> None:
    from usm_espnet.bin.format_data import format_data
    from usm_espnet.bin.preflight import PreflightError, check_sound_scp

    wav = tmp_path / "u1.wav"
    if kind == "truncated":
        whole = _wav(wav).read_bytes()
        wav.write_bytes(whole[: len(whole) // 4])
    probe_error = None
    try:
        probe_audio_file(str(wav))
    except AudioError as e:
        probe_error = str(e)
    assert probe_error is not None
    d = _datadir(tmp_path, wav)
    with pytest.raises(PreflightError) as pe:
        check_sound_scp(str(d / "wav.scp"))
    assert str(pe.value) == f"{d}/wav.scp:1: utterance 'u1': {probe_error}"
    with pytest.raises(DataDirError) as ve:
        kaldi.validate_datadir(d, check_audio=True)
    assert str(ve.value) == f"{d}/wav.scp:1: recording 'u1': {probe_error}"
    caplog.set_level(logging.WARNING)
    with pytest.raises(DataDirError, match="no utterance left"):
        format_data(str(d), str(tmp_path / "out"), nj=1)
    skips = [r.getMessage() for r in caplog.records if "skipping u1" in r.getMessage()]
    assert skips and skips[0].endswith(f": {probe_error}"), skips


def test_preflight_and_format_data_share_the_rate_limit(tmp_path: Path) -> None:
    from usm_espnet.bin.format_data import format_data
    from usm_espnet.bin.preflight import PreflightError, check_data

    d = _datadir(tmp_path, _wav(tmp_path / "u1.wav", n=8000), text="x" * 40)  # 80/s
    with pytest.raises(PreflightError) as pe:
        check_data([(str(d / "wav.scp"), "speech", "sound"), (str(d / "text"), "text", "text")])
    with pytest.raises(DataDirError) as fe:
        format_data(str(d), str(tmp_path / "out"), min_dur=0.1, nj=1)
    assert str(pe.value) == str(fe.value) == (
        f"{d}/text:1: transcript of utterance 'u1' has 40 characters for 0.50 s of audio "
        f"(80/s, more than the 50/s speech can carry)")


def test_preflight_id_mismatch_uses_the_shared_check(tmp_path: Path) -> None:
    from usm_espnet.bin.preflight import PreflightError, check_data

    d = tmp_path / "d"
    d.mkdir()
    wavs = [_wav(tmp_path / f"u{i}.wav") for i in range(3)]
    (d / "wav.scp").write_text("".join(f"u{i} {w}\n" for i, w in enumerate(wavs)))
    (d / "text").write_text("u0 a\n")
    with pytest.raises(PreflightError) as ei:
        check_data([(str(d / "wav.scp"), "speech", "sound"), (str(d / "text"), "text", "text")])
    assert str(ei.value) == f"{d}/wav.scp:2: utterance 'u1' has no entry in {d}/text (and 1 more)"
