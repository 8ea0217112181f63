"""The espeak-ng engine: voices, synthetic speakers, deterministic raw synthesis.

The wheel ships ``libespeak-ng.so`` and ``espeak-ng-data``; this module drives the
library through :mod:`ctypes`, so no system package and no network are needed.

Determinism.  espeak-ng keeps synthesis state in globals that survive from one
utterance to the next (pitch-flutter phase, automatic gain control, echo buffers,
``rand()`` state ...), so synthesising the same text twice in one process does
*not* give identical samples.  To make every call a pure function of its
arguments, the library lives in a small helper process (the *zygote*): it
initialises espeak-ng once, never synthesises itself, and forks a short-lived
child for every utterance.  Each child therefore starts from the same pristine
post-initialisation state (fork + voice loading cost a few milliseconds per
utterance).  One zygote is started lazily per Python process (so each
:func:`synthesize_many` worker initialises espeak-ng exactly once), and a
module-level lock serialises access to it.

Public API (other modules code against these names): :data:`ESPEAK_VOICES`,
:data:`VARIANTS`, :class:`UnsupportedLanguageError`, :func:`supported_languages`,
:class:`Speaker`, :func:`make_speakers`, :func:`split_speakers`, :func:`gender_of_variant`,
:func:`synthesize_raw`. Waveform post-processing and batch synthesis into files and data
directories are in :mod:`usm_espnet.standin.synth`.
"""

import atexit
import ctypes
import json
import logging
import math
import os
import random
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import numpy as np

from usm_espnet.data.languages import FLEURS_LANGUAGES

logger = logging.getLogger(__name__)

#: espeak-ng's native output rate (fixed by the library).
ESPEAK_SAMPLE_RATE = 22050

#: Sample rate of the wav files written by :func:`synthesize_many`.
OUTPUT_SAMPLE_RATE = 16000

#: FLEURS code -> espeak-ng voice, for every FLEURS language the wheel speaks.
#: Values are voice *file* names under ``espeak-ng-data/lang/`` (matched
#: case-insensitively by ``espeak_SetVoiceByName``); each was checked against the
#: wheel's data and by synthesising text in the language's FLEURS script.
#: Notes: French is the file ``fr`` (its language tag is ``fr-fr``, which
#: ``SetVoiceByName`` does not resolve); espeak-ng's ``ku`` is Kurmanji in Latin
#: script, so Sorani (``ckb_iq``, Arabic script) is *not* mapped to it; Japanese
#: is left out (see :data:`PARTIAL_VOICES`).  Quality varies: unvocalised Arabic and
#: Hebrew, Thai and Burmese are read approximately.
ESPEAK_VOICES: Dict[str, str] = {
    "af_za": "af", "am_et": "am", "ar_eg": "ar", "as_in": "as", "az_az": "az",
    "be_by": "be", "bg_bg": "bg", "bn_in": "bn", "bs_ba": "bs", "ca_es": "ca",
    "cmn_hans_cn": "cmn", "cs_cz": "cs", "cy_gb": "cy", "da_dk": "da", "de_de": "de",
    "el_gr": "el", "en_us": "en-us", "es_419": "es-419", "et_ee": "et", "fa_ir": "fa",
    "fi_fi": "fi", "fr_fr": "fr", "ga_ie": "ga", "gu_in": "gu", "he_il": "he",
    "hi_in": "hi", "hr_hr": "hr", "hu_hu": "hu", "hy_am": "hy", "id_id": "id",
    "is_is": "is", "it_it": "it", "ka_ge": "ka", "kk_kz": "kk",
    "kn_in": "kn", "ko_kr": "ko", "ky_kg": "ky", "lb_lu": "lb", "lt_lt": "lt",
    "lv_lv": "lv", "mi_nz": "mi", "mk_mk": "mk", "ml_in": "ml", "mr_in": "mr",
    "ms_my": "ms", "mt_mt": "mt", "my_mm": "my", "nb_no": "nb", "ne_np": "ne",
    "nl_nl": "nl", "om_et": "om", "or_in": "or", "pa_in": "pa", "pl_pl": "pl",
    "pt_br": "pt-br", "ro_ro": "ro", "ru_ru": "ru", "sd_in": "sd", "sk_sk": "sk",
    "sl_si": "sl", "sr_rs": "sr", "sv_se": "sv", "sw_ke": "sw", "ta_in": "ta",
    "te_in": "te", "th_th": "th", "tr_tr": "tr", "uk_ua": "uk", "ur_pk": "ur",
    "uz_uz": "uz", "vi_vn": "vi", "yue_hant_hk": "yue",
}

