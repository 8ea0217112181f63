"""Audio reading for Kaldi ``wav.scp`` entries: files, ark references and pipes.

A ``wav.scp`` value is a file path, a Kaldi ark reference (``foo.ark:123`` or
``ark:foo.ark:123``, read with kaldiio) or a shell command ending in ``|`` whose
stdout is a WAV stream. :func:`load_audio` decodes one as float32 mono at a target
rate (resampling with :func:`scipy.signal.resample_poly`), :func:`read_audio_info`
reads only its rate and length, :func:`probe_audio_file` opens a plain file's header
(missing, not a file, truncated or unreadable: :class:`AudioError`),
:func:`check_wav_complete` catches a truncated WAV, and :func:`iter_audio` walks the
utterances of a :class:`~usm_espnet.data.kaldi.DataDir`. Problems with audio are
:class:`AudioError`, whose message names the audio. What is *acceptable* audio (rate,
channels, finite samples) is decided in :mod:`usm_espnet.data.validate`.

Why not lhotse's ``Recording.from_file`` + ``load_audio`` (lhotse 1.33.0, measured with
``tools/lhotse_eval.py``): it loads a truncated WAV as the shorter recording its bytes
hold, and a 0-sample file or one with NaN samples, without complaint, and reports an
unreadable file as a multi-line chain of backend exceptions; here each is one
``AudioError`` naming the file (the callers add its ``wav.scp`` line). Its resampling
would replace one call of ``scipy.signal.resample_poly``: no code to gain.
"""

from __future__ import annotations

import io
import logging
import math
import os
import re
import struct
import subprocess
from dataclasses import dataclass
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Iterator,
    List,
    Optional,
    Tuple,
)

import numpy as np

if TYPE_CHECKING:
    from usm_espnet.data.kaldi import DataDir

__all__ = [
    "AudioError",
    "AudioFileInfo",
    "AudioIterator",
    "check_wav_complete",
    "iter_audio",
    "load_audio",
    "probe_audio_file",
    "read_audio_info",
]

logger = logging.getLogger(__name__)

_ARK_RE = re.compile(r"(?:ark:)?(.+):(\d+)(\[[^\]]*\])?\Z")


class AudioError(ValueError):
    """Audio is missing, corrupt or unreadable; the message names the audio."""


def _spec_kind(spec: str) -> str:
    s = spec.strip()
    if s.endswith("|"):
        return "pipe"
    if s.startswith("ark:"):
        return "ark"
    m = _ARK_RE.match(s)
    if m and not os.path.exists(s) and (m.group(1).endswith(".ark") or os.path.isfile(m.group(1))):
        return "ark"
    return "file"


def _to_float(x: np.ndarray) -> np.ndarray:
    """Integer PCM or float samples -> float32 in [-1, 1], shape (frames, channels)."""
    x = np.asarray(x)
    if x.ndim == 1:
        x = x[:, None]
    if np.issubdtype(x.dtype, np.integer):
        info = np.iinfo(x.dtype)
        if info.min == 0:  # unsigned (8-bit WAV)
            half = (info.max + 1) / 2
            return ((x.astype(np.float32) - half) / half).astype(np.float32)
        return (x.astype(np.float32) / float(-info.min)).astype(np.float32)
    return x.astype(np.float32, copy=False)


def _parse_streamed_wav(buf: bytes) -> Optional[Tuple[np.ndarray, int]]:
    """Decode a PCM WAV stream whose header sizes are unset (0 / 0xFFFFFFFF).

    Tools writing WAV to a pipe cannot seek back to fill in the sizes; the data
    chunk then runs to the end of the stream. Returns None if not such a stream.
    """
    if len(buf) < 12 or buf[:4] != b"RIFF" or buf[8:12] != b"WAVE":
        return None
    pos, fmt = 12, None
    while pos + 8 <= len(buf):
        cid, size = buf[pos:pos + 4], struct.unpack("<I", buf[pos + 4:pos + 8])[0]
        body = pos + 8
        if cid == b"fmt " and size >= 16:
            fmt = struct.unpack("<HHIIHH", buf[body:body + 16])
            if fmt[0] == 0xFFFE and size >= 26:
                fmt = (struct.unpack("<H", buf[body + 24:body + 26])[0],) + fmt[1:]
        elif cid == b"data":
            if fmt is None:
                return None
            tag, channels, rate, _, _, bits = fmt
            dtypes = {(1, 16): "<i2", (1, 32): "<i4", (3, 32): "<f4", (3, 64): "<f8", (1, 8): "u1"}
            dtype = dtypes.get((tag, bits))
            if dtype is None or channels < 1:
                return None
            payload = buf[body:]
            if size not in (0, 0xFFFFFFFF) and size <= len(payload):
                payload = payload[:size]
            width = np.dtype(dtype).itemsize * channels
            payload = payload[: len(payload) - len(payload) % width]
            x = np.frombuffer(payload, dtype=dtype).reshape(-1, channels)
            return _to_float(x), rate
        pos = body + size + (size & 1)
    return None


