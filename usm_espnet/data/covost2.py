"""CoVoST 2 (X -> English): Kaldi data preparation, and a synthetic stand-in in the same layout.

CoVoST 2 (Wang et al., 2020, arXiv 2007.10310) is the speech-translation benchmark of the
USM paper (arXiv 2303.01037): speech in 21 source languages, read by Common Voice
contributors, translated into English. Its release has two parts:

* Common Voice (the version CoVoST 2 was built on, CV 4), one directory per language::

      <cv_root>/<lang>/clips/common_voice_<lang>_<n>.mp3     48 kHz mono mp3
      <cv_root>/<lang>/validated.tsv                          client_id, path, sentence, ...

* the translations, one file per direction, as downloaded (``.tsv.tar.gz``) or extracted::

      <covost_dir>/covost_v2.<lang>_en.tsv[.tar.gz]

  with a header row and the columns ``path`` (the clip's file name), ``sentence`` (the
  source transcript), ``translation`` (the English reference), ``client_id`` (the
  speaker) and ``split`` (``train``, ``dev``, ``test``, or ``train_covost`` for the
  training rows CoVoST added beyond Common Voice's own train split; counted as train).
  ``sentence`` and ``client_id`` are taken from ``validated.tsv`` when the CoVoST file
  lacks them (only ``path``, ``translation`` and ``split`` are required there).

``<lang>`` is a Common Voice code (:data:`COVOST2_X_EN_LANGS`: ``fr``, ``zh-CN``,
``sv-SE`` ...). Every tsv of the release is written and read as the CoVoST authors do:
tab-separated, header row, no quoting (``csv.QUOTE_NONE``: a ``"`` is an ordinary
character) and ``\\`` as escape character (``\\<TAB>`` is a tab inside a field, ``\\\\`` a
backslash, a backslash before a line break continues the field on the next line).
:func:`read_escaped_tsv` reads that format and reports the file and line of anything
malformed.

Two things live here, as in :mod:`usm_espnet.data.fleurs`:

:func:`prepare_covost2`
    reads such a corpus and writes one Kaldi data directory per split, whose ``text``
    is the English translation (the speech-translation target) and whose ``utt2lang``
    is the source language, so that scoring can report BLEU per source language.
:func:`make_standin_covost2`
    writes a small synthetic corpus in exactly that layout: the parallel text of
    :mod:`usm_espnet.data.parallel_text` (the ``en_us`` text of a sentence id is the
    translation of its text in every other language) spoken in the source languages by
    espeak-ng voices, stored as 48 kHz mp3 clips like Common Voice's.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import os
import random
import shutil
import tarfile
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple, Union

from usm_espnet.data.kaldi import DataDir, DataDirError, validate_datadir, write_datadir
from usm_espnet.utils import replace_dir

__all__ = [
    "COVOST2_SPLITS",
    "COVOST2_TO_FLEURS",
    "COVOST2_X_EN_LANGS",
    "CV_SAMPLE_RATE",
    "CovostFormatError",
    "CovostRow",
    "PrepStats",
    "StandinStats",
    "TsvTable",
    "covost_tsv_name",
    "find_covost_tsv",
    "make_standin_covost2",
    "prepare_covost2",
    "read_covost_tsv",
    "read_cv_validated",
    "read_escaped_tsv",
    "standin_languages",
    "utt_id_of",
    "write_escaped_tsv",
]

logger = logging.getLogger(__name__)

PathLike = Union[str, "os.PathLike[str]"]

#: The 21 source languages of CoVoST 2 X -> En (Common Voice codes), in the paper's order.
COVOST2_X_EN_LANGS: Tuple[str, ...] = (
    "fr", "de", "es", "ca", "it", "ru", "zh-CN", "pt", "fa", "et", "mn",
    "nl", "tr", "ar", "sv-SE", "lv", "sl", "ta", "ja", "id", "cy",
)
#: Common Voice code -> FLEURS code (names, espeak-ng voices, parallel text).
COVOST2_TO_FLEURS: Dict[str, str] = {
    "fr": "fr_fr", "de": "de_de", "es": "es_419", "ca": "ca_es", "it": "it_it",
    "ru": "ru_ru", "zh-CN": "cmn_hans_cn", "pt": "pt_br", "fa": "fa_ir", "et": "et_ee",
    "mn": "mn_mn", "nl": "nl_nl", "tr": "tr_tr", "ar": "ar_eg", "sv-SE": "sv_se",
    "lv": "lv_lv", "sl": "sl_si", "ta": "ta_in", "ja": "ja_jp", "id": "id_id", "cy": "cy_gb",
}
#: The splits written by :func:`prepare_covost2`, in order.
COVOST2_SPLITS: Tuple[str, ...] = ("train", "dev", "test")
#: Values of the ``split`` column -> the split they belong to.
SPLIT_VALUES: Dict[str, str] = {"train": "train", "train_covost": "train", "dev": "dev",
                                "test": "test"}
#: Columns a CoVoST tsv must have, and the full set the stand-in writes.
COVOST_REQUIRED_COLUMNS: Tuple[str, ...] = ("path", "translation", "split")
COVOST_COLUMNS: Tuple[str, ...] = ("path", "sentence", "translation", "client_id", "split")
#: Columns of Common Voice 4's ``validated.tsv`` (the release CoVoST 2 used).
CV_COLUMNS: Tuple[str, ...] = ("client_id", "path", "sentence", "up_votes", "down_votes",
                               "age", "gender", "accent")
#: Common Voice clips are 48 kHz mp3.
CV_SAMPLE_RATE = 48000
#: ``check_audio`` values of :func:`prepare_covost2`.
CHECK_AUDIO_MODES: Tuple[str, ...] = ("none", "header", "decode")
#: ``on_empty`` values of :func:`prepare_covost2`.
ON_EMPTY_MODES: Tuple[str, ...] = ("skip", "error")
#: Stand-in languages when none are given.
STANDIN_DEFAULT_LANGS: Tuple[str, ...] = ("fr", "de", "es")
#: Bump when the stand-in generator changes what it writes (invalidates old markers).
STANDIN_VERSION = 1
DONE_MARKER = ".done"

_DIALECT = dict(delimiter="\t", quoting=csv.QUOTE_NONE, escapechar="\\")


class CovostFormatError(ValueError):
    """A CoVoST 2 / Common Voice corpus that does not have the expected layout or format.

    The message starts with the offending file and, where one applies, the 1-based line
    number: ``<dir>/covost_v2.fr_en.tsv:17: expected 5 tab-separated fields, got 4``.
    """


# --------------------------------------------------------------------------- tsv


@dataclass
class TsvTable:
    """A tsv file read by :func:`read_escaped_tsv`.

    Args:
        path: The file as shown in messages (``archive.tar.gz[member]`` for an archive).
        header: Column names, in file order.
        rows: One ``{column: value}`` dict per record.
        lines: The 1-based line each record starts on.
    """

    path: str
    header: List[str]
    rows: List[Dict[str, str]] = field(default_factory=list)
    lines: List[int] = field(default_factory=list)

    def where(self, i: int) -> str:
        """``path:line`` of record ``i``."""
        return f"{self.path}:{self.lines[i]}"


def _read_bytes(path: str) -> Tuple[bytes, str]:
    """Content of a tsv, or of the member of the same name in ``<tsv>.tar.gz``."""
    if not path.endswith(".tar.gz"):
        if not os.path.isfile(path):
            raise CovostFormatError(f"{path}: file not found")
        with open(path, "rb") as f:
            return f.read(), path
    member = os.path.basename(path)[: -len(".tar.gz")]
    try:
        with tarfile.open(path, "r:gz") as tar:
            for info in tar:
                if info.isfile() and os.path.basename(info.name) == member:
                    src = tar.extractfile(info)
                    assert src is not None
                    with src:
                        return src.read(), f"{path}[{info.name}]"
    except (tarfile.TarError, OSError, EOFError) as e:
        raise CovostFormatError(f"{path}: cannot read archive: {type(e).__name__}: {e}") from None
    raise CovostFormatError(f"{path}: archive has no member {member}")


def read_escaped_tsv(path: PathLike, required: Sequence[str] = ()) -> TsvTable:
    """Read a tab-separated file with a header row, no quoting and ``\\`` escapes.

    This is how the CoVoST authors read and write their tsv files (pandas with
    ``quoting=csv.QUOTE_NONE, escapechar='\\\\'``). Blank lines are skipped; a byte-order
    mark is dropped. ``path`` may end in ``.tar.gz``: the member with the same name
    minus that suffix is read from the archive.

    Args:
        path: The file.
        required: Columns the header must contain.

    Returns:
        The :class:`TsvTable`.

    Raises:
        CovostFormatError: Missing or unreadable file, invalid UTF-8, a header without
            a required column or with a repeated one, a record whose number of fields
            differs from the header's, or an escape at the very end of the file. The
            message names ``file:line``.
    """
    raw, shown = _read_bytes(os.fspath(path))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise CovostFormatError(f"{shown}:{line}: not valid UTF-8 ({e.reason})") from None
    text = text.lstrip("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True, **_DIALECT)
    table: Optional[TsvTable] = None
    while True:
        start = reader.line_num + 1
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            raise CovostFormatError(f"{shown}:{start}: {e} (a trailing '\\' escape?)") from None
        if not record or (len(record) == 1 and not record[0].strip()):
            continue
        if table is None:
            header = [h.strip() for h in record]
            dup = sorted({h for h in header if header.count(h) > 1})
            if dup:
                raise CovostFormatError(f"{shown}:{start}: header repeats column(s) {', '.join(dup)}")
            missing = [c for c in required if c not in header]
            if missing:
                raise CovostFormatError(
                    f"{shown}:{start}: header lacks column(s) {', '.join(missing)} "
                    f"(header: {' '.join(header)}; a tsv with a header row is expected)")
            table = TsvTable(path=shown, header=header)
            continue
        if len(record) != len(table.header):
            raise CovostFormatError(
                f"{shown}:{start}: expected {len(table.header)} tab-separated fields "
                f"({', '.join(table.header)}), got {len(record)}")
        table.rows.append(dict(zip(table.header, record)))
        table.lines.append(start)
    if table is None:
        raise CovostFormatError(f"{shown}:1: empty file (expected a header row)")
    return table


def write_escaped_tsv(path: PathLike, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Write a tsv in the format :func:`read_escaped_tsv` reads (atomically).

    Args:
        path: Destination.
        header: Column names.
        rows: Records, each with one value per column.
    """
    path = os.fspath(path)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n", **_DIALECT)
    writer.writerow(header)
    for row in rows:
        if len(row) != len(header):
            raise ValueError(f"row {row!r} has {len(row)} fields, header {len(header)}")
        writer.writerow(row)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write(buf.getvalue())
    os.replace(tmp, path)