#: FLEURS languages with an espeak-ng voice that cannot read the language's usual
#: text, hence not in :data:`ESPEAK_VOICES`: code -> (voice, reason).
PARTIAL_VOICES: Dict[str, Tuple[str, str]] = {
    "ja_jp": ("ja", "reads kana only; every kanji is spoken as 'Chinese letter' in English"),
}

#: Voice variants (files in ``espeak-ng-data/voices/!v/``) used as speaker timbres:
#: seven male and five female formant sets plus three Klatt-synthesiser voices.
VARIANTS: Tuple[str, ...] = (
    "m1", "m2", "m3", "m4", "m5", "m6", "m7",
    "f1", "f2", "f3", "f4", "f5",
    "klatt", "klatt2", "klatt3",
)

#: Speaking-rate range (words per minute) drawn by :func:`make_speakers`.
RATE_RANGE: Tuple[int, int] = (130, 200)
#: espeak-ng base pitch (0-100, 50 = voice default) drawn by :func:`make_speakers`.
PITCH_RANGE: Tuple[int, int] = (30, 70)
#: espeak-ng pitch range (0 = monotone, 50 = default) drawn by :func:`make_speakers`.
INTONATION_RANGE: Tuple[int, int] = (30, 80)

#: Silence kept (or padded) before and after the speech, in seconds.
EDGE_SILENCE_S = 0.1
#: Longest text (characters) synthesised as one utterance: minutes of speech, far
#: beyond any training utterance; a longer text is refused (a counted skip in batches).
MAX_TEXT_CHARS = 2000

# speak_lib.h constants
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_ESPEAK_CHARS_UTF8 = 1
_ESPEAK_RATE = 1
_ESPEAK_PITCH = 3
_ESPEAK_RANGE = 4
_EE_OK = 0

_ESPEAK_SEED = 0  # fixed seed for espeak-ng's internal noise (clean speech is seed-free)
_CHILD_TIMEOUT_S = 120.0


class UnsupportedLanguageError(ValueError):
    """A FLEURS language (or unknown code) that espeak-ng has no voice for."""


class SynthesisError(RuntimeError):
    """espeak-ng failed or produced no audible audio for an utterance."""


def supported_languages() -> List[str]:
    """FLEURS codes that espeak-ng can speak, sorted.

    Returns:
        Sorted list of FLEURS language codes present in :data:`ESPEAK_VOICES`.
    """
    return sorted(ESPEAK_VOICES)


def espeak_voice(lang: str) -> str:
    """Return the espeak-ng voice for a FLEURS code.

    Args:
        lang: FLEURS language code, e.g. ``"en_us"``.

    Returns:
        The espeak-ng voice name, e.g. ``"en-us"``.

    Raises:
        UnsupportedLanguageError: ``lang`` is not a FLEURS code, or espeak-ng has no
            voice for it.
    """
    if lang not in ESPEAK_VOICES:
        known = "a FLEURS language" if lang in FLEURS_LANGUAGES else "not a FLEURS code"
        raise UnsupportedLanguageError(
            f"espeak-ng has no voice for {lang!r} ({known}); supported: "
            + ", ".join(supported_languages())
        )
    return ESPEAK_VOICES[lang]


def espeak_data_path() -> str:
    """Path of the wheel's ``espeak-ng-data`` directory.

    Returns:
        Absolute path of ``espeak-ng-data``.
    """
    import espeakng_loader

    return espeakng_loader.get_data_path()


def available_voice_files() -> Dict[str, str]:
    """Voice files present in the wheel's data, by lower-cased file name.

    Returns:
        Mapping ``{file name (lower case): path relative to espeak-ng-data/lang}``.
    """
    root = os.path.join(espeak_data_path(), "lang")
    out: Dict[str, str] = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            out[name.lower()] = os.path.relpath(os.path.join(dirpath, name), root)
    return out


def available_variants() -> List[str]:
    """Voice variants present in the wheel's ``espeak-ng-data/voices/!v``.

    Returns:
        Sorted variant file names.
    """
    return sorted(os.listdir(os.path.join(espeak_data_path(), "voices", "!v")))


# --------------------------------------------------------------------------- speakers


