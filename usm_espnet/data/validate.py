"""Checks of Kaldi-style data inputs, each in one place for every entry point that makes it.

Three entry points check the same inputs before anything long runs, and use this module:

* :func:`usm_espnet.data.kaldi.read_datadir` / :func:`~usm_espnet.data.kaldi.validate_datadir`
  (so ``python -m usm_espnet.bin.validate_data_dir``, ``format_data``'s input and every
  data dir we write): :func:`check_datadir` (C-order sorting, one-token values, the same
  utterance ids across files, segments, durations, ``spk2utt``, transcripts) and, with
  ``check_audio``, :func:`check_recordings`.
* :mod:`usm_espnet.bin.preflight`, before ESPnet trains or decodes:
  :func:`check_audio_file` on each file of a ``wav.scp``, :func:`check_transcripts` on
  ``text`` with the audio's durations, :func:`check_same_ids` across the files of a data
  group.
* :mod:`usm_espnet.bin.format_data` (stage 2): :func:`~usm_espnet.data.audio.probe_audio_file`
  and :func:`check_finite` on audio it references in place (a problem is a counted skip
  there), :func:`check_transcripts` on the kept transcripts with their durations.

Why here: each entry point used to carry its own copy of these checks, and the copies
drifted (three wordings for a missing audio file, the characters-per-second limit in two
places). A problem is now detected, and worded, once; the caller adds only where it
happened (``wav.scp:3: utterance 'u2': ...``) and what it does about it (an error, a skip,
a hint to run stage 2). A new kind of bad input is added here and reaches all three.

Text and id problems are :class:`~usm_espnet.data.kaldi.DataDirError` (message
``path:line: ...``), audio problems :class:`~usm_espnet.data.audio.AudioError`
(message naming the audio). Reading the files (malformed lines, duplicate keys, invalid
UTF-8, a byte-order mark) stays with :func:`usm_espnet.data.kaldi.read_kaldi_map`.
"""

from __future__ import annotations

import os
import unicodedata
from typing import Dict, List, Mapping, Optional, Tuple

from usm_espnet.data.audio import AudioError, AudioFileInfo, probe_audio_file, read_audio_info
from usm_espnet.data.kaldi import (
    _KNOWN_FILES,
    _UTT_FILES,
    DataDir,
    DataDirError,
    KaldiMap,
    where_of,
)

__all__ = [
    "EXPECTED_SAMPLE_RATE",
    "MAX_CHARS_PER_SECOND",
    "MAX_SEGMENT_OVERSHOOT",
    "check_audio_file",
    "check_audio_format",
    "check_datadir",
    "check_finite",
    "check_recordings",
    "check_same_ids",
    "check_sorted",
    "check_spk2utt",
    "check_transcripts",
    "count_nonfinite",
    "find_control_char",
]

#: Sample rate that ``validate_datadir(check_audio=True)`` requires.
EXPECTED_SAMPLE_RATE = 16000
#: Most transcript characters (spaces excluded) per second of audio that speech can
#: plausibly carry: fast read speech is ~15-20 in alphabetic scripts (20.6 at most in
#: the FLEURS stand-in), fewer in Han script. Beyond it the transcript does not belong
#: to the audio, and a CTC model with 40 ms frames (25 per second) could not emit it.
MAX_CHARS_PER_SECOND = 50.0
#: How far (seconds) a segment may run past the end of its recording before
#: ``check_audio`` complains (the default ``--max-overshoot`` of Kaldi's
#: ``extract-segments``).
MAX_SEGMENT_OVERSHOOT = 0.5
#: libsndfile sample formats that can hold NaN or infinite samples (integer PCM cannot).
FLOAT_SUBTYPES = ("FLOAT", "DOUBLE")

#: The fix the preflight suggests for audio of the wrong format.
_STAGE2 = "stage 2, usm_espnet.bin.format_data"


# -------------------------------------------------------------------------- text


def find_control_char(text: str) -> Optional[Tuple[int, str]]:
    """First control character (Unicode category ``Cc``, tab excepted) in ``text``.

    Control characters in a transcript are invisible in most editors, some of them
    (``\\x0b``, ``\\x1c``..``\\x1f``, ``\\x85``) split words for Python's
    ``str.split`` and others (``\\r``) break lines in other tools; a token list
    built from such text would hold them as graphemes.

    Args:
        text: A transcript.

    Returns:
        ``(0-based position, "U+XXXX")`` of the first one, or None.
    """
    for i, c in enumerate(text):
        if c != "\t" and unicodedata.category(c) == "Cc":
            return i, f"U+{ord(c):04X}"
    return None


