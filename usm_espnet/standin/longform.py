"""The long-form stand-in: synthetic recordings in the Earnings-21/22 layout.

:func:`make_standin_longform` writes held-out sentences read by the FLEURS stand-in's
*test* voices, concatenated with pauses, with stationary background noise, one recording
per (language, length), in exactly the layout :func:`usm_espnet.corpora.earnings.prepare_longform`
reads (see :mod:`usm_espnet.corpora.earnings`), so the long-form evaluation can run where
Earnings-21/22 are absent.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import random
import shutil
import tempfile
import time
import zlib
from collections import deque
from dataclasses import asdict, dataclass
from typing import Deque, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from usm_espnet.corpora.earnings import (
    DEFAULT_MINUTES,
    DONE_MARKER,
    LONGFORM_SAMPLE_RATE,
    MEDIA_DIR,
    METADATA_COLUMNS,
    METADATA_FILE,
    NLP_DIR,
    SENTENCES_COLUMNS,
    SENTENCES_FILE,
    write_nlp,
)
from usm_espnet.corpora.fleurs import fleurs_normalize
from usm_espnet.data.kaldi import (
    read_kaldi_map,
)
from usm_espnet.data.languages import requested_languages
from usm_espnet.standin.espeak import split_speakers
from usm_espnet.standin.marker import params_hash, read_done_marker
from usm_espnet.utils import replace_dir

__all__ = ["LongformStandinStats", "make_standin_longform", "minutes_label", "recording_id"]

logger = logging.getLogger(__name__)

PathLike = Union[str, "os.PathLike[str]"]

#: Bump when the stand-in generator changes what it writes (invalidates old markers).
STANDIN_VERSION = 1

# Background noise of the stand-in (see _PinkNoise).
_NOISE_TAPS = 1024
_NOISE_LOW_HZ = 50.0
_NOISE_BLOCK = 1 << 16
# Edge silence synthesize() keeps around each sentence (seconds), for duration estimates.
_EDGE_S = 0.2


def minutes_label(minutes: float) -> str:
    """Format a length in minutes for a recording id, without a trailing ``.0``.

    Args:
        minutes: Positive length, e.g. ``1``, ``0.5``, ``60.0``.

    Returns:
        ``"1"``, ``"0.5"``, ``"60"`` (at most 6 decimals).
    """
    return f"{float(minutes):.6f}".rstrip("0").rstrip(".")


def recording_id(lang: str, minutes: float) -> str:
    """Id of the stand-in recording of ``lang`` with target length ``minutes``.

    Args:
        lang: FLEURS code.
        minutes: Target length in minutes.

    Returns:
        E.g. ``"en_us_1min"``, ``"en_us_0.5min"``.
    """
    return f"{lang}_{minutes_label(minutes)}min"


@dataclass
class LongformStandinStats:
    """Summary of a stand-in written by :func:`make_standin_longform`.

    Args:
        out_root: The corpus root.
        langs: Its languages.
        recordings: Recording id -> length in seconds.
        num_sentences: Sentences spoken in all recordings.
        num_words: Words (``.nlp`` tokens) in all recordings.
        num_skipped: Sentences that synthesis failed on (left out).
        synth_audio_seconds: Audio synthesised (including sentences left over after
            the last recording of a language).
        synth_cpu_seconds: CPU time of synthesis.
        synth_wall_seconds: Wall time of synthesis.
        wall_seconds: Wall time of the whole build.
        reused: True when an existing corpus with the same parameters was kept.
    """

    out_root: str
    langs: List[str]
    recordings: Dict[str, float]
    num_sentences: int = 0
    num_words: int = 0
    num_skipped: int = 0
    synth_audio_seconds: float = 0.0
    synth_cpu_seconds: float = 0.0
    synth_wall_seconds: float = 0.0
    wall_seconds: float = 0.0
    reused: bool = False

    @property
    def hours(self) -> float:
        """Total length of the recordings in hours."""
        return sum(self.recordings.values()) / 3600.0

    @property
    def synth_speed(self) -> float:
        """Seconds of audio synthesised per wall-clock second of synthesis."""
        return self.synth_audio_seconds / self.synth_wall_seconds if self.synth_wall_seconds > 0 else 0.0

    def summary(self) -> str:
        """One line: recordings, hours, sentences and synthesis speed."""
        return (f"stand-in long-form corpus at {self.out_root}"
                + (" (already built, reused)" if self.reused else "")
                + f": {len(self.recordings)} recordings in {len(self.langs)} languages "
                f"({', '.join(self.langs)}), {self.hours:.3f} h, {self.num_sentences} sentences, "
                f"{self.num_words} words, {self.num_skipped} skipped; synthesis "
                f"{self.synth_wall_seconds:.1f} s wall ({self.synth_speed:.1f} s of audio per "
                f"wall second), total {self.wall_seconds:.1f} s")


def _stable_seed(*parts: object) -> int:
    return zlib.crc32("\x1f".join(map(str, parts)).encode("utf-8"))


def _read_excluded(paths: Sequence[str]) -> set:
    """``fleurs_normalize``'d transcripts of Kaldi ``text`` files (``<utt> <transcript>``)."""
    out = set()
    for path in paths:
        for value in read_kaldi_map(path, allow_empty_value=True).values():
            norm = fleurs_normalize(value)
            if norm:
                out.add(norm)
    return out