@dataclass(frozen=True)
class Speaker:
    """A synthetic speaker: an espeak-ng variant plus prosody settings.

    Args:
        variant: Voice variant name from :data:`VARIANTS` (timbre).
        rate: Speaking rate in words per minute (espeak-ng accepts 80-450).
        pitch: Base pitch, 0-100 (50 = the variant's default).
        pitch_range: Pitch range, 0-100 (0 = monotone, 50 = default).
        id: Short stable identifier, e.g. ``"m3r170p45"`` (Kaldi-safe).
    """

    variant: str
    rate: int
    pitch: int
    pitch_range: int
    id: str


def _speaker_id(variant: str, rate: int, pitch: int) -> str:
    return f"{variant}r{rate:03d}p{pitch:02d}"


def make_speakers(n: int, seed: int) -> List[Speaker]:
    """Draw ``n`` distinct speakers deterministically from ``seed``.

    Variants are used in a seeded round-robin order (so ``n <= len(VARIANTS)``
    speakers all have different timbres); rate, pitch and pitch range are drawn
    uniformly from :data:`RATE_RANGE`, :data:`PITCH_RANGE`, :data:`INTONATION_RANGE`.
    Speaker ids are unique within the returned list.

    Args:
        n: Number of speakers (>= 0).
        seed: Random seed; the same ``(n, seed)`` always gives the same speakers, and
            the first ``k`` speakers of ``make_speakers(n, s)`` do not depend on ``n``.

    Returns:
        List of ``n`` :class:`Speaker`.

    Raises:
        ValueError: ``n`` is negative or too large to keep ids unique.
    """
    capacity = len(VARIANTS) * (RATE_RANGE[1] - RATE_RANGE[0] + 1) * (
        PITCH_RANGE[1] - PITCH_RANGE[0] + 1)
    if n < 0 or n > capacity // 2:
        raise ValueError(f"n must be in [0, {capacity // 2}], got {n}")
    rng = random.Random(f"usm-espnet-speakers-{seed}")
    order: List[str] = []
    speakers: List[Speaker] = []
    seen = set()
    while len(speakers) < n:
        if not order:
            order = list(VARIANTS)
            rng.shuffle(order)
        variant = order.pop(0)
        while True:
            rate = rng.randint(*RATE_RANGE)
            pitch = rng.randint(*PITCH_RANGE)
            prange = rng.randint(*INTONATION_RANGE)
            sid = _speaker_id(variant, rate, pitch)
            if sid not in seen:
                break
        seen.add(sid)
        speakers.append(Speaker(variant, rate, pitch, prange, sid))
    return speakers


def gender_of_variant(variant: str) -> str:
    """FLEURS gender of an espeak-ng voice variant: ``m*`` MALE, ``f*`` FEMALE, else OTHER.

    Args:
        variant: Variant name, e.g. ``"m3"``, ``"f1"``, ``"klatt"``.

    Returns:
        ``MALE``, ``FEMALE`` or ``OTHER``.
    """
    if len(variant) > 1 and variant[0] == "m" and variant[1:].isdigit():
        return "MALE"
    if len(variant) > 1 and variant[0] == "f" and variant[1:].isdigit():
        return "FEMALE"
    return "OTHER"


def split_speakers(num_train: int, num_test: int, seed: int) -> Tuple[list, list]:
    """Train and dev/test speakers with disjoint ids and, where possible, disjoint timbres.

    The espeak-ng variants are partitioned in proportion to the two counts; train
    speakers only use the first part, dev/test speakers only the second, so a test
    voice's timbre is never heard in training (prosody settings also differ).

    Args:
        num_train: Number of train speakers.
        num_test: Number of dev/test speakers.
        seed: Random seed (as for :func:`make_speakers`).

    Returns:
        ``(train speakers, dev/test speakers)``, lists of :class:`Speaker`.
    """
    nv = len(VARIANTS)
    n_test_var = min(nv - 1, max(1, round(nv * num_test / (num_train + num_test))))
    n_train_var = nv - n_test_var
    need_rounds = max(math.ceil(num_train / n_train_var), math.ceil(num_test / n_test_var))
    pool = make_speakers(nv * (need_rounds + 1), seed)
    first_round = [s.variant for s in pool[:nv]]
    test_variants = set(first_round[n_train_var:])
    train = [s for s in pool if s.variant not in test_variants][:num_train]
    test = [s for s in pool if s.variant in test_variants][:num_test]
    return train, test


# --------------------------------------------------------------------------- zygote


