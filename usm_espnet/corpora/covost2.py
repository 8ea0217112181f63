"""CoVoST 2 (X -> English): Kaldi data preparation (lhotse-style :func:`prepare_covost2`).

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

:func:`prepare_covost2` reads such a corpus and writes one Kaldi data directory per
split, whose ``text`` is the English translation (the speech-translation target) and whose
``utt2lang`` is the source language, so that scoring can report BLEU per source language.
The synthetic stand-in in exactly that layout is :mod:`usm_espnet.standin.covost2`.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import tarfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple, Union

from usm_espnet.data.kaldi import DataDir, write_datadir_with_extras

__all__ = [
    "COVOST2_SPLITS",
    "COVOST2_TO_FLEURS",
    "COVOST2_X_EN_LANGS",
    "CV_SAMPLE_RATE",
    "CovostFormatError",
    "CovostRow",
    "PrepStats",
    "TsvTable",
    "covost_tsv_name",
    "find_covost_tsv",
    "prepare_covost2",
    "read_covost_tsv",
    "read_cv_validated",
    "read_escaped_tsv",
    "utt_id_of",
    "check_langs",
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


def check_langs(langs: Sequence[str]) -> List[str]:
    """``langs`` without repeats, each checked to be a CoVoST 2 X -> English source language.

    Raises:
        TypeError: ``langs`` is a string.
        ValueError: No languages, or a code not in :data:`COVOST2_X_EN_LANGS`.
    """
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
    langs = _discover_languages(covost_dir) if langs is None else check_langs(langs)

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
        write_datadir_with_extras(stats.data_dir, data, extras)
        logger.info("%s: %d utterances from %d rows (%d skipped: %s; %d over the cap), %.2f h",
                    stats.data_dir, stats.num_utts, stats.num_rows, stats.num_skipped,
                    ", ".join(f"{k} {v}" for k, v in stats.reasons.items()) or "none",
                    stats.num_capped, stats.hours)
        results[split] = stats
    return results