# ---------------------------------------------------------------------- corpus files


@dataclass
class CovostRow:
    """One record of a ``covost_v2.<lang>_en.tsv``.

    Args:
        path: Clip file name under ``<cv_root>/<lang>/clips/``.
        translation: English reference (whitespace collapsed).
        split: ``train``, ``dev`` or ``test`` (``train_covost`` counts as train).
        raw_split: The ``split`` value as written.
        sentence: Source transcript (``""`` if the file has no such column).
        client_id: Speaker (``""`` if the file has no such column).
        where: ``file:line`` of the record.
    """

    path: str
    translation: str
    split: str
    raw_split: str
    sentence: str = ""
    client_id: str = ""
    where: str = ""


def covost_tsv_name(lang: str) -> str:
    """File name of the X -> En translations of ``lang``: ``covost_v2.<lang>_en.tsv``."""
    return f"covost_v2.{lang}_en.tsv"


def find_covost_tsv(covost_dir: PathLike, lang: str) -> str:
    """The tsv of ``lang`` under ``covost_dir``: extracted, else the downloaded ``.tar.gz``.

    Args:
        covost_dir: Directory holding the CoVoST 2 tsv files.
        lang: Common Voice code.

    Raises:
        CovostFormatError: Neither file exists.
    """
    base = os.path.join(os.fspath(covost_dir), covost_tsv_name(lang))
    for cand in (base, base + ".tar.gz"):
        if os.path.isfile(cand):
            return cand
    raise CovostFormatError(f"{base}: not found (nor {os.path.basename(base)}.tar.gz)")


