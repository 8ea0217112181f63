"""The CoVoST 2 stand-in: a small synthetic corpus in exactly CoVoST 2's published layout.

:func:`make_standin_covost2` writes the parallel text of
:mod:`usm_espnet.standin.parallel_text` (the ``en_us`` text of a sentence id is the
translation of its text in every other language) spoken in the source languages by
espeak-ng voices, stored as 48 kHz mp3 clips like Common Voice's, with the CoVoST tsv files
beside them (see :mod:`usm_espnet.corpora.covost2` for the layout, and
:func:`~usm_espnet.corpora.covost2.prepare_covost2` for its reader).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Dict, List, Optional, Sequence, Tuple, Union

from usm_espnet.corpora.covost2 import (
    COVOST2_SPLITS,
    COVOST2_TO_FLEURS,
    COVOST2_X_EN_LANGS,
    COVOST_COLUMNS,
    CV_COLUMNS,
    CV_SAMPLE_RATE,
    DONE_MARKER,
    SPLIT_VALUES,
    check_langs,
    covost_tsv_name,
    utt_id_of,
    write_escaped_tsv,
)
from usm_espnet.standin.marker import params_hash, read_done_marker
from usm_espnet.utils import replace_dir

__all__ = ["STANDIN_DEFAULT_LANGS", "StandinStats", "make_standin_covost2", "standin_languages"]

logger = logging.getLogger(__name__)

PathLike = Union[str, "os.PathLike[str]"]

#: Stand-in languages when none are given.
STANDIN_DEFAULT_LANGS: Tuple[str, ...] = ("fr", "de", "es")
#: Bump when the stand-in generator changes what it writes (invalidates old markers).
STANDIN_VERSION = 1

# ------------------------------------------------------------------------- stand-in


def standin_languages() -> List[str]:
    """CoVoST 2 source languages the stand-in can synthesise, in the paper's order.

    A language needs an espeak-ng voice and parallel text (``mn``, ``ja`` and ``cy``
    lack one of them). Languages with CLDR-only parallel text (``ca``, ``et``, ``lv``,
    ``sl``, ``ta``) restrict every language of a stand-in to lists of names.
    """
    from usm_espnet.standin import parallel_text
    from usm_espnet.standin.espeak import ESPEAK_VOICES

    return [lang for lang in COVOST2_X_EN_LANGS
            if COVOST2_TO_FLEURS[lang] in ESPEAK_VOICES
            and COVOST2_TO_FLEURS[lang] in parallel_text.SUPPORTED_LANGS]


@dataclass
class StandinStats:
    """Summary of a stand-in corpus written by :func:`make_standin_covost2`.

    Args:
        out_root: The stand-in root.
        cv_root: Its Common Voice part (``<out_root>/cv``).
        covost_dir: Its CoVoST tsv directory (``<out_root>/covost``).
        langs: Source languages.
        num_utts: Clips per split (all languages).
        hours: Hours of audio per split.
        num_skipped: Utterances that synthesis failed on (left out).
        wall_seconds: Wall time of the whole build.
        reused: True when an existing corpus with the same parameters was kept.
    """

    out_root: str
    cv_root: str
    covost_dir: str
    langs: List[str]
    num_utts: Dict[str, int]
    hours: Dict[str, float]
    num_skipped: int = 0
    wall_seconds: float = 0.0
    reused: bool = False

    def summary(self) -> str:
        """A short human-readable summary."""
        per_split = ", ".join(f"{s} {self.num_utts.get(s, 0)} clips / {self.hours.get(s, 0.0):.3f} h"
                              for s in COVOST2_SPLITS)
        return "\n".join([
            f"stand-in CoVoST 2 at {self.out_root}" + (" (already built, reused)" if self.reused else ""),
            f"  source languages ({len(self.langs)}): {', '.join(self.langs)} -> en",
            f"  {per_split}; synthesis failures: {self.num_skipped}",
            f"  COMMONVOICE={self.cv_root} COVOST2={self.covost_dir} ({self.wall_seconds:.1f} s)",
        ])


def _to_mp3(wav_path: str, mp3_path: str, sample_rate: int) -> float:
    """16 kHz wav -> ``sample_rate`` mono mp3; returns the duration in seconds."""
    import soundfile as sf

    from usm_espnet.standin.synth import resample

    x, sr = sf.read(wav_path, dtype="float32")
    y = resample(x, sr, sample_rate) if sr != sample_rate else x
    tmp = f"{mp3_path}.tmp.mp3"
    sf.write(tmp, y, sample_rate, format="MP3")
    os.replace(tmp, mp3_path)
    return len(y) / sample_rate


def make_standin_covost2(
    out_root: PathLike,
    langs: Sequence[str] = STANDIN_DEFAULT_LANGS,
    num_sentences: int = 60,
    utts_per_sentence: int = 1,
    num_train_speakers: int = 8,
    num_test_speakers: int = 3,
    seed: int = 0,
    nj: int = 2,
    sample_rate: int = CV_SAMPLE_RATE,
    fractions: Optional[Dict[str, float]] = None,
    progress: bool = True,
    force: bool = False,
) -> StandinStats:
    """Write a synthetic X -> En corpus in exactly the CoVoST 2 + Common Voice layout.

    ``<out_root>/cv/<lang>/clips/common_voice_<lang>_<n>.mp3`` (mono mp3 at
    ``sample_rate``), ``<out_root>/cv/<lang>/validated.tsv`` (Common Voice 4's columns)
    and ``<out_root>/covost/covost_v2.<lang>_en.tsv`` (``path sentence translation
    client_id split``; every fifth train row is marked ``train_covost`` as in the
    release), read by :func:`prepare_covost2` like the real corpus.

    Sentences come from :func:`usm_espnet.standin.parallel_text.generate_parallel_text`
    over the source languages plus ``en_us``; the ``en_us`` text is the translation.
    Sentence ids are split with :func:`~usm_espnet.standin.parallel_text.split_ids`, so no
    dev/test sentence (in any language, English included) is in train. Each sentence is
    read in every source language by ``utts_per_sentence`` speakers; train and dev/test
    speakers are disjoint (other espeak-ng timbres where the counts allow). A
    ``.done`` marker holds a hash of the parameters: a rerun with the same ones returns
    at once; the corpus is built in a temporary directory and renamed into place.

    Args:
        out_root: Stand-in root to write.
        langs: Common Voice codes, from :func:`standin_languages`.
        num_sentences: Parallel sentences before splitting (each is read in every language).
        utts_per_sentence: Readings of each sentence per language (distinct speakers).
        num_train_speakers: Train speaker pool.
        num_test_speakers: Dev/test speaker pool.
        seed: Seed of text, split, speakers and clip names.
        nj: Synthesis worker processes (and mp3-encoding threads).
        sample_rate: Sample rate of the mp3 clips (Common Voice: 48000).
        fractions: Split fractions (default 0.8/0.1/0.1).
        progress: Show a synthesis progress bar.
        force: Rebuild even if a corpus with the same parameters exists.

    Returns:
        :class:`StandinStats`.

    Raises:
        ValueError: A language the stand-in cannot synthesise (the message lists those
            it can), bad counts, a split without sentences, or ``out_root`` is not
            empty and was not made by this function.
    """
    from usm_espnet.standin import parallel_text
    from usm_espnet.standin.espeak import gender_of_variant, split_speakers
    from usm_espnet.standin.synth import SynthItem, synthesize_many

    t0 = time.perf_counter()
    out_root = os.path.abspath(os.fspath(out_root))
    langs = check_langs(langs)
    can = standin_languages()
    for lang in langs:
        if lang not in can:
            raise ValueError(f"the stand-in cannot synthesise {lang!r} (no espeak-ng voice or no "
                             f"parallel text); it can: {', '.join(can)}")
    for name, value, minimum in (("num_sentences", num_sentences, 3),
                                 ("utts_per_sentence", utts_per_sentence, 1),
                                 ("num_train_speakers", num_train_speakers, 1),
                                 ("num_test_speakers", num_test_speakers, 1),
                                 ("sample_rate", sample_rate, 8000)):
        if int(value) != value or value < minimum:
            raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if utts_per_sentence > min(num_train_speakers, num_test_speakers):
        raise ValueError(f"utts_per_sentence ({utts_per_sentence}) exceeds a speaker pool "
                         f"(train {num_train_speakers}, dev/test {num_test_speakers})")
    fractions = dict(fractions or {"train": 0.8, "dev": 0.1, "test": 0.1})
    if sorted(fractions) != sorted(COVOST2_SPLITS):
        raise ValueError(f"fractions must have keys {', '.join(COVOST2_SPLITS)}, got {sorted(fractions)}")

    params = dict(langs=langs, num_sentences=num_sentences, utts_per_sentence=utts_per_sentence,
                  num_train_speakers=num_train_speakers, num_test_speakers=num_test_speakers,
                  seed=seed, sample_rate=sample_rate, fractions=fractions, version=STANDIN_VERSION)
    digest = params_hash(params)
    if os.path.lexists(out_root):
        old = read_done_marker(out_root, DONE_MARKER, "make_standin_covost2")
        if old and old.get("hash") == digest and not force:
            stats = StandinStats(**old["stats"])
            stats.reused = True
            logger.info("%s: stand-in with these parameters exists; nothing to do", out_root)
            return stats

    # ---- text, splits, speakers
    fl = {lang: COVOST2_TO_FLEURS[lang] for lang in langs}
    pt = parallel_text.generate_parallel_text(list(fl.values()) + ["en_us"], num_sentences, seed=seed)
    splits = parallel_text.split_ids(pt, fractions=fractions, seed=seed)
    if not all(splits.values()):
        logger.warning("%d sentences are too few to hold out dev/test sentences whose characters "
                       "all occur in train; splitting without that guarantee", num_sentences)
        splits = parallel_text.split_ids(pt, fractions=fractions, seed=seed, cover_chars=False)
    for split, ids in splits.items():
        if not ids:
            raise ValueError(f"split {split!r} got no sentences; raise num_sentences (now {num_sentences})")
    split_of = {sid: split for split, ids in splits.items() for sid in ids}
    train_spk, test_spk = split_speakers(num_train_speakers, num_test_speakers, seed)
    pools = {"train": train_spk, "dev": test_spk, "test": test_spk}
    client_of = {s.id: hashlib.sha256(f"standin-covost2-{seed}-{s.id}".encode()).hexdigest()
                 for s in train_spk + test_spk}

    parent, name = os.path.split(out_root)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{name}.tmp-", dir=parent)
    try:
        build = os.path.join(tmp, name)
        wav_dir = os.path.join(tmp, "wav")
        items: List[SynthItem] = []
        # utt -> (lang, clip, split value, sentence, translation, speaker)
        meta: Dict[str, Tuple[str, str, str, str, str, object]] = {}
        for lang in langs:
            rng = random.Random(f"standin-covost2-{seed}-{lang}")
            used: set = set()
            n_train = 0
            for sid in pt.ids:
                split = split_of[sid]
                source = " ".join(pt.text(sid, fl[lang]).split())
                target = " ".join(pt.text(sid, "en_us").split())
                for spk in rng.sample(pools[split], utts_per_sentence):
                    while True:
                        num = rng.randrange(10 ** 7, 10 ** 8)
                        if num not in used:
                            used.add(num)
                            break
                    clip = f"common_voice_{lang}_{num}.mp3"
                    value = split
                    if split == "train":
                        n_train += 1
                        value = "train_covost" if n_train % 5 == 0 else "train"
                    utt = utt_id_of(lang, clip)
                    items.append(SynthItem(utt, source, fl[lang], spk,
                                           os.path.join(wav_dir, f"{utt}.wav"), None, num))
                    meta[utt] = (lang, clip, value, source, target, spk)
        logger.info("synthesising %d clips in %d languages with nj=%d", len(items), len(langs), nj)
        synth = synthesize_many(items, nj=nj, progress=progress)
        failed = set(synth.skipped_ids)
        ok = [u for u in sorted(meta) if u not in failed]
        for lang in langs:
            os.makedirs(os.path.join(build, "cv", lang, "clips"), exist_ok=True)

        def encode(utt: str) -> float:
            lang, clip = meta[utt][0], meta[utt][1]
            return _to_mp3(os.path.join(wav_dir, f"{utt}.wav"),
                           os.path.join(build, "cv", lang, "clips", clip), sample_rate)

        with ThreadPoolExecutor(max(1, nj)) as pool:
            durs = dict(zip(ok, pool.map(encode, ok)))

        num_utts = {s: 0 for s in COVOST2_SPLITS}
        seconds = {s: 0.0 for s in COVOST2_SPLITS}
        for lang in langs:
            cv_rows, cov_rows = [], []
            for utt in ok:
                l, clip, value, source, target, spk = meta[utt]
                if l != lang:
                    continue
                client = client_of[spk.id]
                gender = {"MALE": "male", "FEMALE": "female"}.get(gender_of_variant(spk.variant), "")
                cv_rows.append([client, clip, source, "2", "0", "", gender, ""])
                cov_rows.append([clip, source, target, client, value])
                num_utts[SPLIT_VALUES[value]] += 1
                seconds[SPLIT_VALUES[value]] += durs[utt]
            for split in COVOST2_SPLITS:
                if not any(SPLIT_VALUES[r[4]] == split for r in cov_rows):
                    raise RuntimeError(f"{lang}/{split}: synthesis produced no clip")
            write_escaped_tsv(os.path.join(build, "cv", lang, "validated.tsv"), CV_COLUMNS, cv_rows)
            write_escaped_tsv(os.path.join(build, "covost", covost_tsv_name(lang)),
                              COVOST_COLUMNS, cov_rows)
        stats = StandinStats(
            out_root=out_root, cv_root=os.path.join(out_root, "cv"),
            covost_dir=os.path.join(out_root, "covost"), langs=langs, num_utts=num_utts,
            hours={s: seconds[s] / 3600.0 for s in COVOST2_SPLITS}, num_skipped=len(failed),
            wall_seconds=time.perf_counter() - t0)
        with open(os.path.join(build, DONE_MARKER), "w", encoding="utf-8") as f:
            json.dump({"hash": digest, "params": params, "stats": asdict(stats)}, f, indent=1)
        replace_dir(build, out_root)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    logger.info("%s: stand-in CoVoST 2 built in %.1f s", out_root, stats.wall_seconds)
    return stats