def check_transcripts(text: Mapping[str, str], seconds: Optional[Mapping[str, float]] = None,
                      max_rate: Optional[float] = None) -> None:
    """Transcripts must be non-empty, free of control characters and fit their audio.

    Checked in file order, each transcript for all three before the next.

    Args:
        text: Utterance -> transcript (a :class:`~usm_espnet.data.kaldi.KaldiMap`
            names file and line in the messages).
        seconds: Utterance -> audio duration; utterances not in it (or of 0 s) are
            not checked for length.
        max_rate: Characters (spaces excluded) per second allowed (default
            :data:`MAX_CHARS_PER_SECOND`).

    Raises:
        DataDirError: ``text:line: empty transcript for utterance 'u'``,
            ``... contains control character U+0007 at position 4`` or
            ``... has 400 characters for 1.00 s of audio (400/s, more than the 50/s
            speech can carry)``.
    """
    max_rate = MAX_CHARS_PER_SECOND if max_rate is None else max_rate
    for utt, value in text.items():
        where = where_of(text, utt) or "text"
        if not value.strip():
            raise DataDirError(f"{where}: empty transcript for utterance {utt!r}")
        bad = find_control_char(value)
        if bad is not None:
            raise DataDirError(f"{where}: transcript of utterance {utt!r} contains control "
                               f"character {bad[1]} at position {bad[0]}")
        dur = (seconds or {}).get(utt)
        n = len(value.replace(" ", ""))
        if dur is not None and dur > 0 and n / dur > max_rate:
            raise DataDirError(
                f"{where}: transcript of utterance {utt!r} has {n} characters for {dur:.2f} s "
                f"of audio ({n / dur:.0f}/s, more than the {max_rate:g}/s speech can carry)")


# --------------------------------------------------------------------------- ids


def check_sorted(m: KaldiMap) -> None:
    """Keys must be in C (byte) order, as Kaldi's and ESPnet's tools expect.

    Raises:
        DataDirError: ``path:line: file is not sorted (LC_ALL=C sort): ...``.
    """
    prev: Optional[str] = None
    for key in m:
        # Python compares str by code point, which is UTF-8 byte (LC_ALL=C) order.
        if prev is not None and key < prev:
            raise DataDirError(
                f"{m.where(key)}: file is not sorted (LC_ALL=C sort): key {key!r} "
                f"comes after {prev!r}")
        prev = key


def check_single_token(m: KaldiMap, what: str) -> None:
    """Each value must be one whitespace-free token (a speaker id, a language).

    Raises:
        DataDirError: ``path:line: <what> of utterance 'u' must be one token, got ...``.
    """
    for key, value in m.items():
        if len(value.split()) != 1:
            raise DataDirError(
                f"{m.where(key)}: {what} of utterance {key!r} must be one token, got {value!r}")


def _more(keys: List[str]) -> str:
    return f" (and {len(keys) - 1} more)" if len(keys) > 1 else ""


def check_same_ids(utts: Mapping[str, object], src_name: str,
                   other: Mapping[str, object], other_name: str) -> None:
    """Both directions: the ids of ``other`` must be in ``utts``, and vice versa.

    ESPnet would fail with a ``KeyError`` mid-epoch on an id missing from one file of a
    data group; Kaldi tools would silently drop it.

    Args:
        utts: The map whose keys are the utterances (``wav.scp`` or ``segments``).
        src_name: Its name in messages.
        other: Another map of the same utterances.
        other_name: Its name in messages.

    Raises:
        DataDirError: ``other:line: utterance 'c' not found in <src_name>`` or
            ``utts:line: utterance 'b' has no entry in <other_name>``, followed by
            ``(and N more)`` when more ids are affected.
    """
    extra = [k for k in other if k not in utts]
    if extra:
        raise DataDirError(f"{where_of(other, extra[0])}: utterance {extra[0]!r} not found in "
                           f"{src_name}{_more(extra)}")
    missing = [k for k in utts if k not in other]
    if missing:
        raise DataDirError(f"{where_of(utts, missing[0])}: utterance {missing[0]!r} has no "
                           f"entry in {other_name}{_more(missing)}")