def _decode_bytes(buf: bytes) -> Tuple[np.ndarray, int]:
    import soundfile as sf

    try:
        x, sr = sf.read(io.BytesIO(buf), dtype="float32", always_2d=True)
    except Exception as e:  # noqa: BLE001 - libsndfile raises several types
        parsed = _parse_streamed_wav(buf)
        if parsed is None:
            raise AudioError(f"cannot decode audio: {e}") from None
        return parsed
    if x.shape[0] == 0:
        parsed = _parse_streamed_wav(buf)
        if parsed is not None:
            return parsed
    return x, int(sr)


def _run_pipe(spec: str) -> bytes:
    cmd = spec.strip()[:-1].strip()
    try:
        proc = subprocess.run(cmd, shell=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError as e:
        raise AudioError(f"cannot run command {cmd!r}: {e}") from None
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        tail = f": {err[-1]}" if err else ""
        raise AudioError(f"command {cmd!r} failed with exit status {proc.returncode}{tail}")
    if not proc.stdout:
        raise AudioError(f"command {cmd!r} produced no output")
    return proc.stdout


def _read_ark(spec: str) -> Tuple[np.ndarray, int]:
    import kaldiio

    ref = spec.strip()
    if ref.startswith("ark:"):
        ref = ref[4:]
    try:
        obj = kaldiio.load_mat(ref)
    except Exception as e:  # noqa: BLE001 - kaldiio raises many types on bad input
        raise AudioError(f"cannot read ark entry {ref!r}: {type(e).__name__}: {e}") from None
    if not (isinstance(obj, tuple) and len(obj) == 2):
        raise AudioError(f"ark entry {ref!r} is not audio (a feature matrix?)")
    rate, x = obj
    return _to_float(x), int(rate)


def _check_file(path: str) -> None:
    if not os.path.exists(path):
        raise AudioError(f"audio file not found: {path}")
    if not os.path.isfile(path):
        raise AudioError(f"not a regular file: {path}")
    check_wav_complete(path)


def check_wav_complete(path: str) -> None:
    """Raise if a RIFF/WAVE file is shorter than its ``data`` chunk header says.

    libsndfile reads a cut-off WAV (an interrupted copy or download) without
    complaint, as if the recording were shorter; the transcript then describes
    audio that is not there. Files that are not RIFF/WAVE, and streamed WAVs whose
    sizes are unset (0 or 0xFFFFFFFF), are not checked. Only chunk headers are read.

    Args:
        path: An audio file.

    Raises:
        AudioError: The ``data`` chunk runs past the end of the file.
    """
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            head = f.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return
            pos = 12
            while pos + 8 <= size:
                f.seek(pos)
                hdr = f.read(8)
                if len(hdr) < 8:
                    return
                cid, csize = hdr[:4], struct.unpack("<I", hdr[4:])[0]
                if cid == b"data":
                    have = size - pos - 8
                    if csize not in (0, 0xFFFFFFFF) and csize > have:
                        raise AudioError(
                            f"truncated audio file {path}: its header declares {csize} bytes "
                            f"of samples, the file holds {have}"
                        )
                    return
                pos += 8 + csize + (csize & 1)
    except OSError as e:
        raise AudioError(f"cannot read audio file {path}: {e.strerror or e}") from None


def _read_native(
    spec: str, segment: Optional[Tuple[float, float]] = None
) -> Tuple[np.ndarray, int]:
    """Decode ``spec`` at its own rate: (float32 (frames, channels), rate).

    For plain files only the frames of ``segment`` are read; other kinds decode
    everything and leave slicing to the caller (``segment`` is ignored).
    """
    kind = _spec_kind(spec)
    if kind == "pipe":
        return _decode_bytes(_run_pipe(spec))
    if kind == "ark":
        return _read_ark(spec)
    import soundfile as sf

    path = spec.strip()
    _check_file(path)
    try:
        with sf.SoundFile(path) as f:
            sr = int(f.samplerate)
            if segment is None:
                return f.read(dtype="float32", always_2d=True), sr
            start, stop = _segment_frames(segment, sr, f.frames, path)
            f.seek(start)
            return f.read(stop - start, dtype="float32", always_2d=True), sr
    except AudioError:
        raise
    except Exception as e:  # noqa: BLE001
        raise AudioError(f"cannot read audio file {path}: {e}") from None


def _segment_frames(
    segment: Tuple[float, float], sr: int, total: int, name: str
) -> Tuple[int, int]:
    start_s, end_s = float(segment[0]), float(segment[1])
    start = max(0, int(round(start_s * sr)))
    stop = total if end_s == -1 else min(total, int(round(end_s * sr)))
    if start >= total:
        raise AudioError(
            f"segment {start_s}-{end_s} s starts past the end of {name} ({total / sr:.3f} s)"
        )
    if stop <= start:
        raise AudioError(f"empty segment {start_s}-{end_s} s of {name}")
    return start, stop


def _resample(x: np.ndarray, sr: int, target_sr: int) -> np.ndarray:
    if sr == target_sr:
        return x
    g = math.gcd(sr, target_sr)
    up, down = target_sr // g, sr // g
    try:
        from scipy.signal import resample_poly
    except ImportError:  # pragma: no cover - scipy is pinned in requirements.lock
        import torch
        import torchaudio.functional as taf

        y = taf.resample(torch.from_numpy(np.ascontiguousarray(x)), sr, target_sr)
        return y.numpy().astype(np.float32)
    return resample_poly(x, up, down).astype(np.float32)


def _finish(
    x: np.ndarray, sr: int, target_sr: int, segment: Optional[Tuple[float, float]],
    name: str, already_sliced: bool,
) -> np.ndarray:
    if segment is not None and not already_sliced:
        start, stop = _segment_frames(segment, sr, x.shape[0], name)
        x = x[start:stop]
    if x.shape[0] == 0:
        raise AudioError(f"no samples in {name}")
    if np.issubdtype(x.dtype, np.floating) and not np.isfinite(x).all():
        bad = int(x.size - np.count_nonzero(np.isfinite(x)))
        raise AudioError(f"{name} holds {bad} non-finite samples (NaN or infinite)")
    mono = x.mean(axis=1, dtype=np.float32) if x.shape[1] > 1 else x[:, 0]
    return np.ascontiguousarray(_resample(mono, sr, target_sr), dtype=np.float32)


def load_audio(
    spec: str,
    target_sr: int = 16000,
    segment: Optional[Tuple[float, float]] = None,
) -> np.ndarray:
    """Load audio as float32 mono at ``target_sr``.

    Args:
        spec: A ``wav.scp`` value: file path, ark reference (``x.ark:123`` or
            ``ark:x.ark:123``) or shell command ending in ``|``.
        target_sr: Output sample rate (polyphase resampling if it differs).
        segment: Optional (start, end) in seconds of the original audio; ``end``
            of -1 means the end of the recording; an end past the recording is
            clamped.

    Returns:
        1-D float32 array; channels are averaged.

    Raises:
        AudioError: Missing, corrupt, truncated (see :func:`check_wav_complete`) or
            unreadable audio, NaN or infinite samples, a failing command, or a
            segment outside the recording.
    """
    kind = _spec_kind(spec)
    x, sr = _read_native(spec, segment)
    return _finish(x, sr, target_sr, segment, spec.strip(), already_sliced=(kind == "file"))


def read_audio_info(spec: str) -> Tuple[int, int]:
    """Return (sample_rate, num_samples) of ``spec``.

    Plain files are probed from their header only; ark entries and piped commands
    have to be decoded.

    Args:
        spec: A ``wav.scp`` value (see :func:`load_audio`).

    Raises:
        AudioError: The audio is missing or unreadable.
    """
    if _spec_kind(spec) != "file":
        x, sr = _read_native(spec)
        return sr, int(x.shape[0])
    info = probe_audio_file(spec.strip())
    return info.samplerate, info.frames


@dataclass(frozen=True)
class AudioFileInfo:
    """What the header of a plain audio file says (see :func:`probe_audio_file`)."""

    path: str
    samplerate: int
    frames: int
    channels: int
    #: libsndfile's sample format (``PCM_16``, ``FLOAT``, ...).
    subtype: str

    @property
    def seconds(self) -> float:
        """Duration in seconds."""
        return self.frames / self.samplerate if self.samplerate > 0 else 0.0


def probe_audio_file(path: str) -> AudioFileInfo:
    """Open a plain audio file's header: it must exist, be complete and readable.

    Only headers are read (see :func:`check_wav_complete`), not the samples.

    Args:
        path: An audio file.

    Returns:
        Its rate, length, channels and sample format.

    Raises:
        AudioError: ``audio file not found: <path>``, ``not a regular file: <path>``,
            ``truncated audio file <path>: ...`` or ``cannot read audio file <path>: ...``.
    """
    import soundfile as sf

    _check_file(path)
    try:
        info = sf.info(path)
    except Exception as e:  # noqa: BLE001 - libsndfile raises several types
        raise AudioError(f"cannot read audio file {path}: {e}") from None
    return AudioFileInfo(path, int(info.samplerate), int(info.frames), int(info.channels),
                         str(info.subtype))


class AudioIterator:
    """Iterator over ``(utt_id, waveform)`` returned by :func:`iter_audio`.

    Attributes:
        num_loaded: Utterances yielded so far.
        num_skipped: Utterances skipped because of an :class:`AudioError`.
        skipped: ``(utt_id, message)`` for each skipped utterance.

    Args:
        data: The data directory contents.
        target_sr: Output sample rate.
        on_error: ``"skip"`` (log a warning and go on) or ``"raise"``.
        logger: Logger for skip warnings (default: this module's).
        on_skip: Optional callback ``(utt_id, error)`` called for each skip.
    """

    def __init__(
        self,
        data: DataDir,
        target_sr: int = 16000,
        on_error: str = "skip",
        logger: Optional[logging.Logger] = None,
        on_skip: Optional[Callable[[str, AudioError], None]] = None,
    ) -> None:
        if on_error not in ("skip", "raise"):
            raise ValueError(f"on_error must be 'skip' or 'raise', got {on_error!r}")
        self.data = data
        self.target_sr = target_sr
        self.on_error = on_error
        self.logger = logger or globals()["logger"]
        self.on_skip = on_skip
        self.num_loaded = 0
        self.num_skipped = 0
        self.skipped: List[Tuple[str, str]] = []
        self._gen = self._generate()
        # Last decoded recording (non-file specs with segments): avoids re-running
        # a command or re-reading an ark entry for every segment.
        self._cache: Tuple[Optional[str], Any] = (None, None)

    def __iter__(self) -> "AudioIterator":
        return self

    def __next__(self) -> Tuple[str, np.ndarray]:
        return next(self._gen)

    def _location(self, rec: str) -> str:
        from usm_espnet.data.kaldi import where_of

        where = where_of(self.data.wav_scp, rec)
        return f"{where}: recording {rec!r}" if where else f"recording {rec!r}"

    def _load(self, utt: str) -> np.ndarray:
        data = self.data
        if data.segments:
            rec, start, end = data.segments[utt]
            segment: Optional[Tuple[float, float]] = (start, end)
        else:
            rec, segment = utt, None
        if rec not in data.wav_scp:
            raise AudioError(f"recording {rec!r} of utterance {utt!r} is not in wav.scp")
        spec = data.wav_scp[rec]
        try:
            if segment is None or _spec_kind(spec) == "file":
                return load_audio(spec, self.target_sr, segment)
            if self._cache[0] != rec:
                try:
                    self._cache = (rec, _read_native(spec))
                except AudioError as e:
                    self._cache = (rec, e)
            cached = self._cache[1]
            if isinstance(cached, AudioError):
                raise cached
            x, sr = cached
            return _finish(x, sr, self.target_sr, segment, spec.strip(), already_sliced=False)
        except AudioError as e:
            raise AudioError(f"{self._location(rec)}: {e}") from None

    def _generate(self) -> Iterator[Tuple[str, np.ndarray]]:
        for utt in self.data.utt_ids():
            try:
                wav = self._load(utt)
            except AudioError as e:
                if self.on_error == "raise":
                    raise
                self.num_skipped += 1
                self.skipped.append((utt, str(e)))
                self.logger.warning("skipping utterance %r: %s", utt, e)
                if self.on_skip is not None:
                    self.on_skip(utt, e)
                continue
            self.num_loaded += 1
            yield utt, wav


def iter_audio(
    data: DataDir,
    target_sr: int = 16000,
    on_error: str = "skip",
    logger: Optional[logging.Logger] = None,
    on_skip: Optional[Callable[[str, AudioError], None]] = None,
) -> AudioIterator:
    """Iterate ``(utt_id, float32 mono waveform)`` over ``data.utt_ids()``.

    Example::

        it = iter_audio(data)
        for utt, wav in it:
            ...
        print(it.num_skipped)

    Args:
        data: The data directory contents.
        target_sr: Output sample rate.
        on_error: ``"skip"``: log a warning naming the audio, count it in
            ``num_skipped`` and continue; ``"raise"``: raise :class:`AudioError`.
        logger: Logger for skip warnings (default: this module's logger).
        on_skip: Optional callback ``(utt_id, error)`` called for each skip.

    Returns:
        An :class:`AudioIterator` (exposes ``num_loaded``, ``num_skipped``,
        ``skipped``).
    """
    return AudioIterator(data, target_sr, on_error, logger, on_skip)
