"""The FLEURS stand-in: a small synthetic corpus in exactly FLEURS' published layout.

:func:`make_standin_fleurs` writes espeak-ng speech of the parallel text of
:mod:`usm_espnet.standin.parallel_text` as ``<lang>/{train,dev,test}.tsv`` and
``<lang>/audio/<split>.tar.gz`` (see :mod:`usm_espnet.corpora.fleurs` for the layout), so
every recipe stage can run where the real corpus is absent; the real-corpus reader
:func:`~usm_espnet.corpora.fleurs.prepare_fleurs` reads it like the real thing. Its
``untranscribed/`` part plays YT-NTL-U, the untranscribed audio of BEST-RQ pretraining.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import random
import shutil
import tarfile
import tempfile
import time
from dataclasses import asdict, dataclass
from typing import Dict, List, Optional, Sequence, Tuple, Union

from usm_espnet.corpora.fleurs import (
    DONE_MARKER,
    FLEURS_SAMPLE_RATE,
    FLEURS_SPLITS,
    FleursRow,
    fleurs_chars,
    fleurs_normalize,
    utt_id_of,
    write_fleurs_tsv,
)
from usm_espnet.data.audio import read_audio_info
from usm_espnet.data.languages import requested_languages
from usm_espnet.standin.espeak import gender_of_variant, split_speakers
from usm_espnet.standin.marker import params_hash, read_done_marker
from usm_espnet.utils import replace_dir

__all__ = ["StandinStats", "make_standin_fleurs"]

logger = logging.getLogger(__name__)

PathLike = Union[str, "os.PathLike[str]"]

#: Bump when the stand-in generator changes what it writes (invalidates old markers).
STANDIN_VERSION = 1


@dataclass
class StandinStats:
    """Summary of a stand-in corpus written by :func:`make_standin_fleurs`.

    Args:
        out_root: The corpus root.
        langs: Its languages.
        num_utts: Utterances per split (all languages).
        hours: Hours of audio per split.
        num_skipped: Utterances that synthesis failed on (left out).
        untranscribed_utts: Files under ``untranscribed/`` (all languages).
        untranscribed_hours: Their hours of audio.
        synth_cpu_seconds: CPU time of synthesis.
        synth_wall_seconds: Wall time of synthesis.
        wall_seconds: Wall time of the whole build.
        reused: True when an existing corpus with the same parameters was kept.
    """

    out_root: str
    langs: List[str]
    num_utts: Dict[str, int]
    hours: Dict[str, float]
    num_skipped: int = 0
    untranscribed_utts: int = 0
    untranscribed_hours: float = 0.0
    synth_cpu_seconds: float = 0.0
    synth_wall_seconds: float = 0.0
    wall_seconds: float = 0.0
    reused: bool = False

    def summary(self) -> str:
        """A short human-readable summary."""
        audio_h = sum(self.hours.values()) + self.untranscribed_hours
        per_split = ", ".join(f"{s} {self.num_utts.get(s, 0)} utts / {self.hours.get(s, 0.0):.3f} h"
                              for s in FLEURS_SPLITS)
        speed = (audio_h * 3600 / self.synth_wall_seconds) if self.synth_wall_seconds > 0 else 0.0
        lines = [
            f"stand-in FLEURS at {self.out_root}"
            + (" (already built, reused)" if self.reused else ""),
            f"  languages ({len(self.langs)}): {', '.join(self.langs)}",
            f"  {per_split}",
            f"  untranscribed: {self.untranscribed_utts} utts / {self.untranscribed_hours:.3f} h; "
            f"skipped: {self.num_skipped}",
            f"  synthesis: {self.synth_wall_seconds:.1f} s wall, "
            f"{self.synth_cpu_seconds:.1f} s CPU, "
            f"{speed:.1f} s of audio per wall second; total {self.wall_seconds:.1f} s",
        ]
        return "\n".join(lines)




def _standin_params(**kw: object) -> Dict[str, object]:
    params = dict(kw)
    params["version"] = STANDIN_VERSION
    return params


def _pack_split(lang_dir: str, split: str) -> None:
    """``audio/<split>/`` -> ``audio/<split>.tar.gz`` (members ``<split>/<file>``), reproducibly."""
    adir = os.path.join(lang_dir, "audio")
    loose = os.path.join(adir, split)
    archive = os.path.join(adir, f"{split}.tar.gz")
    with open(archive, "wb") as raw, \
            gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1, mtime=0) as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(os.listdir(loose)):
            info = tar.gettarinfo(os.path.join(loose, name), arcname=f"{split}/{name}")
            info.mtime, info.uid, info.gid, info.mode = 0, 0, 0, 0o644
            info.uname = info.gname = ""
            with open(os.path.join(loose, name), "rb") as f:
                tar.addfile(info, f)
    shutil.rmtree(loose)


def _to_sentence_number(sid: object, index: int) -> int:
    if isinstance(sid, int):
        return sid
    try:
        return int(str(sid))
    except ValueError:
        digits = "".join(c for c in str(sid) if c.isdigit())
        return int(digits) if digits else index + 1


def make_standin_fleurs(
    out_root: PathLike,
    langs: Optional[Sequence[str]] = None,
    num_sentences: int = 60,
    utts_per_sentence: int = 1,
    num_train_speakers: int = 8,
    num_test_speakers: int = 4,
    seed: int = 0,
    nj: int = 2,
    snr_db: Union[None, float, Tuple[float, float]] = None,
    acoustics: Optional[str] = None,
    archive: bool = True,
    extra_untranscribed: int = 0,
    extra_text: int = 0,
    fractions: Optional[Dict[str, float]] = None,
    progress: bool = True,
    force: bool = False,
) -> StandinStats:
    """Write a synthetic corpus in exactly the FLEURS layout (see the module docstring).

    Sentences come from :func:`usm_espnet.standin.parallel_text.generate_parallel_text`
    (one id per sentence, shared by all languages, as in FLEURS) and are split with
    :func:`~usm_espnet.standin.parallel_text.split_ids`, so no dev or test sentence is in
    train (and every dev/test character occurs in train, unless the corpus is too small
    for that: then a warning is logged). Each sentence is read by ``utts_per_sentence``
    different speakers; train speakers and dev/test speakers are disjoint (different
    espeak-ng timbres where the counts allow, see below), so test voices are never
    heard in training.
    Audio is synthesised with :func:`usm_espnet.standin.synth.synthesize_many` (16 kHz,
    16-bit); ``file_name`` is a seeded random integer, ``gender`` follows the
    voice variant, ``num_samples`` is read back from the written file.

    Besides the corpus, ``out_root`` holds:

    * ``speakers.tsv``: ``speaker_id variant rate pitch pitch_range gender role``
      (role ``train`` or ``dev_test``) and ``utterances.tsv``:
      ``lang split file_name sentence_id speaker_id snr_db``, with header lines; the
      bookkeeping that real FLEURS does not publish.
    * ``untranscribed/<lang>/*.wav`` and ``untranscribed/<lang>/wav.lst`` (file names
      relative to that directory), when ``extra_untranscribed > 0``: untranscribed
      speech for BEST-RQ pretraining, playing the part of YT-NTL-U. Its sentences come
      from a differently seeded parallel text and exclude every train/dev/test
      sentence; its speakers are the train speakers.
    * ``unspoken_text/<lang>.txt`` (one sentence per line, raw text as a web crawl
      would give it), when ``extra_text > 0``: text without audio for MOST
      pretraining (USM's unspoken text). Its sentences exclude every train/dev/test
      and untranscribed sentence; see :mod:`usm_espnet.corpora.unspoken_text`.
    * ``.done``: a JSON marker with the parameters' hash and the stats. A rerun with
      the same parameters returns at once (``reused=True``); other parameters rebuild.

    The whole corpus is built in a temporary directory beside ``out_root`` and
    renamed into place. Timbre disjointness: the 15 espeak-ng variants are divided
    between train and dev/test in proportion to the speaker counts; more speakers
    than variants in a group reuse that group's variants with other prosody.

    Args:
        out_root: Corpus root to write (``<out_root>/<lang>/train.tsv`` ...).
        langs: FLEURS codes (default ``parallel_text.DEFAULT_LANGS``); each must be
            supported by both espeak-ng and the parallel-text generator.
        num_sentences: Sentences per language before splitting.
        utts_per_sentence: Readings of each sentence (by distinct speakers).
        num_train_speakers: Size of the train speaker pool.
        num_test_speakers: Size of the dev/test speaker pool.
        seed: Seed of text, split, speakers, file names and noise.
        nj: Synthesis worker processes.
        snr_db: ``None`` (clean), a fixed SNR in dB, or a ``(low, high)`` range drawn
            uniformly per utterance, for additive white noise.
        acoustics: A name in :data:`usm_espnet.standin.synth.ACOUSTICS`: ``None``/``clean``
            (espeak-ng's output) or ``varied`` (noise floor, background noise at several
            SNRs, pauses, per-utterance rate and pitch), for every part alike: train,
            dev, test and untranscribed.
        archive: Ship audio as ``audio/<split>.tar.gz`` (as downloaded FLEURS);
            otherwise leave it extracted in ``audio/<split>/``.
        extra_untranscribed: Untranscribed utterances per language (0: none).
        extra_text: Unspoken-text sentences per language (0: none).
        fractions: Split fractions for ``split_ids`` (default 0.8/0.1/0.1).
        progress: Show synthesis progress bars.
        force: Rebuild even if a corpus with the same parameters exists.

    Returns:
        :class:`StandinStats`.

    Raises:
        ValueError: Bad counts, a split left without sentences, or ``out_root``
            exists, is not empty and was not made by this function.
        UnknownLanguageError: Not a FLEURS code.
        UnsupportedLanguageError: espeak-ng cannot speak a language.
    """
    from usm_espnet.standin import parallel_text
    from usm_espnet.standin.espeak import espeak_voice
    from usm_espnet.standin.synth import SynthItem, acoustics_of, synthesize_many

    t0 = time.perf_counter()
    out_root = os.path.abspath(os.fspath(out_root))
    langs = requested_languages(langs if langs is not None else parallel_text.DEFAULT_LANGS)
    for lang in langs:
        espeak_voice(lang)
        if lang not in parallel_text.SUPPORTED_LANGS:
            raise ValueError(
                f"the parallel-text generator does not support {lang!r}; supported: "
                + ", ".join(sorted(parallel_text.SUPPORTED_LANGS)))
    for name, value, minimum in (("num_sentences", num_sentences, 3),
                                 ("utts_per_sentence", utts_per_sentence, 1),
                                 ("num_train_speakers", num_train_speakers, 1),
                                 ("num_test_speakers", num_test_speakers, 1),
                                 ("extra_untranscribed", extra_untranscribed, 0),
                                 ("extra_text", extra_text, 0)):
        if int(value) != value or value < minimum:
            raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if utts_per_sentence > min(num_train_speakers, num_test_speakers):
        raise ValueError(
            f"utts_per_sentence ({utts_per_sentence}) exceeds a speaker pool "
            f"(train {num_train_speakers}, dev/test {num_test_speakers})")
    if snr_db is not None and not isinstance(snr_db, (int, float)):
        lo, hi = snr_db  # type: ignore[misc]
        snr_db = (float(lo), float(hi))
        if lo > hi:
            raise ValueError(f"snr_db range must be (low, high), got {snr_db}")
    if fractions is None:
        fractions = {"train": 0.8, "dev": 0.1, "test": 0.1}
    fractions = dict(fractions)
    if sorted(fractions) != sorted(FLEURS_SPLITS):
        raise ValueError(
            f"fractions must have keys {', '.join(FLEURS_SPLITS)}, got {sorted(fractions)}")

    params = _standin_params(
        langs=langs, num_sentences=num_sentences, utts_per_sentence=utts_per_sentence,
        num_train_speakers=num_train_speakers, num_test_speakers=num_test_speakers, seed=seed,
        snr_db=list(snr_db) if isinstance(snr_db, tuple) else snr_db, archive=archive,
        extra_untranscribed=extra_untranscribed, fractions=fractions)
    if extra_text:  # only when used, so that older corpora keep their hash
        params["extra_text"] = extra_text
    cond = acoustics_of(acoustics)
    if cond is not None:
        params["acoustics"] = acoustics
    digest = params_hash(params)
    if os.path.lexists(out_root):
        old = read_done_marker(out_root, DONE_MARKER, "make_standin_fleurs")
        complete = all(os.path.isfile(os.path.join(out_root, lang, f"{split}.tsv"))
                       for lang in langs for split in FLEURS_SPLITS)
        if old and old.get("hash") == digest and complete and not force:
            stats = StandinStats(**old["stats"])
            stats.reused = True
            logger.info("%s: stand-in corpus with these parameters exists; nothing to do", out_root)
            return stats
        if old:
            logger.info("%s: rebuilding (parameters changed or force)", out_root)

    # ---- text, splits, speakers
    pt = parallel_text.generate_parallel_text(langs, num_sentences, seed=seed)
    split_of_id = {}
    splits = parallel_text.split_ids(pt, fractions=fractions, seed=seed)
    if not all(splits.values()):
        # split_ids holds out only sentences whose characters all occur in train; a very
        # small corpus may have none, so give up that guarantee rather than fail
        logger.warning("%d sentences are too few to hold out dev/test sentences whose "
                       "characters all occur in train; splitting without that guarantee",
                       num_sentences)
        splits = parallel_text.split_ids(pt, fractions=fractions, seed=seed, cover_chars=False)
    for split, ids in splits.items():
        if not ids:
            raise ValueError(
                f"split {split!r} got no sentences; raise num_sentences (now {num_sentences})")
        for sid in ids:
            split_of_id[sid] = split
    number_of = {sid: _to_sentence_number(sid, i) for i, sid in enumerate(pt.ids)}
    if len(set(number_of.values())) != len(number_of):
        number_of = {sid: i + 1 for i, sid in enumerate(pt.ids)}
    train_spk, test_spk = split_speakers(num_train_speakers, num_test_speakers, seed)
    pools = {"train": train_spk, "dev": test_spk, "test": test_spk}

    parent, name = os.path.split(out_root)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{name}.tmp-", dir=parent)
    try:
        build = os.path.join(tmp, name)
        items: List[SynthItem] = []
        # utt -> (lang, split, row, speaker id, snr)
        meta: Dict[str, Tuple[str, str, FleursRow, str, str]] = {}
        for lang in langs:
            rng = random.Random(f"standin-fleurs-{seed}-{lang}")
            used_names: set = set()
            for sid in pt.ids:
                split = split_of_id.get(sid)
                if split is None:
                    continue
                raw = " ".join(pt.text(sid, lang).split())
                norm = fleurs_normalize(raw)
                if not norm:
                    logger.warning("%s sentence %s normalises to nothing; left out", lang, sid)
                    continue
                for spk in rng.sample(pools[split], utts_per_sentence):
                    while True:
                        num = rng.randrange(10 ** 17, 2 ** 64)
                        if num not in used_names:
                            used_names.add(num)
                            break
                    file_name = f"{num}.wav"
                    if snr_db is None:
                        snr = None
                    elif isinstance(snr_db, tuple):
                        snr = round(rng.uniform(*snr_db), 2)
                    else:
                        snr = float(snr_db)
                    utt = utt_id_of(lang, split, file_name)
                    out_path = os.path.join(build, lang, "audio", split, file_name)
                    items.append(SynthItem(utt, raw, lang, spk, out_path, snr, num % (2 ** 31),
                                           cond))
                    row = FleursRow(number_of[sid], file_name, raw, norm, fleurs_chars(norm), 1,
                                    gender_of_variant(spk.variant))
                    meta[utt] = (lang, split, row, spk.id, "" if snr is None else f"{snr:g}")
        # untranscribed speech (YT-NTL-U's part)
        untr: Dict[str, List[Tuple[str, str]]] = {}
        if extra_untranscribed:
            pt2 = parallel_text.generate_parallel_text(
                langs, extra_untranscribed + extra_untranscribed // 10 + 5, seed=seed + 1_000_003,
                exclude=set(pt.ids))
            for lang in langs:
                taken = {fleurs_normalize(pt.text(sid, lang)) for sid in pt.ids}
                rng = random.Random(f"standin-fleurs-untranscribed-{seed}-{lang}")
                chosen = 0
                for sid in pt2.ids:
                    if chosen >= extra_untranscribed:
                        break
                    raw = " ".join(pt2.text(sid, lang).split())
                    norm = fleurs_normalize(raw)
                    if not norm or norm in taken:
                        continue
                    taken.add(norm)
                    file_name = f"{lang}_{chosen:06d}.wav"
                    utt = f"untranscribed-{lang}-{chosen:06d}"
                    out_path = os.path.join(build, "untranscribed", lang, file_name)
                    spk = rng.choice(train_spk)
                    item_seed = rng.randrange(2 ** 31) if cond is not None else 0
                    items.append(
                        SynthItem(utt, raw, lang, spk, out_path, None, item_seed, cond))
                    untr.setdefault(lang, []).append((utt, file_name))
                    chosen += 1
                if chosen < extra_untranscribed:
                    logger.warning("%s: only %d distinct untranscribed sentences (asked %d)",
                                   lang, chosen, extra_untranscribed)

        # unspoken text (MOST): no audio, disjoint from every sentence that has audio
        text_only: Dict[str, List[str]] = {}
        if extra_text:
            spoken = set(pt.ids) | (set(pt2.ids) if extra_untranscribed else set())
            pt3 = parallel_text.generate_parallel_text(
                langs, extra_text + extra_text // 10 + 5, seed=seed + 2_000_003, exclude=spoken)
            for lang in langs:
                taken = {fleurs_normalize(pt.text(sid, lang)) for sid in pt.ids}
                if extra_untranscribed:
                    taken |= {fleurs_normalize(pt2.text(sid, lang)) for sid in pt2.ids}
                lines: List[str] = []
                for sid in pt3.ids:
                    if len(lines) >= extra_text:
                        break
                    raw = " ".join(pt3.text(sid, lang).split())
                    norm = fleurs_normalize(raw)
                    if norm and norm not in taken:
                        taken.add(norm)
                        lines.append(raw)
                if len(lines) < extra_text:
                    logger.warning("%s: only %d distinct unspoken-text sentences (asked %d)",
                                   lang, len(lines), extra_text)
                text_only[lang] = lines
            os.makedirs(os.path.join(build, "unspoken_text"), exist_ok=True)
            for lang, lines in text_only.items():
                with open(os.path.join(build, "unspoken_text", f"{lang}.txt"), "w",
                          encoding="utf-8") as f:
                    f.writelines(line + "\n" for line in lines)

        logger.info("synthesising %d utterances in %d languages with nj=%d",
                    len(items), len(langs), nj)
        synth = synthesize_many(items, nj=nj, progress=progress)
        failed = set(synth.skipped_ids)

        # ---- tsv files, archives, bookkeeping
        num_utts = {s: 0 for s in FLEURS_SPLITS}
        seconds = {s: 0.0 for s in FLEURS_SPLITS}
        by_lang_split: Dict[Tuple[str, str], List[FleursRow]] = {}
        utt_lines = ["lang\tsplit\tfile_name\tsentence_id\tspeaker_id\tsnr_db"]
        for utt in sorted(meta):
            lang, split, row, spk_id, snr = meta[utt]
            if utt in failed:
                continue
            path = os.path.join(build, lang, "audio", split, row.file_name)
            sr, n = read_audio_info(path)
            if sr != FLEURS_SAMPLE_RATE:
                raise RuntimeError(f"{path}: synthesised at {sr} Hz, expected {FLEURS_SAMPLE_RATE}")
            row.num_samples = n
            by_lang_split.setdefault((lang, split), []).append(row)
            num_utts[split] += 1
            seconds[split] += n / FLEURS_SAMPLE_RATE
            utt_lines.append(f"{lang}\t{split}\t{row.file_name}\t{row.id}\t{spk_id}\t{snr}")
        for lang in langs:
            lang_dir = os.path.join(build, lang)
            for split in FLEURS_SPLITS:
                rows = sorted(by_lang_split.get((lang, split), []),
                              key=lambda r: (r.id, r.file_name))
                if not rows:
                    raise RuntimeError(f"{lang}/{split}: synthesis produced no utterance")
                write_fleurs_tsv(os.path.join(lang_dir, f"{split}.tsv"), rows)
                if archive:
                    _pack_split(lang_dir, split)
        untr_utts, untr_seconds = 0, 0.0
        for lang, files in untr.items():
            ok = [(u, f) for u, f in files if u not in failed]
            lst = os.path.join(build, "untranscribed", lang, "wav.lst")
            with open(lst, "w", encoding="utf-8") as f:
                f.writelines(fn + "\n" for _, fn in ok)
            untr_utts += len(ok)
            untr_seconds += sum(synth.utt2dur[u] for u, _ in ok)
        with open(os.path.join(build, "speakers.tsv"), "w", encoding="utf-8") as f:
            f.write("speaker_id\tvariant\trate\tpitch\tpitch_range\tgender\trole\n")
            for role, spks in (("train", train_spk), ("dev_test", test_spk)):
                for s in spks:
                    f.write(f"{s.id}\t{s.variant}\t{s.rate}\t{s.pitch}\t{s.pitch_range}\t"
                            f"{gender_of_variant(s.variant)}\t{role}\n")
        with open(os.path.join(build, "utterances.tsv"), "w", encoding="utf-8") as f:
            f.writelines(line + "\n" for line in utt_lines)

        stats = StandinStats(
            out_root=out_root, langs=langs, num_utts=num_utts,
            hours={s: seconds[s] / 3600.0 for s in FLEURS_SPLITS},
            num_skipped=len(failed), untranscribed_utts=untr_utts,
            untranscribed_hours=untr_seconds / 3600.0,
            synth_cpu_seconds=synth.cpu_seconds, synth_wall_seconds=synth.wall_seconds,
            wall_seconds=time.perf_counter() - t0,
        )
        with open(os.path.join(build, DONE_MARKER), "w", encoding="utf-8") as f:
            json.dump({"hash": digest, "params": params, "stats": asdict(stats)}, f, indent=1)
        replace_dir(build, out_root)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    logger.info("%s: stand-in FLEURS built in %.1f s (%d languages, %.3f h transcribed)",
                out_root, stats.wall_seconds, len(langs), sum(stats.hours.values()))
    return stats