def _read_exact(fd: int, n: int) -> bytes:
    chunks = []
    while n > 0:
        b = os.read(fd, min(n, 1 << 20))
        if not b:
            raise EOFError("pipe closed")
        chunks.append(b)
        n -= len(b)
    return b"".join(chunks)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _send(fd: int, header: dict, payload: bytes = b"") -> None:
    h = json.dumps(header).encode("utf-8")
    _write_all(fd, struct.pack("<II", len(h), len(payload)) + h + payload)


def _recv(fd: int) -> Tuple[dict, bytes]:
    hlen, plen = struct.unpack("<II", _read_exact(fd, 8))
    header = json.loads(_read_exact(fd, hlen).decode("utf-8"))
    payload = _read_exact(fd, plen) if plen else b""
    return header, payload


def _zygote_main() -> None:  # pragma: no cover - runs in the helper process
    """Entry point of the helper process that owns the espeak-ng library.

    Protocol on stdin/stdout: requests and replies are ``<II`` (header length,
    payload length) + JSON header + payload.  A ``synth`` request is answered with
    raw little-endian int16 samples at 22050 Hz produced by a freshly forked child.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the client decides when we stop (EOF)
    proto_in = 0
    proto_out = os.dup(1)
    os.dup2(2, 1)  # anything the library prints goes to stderr, not the protocol
    import espeakng_loader

    lib = ctypes.CDLL(espeakng_loader.get_library_path())
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_Initialize.restype = ctypes.c_int
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetVoiceByName.restype = ctypes.c_int
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_SetParameter.restype = ctypes.c_int
    lib.espeak_Synth.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                 ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
    lib.espeak_Synth.restype = ctypes.c_int
    lib.espeak_Synchronize.restype = ctypes.c_int
    lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
    libc = ctypes.CDLL(None)

    data_parent = os.path.dirname(espeakng_loader.get_data_path()).encode()
    rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 200, data_parent, 0)
    if rate != ESPEAK_SAMPLE_RATE:
        _send(proto_out, {"ok": False, "error": f"espeak_Initialize returned {rate}"})
        return
    chunks: List[bytes] = []
    callback_type = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short),
                                     ctypes.c_int, ctypes.c_void_p)

    def on_audio(wav, numsamples, events):  # noqa: ANN001
        if wav and numsamples > 0:
            chunks.append(ctypes.string_at(wav, numsamples * 2))
        return 0

    callback = callback_type(on_audio)
    lib.espeak_SetSynthCallback(callback)
    _send(proto_out, {"ok": True, "sample_rate": rate, "pid": os.getpid()})

    def run_child(req: dict, wfd: int) -> None:
        status = lib.espeak_SetVoiceByName(req["voice"].encode("utf-8"))
        if status != _EE_OK:
            _send(wfd, {"ok": False, "error": f"espeak_SetVoiceByName({req['voice']!r}) "
                                              f"returned {status}"})
            return
        for param, key in ((_ESPEAK_RATE, "rate"), (_ESPEAK_PITCH, "pitch"),
                           (_ESPEAK_RANGE, "range")):
            lib.espeak_SetParameter(param, int(req[key]), 0)
        libc.srand(_ESPEAK_SEED)
        lib.espeak_ng_SetRandSeed(_ESPEAK_SEED)
        text = req["text"].encode("utf-8") + b"\0"
        status = lib.espeak_Synth(text, len(text), 0, _POS_CHARACTER, 0, _ESPEAK_CHARS_UTF8,
                                  None, None)
        lib.espeak_Synchronize()
        if status != _EE_OK:
            _send(wfd, {"ok": False, "error": f"espeak_Synth returned {status}"})
            return
        _send(wfd, {"ok": True}, b"".join(chunks))

    while True:
        try:
            req, _ = _recv(proto_in)
        except EOFError:
            return
        if req.get("op") == "exit":
            return
        # NB: never call espeak_SetVoiceByName here: each voice change queues a wavegen
        # command that only synthesis consumes; ~170 of them overflow the queue.
        rfd, wfd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(rfd)
            code = 0
            try:
                run_child(req, wfd)
            except BaseException as e:  # noqa: BLE001
                code = 1
                try:
                    _send(wfd, {"ok": False, "error": f"{type(e).__name__}: {e}"})
                except BaseException:  # noqa: BLE001
                    pass
            os._exit(code)
        os.close(wfd)
        buf = []
        deadline = time.monotonic() + _CHILD_TIMEOUT_S
        timed_out = False
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                os.kill(pid, signal.SIGKILL)
                break
            ready, _, _ = select.select([rfd], [], [], left)
            if ready:
                b = os.read(rfd, 1 << 20)
                if not b:
                    break
                buf.append(b)
        os.close(rfd)
        _, wstatus, usage = os.wait4(pid, 0)
        cpu = usage.ru_utime + usage.ru_stime
        data = b"".join(buf)
        try:
            if timed_out:
                raise ValueError(f"synthesis timed out after {_CHILD_TIMEOUT_S:.0f} s")
            if len(data) < 8:
                raise ValueError(f"synthesis child died (wait status {wstatus})")
            hlen, plen = struct.unpack("<II", data[:8])
            header = json.loads(data[8:8 + hlen].decode("utf-8"))
            payload = data[8 + hlen:8 + hlen + plen]
            if len(payload) != plen:
                raise ValueError("truncated reply from synthesis child")
        except ValueError as e:
            header, payload = {"ok": False, "error": str(e)}, b""
        header["cpu"] = cpu
        _send(proto_out, header, payload)


class _Zygote:
    """Client side of the helper process (one per Python process)."""

    def __init__(self) -> None:
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env = dict(os.environ)
        extra = env.get("PYTHONPATH")
        env["PYTHONPATH"] = root + (os.pathsep + extra if extra else "")
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = "1"
        self.proc = subprocess.Popen(
            [sys.executable, "-c",
             "from usm_espnet.standin.espeak import _zygote_main; _zygote_main()"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, close_fds=True,
        )
        self.owner_pid = os.getpid()
        try:
            header, _ = _recv(self.proc.stdout.fileno())
        except (EOFError, struct.error) as e:
            self.close()
            raise SynthesisError("the espeak-ng helper process failed to start "
                                 "(see its messages on stderr)") from e
        if not header.get("ok"):
            self.close()
            raise SynthesisError(f"could not initialise espeak-ng: {header.get('error')}")

    def request(self, req: dict) -> Tuple[dict, bytes]:
        _send(self.proc.stdin.fileno(), req)
        return _recv(self.proc.stdout.fileno())

    def alive(self) -> bool:
        return self.proc.poll() is None and self.owner_pid == os.getpid()

    def close(self) -> None:
        if self.owner_pid != os.getpid():
            return
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=5)
        except Exception:  # noqa: BLE001
            self.proc.kill()


_LOCK = threading.Lock()
_ZYGOTE: Optional[_Zygote] = None


def _close_zygote() -> None:
    global _ZYGOTE
    if _ZYGOTE is not None:
        _ZYGOTE.close()
        _ZYGOTE = None


atexit.register(_close_zygote)


def init_engine() -> None:
    """Start this process's espeak-ng helper (idempotent; also done lazily)."""
    global _ZYGOTE
    with _LOCK:
        if _ZYGOTE is None or not _ZYGOTE.alive():
            _ZYGOTE = _Zygote()