def check_spk2utt(spk2utt: KaldiMap, utt2spk: KaldiMap) -> None:
    """``spk2utt`` must list each utterance of ``utt2spk`` once, under its speaker.

    Raises:
        DataDirError: Naming the ``spk2utt`` (or ``utt2spk``) line at fault.
    """
    if not utt2spk:
        raise DataDirError(f"{spk2utt.path}: spk2utt present but utt2spk is missing")
    seen: Dict[str, str] = {}
    for spk, value in spk2utt.items():
        where = spk2utt.where(spk)
        for utt in value.split():
            if utt in seen:
                raise DataDirError(f"{where}: utterance {utt!r} listed more than once (also "
                                   f"under speaker {seen[utt]!r})")
            seen[utt] = spk
            actual = utt2spk.get(utt)
            if actual is None:
                raise DataDirError(f"{where}: utterance {utt!r} is not in utt2spk")
            if actual != spk:
                raise DataDirError(f"{where}: utterance {utt!r} listed under speaker {spk!r} "
                                   f"but utt2spk maps it to {actual!r}")
    for utt, spk in utt2spk.items():
        if utt not in seen:
            raise DataDirError(f"{utt2spk.where(utt)}: utterance {utt!r} (speaker {spk!r}) is "
                               f"not listed in spk2utt")


def check_segments(segments: KaldiMap, wav_scp: Mapping[str, str]) -> None:
    """Each segment names a recording of ``wav_scp`` and has ``0 <= start < end`` (or end -1).

    Raises:
        DataDirError: ``segments:line: ...``.
    """
    for utt, (rec, start, end) in segments.items():
        where = segments.where(utt)
        if rec not in wav_scp:
            raise DataDirError(f"{where}: unknown recording {rec!r} (not in wav.scp)")
        if start < 0:
            raise DataDirError(f"{where}: negative start time {start} for utterance {utt!r}")
        if end != -1 and end <= start:
            raise DataDirError(
                f"{where}: end time {end} <= start time {start} for utterance {utt!r}")


def check_datadir(root: str, raw: Dict[str, KaldiMap], data: DataDir,
                  require_text: bool = True, check_audio: bool = False) -> None:
    """The checks of :func:`usm_espnet.data.kaldi.validate_datadir` on files already read.

    Args:
        root: The data directory (for the message about a missing ``text``).
        raw: File name -> its map as read (string values).
        data: The same files parsed (``segments`` and ``utt2dur`` as numbers).
        require_text: Fail if ``text`` is absent.
        check_audio: Also open every recording (:func:`check_recordings`).

    Raises:
        DataDirError: The first problem, naming file and line.
    """
    wav_scp = raw["wav.scp"]
    if not wav_scp:
        raise DataDirError(f"{wav_scp.path}: file is empty")
    if require_text and "text" not in raw:
        raise DataDirError(f"{os.path.join(root, 'text')}: file not found (required)")
    for name in _KNOWN_FILES:
        if name in raw:
            check_sorted(raw[name])

    # Per-file content.
    segments = data.segments
    assert isinstance(segments, KaldiMap)
    check_segments(segments, wav_scp)
    if "text" in raw:
        check_transcripts(raw["text"])
    for name, what in (("utt2spk", "speaker id"), ("utt2lang", "language")):
        if name in raw:
            check_single_token(raw[name], what)
    utt2dur = data.utt2dur
    assert isinstance(utt2dur, KaldiMap)
    for utt, dur in utt2dur.items():
        if dur < 0:
            raise DataDirError(f"{utt2dur.where(utt)}: negative duration {dur} for utterance "
                               f"{utt!r}")

    # Cross-file consistency of utterance ids.
    utts: KaldiMap = segments if "segments" in raw else wav_scp
    src_name = "segments" if "segments" in raw else "wav.scp"
    for name in _UTT_FILES:
        if name in raw:
            check_same_ids(utts, src_name, raw[name], name)
    if "spk2utt" in raw:
        check_spk2utt(raw["spk2utt"], raw.get("utt2spk", KaldiMap()))

    if check_audio:
        check_recordings(wav_scp, segments)


