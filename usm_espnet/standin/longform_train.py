"""Training data for long-form ASR: what long recordings contain, cut to the chunk length.

A model trained on short clean clips has never heard a pause in noise, and on a long
recording it fills the pauses with letters (the long-form recipe measured 140-220 % WER,
mostly insertions). USM trains its chunk-wise attention on 8 s chunks of long audio; this
module makes such chunks from any Kaldi training directory of short utterances
(:func:`make_longform_train`):

* **Concatenations up to the chunk length.** The utterances of each language are shuffled
  and packed (first fit, see :func:`pack_utterances`) into segments of at most
  ``chunk_seconds``, pauses included. An utterance longer than the chunk is a segment of
  its own (no silence added). Each ``copies`` pass packs anew (other order, other
  pauses, other noise).
* **Pauses.** Silence before the first and after the last utterance (``edge_s``), between
  utterances (``pause_s``) and, with probability ``internal_pause_prob``, one pause inside
  an utterance, put in a gap between words (``internal_pause_s``; the gaps are found by
  :func:`usm_espnet.standin.synth.silence_gaps`), shortened where it would make the
  utterance longer than the chunk.
* **Noise at several SNRs.** Coloured noise (white, pink or brown, drawn per segment, from
  :func:`usm_espnet.data.noise.colored_noise`, slowly modulated) over the whole segment,
  pauses included, at an SNR drawn from ``snr_db`` relative to the speech power (the mean
  square of the utterances' samples, pauses excluded, as the long-form stand-in defines
  its SNR); with probability ``clean_prob`` a segment stays clean.
* With ``keep_original`` the short utterances themselves are kept too (as they were).

The transcript of a segment is its utterances' transcripts joined by spaces; the speaker of
a segment is the segment itself (several speakers may talk in one). Audio is written as
16 kHz 16-bit wav files under ``<out_dir>/wav/``. The result is a deterministic function
of the input directory's content and the parameters; a rerun with both unchanged returns
at once.
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
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from usm_espnet.data.audio import load_audio
from usm_espnet.data.kaldi import DataDir, DataDirError, read_datadir, write_datadir

__all__ = ["LongformTrainStats", "make_longform_train", "pack_utterances", "render_segment"]

logger = logging.getLogger(__name__)

PathLike = Union[str, "os.PathLike[str]"]

SAMPLE_RATE = 16000
#: USM's chunk length (seconds).
DEFAULT_CHUNK_SECONDS = 8.0
#: SNRs (dB) drawn per segment.
DEFAULT_SNR_DB: Tuple[float, ...] = (5.0, 10.0, 15.0, 20.0, 30.0)
DONE_MARKER = ".done"
#: Bump when what is written changes (invalidates old markers).
VERSION = 5
WAV_DIR = "wav"


@dataclass
class LongformTrainStats:
    """Summary of :func:`make_longform_train`.

    Args:
        out_dir: The data directory written.
        num_original: Short utterances kept as they were.
        num_segments: Segments made (all copies).
        utts_per_segment: Mean number of utterances in a segment.
        seconds_original: Audio of the kept short utterances (s).
        seconds_segments: Audio of the segments (s).
        pause_fraction: Share of the segments' audio that is added silence (edges, pauses).
        clean_segments: Segments left without noise.
        wall_seconds: Time taken.
        reused: True when an identical directory existed and nothing was done.
    """

    out_dir: str
    num_original: int = 0
    num_segments: int = 0
    utts_per_segment: float = 0.0
    seconds_original: float = 0.0
    seconds_segments: float = 0.0
    pause_fraction: float = 0.0
    clean_segments: int = 0
    per_lang: Dict[str, int] = field(default_factory=dict)
    wall_seconds: float = 0.0
    reused: bool = False

    def summary(self) -> str:
        return (f"{self.out_dir}: {self.num_segments} segments of up to the chunk length "
                f"({self.seconds_segments / 60:.1f} min, {self.utts_per_segment:.2f} utterances "
                f"each, {100 * self.pause_fraction:.1f} % added silence, {self.clean_segments} "
                f"without noise) + {self.num_original} original utterances "
                f"({self.seconds_original / 60:.1f} min); {self.wall_seconds:.1f} s"
                + (" (reused)" if self.reused else ""))


def _range(value: Sequence[float], what: str) -> Tuple[float, float]:
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be (low, high) in seconds, got {value!r}") from None
    if not (0 <= lo <= hi) or not math.isfinite(hi):
        raise ValueError(f"{what} must be (low, high) with 0 <= low <= high, got {value!r}")
    return lo, hi


def pack_utterances(durations: Sequence[float], chunk_seconds: float, rng: random.Random,
                    pause_s: Tuple[float, float], edge_s: Tuple[float, float],
                    lookahead: int = 8) -> List[Tuple[List[int], List[float], float, float]]:
    """Pack utterances into segments of at most ``chunk_seconds`` (first fit, in order).

    A segment starts with the first utterance not yet placed; then, while one fits, it
    takes the first of the next ``lookahead`` unplaced utterances that keeps the segment
    (lead, utterances, pauses between them, trail) within ``chunk_seconds``. A segment
    always holds at least one utterance (an utterance longer than the chunk is a segment
    of its own, without lead or trail); every utterance is placed exactly once. The lead
    and trail of a segment are shrunk (in proportion) where they would make it longer
    than the chunk.

    Args:
        durations: Seconds of each utterance.
        chunk_seconds: Upper bound of a segment of several utterances.
        rng: Source of the draws.
        pause_s: Range of the pauses between utterances (s).
        edge_s: Range of the silence before and after (s).
        lookahead: How many of the next unplaced utterances are tried.

    Returns:
        ``[(indices, pauses_before_each_but_first, lead, trail)]``, segments in order.
    """
    out = []
    todo = list(range(len(durations)))
    while todo:
        lead, trail = rng.uniform(*edge_s), rng.uniform(*edge_s)
        first = todo.pop(0)
        idx, pauses = [first], []
        room = chunk_seconds - durations[first]
        if lead + trail > room:
            # the silence around an utterance never pushes its segment past the chunk (a
            # 7.4 s utterance with 1 s on each side would be a 9.4 s segment, cut in two by
            # chunk-wise attention in training); shrunk in proportion, to none if it is longer
            shrink = max(room, 0.0) / (lead + trail)
            lead, trail = lead * shrink, trail * shrink
        total = lead + durations[first] + trail
        while todo:
            pause = rng.uniform(*pause_s)
            pick = next((k for k, i in enumerate(todo[:lookahead])
                         if total + pause + durations[i] <= chunk_seconds), None)
            if pick is None:
                break
            i = todo.pop(pick)
            idx.append(i)
            pauses.append(pause)
            total += pause + durations[i]
        out.append((idx, pauses, lead, trail))
    return out


def render_segment(clips: Sequence[np.ndarray], pauses: Sequence[float], lead: float,
                   trail: float, snr_db: Optional[float], seed: int,
                   internal_pauses: Optional[Sequence[float]] = None,
                   sr: int = SAMPLE_RATE) -> Tuple[np.ndarray, int]:
    """Build one segment: silence, clips with pauses between them, silence, noise.

    Args:
        clips: Float waveforms at ``sr``.
        pauses: Seconds of silence before each clip but the first (``len(clips) - 1``).
        lead: Seconds of silence before the first clip.
        trail: Seconds of silence after the last clip.
        snr_db: SNR of the coloured noise over the whole segment (speech power = mean
            square of the clips); None: clean.
        seed: Seed of the internal pauses' places, the noise colour and the noise.
        internal_pauses: Seconds of one extra pause inside each clip (0: none), put in a
            gap between words drawn at random (none when the clip has no gap).
        sr: Sample rate.

    Returns:
        ``(float32 waveform, samples of added silence)``.
    """
    from usm_espnet.data.noise import colored_noise
    from usm_espnet.standin.synth import silence_gaps

    if len(pauses) != len(clips) - 1:
        raise ValueError(f"{len(clips)} clips need {len(clips) - 1} pauses, got {len(pauses)}")
    if internal_pauses is None:
        internal_pauses = [0.0] * len(clips)
    if len(internal_pauses) != len(clips):
        raise ValueError(f"{len(clips)} clips need {len(clips)} internal pauses, got {len(internal_pauses)}")
    rng = np.random.default_rng(seed)
    speech_sumsq, speech_n = 0.0, 0
    parts: List[np.ndarray] = [np.zeros(int(round(lead * sr)))]
    for k, clip in enumerate(clips):
        x = np.asarray(clip, dtype=np.float64)
        speech_sumsq += float(np.sum(x ** 2))
        speech_n += len(x)
        if k:
            parts.append(np.zeros(int(round(pauses[k - 1] * sr))))
        if internal_pauses[k] > 0:
            gaps = silence_gaps(x, sr)
            if gaps:
                at = gaps[int(rng.integers(len(gaps)))]
                x = np.concatenate([x[:at], np.zeros(int(round(internal_pauses[k] * sr))), x[at:]])
        parts.append(x)
    parts.append(np.zeros(int(round(trail * sr))))
    y = np.concatenate(parts)
    silence = len(y) - speech_n
    power = speech_sumsq / max(speech_n, 1)
    if snr_db is not None and power > 0:
        noise = colored_noise(len(y), float(rng.choice([0.0, 1.0, 2.0])), rng).astype(np.float64)
        y = y + noise * math.sqrt(power / 10 ** (snr_db / 10.0))
    peak = float(np.max(np.abs(y))) if len(y) else 0.0
    if peak > 0.99:
        y *= 0.99 / peak
    return y.astype(np.float32), silence


def _digest(data: DataDir) -> str:
    h = hashlib.sha256()
    for utt in data.utt_ids():
        h.update("\x1f".join([utt, data.text.get(utt, ""), data.utt2lang.get(utt, ""),
                              data.wav_scp.get(data.segments[utt][0] if data.segments else utt, ""),
                              str(data.segments.get(utt, ""))]).encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()[:16]


def make_longform_train(
    in_dir: PathLike,
    out_dir: PathLike,
    chunk_seconds: float = DEFAULT_CHUNK_SECONDS,
    copies: int = 2,
    snr_db: Sequence[float] = DEFAULT_SNR_DB,
    clean_prob: float = 0.1,
    pause_s: Tuple[float, float] = (0.2, 1.2),
    edge_s: Tuple[float, float] = (0.1, 1.0),
    internal_pause_prob: float = 0.3,
    internal_pause_s: Tuple[float, float] = (0.3, 1.2),
    keep_original: bool = True,
    seed: int = 0,
    force: bool = False,
) -> LongformTrainStats:
    """Write a training directory of long-form-like segments made from ``in_dir``.

    See the module docstring for what a segment holds.

    Args:
        in_dir: Kaldi data directory of short utterances (``text`` required; ``utt2lang``
            optional: utterances of one language are packed together).
        out_dir: Data directory to write (audio under ``<out_dir>/wav/``).
        chunk_seconds: Longest segment of several utterances (USM: 8 s).
        copies: Packing passes over the input (each with other order, pauses and noise).
        snr_db: SNRs (dB) drawn from per segment.
        clean_prob: Probability that a segment gets no noise.
        pause_s: Range of the pauses between utterances (s).
        edge_s: Range of the silence before and after a segment's speech (s).
        internal_pause_prob: Probability of a pause inside an utterance.
        internal_pause_s: Range of that pause (s).
        keep_original: Also keep the input utterances as they are.
        seed: Seed of every draw.
        force: Rebuild even if an identical directory exists.

    Returns:
        :class:`LongformTrainStats`.

    Raises:
        ValueError: Bad parameters (``DataDirError``, a ``ValueError``, for an invalid or
            empty ``in_dir``).
    """
    import soundfile as sf

    t0 = time.perf_counter()
    chunk_seconds = float(chunk_seconds)
    if not math.isfinite(chunk_seconds) or chunk_seconds <= 0:
        raise ValueError(f"chunk_seconds must be positive, got {chunk_seconds!r}")
    if int(copies) != copies or copies < 0:
        raise ValueError(f"copies must be an integer >= 0, got {copies!r}")
    snrs = [float(v) for v in snr_db]
    if not snrs or not all(math.isfinite(v) for v in snrs):
        raise ValueError(f"snr_db must be a non-empty list of finite numbers, got {snr_db!r}")
    for name, p in (("clean_prob", clean_prob), ("internal_pause_prob", internal_pause_prob)):
        if not 0.0 <= float(p) <= 1.0:
            raise ValueError(f"{name} must be in [0, 1], got {p!r}")
    pause_s, edge_s = _range(pause_s, "pause_s"), _range(edge_s, "edge_s")
    internal_pause_s = _range(internal_pause_s, "internal_pause_s")
    if copies == 0 and not keep_original:
        raise ValueError("copies=0 and keep_original=False would write no data")

    data = read_datadir(in_dir)
    utts = data.utt_ids()
    if not utts:
        raise DataDirError(f"{in_dir}: no utterances")
    params = {"in": _digest(data), "chunk_seconds": chunk_seconds, "copies": int(copies),
              "snr_db": snrs, "clean_prob": float(clean_prob), "pause_s": list(pause_s),
              "edge_s": list(edge_s), "internal_pause_prob": float(internal_pause_prob),
              "internal_pause_s": list(internal_pause_s), "keep_original": bool(keep_original),
              "seed": seed, "version": VERSION}
    digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode("utf-8")).hexdigest()[:16]
    out_dir = os.path.abspath(os.fspath(out_dir))
    marker = os.path.join(out_dir, DONE_MARKER)
    if os.path.isfile(marker) and not force:
        try:
            with open(marker, encoding="utf-8") as f:
                old = json.load(f)
        except (OSError, ValueError):
            old = {}
        if old.get("hash") == digest and os.path.isfile(os.path.join(out_dir, "text")):
            stats = LongformTrainStats(**old["stats"])
            stats.reused = True
            return stats

    stats = LongformTrainStats(out_dir=out_dir)

    def audio_of(utt: str) -> np.ndarray:
        if data.segments:
            rec, start, end = data.segments[utt]
            return load_audio(data.wav_scp[rec], SAMPLE_RATE, (start, end))
        return load_audio(data.wav_scp[utt], SAMPLE_RATE)

    durations: Dict[str, float] = {}
    for utt in utts:
        if utt in data.utt2dur:
            durations[utt] = float(data.utt2dur[utt])
        else:
            durations[utt] = len(audio_of(utt)) / SAMPLE_RATE

    out = DataDir(wav_scp={})
    if keep_original:
        for utt in utts:
            out.text[utt] = data.text[utt]
            out.utt2spk[utt] = data.utt2spk.get(utt, utt)
            if utt in data.utt2lang:
                out.utt2lang[utt] = data.utt2lang[utt]
            out.utt2dur[utt] = durations[utt]
            if data.segments:
                out.segments[utt] = data.segments[utt]
                rec = data.segments[utt][0]
                out.wav_scp[rec] = data.wav_scp[rec]
            else:
                out.wav_scp[utt] = data.wav_scp[utt]
            stats.seconds_original += durations[utt]
        stats.num_original = len(utts)

    by_lang: Dict[str, List[str]] = {}
    for utt in utts:
        by_lang.setdefault(data.utt2lang.get(utt, ""), []).append(utt)
    parent, name = os.path.split(out_dir)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{name}.wav-", dir=parent)
    wav_final = os.path.join(out_dir, WAV_DIR)
    silence_total, utts_total = 0, 0
    try:
        for copy in range(int(copies)):
            for lang, lang_utts in sorted(by_lang.items()):
                order = list(lang_utts)
                rng = random.Random(zlib.crc32(f"lf-train\x1f{seed}\x1f{copy}\x1f{lang}".encode()))
                rng.shuffle(order)
                inner = {u: rng.uniform(*internal_pause_s) if rng.random() < internal_pause_prob
                         else 0.0 for u in order}
                # nor does a pause inside an utterance make it longer than the chunk
                inner = {u: min(p, max(chunk_seconds - durations[u], 0.0)) for u, p in inner.items()}
                packed = pack_utterances([durations[u] + inner[u] for u in order], chunk_seconds,
                                         rng, pause_s, edge_s)
                for k, (idx, pauses, lead, trail) in enumerate(packed):
                    members = [order[i] for i in idx]
                    seg = f"{lang or 'x'}-lf{copy}-{k:05d}"
                    clean = rng.random() < clean_prob
                    snr = None if clean else rng.choice(snrs)
                    y, silence = render_segment(
                        [audio_of(u) for u in members], pauses, lead, trail, snr,
                        zlib.crc32(f"lf-noise\x1f{seed}\x1f{seg}".encode()),
                        [inner[u] for u in members])
                    sf.write(os.path.join(tmp, f"{seg}.wav"), y, SAMPLE_RATE, subtype="PCM_16")
                    out.text[seg] = " ".join(data.text[u] for u in members)
                    out.utt2spk[seg] = seg
                    if lang:
                        out.utt2lang[seg] = lang
                    out.utt2dur[seg] = len(y) / SAMPLE_RATE
                    out.wav_scp[seg] = os.path.join(wav_final, f"{seg}.wav")
                    if data.segments:
                        out.segments[seg] = (seg, 0.0, len(y) / SAMPLE_RATE)
                    stats.num_segments += 1
                    stats.clean_segments += int(clean)
                    stats.seconds_segments += len(y) / SAMPLE_RATE
                    stats.per_lang[lang] = stats.per_lang.get(lang, 0) + 1
                    silence_total += silence
                    utts_total += len(members)
        if stats.num_segments:
            stats.utts_per_segment = utts_total / stats.num_segments
            stats.pause_fraction = silence_total / SAMPLE_RATE / stats.seconds_segments
        write_datadir(out_dir, out)
        os.rename(tmp, wav_final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    stats.wall_seconds = time.perf_counter() - t0
    with open(marker, "w", encoding="utf-8") as f:
        json.dump({"hash": digest, "params": params, "in_dir": os.fspath(in_dir),
                   "stats": asdict(stats)}, f, indent=1)
    logger.info(stats.summary())
    return stats