def _bad_clip_name(name: str) -> bool:
    return (not name or any(c.isspace() for c in name) or "/" in name or "\\" in name
            or name.startswith("."))


def read_covost_tsv(path: PathLike) -> Tuple[List[CovostRow], List[str]]:
    """Read and check a ``covost_v2.<lang>_en.tsv``.

    Args:
        path: The file (or its ``.tar.gz``).

    Returns:
        ``(rows, header)``.

    Raises:
        CovostFormatError: See :func:`read_escaped_tsv`; also a row with an empty or
            unusable ``path`` (a directory path, spaces) or an unknown ``split`` value.
    """
    table = read_escaped_tsv(path, required=COVOST_REQUIRED_COLUMNS)
    rows: List[CovostRow] = []
    for i, rec in enumerate(table.rows):
        where = table.where(i)
        clip = rec["path"].strip()
        if _bad_clip_name(clip):
            raise CovostFormatError(
                f"{where}: bad path {rec['path']!r} (expected a clip file name such as "
                f"common_voice_fr_17299384.mp3)")
        raw_split = rec["split"].strip()
        if raw_split not in SPLIT_VALUES:
            raise CovostFormatError(
                f"{where}: unknown split {rec['split']!r}; allowed: {', '.join(SPLIT_VALUES)}")
        rows.append(CovostRow(
            path=clip, translation=" ".join(rec["translation"].split()),
            split=SPLIT_VALUES[raw_split], raw_split=raw_split,
            sentence=" ".join(rec.get("sentence", "").split()),
            client_id=rec.get("client_id", "").strip(), where=where))
    return rows, table.header