@dataclass
class _Element:
    """One sentence of a language's stream, with its voice and the pause before it."""

    index: int
    sentence_id: str
    raw: str
    words: List[str]
    speaker: object  # usm_espnet.standin.espeak.Speaker
    pause_samples: int
    # filled in once synthesised
    path: str = ""
    num_samples: int = 0
    sumsq: float = 0.0


def _sentence_stream(lang: str, seed: int, excluded: set, speakers: Sequence[object],
                     pause_s: Tuple[float, float]) -> Iterator[_Element]:
    """The endless, deterministic sequence of sentences one language's recordings are cut from.

    Sentences come from :func:`~usm_espnet.standin.parallel_text.generate_parallel_text`
    in chunks of doubling size, each chunk with its own seed and excluding every
    earlier id, shuffled (ids are sorted by source, which would cluster templates).
    Sentences that normalise to nothing, to an excluded text or to a text already
    used are dropped. Voices change in turns of 1-6 sentences.
    """
    from usm_espnet.standin.parallel_text import generate_parallel_text

    rng = random.Random(f"standin-longform-{seed}-{lang}")
    used_ids: List[str] = []
    used_norm: set = set()
    index, chunk, size = 0, 0, 256
    speaker, turn_left = None, 0
    while True:
        chunk_seed = _stable_seed("standin-longform", seed, lang, chunk)
        pt, n = None, size
        while pt is None:
            try:
                pt = generate_parallel_text([lang], n, seed=chunk_seed, exclude=used_ids)
            except ValueError:
                if n == 1:
                    raise ValueError(
                        f"{lang}: ran out of distinct sentences after {len(used_ids)} "
                        f"(parallel_text cannot generate more); ask for shorter recordings"
                    ) from None
                n //= 2
        ids = list(pt.ids)
        random.Random(chunk_seed).shuffle(ids)
        for sid in ids:
            used_ids.append(sid)
            raw = " ".join(pt.text(sid, lang).split())
            norm = fleurs_normalize(raw)
            if not norm or norm in excluded or norm in used_norm:
                continue
            used_norm.add(norm)
            if turn_left == 0:
                others = [s for s in speakers if s is not speaker] or list(speakers)
                speaker, turn_left = rng.choice(others), rng.randint(1, 6)
            turn_left -= 1
            pause = rng.uniform(*pause_s)
            yield _Element(index, sid, raw, norm.split(), speaker,
                           int(round(pause * LONGFORM_SAMPLE_RATE)))
            index += 1
        chunk += 1
        size *= 2


