"""Synthetic speech from espeak-ng: waveform processing, batches, data directories.

The engine (voices, speakers, deterministic raw synthesis in a helper process) is
:mod:`usm_espnet.standin.espeak`; this module turns its output into 16 kHz utterances
(:func:`synthesize`: edge trimming, resampling, optional room acoustics and noise), writes
many of them in parallel (:func:`synthesize_many`) and builds a Kaldi data directory of
synthetic speech (:func:`synth_datadir`).

Public API: :func:`resample`, :func:`add_noise`, :class:`Acoustics`, :data:`ACOUSTICS`,
:func:`silence_gaps`, :func:`synthesize`, :class:`SynthItem`, :class:`SynthStats`,
:func:`write_wav_atomic`, :func:`synthesize_many`, :func:`read_text_file`,
:func:`synth_datadir`.
"""

import functools
import logging
import math
import multiprocessing
import os
import re
import signal
import time
import zlib
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from usm_espnet.standin.espeak import (
    EDGE_SILENCE_S,
    ESPEAK_SAMPLE_RATE,
    MAX_TEXT_CHARS,
    OUTPUT_SAMPLE_RATE,
    Speaker,
    SynthesisError,
    espeak_voice,
    init_engine,
    make_speakers,
    synthesize_raw,
)

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------- signal ops


def _trim(x: np.ndarray, sr: int, margin_s: float = EDGE_SILENCE_S,
          floor_db: float = -50.0) -> np.ndarray:
    """Trim leading/trailing silence to exactly ``margin_s`` (padding with zeros)."""
    frame = max(1, int(0.01 * sr))
    n = len(x) // frame * frame
    if n == 0 or not np.any(x):
        raise SynthesisError("espeak-ng produced no audio")
    energy = (x[:n].reshape(-1, frame).astype(np.float64) ** 2).mean(axis=1)
    peak = energy.max()
    if peak < (1e-4) ** 2:
        raise SynthesisError("espeak-ng produced only silence")
    active = np.nonzero(energy > peak * 10 ** (floor_db / 10))[0]
    start, end = active[0] * frame, min(len(x), (active[-1] + 1) * frame)
    margin = int(round(margin_s * sr))
    seg = x[max(0, start - margin):end + margin]
    pad_l = max(0, margin - start)
    pad_r = max(0, end + margin - len(x))
    if pad_l or pad_r:
        seg = np.concatenate([np.zeros(pad_l, x.dtype), seg, np.zeros(pad_r, x.dtype)])
    return seg


