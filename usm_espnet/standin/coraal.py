"""The CORAAL stand-in: synthetic interviews in exactly CORAAL's published layout.

:func:`make_standin_coraal` writes interviews (an interviewer's questions, an interviewee's
answers with CORAAL's markup: pauses, masked spans, overlaps, non-speech sounds) spoken by
espeak-ng voices at 44.1 kHz, with per-component metadata, as
:func:`usm_espnet.corpora.coraal.prepare_coraal` reads them (see
:mod:`usm_espnet.corpora.coraal` for the layout).
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import re
import shutil
import tarfile
import tempfile
import time
from dataclasses import asdict, dataclass
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np

from usm_espnet.corpora.coraal import (
    CORAAL_SAMPLE_RATE,
    DONE_MARKER,
    TRANSCRIPT_COLUMNS,
)
from usm_espnet.standin.marker import params_hash, read_done_marker
from usm_espnet.utils import atomic_write_text, replace_dir

__all__ = ["CoraalStandinStats", "make_standin_coraal"]

logger = logging.getLogger(__name__)

PathLike = Union[str, "os.PathLike[str]"]

#: Bump when the stand-in generator changes what it writes.
STANDIN_VERSION = 1


# ------------------------------------------------------------------------ stand-in

# Interview text written for this project: an interviewer's questions, an interviewee's
# answers with slots. Numbers are spelt out (no digits), as CORAAL transcribes them.
_QUESTIONS = (
    "so where did you grow up",
    "what was your neighborhood like back then",
    "tell me about the school you went to",
    "what did you do for fun when you were young",
    "how long have you lived around here",
    "what kind of work did your family do",
    "do you remember your first job",
    "how has the neighborhood changed",
    "who did you spend most of your time with growing up",
    "what was a normal sunday like for your family",
    "did you ever think about moving away",
    "what do young people do around here now",
)
_ANSWERS = (
    "I grew up right off {street} with my {relative}",
    "we used to {activity} every summer",
    "my {relative} worked at the {workplace} for {number} years",
    "it was a lot of families on our block and everybody knew everybody",
    "my best friend was {name} and we did everything together",
    "we went to the church on {street} every sunday",
    "I been living here about {number} years now",
    "school was alright and I liked most of my teachers",
    "we didn't have much but we had each other",
    "on the weekend we would {activity} down by the {place}",
    "my first job was at the {workplace} when I was {number}",
    "they tore down the {place} and put up new houses",
    "my {relative} always told us to stay out of trouble",
    "we walked to school no matter how cold it got",
    "a lot of people moved away but I stayed",
    "my {relative} used to take us to the {place} on saturdays",
)
_SLOTS = {
    "street": ("Maple Street", "Jackson Avenue", "Seventh Street", "Park Road", "Church Street",
               "Hill Avenue"),
    "relative": ("mother", "father", "grandmother", "grandfather", "uncle", "aunt", "brother",
                 "sister", "cousins"),
    "activity": ("play ball in the street", "jump rope", "ride our bikes", "go fishing",
                 "sing in the choir", "play cards", "go swimming"),
    "workplace": ("post office", "hospital", "car plant", "shipyard", "grocery store",
                  "school cafeteria", "laundry"),
    "place": ("river", "park", "corner store", "rec center", "old theater", "ball field"),
    "name": ("Tony", "Denise", "Marcus", "Shirley", "Calvin", "Loretta"),
}
_BACKCHANNELS = ("yeah", "okay", "right", "uh huh", "I see")
_AGES = {1: (19, 29), 2: (30, 50), 3: (51, 64), 4: (65, 90)}


@dataclass
class CoraalStandinStats:
    """What :func:`make_standin_coraal` wrote.

    Args:
        out_root: Corpus root.
        components: Components written.
        interviews: Interview files written.
        rows: Transcript rows written (pause rows included).
        seconds: Audio written, in seconds.
        num_skipped: Sentences espeak-ng failed on (left out, logged).
        wall_seconds: Time taken.
        reused: True when an existing stand-in with the same parameters was kept.
    """

    out_root: str
    components: List[str]
    interviews: int = 0
    rows: int = 0
    seconds: float = 0.0
    num_skipped: int = 0
    wall_seconds: float = 0.0
    reused: bool = False

    def summary(self) -> str:
        """One line."""
        return (f"{self.out_root}: stand-in CORAAL, {len(self.components)} components "
                f"({', '.join(self.components)}), {self.interviews} interviews, {self.rows} rows, "
                f"{self.seconds / 60:.1f} min of audio{' (reused)' if self.reused else ''}")


@dataclass
class _Sentence:
    """One sentence to speak and the row content to write for it."""

    key: str
    spoken: str
    content: str
    spkr: str
    kind: str  # "q", "a" or "bc" (backchannel)
    path: str = ""
    samples: Optional[np.ndarray] = None


def _fill(template: str, rng: random.Random) -> Tuple[str, Optional[str]]:
    """Fill slots; returns (text, the name used or None)."""
    from num2words import num2words

    name = None
    out = template
    for slot in re.findall(r"\{(\w+)\}", template):
        if slot == "number":
            value = num2words(rng.randint(2, 60))
        else:
            value = rng.choice(_SLOTS[slot])
            if slot == "name":
                name = value
        out = out.replace("{" + slot + "}", value, 1)
    return out, name


def _answer_markup(text: str, name: Optional[str], rng: random.Random, counter: List[int]
                   ) -> Tuple[str, str]:
    """(spoken text, transcript content) of an answer, with CORAAL markup inserted."""
    words = text.split()
    spoken = text
    if name is not None:  # redacted in the transcript, silenced (left out) in the audio
        counter[0] += 1
        words = [f"/RD-NAME-{counter[0]}/" if w == name else w for w in words]
        spoken = " ".join(w for w in text.split() if w != name)
    candidates = [i for i, w in enumerate(words) if not w.startswith("/") and len(w) > 3]
    r = rng.random()
    if r < 0.08 and candidates:
        # mostly unintelligible: the transcriber caught one word of the sentence
        words = ["/unintelligible/", words[rng.choice(candidates)], "/inaudible/"]
    elif r < 0.25 and candidates:
        words[rng.choice(candidates)] = "/unintelligible/"
    elif r < 0.35 and candidates:
        i = rng.choice(candidates)
        words[i] = f"(({words[i]}))"
    content = " ".join(words)
    if rng.random() < 0.2:
        content = content + " <laugh>" if rng.random() < 0.5 else "<laugh> " + content
    return spoken, content


def _interview_plan(comp: str, k: int, spk: str, interviewer: str, turns: int,
                    rng: random.Random) -> List[Tuple[str, object]]:
    """The sequence of events of one interview: sentences, pauses, overlaps."""
    plan: List[Tuple[str, object]] = []
    counter = [0]
    questions = list(_QUESTIONS)
    rng.shuffle(questions)
    for t in range(turns):
        q = questions[t % len(questions)]
        plan.append(("say", _Sentence(f"{comp}-{k}-q{t}", q, q, interviewer, "q")))
        plan.append(("gap", rng.uniform(0.3, 0.8)))
        for s in range(rng.choice((1, 1, 2))):
            if s:
                plan.append(("pause", round(rng.uniform(0.5, 1.5), 2)))
            text, name = _fill(rng.choice(_ANSWERS), rng)
            spoken, content = _answer_markup(text, name, rng, counter)
            plan.append(("say", _Sentence(f"{comp}-{k}-a{t}-{s}", spoken, content, spk, "a")))
        if rng.random() < 0.3:  # the interviewer's backchannel overlaps the answer's end
            bc = rng.choice(_BACKCHANNELS)
            plan.append(("overlap", _Sentence(f"{comp}-{k}-b{t}", bc, f"[{bc}]", interviewer, "bc")))
        plan.append(("gap", rng.uniform(0.3, 0.8)))
    return plan


def make_standin_coraal(
    out_root: PathLike,
    *,
    components: Sequence[str] = ("ATL", "DCB"),
    interviews_per_component: int = 3,
    turns_per_interview: int = 8,
    version: str = "2023.06",
    seed: int = 0,
    nj: int = 2,
    archive: bool = False,
    progress: bool = True,
    force: bool = False,
) -> CoraalStandinStats:
    """Write a synthetic CORAAL in the real layout: two-speaker interviews with markup.

    For each component ``C`` and interview ``k``: an interviewer ``C_int_01`` asks
    questions, an interviewee ``C_se<s>_ag<a>_<f|m>_<kk>`` answers (both synthetic
    espeak-ng voices, distinct timbres where possible), written as
    ``C_audio_part01_<version>/<spk>_1.wav`` (44.1 kHz, 16-bit mono),
    ``C_textfiles_<version>/<spk>_1.txt`` (the real header and columns) and one
    ``C_metadata_<version>.txt`` per component (columns ``CORAAL.Spkr CORAAL.File
    CORAAL.Sub Gender Age Age.Group``, a subset of the real file's). Transcripts carry
    the markup of the real corpus: pause rows ``(pause 0.84)`` with that much silence,
    ``<laugh>``, ``/unintelligible/`` over a word that is still spoken, redacted names
    ``/RD-NAME-1/`` left out of the audio, ``((uncertain))`` words, rows that are mostly
    unintelligible, and overlapped backchannels ``[yeah]`` mixed into the end of the
    answer they overlap. Row times are those of the synthesised speech. With
    ``archive`` the two directories are shipped as ``.tar.gz`` as downloaded.

    A rerun with the same parameters does nothing; the corpus is built beside
    ``out_root`` and renamed into place.

    Args:
        out_root: Corpus root to write.
        components: Component codes (three capital letters each).
        interviews_per_component: Interviews (one file each) per component.
        turns_per_interview: Question/answer turns per interview.
        version: Version suffix of the directory and metadata names.
        seed: Seed of text, markup, voices and timing.
        nj: Synthesis worker processes.
        archive: Ship ``<C>_audio_*`` and ``<C>_textfiles_*`` as ``.tar.gz``.
        progress: Show a progress bar.
        force: Rebuild even when a stand-in with these parameters exists.

    Returns:
        :class:`CoraalStandinStats`.

    Raises:
        ValueError: Bad arguments, or ``out_root`` exists, is not empty and was not made
            here.
    """
    from scipy.signal import resample_poly

    from usm_espnet.standin.espeak import OUTPUT_SAMPLE_RATE, gender_of_variant, make_speakers
    from usm_espnet.standin.synth import SynthItem, synthesize_many, write_wav_atomic

    t0 = time.perf_counter()
    comps = list(dict.fromkeys(c.upper() for c in components))
    if not comps or any(not re.fullmatch(r"[A-Z]{3}", c) for c in comps):
        raise ValueError(f"components must be three-letter codes such as ATL, got {list(components)}")
    for name, value in (("interviews_per_component", interviews_per_component),
                        ("turns_per_interview", turns_per_interview)):
        if int(value) != value or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    if not re.fullmatch(r"[0-9.]+", version):
        raise ValueError(f"version must look like 2018.10.06, got {version!r}")
    out_root = os.path.abspath(os.fspath(out_root))
    params = {"components": comps, "interviews": interviews_per_component,
              "turns": turns_per_interview, "version": version, "seed": seed, "archive": archive,
              "generator": STANDIN_VERSION}
    digest = params_hash(params)
    if os.path.lexists(out_root):
        old = read_done_marker(out_root, DONE_MARKER, "make_standin_coraal")
        if old and old.get("hash") == digest and not force:
            stats = CoraalStandinStats(**old["stats"])
            stats.reused = True
            logger.info("%s: stand-in CORAAL with these parameters exists; nothing to do", out_root)
            return stats

    rng = random.Random(f"standin-coraal-{seed}")
    voices = make_speakers(len(comps) * (interviews_per_component + 1), seed)
    interviews = []  # (comp, k, spk, interviewer, voice of spk, voice of interviewer, plan, meta)
    v = 0
    for comp in comps:
        iv_voice = voices[v]
        v += 1
        interviewer = f"{comp}_int_01"
        for k in range(1, interviews_per_component + 1):
            voice = voices[v]
            v += 1
            g = "m" if gender_of_variant(voice.variant) == "MALE" else "f"
            ag = rng.randint(1, 4)
            spk = f"{comp}_se{rng.randint(0, 3)}_ag{ag}_{g}_{k:02d}"
            plan = _interview_plan(comp, k, spk, interviewer, turns_per_interview, rng)
            meta = {"CORAAL.Spkr": spk, "CORAAL.File": f"{spk}_1", "CORAAL.Sub": comp,
                    "Gender": "Male" if g == "m" else "Female",
                    "Age": str(rng.randint(*_AGES[ag])), "Age.Group": str(ag)}
            interviews.append((comp, k, spk, interviewer, voice, iv_voice, plan, meta))

    parent, name = os.path.split(out_root)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{name}.tmp-", dir=parent)
    stats = CoraalStandinStats(out_root=out_root, components=comps)
    try:
        build = os.path.join(tmp, name)
        synth_dir = os.path.join(tmp, "synth")
        items = []
        for comp, k, spk, interviewer, voice, iv_voice, plan, _ in interviews:
            for kind, ev in plan:
                if kind in ("say", "overlap"):
                    ev.path = os.path.join(synth_dir, f"{ev.key}.wav")
                    items.append(SynthItem(ev.key, ev.spoken, "en_us",
                                           voice if ev.spkr == spk else iv_voice, ev.path))
        res = synthesize_many(items, nj=nj, progress=progress)
        stats.num_skipped = res.num_skipped
        failed = set(res.skipped_ids)
        import soundfile as sf

        sr = OUTPUT_SAMPLE_RATE
        common = math.gcd(CORAAL_SAMPLE_RATE, sr)
        up, down = CORAAL_SAMPLE_RATE // common, sr // common
        for comp in comps:
            audio_dir = os.path.join(build, f"{comp}_audio_part01_{version}")
            text_dir = os.path.join(build, f"{comp}_textfiles_{version}")
            os.makedirs(audio_dir)
            os.makedirs(text_dir)
            metas = []
            for icomp, k, spk, interviewer, voice, iv_voice, plan, meta in interviews:
                if icomp != comp:
                    continue
                pieces: List[Tuple[int, np.ndarray]] = []
                rows: List[Tuple[int, str, float, str, float]] = []
                cursor = int(0.5 * sr)
                last = None  # (start, end, row index) of the last answer sentence
                for kind, ev in plan:
                    if kind == "gap":
                        cursor += int(ev * sr)
                    elif kind == "pause":
                        rows.append((cursor, spk, cursor / sr, f"(pause {ev:.2f})", cursor / sr + ev))
                        cursor += int(ev * sr)
                    elif ev.key in failed:
                        continue
                    else:
                        x, _ = sf.read(ev.path, dtype="float32")
                        if kind == "say":
                            pieces.append((cursor, x))
                            rows.append((cursor, ev.spkr, cursor / sr, ev.content, (cursor + len(x)) / sr))
                            if ev.kind == "a":
                                last = (cursor, cursor + len(x), len(rows) - 1)
                            cursor += len(x)
                        elif last is not None:  # overlap the end of the last answer
                            a_start, a_end, idx = last
                            start = max(a_start, a_end - int(0.4 * sr))
                            pieces.append((start, x))
                            rows.append((start, ev.spkr, start / sr, ev.content, (start + len(x)) / sr))
                            _, aspk, ast, acontent, aen = rows[idx]
                            words = acontent.split()
                            plain = [i for i, w in enumerate(words)
                                     if not w.startswith(("<", "/", "(", "["))]
                            if plain:  # its last word is the overlapped one
                                words[plain[-1]] = f"[{words[plain[-1]]}]"
                                rows[idx] = (rows[idx][0], aspk, ast, " ".join(words), aen)
                            cursor = max(cursor, start + len(x))
                            last = None
                total = cursor + int(0.5 * sr)
                wav = np.zeros(total, dtype=np.float32)
                for start, x in pieces:
                    wav[start:start + len(x)] += x
                peak = float(np.max(np.abs(wav))) if total else 0.0
                if peak > 0.99:
                    wav *= 0.99 / peak
                wav44 = resample_poly(wav, up, down).astype(np.float32)
                write_wav_atomic(os.path.join(audio_dir, f"{spk}_1.wav"), wav44, CORAAL_SAMPLE_RATE)
                rows.sort(key=lambda r: r[0])
                lines = ["\t".join(TRANSCRIPT_COLUMNS)]
                for i, (_, rspk, st, content, en) in enumerate(rows, start=1):
                    lines.append(f"{i}\t{rspk}\t{st:.4f}\t{content}\t{en:.4f}")
                atomic_write_text(os.path.join(text_dir, f"{spk}_1.txt"), "\n".join(lines) + "\n")
                stats.interviews += 1
                stats.rows += len(rows)
                stats.seconds += len(wav44) / CORAAL_SAMPLE_RATE
                metas.append(meta)
            cols = list(metas[0])
            atomic_write_text(os.path.join(build, f"{comp}_metadata_{version}.txt"),
                              "\n".join(["\t".join(cols)] + ["\t".join(m[c] for c in cols)
                                                             for m in metas]) + "\n")
            if archive:
                for d in (audio_dir, text_dir):
                    with tarfile.open(d + ".tar.gz", "w:gz") as tar:
                        tar.add(d, arcname=os.path.basename(d))
                    shutil.rmtree(d)
        stats.wall_seconds = time.perf_counter() - t0
        with open(os.path.join(build, DONE_MARKER), "w", encoding="utf-8") as f:
            json.dump({"hash": digest, "params": params, "stats": asdict(stats)}, f, indent=1)
        replace_dir(build, out_root)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    logger.info("%s (%.1f s)", stats.summary(), stats.wall_seconds)
    return stats