def read_cv_validated(path: PathLike) -> Dict[str, Tuple[str, str, str]]:
    """Read Common Voice's ``validated.tsv``: clip -> (sentence, client_id, ``file:line``).

    Args:
        path: ``<cv_root>/<lang>/validated.tsv``.

    Raises:
        CovostFormatError: See :func:`read_escaped_tsv` (``path``, ``sentence`` and
            ``client_id`` columns are required); a row with a bad ``path``.
    """
    table = read_escaped_tsv(path, required=("client_id", "path", "sentence"))
    out: Dict[str, Tuple[str, str, str]] = {}
    for i, rec in enumerate(table.rows):
        clip = rec["path"].strip()
        if _bad_clip_name(clip):
            raise CovostFormatError(f"{table.where(i)}: bad path {rec['path']!r}")
        if clip in out:
            logger.warning("%s: %s already listed at %s; keeping the first",
                           table.where(i), clip, out[clip][2])
            continue
        out[clip] = (" ".join(rec["sentence"].split()), rec["client_id"].strip(), table.where(i))
    return out


# ---------------------------------------------------------------------- preparation


@dataclass
class PrepStats:
    """What :func:`prepare_covost2` wrote for one split.

    ``num_rows == num_utts + num_skipped + num_capped`` (every row is accounted for).

    Args:
        split: ``train``, ``dev`` or ``test``.
        data_dir: The Kaldi data directory written.
        num_rows: Rows of the CoVoST files in this split (all languages).
        num_utts: Utterances written.
        num_skipped: Rows left out, each with a logged reason.
        num_capped: Rows left out by ``max_utts_per_lang``.
        hours: Audio written, in hours (0 with ``check_audio="none"``).
        per_lang: Utterances written per language.
        reasons: Skipped rows per reason.
        skipped: One ``file:line: reason`` message per skipped row.
    """

    split: str
    data_dir: str
    num_rows: int = 0
    num_utts: int = 0
    num_skipped: int = 0
    num_capped: int = 0
    hours: float = 0.0
    per_lang: Dict[str, int] = field(default_factory=dict)
    reasons: Dict[str, int] = field(default_factory=dict)
    skipped: List[str] = field(default_factory=list)

    def skip(self, reason: str, message: str) -> None:
        """Count one skipped row and log why."""
        logger.warning("skipping: %s", message)
        self.reasons[reason] = self.reasons.get(reason, 0) + 1
        self.skipped.append(message)
        self.num_skipped += 1


def utt_id_of(lang: str, clip: str) -> str:
    """Kaldi utterance id of a clip: ``<lang>-<clip without .mp3>``.

    Args:
        lang: Common Voice code (the source language).
        clip: The ``path`` column.
    """
    stem = clip[:-4] if clip.lower().endswith(".mp3") else clip
    return f"{lang}-{stem}"


def _probe(path: str, mode: str) -> Tuple[Optional[float], str]:
    """-> (duration in s or None, error message)."""
    import soundfile as sf

    try:
        if mode == "decode":
            x, sr = sf.read(path, dtype="float32", always_2d=True)
            frames = x.shape[0]
        else:
            info = sf.info(path)
            sr, frames = info.samplerate, info.frames
    except Exception as e:  # noqa: BLE001 - libsndfile raises several types
        return None, f"{type(e).__name__}: {e}"
    if frames <= 0 or sr <= 0:
        return None, "no audio samples"
    return frames / sr, ""