@functools.lru_cache(maxsize=8)
def _polyphase_filter(up: int, down: int, zero_crossings: int = 10,
                      beta: float = 5.0) -> np.ndarray:
    """Kaiser-windowed sinc low-pass split into ``up`` phases, shape ``(up, taps)``."""
    rate = max(up, down)
    half = zero_crossings * rate
    k = np.arange(2 * half + 1) - half
    h = np.sinc(k / rate) * np.kaiser(2 * half + 1, beta)
    h *= up / h.sum()  # unit DC gain after zero-stuffing by ``up``
    taps = -(-len(h) // up)
    h = np.concatenate([h, np.zeros(taps * up - len(h))])
    return np.ascontiguousarray(h.reshape(taps, up).T)  # [phase, m] = h[phase + m*up]


def resample(x: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """Resample by the exact rational factor ``sr_out / sr_in`` (polyphase FIR).

    Equivalent to ``scipy.signal.resample_poly`` with its default Kaiser window
    (10 zero crossings per side, beta 5), without importing scipy.

    Args:
        x: 1-D waveform.
        sr_in: Input sample rate.
        sr_out: Output sample rate.

    Returns:
        Float32 waveform of length ``ceil(len(x) * sr_out / sr_in)``.
    """
    x = np.asarray(x, dtype=np.float64)
    g = math.gcd(sr_in, sr_out)
    up, down = sr_out // g, sr_in // g
    if up == down:
        return x.astype(np.float32)
    bank = _polyphase_filter(up, down)
    taps = bank.shape[1]
    half = 10 * max(up, down)
    n_out = -(-len(x) * up // down)
    xp = np.concatenate([np.zeros(taps), x, np.zeros(taps)])  # x[j] -> xp[j + taps]
    y = np.empty(n_out)
    m = np.arange(taps)
    for start in range(0, n_out, 16384):
        n = np.arange(start, min(n_out, start + 16384))
        t = n * down + half
        phase, base = t % up, t // up
        idx = np.clip(base[:, None] - m[None, :] + taps, 0, len(xp) - 1)
        y[start:start + len(n)] = np.einsum("nm,nm->n", bank[phase], xp[idx])
    return y.astype(np.float32)


def add_noise(x: np.ndarray, snr_db: float, seed: int = 0) -> np.ndarray:
    """Add white Gaussian noise at an exact signal-to-noise ratio.

    The noise is drawn from ``numpy.random.default_rng(seed)`` and scaled so that
    ``10*log10(mean(x**2) / mean(noise**2)) == snr_db``.  If the sum would clip,
    signal and noise are scaled down together (the SNR is unchanged).

    Args:
        x: Float waveform.
        snr_db: Target SNR in dB.
        seed: Noise seed.

    Returns:
        Float32 noisy waveform, same length as ``x``.
    """
    x = x.astype(np.float64)
    p_sig = float(np.mean(x ** 2))
    noise = np.random.default_rng(seed).standard_normal(len(x))
    noise *= np.sqrt(p_sig / 10 ** (snr_db / 10) / max(float(np.mean(noise ** 2)), 1e-20))
    y = x + noise
    peak = float(np.max(np.abs(y))) if len(y) else 0.0
    if peak > 0.99:
        y *= 0.99 / peak
    return y.astype(np.float32)


@dataclass(frozen=True)
class Acoustics:
    """Recording conditions laid over a clean synthetic utterance.

    espeak-ng speaks over exact digital silence, always at a speaker's one rate and
    pitch, with 0.1 s of silence at each end. Real recordings have a noise floor,
    background noise, pauses and a speaking style that varies from one utterance to
    the next. For self-supervised pre-training this matters: digital silence maps to
    one quantizer code, so a large share of BEST-RQ's labels is trivially predictable
    (see :mod:`usm_espnet.ssl.best_rq`). Every draw comes from the item's
    seed, so a corpus stays a pure function of its parameters.

    Args:
        floor_db: Range of the noise floor, dB below the speech power (always added:
            no digital silence). ``None``: no floor.
        noise_prob: Probability that an utterance also gets background noise.
        noise_snr_db: Its SNR range (dB); the colour (white, pink, brown) is drawn too.
        edge_s: Range of the silence before and after the speech (seconds).
        pause_prob: Probability of one extra pause inside the utterance, put in a gap
            between words (a low-energy stretch of the clean speech).
        pause_s: Range of that pause's length (seconds).
        rate_jitter: Speaking rate scaled by a factor drawn from ``1 +- rate_jitter``.
        pitch_jitter: Base pitch shifted by up to this many espeak-ng pitch units.
    """

    floor_db: Optional[Tuple[float, float]] = None
    noise_prob: float = 0.0
    noise_snr_db: Tuple[float, float] = (10.0, 30.0)
    edge_s: Tuple[float, float] = (EDGE_SILENCE_S, EDGE_SILENCE_S)
    pause_prob: float = 0.0
    pause_s: Tuple[float, float] = (0.2, 0.8)
    rate_jitter: float = 0.0
    pitch_jitter: int = 0


#: Named acoustic conditions of the stand-ins (``--acoustics``): ``clean`` is espeak-ng's
#: own output; ``varied`` suits self-supervised pre-training and long recordings.
ACOUSTICS: Dict[str, Optional[Acoustics]] = {
    "clean": None,
    "varied": Acoustics(floor_db=(35.0, 55.0), noise_prob=0.5, noise_snr_db=(10.0, 30.0),
                        edge_s=(0.1, 0.8), pause_prob=0.5, pause_s=(0.2, 0.8),
                        rate_jitter=0.15, pitch_jitter=10),
}


def acoustics_of(name: Optional[str]) -> Optional[Acoustics]:
    """The :data:`ACOUSTICS` entry called ``name`` (``None`` or ``""``: clean)."""
    if not name:
        return None
    if name not in ACOUSTICS:
        raise ValueError(f"unknown acoustics {name!r}; choose one of {', '.join(ACOUSTICS)}")
    return ACOUSTICS[name]


def silence_gaps(x: np.ndarray, sr: int, floor_db: float = -40.0, min_gap_s: float = 0.04) -> List[int]:
    """Sample positions in the middle of low-energy stretches between speech (word gaps)."""
    frame = max(1, int(0.01 * sr))
    n = len(x) // frame
    if n < 3:
        return []
    energy = (x[:n * frame].reshape(n, frame).astype(np.float64) ** 2).mean(axis=1)
    quiet = energy < energy.max() * 10 ** (floor_db / 10)
    active = np.nonzero(~quiet)[0]
    if len(active) < 2:
        return []
    out, start = [], None
    for i in range(int(active[0]), int(active[-1]) + 1):
        if quiet[i] and start is None:
            start = i
        elif not quiet[i] and start is not None:
            if (i - start) * frame >= min_gap_s * sr:
                out.append((start + i) // 2 * frame)
            start = None
    return out


def apply_acoustics(x: np.ndarray, sr: int, acoustics: Acoustics, seed: int) -> np.ndarray:
    """Lay :class:`Acoustics` (pause, edges, noise, floor) over a clean utterance ``x``."""
    rng = np.random.default_rng(seed)
    x = x.astype(np.float64)
    p_sig = float(np.mean(x ** 2)) if len(x) else 0.0
    if acoustics.pause_prob > 0 and rng.random() < acoustics.pause_prob:
        gaps = silence_gaps(x, sr)
        if gaps:
            at = gaps[int(rng.integers(len(gaps)))]
            pause = np.zeros(int(rng.uniform(*acoustics.pause_s) * sr))
            x = np.concatenate([x[:at], pause, x[at:]])
    # x has EDGE_SILENCE_S at each end (from _trim); pad (or cut) to the drawn edges
    margin = int(round(EDGE_SILENCE_S * sr))
    core = x[margin:len(x) - margin] if len(x) > 2 * margin else x
    lead, trail = (int(rng.uniform(*acoustics.edge_s) * sr) for _ in range(2))
    x = np.concatenate([np.zeros(lead), core, np.zeros(trail)])
    if p_sig > 0 and acoustics.noise_prob > 0 and rng.random() < acoustics.noise_prob:
        from usm_espnet.data.noise import colored_noise

        noise = colored_noise(len(x), float(rng.choice([0.0, 1.0, 2.0])), rng).astype(np.float64)
        x = x + noise * np.sqrt(p_sig / 10 ** (rng.uniform(*acoustics.noise_snr_db) / 10))
    if p_sig > 0 and acoustics.floor_db is not None:
        floor = rng.standard_normal(len(x))
        x = x + floor * np.sqrt(p_sig / 10 ** (rng.uniform(*acoustics.floor_db) / 10))
    peak = float(np.max(np.abs(x))) if len(x) else 0.0
    if peak > 0.99:
        x *= 0.99 / peak
    return x.astype(np.float32)


def _synthesize(text: str, lang: str, speaker: Speaker, sample_rate: int,
                snr_db: Optional[float], seed: int,
                acoustics: Optional[Acoustics] = None) -> Tuple[np.ndarray, float]:
    """:func:`synthesize`, also returning the CPU seconds of the espeak-ng child."""
    voice = espeak_voice(lang)
    if not text or not text.strip():
        raise ValueError("cannot synthesise empty text")
    if len(text) > MAX_TEXT_CHARS:
        raise ValueError(f"text of {len(text)} characters is longer than the {MAX_TEXT_CHARS} "
                         f"synthesised as one utterance (MAX_TEXT_CHARS)")
    text = " ".join(text.replace("\0", " ").split())
    rate, pitch = speaker.rate, speaker.pitch
    if acoustics is not None and (acoustics.rate_jitter or acoustics.pitch_jitter):
        jit = np.random.default_rng([seed, 1])
        rate = int(round(rate * jit.uniform(1 - acoustics.rate_jitter, 1 + acoustics.rate_jitter)))
        pitch = int(np.clip(pitch + jit.integers(-acoustics.pitch_jitter,
                                                 acoustics.pitch_jitter + 1), 0, 100))
    samples, cpu = synthesize_raw(text, f"{voice}+{speaker.variant}", rate,
                                  pitch, speaker.pitch_range)
    x = _trim(samples.astype(np.float32) / 32768.0, ESPEAK_SAMPLE_RATE)
    y = resample(x, ESPEAK_SAMPLE_RATE, sample_rate)
    if acoustics is not None:
        y = apply_acoustics(y, sample_rate, acoustics, seed)
    if snr_db is not None:
        y = add_noise(y, snr_db, seed)
    return np.clip(y, -1.0, 1.0).astype(np.float32), cpu


def synthesize(text: str, lang: str, speaker: Speaker, sample_rate: int = 16000,
               snr_db: Optional[float] = None, seed: int = 0) -> np.ndarray:
    """Synthesise one utterance.

    The result is a deterministic function of the arguments: the clean speech
    depends on ``(text, lang, speaker, sample_rate)`` only, ``seed`` drives the
    additive noise.  Whitespace in ``text`` is normalised to single spaces.

    Args:
        text: Text in the language's usual script.
        lang: FLEURS language code (see :func:`supported_languages`).
        speaker: Voice settings, e.g. from :func:`make_speakers`.
        sample_rate: Output rate; espeak-ng's 22050 Hz is resampled by the exact
            rational factor (:func:`resample`).
        snr_db: If given, add white Gaussian noise at this SNR in dB, measured over
            the whole returned clip (see :func:`add_noise`).
        seed: Seed of the noise generator.

    Returns:
        Float32 mono waveform in [-1, 1] with ~0.1 s of silence at each end.

    Raises:
        ValueError: ``text`` is empty or whitespace, or longer than
            :data:`MAX_TEXT_CHARS`.
        UnsupportedLanguageError: espeak-ng cannot speak ``lang`` (also a ValueError).
        SynthesisError: espeak-ng failed or produced no audible audio.
    """
    return _synthesize(text, lang, speaker, sample_rate, snr_db, seed)[0]


# --------------------------------------------------------------------------- batch


@dataclass
class SynthItem:
    """One utterance to synthesise and write.

    Args:
        utt_id: Utterance id.
        text: Text to speak.
        lang: FLEURS language code.
        speaker: Speaker settings.
        out_path: Destination wav path (16 kHz, 16-bit PCM).
        snr_db: Optional SNR of additive white noise.
        seed: Noise seed (and the seed of ``acoustics``' draws).
        acoustics: Optional recording conditions (:class:`Acoustics`).
    """

    utt_id: str
    text: str
    lang: str
    speaker: Speaker
    out_path: str
    snr_db: Optional[float] = None
    seed: int = 0
    acoustics: Optional[Acoustics] = None


@dataclass
class SynthStats:
    """Outcome of :func:`synthesize_many`.

    Args:
        num_ok: Utterances written.
        num_skipped: Utterances that failed (logged, not written).
        skipped_ids: Their utterance ids.
        audio_seconds: Total duration of the written audio.
        cpu_seconds: CPU time spent on synthesis (espeak-ng children + resampling,
            noise and writing in the workers), summed over workers.
        wall_seconds: Elapsed wall-clock time.
        utt2dur: Duration in seconds of each written utterance.
    """

    num_ok: int
    num_skipped: int
    skipped_ids: List[str]
    audio_seconds: float
    cpu_seconds: float
    wall_seconds: float
    utt2dur: Dict[str, float] = field(default_factory=dict)

    @property
    def throughput(self) -> float:
        """Seconds of audio produced per CPU second (higher is faster)."""
        return self.audio_seconds / self.cpu_seconds if self.cpu_seconds > 0 else 0.0

    @property
    def rtf(self) -> float:
        """Real-time factor: CPU seconds per second of audio (= 1 / throughput)."""
        return self.cpu_seconds / self.audio_seconds if self.audio_seconds > 0 else 0.0

    @property
    def wall_throughput(self) -> float:
        """Seconds of audio produced per wall-clock second."""
        return self.audio_seconds / self.wall_seconds if self.wall_seconds > 0 else 0.0


def write_wav_atomic(path: str, wav: np.ndarray, sample_rate: int = OUTPUT_SAMPLE_RATE) -> None:
    """Write a float waveform as 16-bit PCM wav via a temporary file + ``os.replace``.

    Args:
        path: Destination path (parent directories are created).
        wav: Float waveform in [-1, 1].
        sample_rate: Sample rate of ``wav``.
    """
    import soundfile as sf

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    pcm = np.clip(np.round(wav.astype(np.float64) * 32767.0), -32768, 32767).astype(np.int16)
    tmp = f"{path}.tmp{os.getpid()}.wav"
    try:
        sf.write(tmp, pcm, sample_rate, subtype="PCM_16", format="WAV")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _process_item(item: SynthItem) -> Tuple[str, bool, float, float, str]:
    """Synthesise and write one item; never raises. Returns (id, ok, dur, cpu, error)."""
    t0 = time.process_time()
    cpu_child = 0.0
    try:
        wav, cpu_child = _synthesize(item.text, item.lang, item.speaker, OUTPUT_SAMPLE_RATE,
                                     item.snr_db, item.seed, item.acoustics)
        write_wav_atomic(item.out_path, wav, OUTPUT_SAMPLE_RATE)
        return (item.utt_id, True, len(wav) / OUTPUT_SAMPLE_RATE,
                time.process_time() - t0 + cpu_child, "")
    except Exception as e:  # noqa: BLE001 - one bad utterance must not stop a batch
        return (item.utt_id, False, 0.0, time.process_time() - t0 + cpu_child,
                f"{type(e).__name__}: {e}")


def _worker_init() -> None:
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, "1")
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    init_engine()


def synthesize_many(items: List[SynthItem], nj: int = 2, progress: bool = True) -> SynthStats:
    """Synthesise many utterances to 16 kHz 16-bit wav files in parallel.

    Each of the ``nj`` worker processes (``spawn`` start method) starts its own
    espeak-ng helper once.  Files are written atomically.  An item that fails
    (unsupported language, empty text, no audio, ...) is logged with its id and
    counted as skipped.

    Args:
        items: Utterances to synthesise.
        nj: Number of worker processes; ``nj <= 1`` runs in this process.
        progress: Show a tqdm progress bar.

    Returns:
        :class:`SynthStats` with counts, durations and timing.
    """
    from tqdm import tqdm

    t_wall = time.perf_counter()
    ok, skipped, utt2dur = 0, [], {}
    audio_s, cpu_s = 0.0, 0.0
    bar = tqdm(total=len(items), desc="synth", unit="utt", disable=not progress,
               dynamic_ncols=True)

    def collect(res: Tuple[str, bool, float, float, str]) -> None:
        nonlocal ok, audio_s, cpu_s
        utt_id, success, dur, cpu, err = res
        cpu_s += cpu
        if success:
            ok += 1
            audio_s += dur
            utt2dur[utt_id] = dur
        else:
            skipped.append(utt_id)
            logger.warning("skipping utterance %s: %s", utt_id, err)
        bar.update(1)

    nj = max(1, min(int(nj), len(items))) if items else 1
    if nj == 1:
        for it in items:
            collect(_process_item(it))
    else:
        ctx = multiprocessing.get_context("spawn")
        chunk = max(1, min(16, len(items) // (nj * 8)))
        with ctx.Pool(nj, initializer=_worker_init) as pool:
            for res in pool.imap_unordered(_process_item, items, chunksize=chunk):
                collect(res)
    bar.close()
    return SynthStats(
        num_ok=ok, num_skipped=len(skipped), skipped_ids=sorted(skipped),
        audio_seconds=audio_s, cpu_seconds=cpu_s,
        wall_seconds=time.perf_counter() - t_wall, utt2dur=utt2dur,
    )


# --------------------------------------------------------------------------- data dirs


def _stable_int(*parts: object) -> int:
    return zlib.crc32("\x1f".join(map(str, parts)).encode("utf-8"))


def _clean_text(text: str) -> str:
    return " ".join(text.split())


def read_text_file(path: str) -> Dict[str, List[str]]:
    """Read ``lang<TAB>text`` lines.

    Args:
        path: UTF-8 text file; blank lines and lines starting with ``#`` are ignored.

    Returns:
        ``{lang: [text, ...]}`` in file order.

    Raises:
        ValueError: The file is missing, a line is not UTF-8, lacks a tab, has an
            empty text, a control character in its text or more than
            :data:`MAX_TEXT_CHARS` characters (``path:line``).
    """
    from usm_espnet.data.kaldi import find_control_char

    out: Dict[str, List[str]] = {}
    if not os.path.isfile(path):
        raise ValueError(f"{path}: file not found")
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8").rstrip("\n").rstrip("\r")
            except UnicodeDecodeError as e:
                raise ValueError(f"{path}:{lineno}: not valid UTF-8 ({e.reason})") from None
            if not line.strip() or line.startswith("#"):
                continue
            if "\t" not in line:
                raise ValueError(f"{path}:{lineno}: expected 'lang<TAB>text'")
            lang, text = line.split("\t", 1)
            bad = find_control_char(text)
            if bad is not None:
                raise ValueError(f"{path}:{lineno}: text contains control character {bad[1]}")
            text = _clean_text(text)
            if not text:
                raise ValueError(f"{path}:{lineno}: empty text")
            if len(text) > MAX_TEXT_CHARS:
                raise ValueError(f"{path}:{lineno}: text of {len(text)} characters; at most "
                                 f"{MAX_TEXT_CHARS} are synthesised as one utterance")
            out.setdefault(lang.strip(), []).append(text)
    return out


def _sentences(langs: Sequence[str], counts: Dict[str, int], seed: int,
               text_file: Optional[str]) -> Dict[str, List[Tuple[str, str]]]:
    """Per language, ``counts[lang]`` (sentence id, text) pairs (cycled if short)."""
    pools: Dict[str, List[Tuple[str, str]]] = {}
    if text_file is not None:
        by_lang = read_text_file(text_file)
        for lang in langs:
            texts = by_lang.get(lang, [])
            if not texts and counts[lang] > 0:
                raise ValueError(f"{text_file} has no lines for {lang!r}")
            pools[lang] = [(f"t{i:05d}", t) for i, t in enumerate(texts)]
    else:
        from usm_espnet.standin.parallel_text import generate_parallel_text

        n = max(counts.values()) if counts else 0
        pt = generate_parallel_text(list(langs), num_sentences=n, seed=seed)
        for lang in langs:
            pools[lang] = [(re.sub(r"[^A-Za-z0-9_.]", "_", str(sid)),
                            _clean_text(pt.text(sid, lang))) for sid in pt.ids]
            if not pools[lang] and counts[lang] > 0:
                raise ValueError(f"generate_parallel_text gave no sentences for {lang!r}")
    out: Dict[str, List[Tuple[str, str]]] = {}
    for lang in langs:
        pool, need = pools[lang], counts[lang]
        sel = []
        for i in range(need):
            sid, text = pool[i % len(pool)]
            rep = i // len(pool)
            sel.append((sid if rep == 0 else f"{sid}r{rep}", text))
        out[lang] = sel
    return out


def synth_datadir(out_dir: str, langs: Sequence[str], num_utts: int, num_speakers: int = 4,
                  seed: int = 0, snr_db: Optional[float] = None, nj: int = 2,
                  text_file: Optional[str] = None, progress: bool = True) -> SynthStats:
    """Synthesise a multilingual corpus into a Kaldi-style data directory.

    Writes ``out_dir/wav/<utt>.wav`` and ``wav.scp``, ``text``, ``utt2spk``,
    ``spk2utt``, ``utt2lang``, ``utt2dur`` in ``out_dir`` (with
    :func:`usm_espnet.data.kaldi.write_datadir`, which replaces ``out_dir`` as a
    whole: other files already in ``out_dir`` are removed, ``wav/`` is kept).
    Utterance ids are ``{lang}-{speaker}-{sentence}`` and speaker ids
    ``{lang}-{speaker}`` (speakers are per language), so every speaker id is a
    prefix of its utterances' ids and Kaldi sort orders agree.

    Args:
        out_dir: Output directory.
        langs: FLEURS codes to synthesise.
        num_utts: Total number of utterances, split evenly across languages (the
            first ``num_utts % len(langs)`` languages get one more).
        num_speakers: Speakers per language (utterances are dealt round-robin).
        seed: Seed for sentences, speakers and noise.
        snr_db: Optional SNR of additive white noise.
        nj: Worker processes.
        text_file: Optional ``lang<TAB>text`` file; otherwise sentences come from
            :func:`usm_espnet.standin.parallel_text.generate_parallel_text`.
        progress: Show a progress bar.

    Returns:
        :class:`SynthStats` of the run; skipped utterances are left out of the data dir.

    Raises:
        UnsupportedLanguageError: A language cannot be synthesised.
        ValueError: Bad arguments or text file.
    """
    langs = list(dict.fromkeys(langs))
    if not langs:
        raise ValueError("no languages given")
    for lang in langs:
        espeak_voice(lang)
    if num_utts < 1 or num_speakers < 1:
        raise ValueError("num_utts and num_speakers must be >= 1")
    base, extra = divmod(num_utts, len(langs))
    counts = {lang: base + (1 if i < extra else 0) for i, lang in enumerate(langs)}
    sents = _sentences(langs, counts, seed, text_file)

    out_dir = os.path.abspath(out_dir)
    wav_dir = os.path.join(out_dir, "wav")
    items: List[SynthItem] = []
    meta: Dict[str, Tuple[str, str, str]] = {}
    for lang in langs:
        speakers = make_speakers(num_speakers, _stable_int(seed, lang))
        for i, (sid, text) in enumerate(sents[lang]):
            spk = speakers[i % len(speakers)]
            spk_id = f"{lang}-{spk.id}"
            utt_id = f"{spk_id}-{sid}"
            if utt_id in meta:  # same sentence twice for a speaker
                utt_id = f"{utt_id}_{i}"
            items.append(SynthItem(utt_id, text, lang, spk, os.path.join(wav_dir, utt_id + ".wav"),
                                   snr_db, _stable_int(seed, utt_id)))
            meta[utt_id] = (text, spk_id, lang)

    stats = synthesize_many(items, nj=nj, progress=progress)
    done = sorted(stats.utt2dur)
    if not done:
        logger.error("no utterance could be synthesised; %s not written", out_dir)
        return stats
    from usm_espnet.data.kaldi import DataDir, write_datadir

    data = DataDir(
        wav_scp={u: os.path.join(wav_dir, u + ".wav") for u in done},
        text={u: meta[u][0] for u in done},
        utt2spk={u: meta[u][1] for u in done},
        utt2lang={u: meta[u][2] for u in done},
        utt2dur={u: stats.utt2dur[u] for u in done},
    )
    # write_datadir swaps in a whole new directory: keep wav/ aside meanwhile.
    parent, name = os.path.split(out_dir)
    stash = os.path.join(parent, f".{name}.wav-{os.getpid()}-{time.time_ns()}")
    os.rename(wav_dir, stash)
    try:
        write_datadir(out_dir, data)
    finally:
        os.makedirs(out_dir, exist_ok=True)
        os.rename(stash, wav_dir)
    return stats