# ------------------------------------------------------------------------- audio


def count_nonfinite(info: AudioFileInfo) -> int:
    """NaN and infinite samples in a file (0 without reading for integer formats).

    Args:
        info: The file's header (:func:`~usm_espnet.data.audio.probe_audio_file`).
    """
    if info.subtype not in FLOAT_SUBTYPES:
        return 0
    import numpy as np
    import soundfile as sf

    x, _ = sf.read(info.path, dtype="float32")
    return int(np.size(x) - np.isfinite(x).sum())


def check_finite(info: AudioFileInfo) -> None:
    """Float files are read in full: NaN or infinite samples poison training.

    Raises:
        AudioError: ``<path>: N non-finite samples (NaN or infinite)``.
    """
    bad = count_nonfinite(info)
    if bad:
        raise AudioError(f"{info.path}: {bad} non-finite samples (NaN or infinite)")


def check_audio_format(name: str, samplerate: int, frames: int, channels: Optional[int] = None,
                       *, rate: Optional[int] = None, mono: bool = False,
                       advise: bool = False) -> None:
    """Audio must hold samples, be at ``rate`` and (with ``mono``) have one channel.

    Args:
        name: How the audio is named in messages.
        samplerate: Its rate.
        frames: Its length in samples.
        channels: Its channels (None: unknown, not checked).
        rate: The rate required (None: any).
        mono: Require one channel.
        advise: Add which stage fixes a wrong rate or channel count.

    Raises:
        AudioError: ``<name> holds no samples``, ``<name>: expected 16000 Hz, got
            8000 Hz`` or ``<name> has 2 channels, the model expects mono``.
    """
    if frames <= 0:
        raise AudioError(f"{name} holds no samples")
    if rate is not None and samplerate != rate:
        hint = f" ({_STAGE2}, resamples)" if advise else ""
        raise AudioError(f"{name}: expected {rate} Hz, got {samplerate} Hz{hint}")
    if mono and channels is not None and channels != 1:
        hint = f" ({_STAGE2}, mixes down)" if advise else ""
        raise AudioError(f"{name} has {channels} channels, the model expects mono{hint}")


def check_audio_file(path: str, *, rate: Optional[int] = None, mono: bool = False,
                     advise: bool = False) -> AudioFileInfo:
    """Every check of one plain audio file: readable, complete, non-empty, format, finite.

    Args:
        path: The file.
        rate: The rate required (None: any).
        mono: Require one channel.
        advise: Add which stage fixes a wrong rate or channel count.

    Returns:
        The file's header.

    Raises:
        AudioError: See :func:`~usm_espnet.data.audio.probe_audio_file`,
            :func:`check_audio_format` and :func:`check_finite`.
    """
    info = probe_audio_file(path)
    check_audio_format(path, info.samplerate, info.frames, info.channels, rate=rate,
                       mono=mono, advise=advise)
    check_finite(info)
    return info


def check_recordings(wav_scp: KaldiMap, segments: KaldiMap,
                     rate: int = EXPECTED_SAMPLE_RATE) -> None:
    """Every recording readable, non-empty and at ``rate``; segments within their recording.

    Headers only for plain files; ark entries and piped commands are decoded.

    Raises:
        DataDirError: ``wav.scp:line: recording 'r': ...`` or ``segments:line: ...``.
    """
    durations: Dict[str, float] = {}
    for rec, spec in wav_scp.items():
        where = wav_scp.where(rec)
        try:
            sr, n = read_audio_info(spec)
        except AudioError as e:
            raise DataDirError(f"{where}: recording {rec!r}: {e}") from None
        try:
            check_audio_format(f"{where}: recording {rec!r} ({spec})", sr, n, rate=rate)
        except AudioError as e:
            raise DataDirError(str(e)) from None
        durations[rec] = n / sr
    for utt, (rec, start, end) in segments.items():
        dur = durations[rec]
        if start >= dur or (end != -1 and end > dur + MAX_SEGMENT_OVERSHOOT):
            raise DataDirError(
                f"{segments.where(utt)}: segment {start}-{end} s of utterance {utt!r} "
                f"lies outside recording {rec!r} ({dur:.3f} s)")