def _discover_languages(covost_dir: str) -> List[str]:
    found = set()
    for name in os.listdir(covost_dir):
        for lang in COVOST2_X_EN_LANGS:
            if name in (covost_tsv_name(lang), covost_tsv_name(lang) + ".tar.gz"):
                found.add(lang)
    if not found:
        raise CovostFormatError(
            f"{covost_dir}: no covost_v2.<lang>_en.tsv (or .tsv.tar.gz) for any of "
            f"{', '.join(COVOST2_X_EN_LANGS)}")
    return [lang for lang in COVOST2_X_EN_LANGS if lang in found]


def _check_langs(langs: Sequence[str]) -> List[str]:
    if isinstance(langs, str):
        raise TypeError("langs must be a sequence of language codes, not a string")
    langs = list(dict.fromkeys(langs))
    if not langs:
        raise ValueError("no languages given")
    for lang in langs:
        if lang not in COVOST2_X_EN_LANGS:
            raise ValueError(f"unknown CoVoST 2 source language {lang!r}; allowed (Common Voice "
                             f"codes): {', '.join(COVOST2_X_EN_LANGS)}")
    return langs


def _write_split_dir(target: str, data: DataDir, extras: Dict[str, Dict[str, str]]) -> None:
    """Write a data dir plus extra ``utt2*`` maps (empty values allowed), swapped in at once."""
    parent, name = os.path.split(target)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{name}.tmp-", dir=parent)
    try:
        staged = os.path.join(tmp, name)
        write_datadir(staged, data)
        for fname, mapping in extras.items():
            with open(os.path.join(staged, fname), "w", encoding="utf-8", newline="\n") as f:
                for key in sorted(mapping):
                    f.write(f"{key} {mapping[key]}\n" if mapping[key] else f"{key}\n")
        try:
            validate_datadir(staged)
        except DataDirError as e:
            raise DataDirError(str(e).replace(staged, target)) from None
        replace_dir(staged, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def prepare_covost2(
    covost_dir: PathLike,
    cv_root: PathLike,
    out_dir: PathLike,
    langs: Optional[Sequence[str]] = None,
    splits: Sequence[str] = COVOST2_SPLITS,
    max_utts_per_lang: Optional[int] = None,
    check_audio: str = "header",
    on_empty: str = "skip",
    nj: int = 2,
) -> Dict[str, PrepStats]:
    """Write one Kaldi data directory per split for X -> En speech translation.

    ``out_dir/<split>/`` gets ``wav.scp`` (absolute mp3 paths; stage 2 of the template
    decodes and resamples them to 16 kHz), ``text`` (the English translation, case and
    punctuation kept), ``utt2spk`` (``client_id``, or the utterance itself when there
    is none), ``utt2lang`` (the source language's Common Voice code), ``utt2dur``
    (unless ``check_audio="none"``) and ``utt2src`` (the source transcript).
    Utterance ids are :func:`utt_id_of` (``fr-common_voice_fr_17299384``).

    Every tsv is read and checked before any audio is looked at or anything written:
    a malformed file is one :class:`CovostFormatError` naming file and line. Rows that
    cannot be used are skipped, logged with their ``file:line`` and counted per reason
    (:class:`PrepStats`): an empty translation (with ``on_empty="skip"``), a clip
    listed twice, a clip missing from ``validated.tsv`` when the CoVoST file has no
    ``sentence``/``client_id`` columns, a clip file that does not exist, a clip that
    cannot be decoded (``check_audio``). Each data directory is validated and swapped
    into place atomically.

    Args:
        covost_dir: Directory with ``covost_v2.<lang>_en.tsv`` (or ``.tsv.tar.gz``).
        cv_root: Common Voice root with ``<lang>/clips/`` and ``<lang>/validated.tsv``.
        out_dir: Where ``<split>/`` data directories are written.
        langs: Common Voice codes; ``None``: every language with a CoVoST tsv.
        splits: Splits to prepare, from ``train``, ``dev``, ``test``.
        max_utts_per_lang: Keep at most this many rows per language and split, in file
            order, counting rows whose clip exists (the cap applies before clips are
            probed, so an unreadable one within it leaves fewer); ``None`` keeps all.
        check_audio: ``header`` (default): read each clip's header (durations for
            ``utt2dur``; unreadable clips are skipped); ``decode``: decode each clip
            completely (also catches truncated files; slow); ``none``: only check
            that the file exists (no ``utt2dur``).
        on_empty: A row with an empty translation is skipped (``skip``) or is an
            error (``error``).
        nj: Threads reading clip headers.

    Returns:
        ``{split: PrepStats}``.

    Raises:
        ValueError: Bad ``langs``, ``splits``, ``check_audio``, ``on_empty`` or
            ``max_utts_per_lang``.
        CovostFormatError: Missing corpus directories or files; malformed tsv
            (``file:line: ...``); an empty translation with ``on_empty="error"``; a
            language or split left with no usable clip.
        DataDirError: The data to be written is invalid.
    """
    covost_dir = os.fspath(covost_dir)
    cv_root = os.fspath(cv_root)
    out_dir = os.path.abspath(os.fspath(out_dir))
    splits = list(dict.fromkeys(splits))
    bad = [s for s in splits if s not in COVOST2_SPLITS]
    if bad or not splits:
        raise ValueError(f"unknown split(s) {bad}; allowed: {', '.join(COVOST2_SPLITS)}")
    if check_audio not in CHECK_AUDIO_MODES:
        raise ValueError(f"check_audio must be one of {', '.join(CHECK_AUDIO_MODES)}, "
                         f"got {check_audio!r}")
    if on_empty not in ON_EMPTY_MODES:
        raise ValueError(f"on_empty must be one of {', '.join(ON_EMPTY_MODES)}, got {on_empty!r}")
    if max_utts_per_lang is not None and max_utts_per_lang < 1:
        raise ValueError(f"max_utts_per_lang must be >= 1, got {max_utts_per_lang}")
    for d, what in ((covost_dir, "CoVoST 2 tsv directory"), (cv_root, "Common Voice root")):
        if not os.path.isdir(d):
            raise CovostFormatError(f"{d}: {what} not found")
    langs = _discover_languages(covost_dir) if langs is None else _check_langs(langs)

    # 1. read and check every file before touching anything
    tables: Dict[str, List[CovostRow]] = {}
    validated: Dict[str, Dict[str, Tuple[str, str, str]]] = {}
    for lang in langs:
        rows, header = read_covost_tsv(find_covost_tsv(covost_dir, lang))
        clips = os.path.join(cv_root, lang, "clips")
        if not os.path.isdir(clips):
            raise CovostFormatError(f"{clips}: Common Voice clips directory not found")
        tables[lang] = rows
        if "sentence" not in header or "client_id" not in header:
            validated[lang] = read_cv_validated(os.path.join(cv_root, lang, "validated.tsv"))
        if on_empty == "error":
            for row in rows:
                if not row.translation:
                    raise CovostFormatError(f"{row.where}: empty translation for {row.path}")

    # 2. one data dir per split
    results: Dict[str, PrepStats] = {}
    for split in splits:
        stats = PrepStats(split=split, data_dir=os.path.join(out_dir, split))
        chosen: List[Tuple[str, CovostRow, str, str, str]] = []  # lang, row, file, sentence, spk
        for lang in langs:
            clip_dir = os.path.abspath(os.path.join(cv_root, lang, "clips"))
            present = set(os.listdir(clip_dir))
            seen: Dict[str, str] = {}
            kept = 0
            rows = [r for r in tables[lang] if r.split == split]
            stats.num_rows += len(rows)
            for row in rows:
                if row.path in seen:
                    stats.skip("duplicate clip", f"{row.where}: {row.path} already listed at {seen[row.path]}")
                    continue
                seen[row.path] = row.where
                if not row.translation:
                    stats.skip("empty translation", f"{row.where}: empty translation for {row.path}")
                    continue
                sentence, spk = row.sentence, row.client_id
                if lang in validated:
                    cv = validated[lang].get(row.path)
                    if cv is None:
                        stats.skip("not in validated.tsv",
                                   f"{row.where}: {row.path} is not in {cv_root}/{lang}/validated.tsv")
                        continue
                    sentence = sentence or cv[0]
                    spk = spk or cv[1]
                if row.path not in present:
                    stats.skip("clip not found", f"{row.where}: clip {row.path} not found in {clip_dir}")
                    continue
                if max_utts_per_lang is not None and kept >= max_utts_per_lang:
                    stats.num_capped += 1
                    continue
                kept += 1
                chosen.append((lang, row, os.path.join(clip_dir, row.path), sentence, spk))

        durations: List[Tuple[Optional[float], str]]
        if check_audio == "none":
            durations = [(None, "")] * len(chosen)
        else:
            with ThreadPoolExecutor(max(1, nj)) as pool:
                durations = list(pool.map(lambda c: _probe(c[2], check_audio), chosen))

        data = DataDir(wav_scp={})
        extras: Dict[str, Dict[str, str]] = {"utt2src": {}}
        seconds = 0.0
        for (lang, row, path, sentence, spk), (dur, err) in zip(chosen, durations):
            if err:
                stats.skip("clip unreadable", f"{row.where}: clip {path} cannot be decoded: {err}")
                continue
            utt = utt_id_of(lang, row.path)
            if utt in data.wav_scp:  # same stem, other extension
                stats.skip("duplicate clip", f"{row.where}: utterance id {utt} already used")
                continue
            data.wav_scp[utt] = path
            data.text[utt] = row.translation
            data.utt2lang[utt] = lang
            data.utt2spk[utt] = spk if spk and not any(c.isspace() for c in spk) else utt
            extras["utt2src"][utt] = sentence
            if dur is not None:
                data.utt2dur[utt] = dur
                seconds += dur
            stats.per_lang[lang] = stats.per_lang.get(lang, 0) + 1
        stats.num_utts = len(data.wav_scp)
        stats.hours = seconds / 3600.0
        assert stats.num_rows == stats.num_utts + stats.num_skipped + stats.num_capped
        for lang in langs:
            n_rows = sum(1 for r in tables[lang] if r.split == split)
            if n_rows and not stats.per_lang.get(lang):
                first = next((m for m in stats.skipped if f"{lang}_en.tsv" in m), "")
                raise CovostFormatError(
                    f"{find_covost_tsv(covost_dir, lang)}: none of its {n_rows} {split} rows is "
                    f"usable (first problem: {first or 'unknown'})")
        if stats.num_utts == 0:
            raise CovostFormatError(
                f"{covost_dir}: no utterances for split {split!r} in {', '.join(langs)}")
        _write_split_dir(stats.data_dir, data, extras)
        logger.info("%s: %d utterances from %d rows (%d skipped: %s; %d over the cap), %.2f h",
                    stats.data_dir, stats.num_utts, stats.num_rows, stats.num_skipped,
                    ", ".join(f"{k} {v}" for k, v in stats.reasons.items()) or "none",
                    stats.num_capped, stats.hours)
        results[split] = stats
    return results


# ------------------------------------------------------------------------- stand-in


def standin_languages() -> List[str]:
    """CoVoST 2 source languages the stand-in can synthesise, in the paper's order.

    A language needs an espeak-ng voice and parallel text (``mn``, ``ja`` and ``cy``
    lack one of them). Languages with CLDR-only parallel text (``ca``, ``et``, ``lv``,
    ``sl``, ``ta``) restrict every language of a stand-in to lists of names.
    """
    from usm_espnet.data import parallel_text
    from usm_espnet.data.synth import ESPEAK_VOICES

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

    from usm_espnet.data.synth import resample

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

    Sentences come from :func:`usm_espnet.data.parallel_text.generate_parallel_text`
    over the source languages plus ``en_us``; the ``en_us`` text is the translation.
    Sentence ids are split with :func:`~usm_espnet.data.parallel_text.split_ids`, so no
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
    from usm_espnet.data import parallel_text
    from usm_espnet.data.fleurs import _split_speakers, gender_of_variant
    from usm_espnet.data.synth import SynthItem, synthesize_many

    t0 = time.perf_counter()
    out_root = os.path.abspath(os.fspath(out_root))
    langs = _check_langs(langs)
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
    digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]
    marker = os.path.join(out_root, DONE_MARKER)
    if os.path.lexists(out_root):
        old = None
        if os.path.isfile(marker):
            try:
                with open(marker, encoding="utf-8") as f:
                    old = json.load(f)
            except (OSError, ValueError):
                old = {}
        if old is None and os.listdir(out_root):
            raise ValueError(f"{out_root}: exists, is not empty and was not made by "
                             f"make_standin_covost2 (no {DONE_MARKER}); remove it or choose "
                             f"another output directory")
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
    train_spk, test_spk = _split_speakers(num_train_speakers, num_test_speakers, seed)
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