def synthesize_raw(text: str, voice: str, rate: int = 175, pitch: int = 50,
                   pitch_range: int = 50) -> Tuple[np.ndarray, float]:
    """Run espeak-ng on ``text`` and return its raw output.

    Args:
        text: UTF-8 text to speak.
        voice: espeak-ng voice name, optionally with ``+variant`` (e.g. ``"en-us+m3"``).
        rate: Words per minute.
        pitch: Base pitch 0-100.
        pitch_range: Pitch range 0-100.

    Returns:
        ``(samples, cpu_seconds)``: int16 mono samples at 22050 Hz (not trimmed) and
        the CPU time the synthesis child used.

    Raises:
        SynthesisError: espeak-ng rejected the voice or failed.
    """
    global _ZYGOTE
    req = {"op": "synth", "text": text, "voice": voice, "rate": int(rate),
           "pitch": int(pitch), "range": int(pitch_range)}
    with _LOCK:
        for attempt in range(2):
            if _ZYGOTE is None or not _ZYGOTE.alive():
                _ZYGOTE = _Zygote()
            try:
                header, payload = _ZYGOTE.request(req)
                break
            except (EOFError, OSError, struct.error) as e:
                _ZYGOTE.proc.kill()
                _ZYGOTE.proc.wait()
                _ZYGOTE = None
                if attempt == 1:
                    raise SynthesisError(f"espeak-ng helper process failed: {e}") from e
    if not header.get("ok"):
        raise SynthesisError(header.get("error", "unknown espeak-ng error"))
    return np.frombuffer(payload, dtype="<i2").copy(), float(header.get("cpu", 0.0))