class _PinkNoise:
    """Stationary pink (-3 dB/octave) Gaussian noise, served in arbitrary amounts.

    White Gaussian noise (numpy PCG64, seeded) is filtered by a 1024-tap
    linear-phase FIR whose magnitude response is ``1/sqrt(f)`` from 50 Hz to the
    Nyquist frequency, flat below 50 Hz and zero at DC, by overlap-save FFT
    convolution of the continuous stream (so there are no block edges), and
    scaled so that its variance is exactly ``std**2``.

    Args:
        std: Standard deviation of the output (in the units of the signal it is added to).
        seed: Seed of the white noise.
        sample_rate: Sample rate (sets the 50 Hz corner).
    """

    def __init__(self, std: float, seed: int, sample_rate: int = LONGFORM_SAMPLE_RATE) -> None:
        freqs = np.fft.rfftfreq(_NOISE_TAPS, 1.0 / sample_rate)
        mag = 1.0 / np.sqrt(np.maximum(freqs, _NOISE_LOW_HZ))
        mag[0] = 0.0
        h = np.roll(np.fft.irfft(mag, _NOISE_TAPS), _NOISE_TAPS // 2) * np.hanning(_NOISE_TAPS)
        h *= std / math.sqrt(float(np.sum(h ** 2)))
        self._nfft = _NOISE_BLOCK
        self._step = self._nfft - (_NOISE_TAPS - 1)
        self._H = np.fft.rfft(h, self._nfft)
        self._rng = np.random.default_rng(seed)
        self._hist = self._rng.standard_normal(_NOISE_TAPS - 1)
        self._buf = np.zeros(0)

    def take(self, n: int) -> np.ndarray:
        """The next ``n`` samples (float64)."""
        parts = [self._buf]
        have = len(self._buf)
        while have < n:
            seg = np.concatenate([self._hist, self._rng.standard_normal(self._step)])
            y = np.fft.irfft(np.fft.rfft(seg) * self._H, self._nfft)[_NOISE_TAPS - 1:]
            self._hist = seg[-(_NOISE_TAPS - 1):]
            parts.append(y)
            have += len(y)
        buf = np.concatenate(parts)
        self._buf = buf[n:]
        return buf[:n]


class _DurationModel:
    """Predicts how long a sentence (plus its pause) will be, to size synthesis batches.

    Speech time is modelled as proportional to the number of characters, scaled by
    the voice's speaking rate; the seconds per character start at an English-like
    guess and are then fitted to everything synthesised so far in the language.
    Only the batch sizes depend on it, never the content of a recording.
    """

    _WPM = 165.0

    def __init__(self) -> None:
        self.chars = 0.0
        self.seconds = 0.0

    def _chars(self, e: _Element) -> float:
        return len(" ".join(e.words)) * self._WPM / e.speaker.rate  # type: ignore[attr-defined]

    def estimate(self, e: _Element) -> float:
        """Predicted seconds of ``e`` (pause before it included)."""
        spc = self.seconds / self.chars if self.chars > 0 else 1.0 / 14.0
        return e.pause_samples / LONGFORM_SAMPLE_RATE + _EDGE_S + self._chars(e) * spc

    def fit(self, e: _Element) -> None:
        """Add a synthesised sentence (``e.num_samples`` set) to the fit."""
        self.chars += self._chars(e)
        self.seconds += max(e.num_samples / LONGFORM_SAMPLE_RATE - _EDGE_S, 0.0)


def _standin_complete(out_root: str, stats: Dict[str, object]) -> bool:
    if not os.path.isfile(os.path.join(out_root, METADATA_FILE)):
        return False
    for rec in stats.get("recordings", {}):  # type: ignore[union-attr]
        if not os.path.isfile(os.path.join(out_root, MEDIA_DIR, f"{rec}.wav")):
            return False
        if not os.path.isfile(os.path.join(out_root, NLP_DIR, f"{rec}.nlp")):
            return False
    return True


def _write_recording(path: str, elements: Sequence[_Element], snr_db: Optional[float],
                     noise_seed: int) -> int:
    """Concatenate synthesised sentences (with pauses and noise) into one 16-bit wav.

    Written incrementally: one sentence is in memory at a time. Returns the number
    of samples clipped to the int16 range.
    """
    import soundfile as sf

    speech_n = sum(e.num_samples for e in elements)
    power = sum(e.sumsq for e in elements) / max(speech_n, 1)
    noise = None
    if snr_db is not None and power > 0:
        noise = _PinkNoise(math.sqrt(power / 10 ** (snr_db / 10.0)), noise_seed)
    clipped = 0

    def emit(out: "sf.SoundFile", x: np.ndarray) -> None:
        nonlocal clipped
        if noise is not None:
            x = x + noise.take(len(x))
        y = np.round(x)
        bad = (y > 32767) | (y < -32768)
        if bad.any():
            clipped += int(bad.sum())
            y = np.clip(y, -32768, 32767)
        out.write(y.astype(np.int16))

    with sf.SoundFile(path, "w", samplerate=LONGFORM_SAMPLE_RATE, channels=1,
                      subtype="PCM_16", format="WAV") as out:
        for e in elements:
            if e.pause_samples:
                emit(out, np.zeros(e.pause_samples))
            x, sr = sf.read(e.path, dtype="int16")
            emit(out, x.astype(np.float64))
    return clipped


def make_standin_longform(
    out_root: PathLike,
    langs: Sequence[str],
    minutes: Sequence[float] = DEFAULT_MINUTES,
    exclude_text: Union[None, PathLike, Sequence[PathLike]] = None,
    seed: int = 0,
    nj: int = 2,
    snr_db: Optional[float] = 20.0,
    pause_s: Tuple[float, float] = (0.3, 1.5),
    num_train_speakers: int = 12,
    num_test_speakers: int = 4,
    progress: bool = True,
    force: bool = False,
) -> LongformStandinStats:
    """Write a synthetic long-form corpus in the Earnings-21/22 layout.

    One recording per (language, length), id :func:`recording_id` (``en_us_5min``):

    * **Text.** Sentences of :mod:`usm_espnet.standin.parallel_text` for that language
      (seeded differently from the FLEURS stand-in), never one whose
      :func:`~usm_espnet.corpora.fleurs.fleurs_normalize`'d text is in ``exclude_text``
      (e.g. the FLEURS stand-in's ``data/train/text``) and never the same sentence
      twice within a language (the recordings of a language are consecutive cuts of
      one sentence sequence, shortest first).
    * **Voices.** The FLEURS stand-in's dev/test voices,
      ``split_speakers(num_train_speakers, num_test_speakers, seed)[1]``, i.e. voices
      never heard in its training data when the speaker counts and seed are the ones
      the FLEURS stand-in was built with (the recipe's are 12 and 4). Speakers take
      turns of 1 to 6 sentences.
    * **Audio.** Each sentence is synthesised with
      :func:`~usm_espnet.standin.synth.synthesize_many` (16 kHz, ~0.1 s of silence at
      each end); each is preceded by a pause drawn uniformly from ``pause_s``.
      Sentences are added until the target length is reached: the recording ends
      with the sentence that crosses it. Stationary pink noise (see
      :class:`_PinkNoise`) is added over the whole recording, pauses included, at
      ``snr_db`` below the speech power (mean square of the sentence clips of that
      recording, pauses excluded). 16 kHz 16-bit mono wav, written incrementally.
    * **Transcripts.** ``transcripts/nlp_references/<id>.nlp`` holds every word of
      the spoken sentences, in order: the words of ``fleurs_normalize(sentence)``
      (lower case, no punctuation, as FLEURS' ``transcription``), ``speaker`` the
      voice id, ``ts``/``endTs`` the start and end of the word's sentence clip in
      seconds, other columns empty.
    * ``metadata.tsv`` (``id lang minutes seconds num_sentences``), and
      ``sentences.tsv`` (``id index start end speaker_id sentence_id text``): one
      line per spoken sentence with its raw text, the bookkeeping Earnings does not
      publish; and ``.done``, a JSON marker with the parameters' hash and the stats.

    The result is a deterministic function of the arguments except ``nj``,
    ``progress`` and ``force`` (``exclude_text`` counts by content). A rerun with
    the same parameters returns at once (``reused=True``); other parameters rebuild.
    The corpus is built in a temporary directory beside ``out_root`` and renamed
    into place; sentence audio lives in a temporary directory only until it has
    been copied into its recording.

    Args:
        out_root: Corpus root to write.
        langs: FLEURS codes; each must be spoken by espeak-ng and supported by
            the parallel-text generator.
        minutes: Target lengths in minutes (duplicates ignored).
        exclude_text: A Kaldi ``text`` file (``<utt> <transcript>`` lines), or a list
            of them, whose transcripts must not be spoken.
        seed: Seed of text, voices, turns, pauses and noise.
        nj: Synthesis worker processes.
        snr_db: SNR of the background noise in dB; ``None``: clean.
        pause_s: ``(low, high)`` range of the pause before each sentence, in seconds.
        num_train_speakers: Train speaker pool of the FLEURS stand-in.
        num_test_speakers: Dev/test speaker pool of the FLEURS stand-in (the voices used).
        progress: Show synthesis progress bars.
        force: Rebuild even if a corpus with the same parameters exists.

    Returns:
        :class:`LongformStandinStats`.

    Raises:
        ValueError: Bad arguments, an unreadable ``exclude_text``
            (:class:`~usm_espnet.data.kaldi.DataDirError`), the parallel text running
            out of sentences, or ``out_root`` exists, is not empty and was not made
            by this function.
        UnknownLanguageError: Not a FLEURS code.
        UnsupportedLanguageError: espeak-ng cannot speak a language.
        RuntimeError: Synthesis failed for a whole batch of sentences.
    """
    from usm_espnet.standin import parallel_text
    from usm_espnet.standin.espeak import espeak_voice
    from usm_espnet.standin.synth import SynthItem, synthesize_many

    t0 = time.perf_counter()
    out_root = os.path.abspath(os.fspath(out_root))
    if isinstance(langs, str):
        langs = [v.strip() for v in langs.split(",") if v.strip()]
    langs = requested_languages(langs)
    for lang in langs:
        espeak_voice(lang)
        if lang not in parallel_text.SUPPORTED_LANGS:
            raise ValueError(
                f"the parallel-text generator does not support {lang!r}; supported: "
                + ", ".join(sorted(parallel_text.SUPPORTED_LANGS)))
    labels: Dict[str, float] = {}
    for m in minutes:
        try:
            value = float(m)
        except (TypeError, ValueError):
            raise ValueError(f"minutes must be numbers, got {m!r}") from None
        if not math.isfinite(value) or value <= 0 or minutes_label(value) == "0":
            raise ValueError(f"minutes must be positive (>= 0.000001), got {m!r}")
        labels.setdefault(minutes_label(value), value)
    if not labels:
        raise ValueError("no recording lengths (minutes) given")
    lengths = sorted(labels.values())
    try:
        lo, hi = (float(v) for v in pause_s)
    except (TypeError, ValueError):
        raise ValueError(f"pause_s must be (low, high) in seconds, got {pause_s!r}") from None
    if not (0 <= lo <= hi) or not math.isfinite(hi):
        raise ValueError(f"pause_s must be (low, high) with 0 <= low <= high, got {pause_s!r}")
    if snr_db is not None:
        snr_db = float(snr_db)
        if not math.isfinite(snr_db):
            raise ValueError(f"snr_db must be a finite number or None, got {snr_db!r}")
    for name, value in (("num_train_speakers", num_train_speakers),
                        ("num_test_speakers", num_test_speakers), ("nj", nj)):
        if int(value) != value or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    if exclude_text is None:
        exclude_paths: List[str] = []
    elif isinstance(exclude_text, (str, os.PathLike)):
        exclude_paths = [os.fspath(exclude_text)]
    else:
        exclude_paths = [os.fspath(p) for p in exclude_text]
    excluded = _read_excluded(exclude_paths)
    excluded_digest = (hashlib.sha256("\n".join(sorted(excluded)).encode("utf-8")).hexdigest()[:16]
                       if exclude_paths else None)

    params = {
        "langs": sorted(langs), "minutes": lengths, "exclude": excluded_digest, "seed": seed,
        "snr_db": snr_db, "pause_s": [lo, hi], "num_train_speakers": num_train_speakers,
        "num_test_speakers": num_test_speakers, "version": STANDIN_VERSION,
    }
    digest = params_hash(params)
    if os.path.lexists(out_root):
        old = read_done_marker(out_root, DONE_MARKER, "make_standin_longform")
        if (old and old.get("hash") == digest and not force
                and _standin_complete(out_root, old.get("stats", {}))):
            stats = LongformStandinStats(**old["stats"])
            stats.reused = True
            logger.info("%s: stand-in long-form corpus with these parameters exists; "
                        "nothing to do", out_root)
            return stats
        if old:
            logger.info("%s: rebuilding (parameters changed or force)", out_root)

    _, test_spk = split_speakers(num_train_speakers, num_test_speakers, seed)
    stats = LongformStandinStats(out_root=out_root, langs=langs, recordings={})
    meta_lines = ["\t".join(METADATA_COLUMNS)]
    sent_lines = ["\t".join(SENTENCES_COLUMNS)]
    parent, name = os.path.split(out_root)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{name}.tmp-", dir=parent)
    try:
        build = os.path.join(tmp, name)
        synth_dir = os.path.join(tmp, "synth")
        os.makedirs(os.path.join(build, MEDIA_DIR))
        os.makedirs(os.path.join(build, NLP_DIR))
        import soundfile as sf

        for lang in langs:
            stream = _sentence_stream(lang, seed, excluded, test_spk, (lo, hi))
            ready: Deque[_Element] = deque()
            durations = _DurationModel()
            for length in lengths:
                rec = recording_id(lang, length)
                target = int(round(length * 60 * LONGFORM_SAMPLE_RATE))
                chosen: List[Tuple[_Element, int, int]] = []
                cursor = 0
                while True:
                    while ready and cursor < target:
                        e = ready.popleft()
                        start = cursor + e.pause_samples
                        cursor = start + e.num_samples
                        chosen.append((e, start, cursor))
                    if cursor >= target:
                        break
                    # synthesise enough sentences for the rest (estimated, 5% margin)
                    need = (target - cursor) / LONGFORM_SAMPLE_RATE * 1.05
                    batch: List[_Element] = []
                    planned = 0.0
                    while planned < need or not batch:
                        e = next(stream)
                        batch.append(e)
                        planned += durations.estimate(e)
                    items = [SynthItem(f"{lang}-{e.index:07d}", e.raw, lang, e.speaker,
                                       os.path.join(synth_dir, lang, f"{e.index:07d}.wav"))
                             for e in batch]
                    res = synthesize_many(items, nj=nj, progress=progress)
                    stats.synth_audio_seconds += res.audio_seconds
                    stats.synth_cpu_seconds += res.cpu_seconds
                    stats.synth_wall_seconds += res.wall_seconds
                    stats.num_skipped += res.num_skipped
                    if res.num_ok == 0:
                        raise RuntimeError(
                            f"{lang}: synthesis failed for all {len(items)} sentences of a batch")
                    failed = set(res.skipped_ids)
                    for e, item in zip(batch, items):
                        if item.utt_id in failed:
                            continue
                        x, sr = sf.read(item.out_path, dtype="int16")
                        if sr != LONGFORM_SAMPLE_RATE:
                            raise RuntimeError(
                                f"{item.out_path}: synthesised at {sr} Hz, "
                                f"expected {LONGFORM_SAMPLE_RATE}")
                        e.path, e.num_samples = item.out_path, len(x)
                        e.sumsq = float(np.sum(x.astype(np.float64) ** 2))
                        durations.fit(e)
                        ready.append(e)

                elements = [e for e, _, _ in chosen]
                clipped = _write_recording(
                    os.path.join(build, MEDIA_DIR, f"{rec}.wav"), elements, snr_db,
                    _stable_seed("standin-longform-noise", seed, rec))
                if clipped:
                    total = cursor if cursor > 0 else 1
                    logger.log(logging.WARNING if clipped > 1e-4 * total else logging.INFO,
                               "%s: %d of %d samples clipped", rec, clipped, total)
                rows = []
                for e, start, end in chosen:
                    ts, end_ts = f"{start / LONGFORM_SAMPLE_RATE:.3f}", f"{end / LONGFORM_SAMPLE_RATE:.3f}"
                    rows += [(w, e.speaker.id, ts, end_ts) for w in e.words]
                    sent_lines.append("\t".join([rec, str(e.index), ts, end_ts, e.speaker.id,
                                                 e.sentence_id, e.raw]))
                    os.remove(e.path)
                write_nlp(os.path.join(build, NLP_DIR, f"{rec}.nlp"), rows)
                seconds = cursor / LONGFORM_SAMPLE_RATE
                stats.recordings[rec] = seconds
                stats.num_sentences += len(chosen)
                stats.num_words += len(rows)
                meta_lines.append("\t".join([rec, lang, minutes_label(length), f"{seconds:.3f}",
                                             str(len(chosen))]))
                logger.info("%s: %.1f s (target %.1f s), %d sentences, %d words",
                            rec, seconds, target / LONGFORM_SAMPLE_RATE, len(chosen), len(rows))
            for e in ready:  # synthesised beyond the last recording
                os.remove(e.path)

        with open(os.path.join(build, METADATA_FILE), "w", encoding="utf-8") as f:
            f.write(meta_lines[0] + "\n")
            f.writelines(line + "\n" for line in sorted(meta_lines[1:]))
        with open(os.path.join(build, SENTENCES_FILE), "w", encoding="utf-8") as f:
            f.writelines(line + "\n" for line in sent_lines)
        stats.wall_seconds = time.perf_counter() - t0
        with open(os.path.join(build, DONE_MARKER), "w", encoding="utf-8") as f:
            json.dump({"hash": digest, "params": params, "exclude_text": exclude_paths,
                       "stats": asdict(stats)}, f, indent=1)
        replace_dir(build, out_root)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    logger.info("%s: stand-in long-form corpus built: %d recordings, %.3f h, synthesis %.1f s "
                "wall (%.1f s of audio per wall second), total %.1f s", out_root,
                len(stats.recordings), stats.hours, stats.synth_wall_seconds, stats.synth_speed,
                stats.wall_seconds)
    return stats
