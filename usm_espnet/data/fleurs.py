"""FLEURS: Kaldi data preparation, and a synthetic stand-in corpus in the same layout.

FLEURS (Conneau et al., 2022) is the multilingual ASR benchmark of the USM paper
(arXiv 2303.01037, Table 3). A downloaded copy looks like this::

    <corpus_dir>/<lang>/train.tsv  dev.tsv  test.tsv
    <corpus_dir>/<lang>/audio/<split>.tar.gz      members "<split>/<file_name>"
                     or audio/<split>/<file_name>  (already extracted)

``<lang>`` is a published code (``en_us``, ``hi_in``, ``cmn_hans_cn`` ...). The tsv
files have no header and seven tab-separated columns:

=====================  ===============================================================
``id``                 integer sentence id, shared by all languages for one sentence;
                       repeats within a file when several speakers read it
``file_name``          e.g. ``10004088536354799741.wav`` (16 kHz wav)
``raw_transcription``  the original sentence (case, punctuation)
``transcription``      normalised: lower case, (most) punctuation removed
``chars``              the transcription's characters separated by spaces, ``|``
                       between words
``num_samples``        length of the audio at 16 kHz
``gender``             ``MALE``, ``FEMALE`` or ``OTHER``
=====================  ===============================================================

Two things live here:

:func:`prepare_fleurs`
    reads such a corpus (extracting the archives once, idempotently) and writes one
    Kaldi data directory per split, as lhotse's recipe modules do.
:func:`make_standin_fleurs`
    writes a small synthetic corpus in exactly that layout (espeak-ng speech of the
    parallel text of :mod:`usm_espnet.data.parallel_text`), so every recipe stage can
    run where the real corpus is absent. Its ``untranscribed/`` part plays YT-NTL-U,
    the untranscribed audio of BEST-RQ pretraining.
"""

from __future__ import annotations

import difflib
import gzip
import hashlib
import json
import logging
import math
import os
import random
import shutil
import tarfile
import tempfile
import time
import unicodedata
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import PurePosixPath
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

from usm_espnet.data.audio import AudioError, read_audio_info
from usm_espnet.data.kaldi import DataDir, DataDirError, find_control_char, validate_datadir, write_datadir
from usm_espnet.data.languages import FLEURS_LANGUAGES, UnknownLanguageError
from usm_espnet.utils import atomic_write_text, replace_dir

__all__ = [
    "FLEURS_COLUMNS",
    "FLEURS_SAMPLE_RATE",
    "FLEURS_SPLITS",
    "FleursFormatError",
    "FleursRow",
    "PrepStats",
    "StandinStats",
    "extract_split_archive",
    "fleurs_chars",
    "fleurs_normalize",
    "gender_of_variant",
    "make_standin_fleurs",
    "prepare_fleurs",
    "read_fleurs_tsv",
    "utt_id_of",
    "write_fleurs_tsv",
]

logger = logging.getLogger(__name__)

PathLike = Union[str, "os.PathLike[str]"]

#: The published splits, in order.
FLEURS_SPLITS: Tuple[str, ...] = ("train", "dev", "test")
#: The seven tsv columns, in order.
FLEURS_COLUMNS: Tuple[str, ...] = (
    "id", "file_name", "raw_transcription", "transcription", "chars", "num_samples", "gender",
)
#: FLEURS audio is 16 kHz; ``num_samples`` counts samples at this rate.
FLEURS_SAMPLE_RATE = 16000
#: Columns ``prepare_fleurs(text_column=...)`` accepts.
TEXT_COLUMNS: Tuple[str, ...] = ("transcription", "raw_transcription")
#: Name of the marker written inside a directory once its content is complete.
DONE_MARKER = ".done"
#: Bump when the stand-in generator changes what it writes (invalidates old markers).
STANDIN_VERSION = 1


class FleursFormatError(ValueError):
    """A FLEURS corpus that does not have the expected layout or tsv format.

    The message starts with the offending path and, where one applies, the 1-based
    line number: ``<root>/en_us/train.tsv:17: expected 7 tab-separated columns, got 5``.
    """


# ------------------------------------------------------------------------- text


def fleurs_normalize(text: str) -> str:
    """Normalise text roughly as FLEURS' ``transcription`` column.

    NFKC, lower case, every punctuation character (Unicode category ``P*``) replaced by
    a space, whitespace collapsed. Combining marks (``Mn``/``Mc``: Devanagari vowel
    signs, Arabic harakat ...) and symbols are kept. ``str.lower`` is used rather than
    ``casefold`` so that, as in FLEURS, German ``ß`` stays ``ß``.

    Note that the published column is less thorough: it keeps some apostrophes and
    hyphens (``don't``, ``dix-sept``); this function removes them all.

    Args:
        text: Raw sentence.

    Returns:
        Normalised text (possibly empty).
    """
    text = unicodedata.normalize("NFKC", text).lower()
    out = [" " if unicodedata.category(c).startswith("P") else c for c in text]
    return " ".join("".join(out).split())


def fleurs_chars(transcription: str) -> str:
    """Build FLEURS' ``chars`` column: characters separated by spaces, ``|`` after each word.

    Args:
        transcription: Normalised transcription.

    Returns:
        E.g. ``"a | c a t |"`` for ``"a cat"``.
    """
    words = transcription.split()
    return " | ".join(" ".join(w) for w in words) + " |" if words else "|"


# -------------------------------------------------------------------------- tsv


@dataclass
class FleursRow:
    """One line of a FLEURS tsv file.

    Args:
        id: Sentence id (shared across languages).
        file_name: Audio file name, e.g. ``"1234.wav"``.
        raw_transcription: Original text.
        transcription: Normalised text.
        chars: Character column (not used by preparation).
        num_samples: Audio length in samples at 16 kHz.
        gender: ``MALE``, ``FEMALE`` or ``OTHER``.
        path: The tsv file it came from (for messages).
        lineno: Its 1-based line number.
    """

    id: int
    file_name: str
    raw_transcription: str
    transcription: str
    chars: str
    num_samples: int
    gender: str
    path: str = ""
    lineno: int = 0

    @property
    def where(self) -> str:
        """``path:line`` of this row."""
        return f"{self.path}:{self.lineno}"

    def to_line(self) -> str:
        """The row as one tsv line (no newline)."""
        fields = [str(self.id), self.file_name, self.raw_transcription, self.transcription,
                  self.chars, str(self.num_samples), self.gender]
        for f in fields:
            if "\t" in f or "\n" in f or "\r" in f:
                raise ValueError(f"tsv field {f!r} contains a tab or line break")
        return "\t".join(fields)


def _parse_int(value: str, where: str, what: str, minimum: int) -> int:
    try:
        n = int(value.strip())
    except ValueError:
        raise FleursFormatError(f"{where}: {what} {value!r} is not an integer") from None
    if n < minimum:
        raise FleursFormatError(f"{where}: {what} {n} must be >= {minimum}")
    return n


def read_fleurs_tsv(path: PathLike) -> List[FleursRow]:
    """Read a FLEURS split file (no header, seven tab-separated columns).

    Blank lines are ignored. Text fields have their whitespace collapsed.

    Args:
        path: ``<lang>/<split>.tsv``.

    Returns:
        The rows, in file order.

    Raises:
        FleursFormatError: Missing file, undecodable line, wrong column count,
            non-integer ``id`` or ``num_samples``, or a bad ``file_name``; the message
            names ``path:line``.
    """
    shown = os.fspath(path)
    if not os.path.isfile(shown):
        raise FleursFormatError(f"{shown} not found")
    rows: List[FleursRow] = []
    with open(shown, "rb") as f:
        for lineno, raw in enumerate(f, start=1):
            where = f"{shown}:{lineno}"
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise FleursFormatError(f"{where}: not valid UTF-8 ({e.reason})") from None
            if lineno == 1:
                line = line.lstrip("\ufeff")
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            cols = line.split("\t")
            if len(cols) != len(FLEURS_COLUMNS):
                raise FleursFormatError(
                    f"{where}: expected {len(FLEURS_COLUMNS)} tab-separated columns, "
                    f"got {len(cols)}"
                )
            sid = _parse_int(cols[0], where, "sentence id", 0)
            file_name = cols[1].strip()
            if (not file_name or any(c.isspace() for c in file_name)
                    or "/" in file_name or "\\" in file_name or file_name.startswith(".")):
                raise FleursFormatError(
                    f"{where}: bad file_name {cols[1]!r} (empty, hidden, a path or contains spaces)"
                )
            num_samples = _parse_int(cols[5], where, "num_samples", 1)
            rows.append(FleursRow(
                id=sid, file_name=file_name,
                raw_transcription=" ".join(cols[2].split()),
                transcription=" ".join(cols[3].split()),
                chars=cols[4].strip(), num_samples=num_samples,
                gender=cols[6].strip().upper() or "OTHER",
                path=shown, lineno=lineno,
            ))
    return rows


def write_fleurs_tsv(path: PathLike, rows: Iterable[FleursRow]) -> None:
    """Write rows as a FLEURS tsv file (atomically: temporary file, then rename).

    Args:
        path: Destination.
        rows: Rows to write, in order.
    """
    atomic_write_text(path, "".join(r.to_line() + "\n" for r in rows))


# ---------------------------------------------------------------------- archives


def _archive_stamp(archive: str) -> Dict[str, object]:
    st = os.stat(archive)
    return {"archive": os.path.abspath(archive), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def extract_split_archive(archive: PathLike, dest: PathLike) -> str:
    """Extract a FLEURS ``<split>.tar.gz`` into ``dest/<split>/``, once.

    Regular-file members are written flat under their base name (FLEURS members
    are ``<split>/<file_name>``); links, devices and members that ``tarfile``'s
    ``data`` filter rejects (absolute paths, ``..``) are refused, so nothing can be
    written outside ``dest``. Extraction goes to a temporary directory that is
    renamed into place with a ``.done`` marker recording the archive's size and
    modification time: a rerun with the same archive does nothing, a changed archive
    is extracted again.

    Args:
        archive: Path of ``<split>.tar.gz``.
        dest: Directory that receives ``<split>/``.

    Returns:
        The directory holding the extracted files.

    Raises:
        FleursFormatError: The archive is unreadable or holds an unsafe member.
    """
    archive = os.fspath(archive)
    split = os.path.basename(archive).split(".", 1)[0]
    final = os.path.join(os.path.abspath(os.fspath(dest)), split)
    marker = os.path.join(final, DONE_MARKER)
    stamp = _archive_stamp(archive)
    if os.path.isfile(marker):
        try:
            with open(marker, encoding="utf-8") as f:
                if json.load(f) == stamp:
                    logger.info("%s: already extracted to %s", archive, final)
                    return final
        except (OSError, ValueError):
            pass
    os.makedirs(os.path.dirname(final), exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{split}.extract-", dir=os.path.dirname(final))
    logger.info("extracting %s to %s", archive, final)
    try:
        out = os.path.join(tmp, split)
        os.mkdir(out)
        seen: Dict[str, str] = {}
        try:
            with tarfile.open(archive, "r|*") as tar:
                for member in tar:
                    if member.isdir():
                        continue
                    try:
                        tarfile.data_filter(member, out)
                    except tarfile.FilterError as e:
                        raise FleursFormatError(
                            f"{archive}: unsafe member {member.name!r}: {e}") from None
                    if not member.isfile():
                        raise FleursFormatError(
                            f"{archive}: member {member.name!r} is not a regular file")
                    base = PurePosixPath(member.name).name
                    if not base or base.startswith("."):
                        continue
                    if base in seen:
                        raise FleursFormatError(
                            f"{archive}: members {seen[base]!r} and {member.name!r} "
                            f"have the same file name")
                    seen[base] = member.name
                    src = tar.extractfile(member)
                    assert src is not None
                    with src, open(os.path.join(out, base), "wb") as dst:
                        shutil.copyfileobj(src, dst, 1 << 20)
        except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as e:
            raise FleursFormatError(
                f"{archive}: cannot read archive: {type(e).__name__}: {e}") from None
        with open(os.path.join(out, DONE_MARKER), "w", encoding="utf-8") as f:
            json.dump(stamp, f)
        replace_dir(out, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


# -------------------------------------------------------------------- preparation


@dataclass
class PrepStats:
    """What :func:`prepare_fleurs` wrote for one split.

    Args:
        split: ``train``, ``dev`` or ``test``.
        data_dir: The Kaldi data directory written.
        num_utts: Utterances written.
        num_skipped: Rows left out (audio missing or, with ``check_audio``,
            unreadable, truncated or empty; duplicate file name).
        hours: Audio written, in hours.
        per_lang: Utterances written per language.
        skipped: One ``tsv:line: reason`` message per skipped row.
    """

    split: str
    data_dir: str
    num_utts: int = 0
    num_skipped: int = 0
    hours: float = 0.0
    per_lang: Dict[str, int] = field(default_factory=dict)
    skipped: List[str] = field(default_factory=list)


def utt_id_of(lang: str, split: str, file_name: str) -> str:
    """Kaldi utterance id of a FLEURS recording: ``<lang>-<split>-<file stem>``.

    Sorts by language, then split; unique even when several speakers read one
    sentence (the file name is unique, the sentence id is not).

    Args:
        lang: FLEURS code.
        split: Split name.
        file_name: ``file_name`` column.

    Returns:
        The utterance id.
    """
    stem = file_name[:-4] if file_name.lower().endswith(".wav") else file_name
    return f"{lang}-{split}-{stem}"


def _unknown_language(code: str, where: str) -> UnknownLanguageError:
    prefix = code.lower().replace("-", "_").split("_")[0]
    close = [c for c in FLEURS_LANGUAGES if c.split("_")[0] == prefix]
    close += [c for c in difflib.get_close_matches(code, FLEURS_LANGUAGES, n=3, cutoff=0.5)
              if c not in close]
    hint = f"; did you mean {', '.join(repr(c) for c in close[:3])}?" if close else ""
    return UnknownLanguageError(
        f"{where}: unknown FLEURS language code {code!r}{hint} "
        f"(codes look like 'en_us', 'hi_in', 'cmn_hans_cn'; see "
        f"usm_espnet.data.languages.FLEURS_LANGUAGES)"
    )


def _corpus_root(corpus_dir: str) -> str:
    """The directory holding the language dirs (``corpus_dir`` or its ``data/``)."""
    if not os.path.isdir(corpus_dir):
        raise FleursFormatError(f"{corpus_dir}: corpus directory not found")

    def has_lang_dirs(d: str) -> bool:
        return any(n in FLEURS_LANGUAGES and os.path.isdir(os.path.join(d, n))
                   for n in os.listdir(d))

    sub = os.path.join(corpus_dir, "data")  # Hugging Face's google/fleurs keeps them in data/
    if not has_lang_dirs(corpus_dir) and os.path.isdir(sub) and has_lang_dirs(sub):
        return sub
    return corpus_dir


def _discover_languages(root: str) -> List[str]:
    langs = []
    for name in sorted(os.listdir(root)):
        d = os.path.join(root, name)
        if not os.path.isdir(d) or name.startswith("."):
            continue
        if not any(os.path.isfile(os.path.join(d, f"{s}.tsv")) for s in FLEURS_SPLITS):
            continue  # not a language directory (e.g. a stand-in's untranscribed/)
        if name not in FLEURS_LANGUAGES:
            raise _unknown_language(name, d)
        langs.append(name)
    if not langs:
        raise FleursFormatError(
            f"{root}: no language directories found "
            f"(expected <lang>/train.tsv, ... e.g. en_us/train.tsv)")
    return langs


def _audio_source(root: str, lang: str, split: str, audio_dir: str) -> str:
    """Directory with the split's wavs: the extracted one, or the archive extracted now."""
    adir = os.path.join(root, lang, "audio")
    loose = os.path.join(adir, split)
    if os.path.isdir(loose):
        return loose
    archive = os.path.join(adir, f"{split}.tar.gz")
    if os.path.isfile(archive):
        return extract_split_archive(archive, os.path.join(audio_dir, lang))
    raise FleursFormatError(f"{adir}: neither {split}.tar.gz nor {split}/ found")


def _write_split_dir(target: str, data: DataDir, extras: Dict[str, Dict[str, str]]) -> None:
    """Write a data dir plus extra ``utt2*`` files, all swapped into place at once."""
    parent, name = os.path.split(target)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{name}.tmp-", dir=parent)
    try:
        staged = os.path.join(tmp, name)
        write_datadir(staged, data)
        for fname, mapping in extras.items():
            with open(os.path.join(staged, fname), "w", encoding="utf-8", newline="\n") as f:
                for key in sorted(mapping):
                    value = mapping[key]
                    f.write(f"{key} {value}\n" if value else f"{key}\n")
        try:
            validate_datadir(staged)
        except DataDirError as e:
            raise DataDirError(str(e).replace(staged, target)) from None
        replace_dir(staged, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def prepare_fleurs(
    corpus_dir: PathLike,
    out_dir: PathLike,
    langs: Optional[Sequence[str]] = None,
    splits: Sequence[str] = FLEURS_SPLITS,
    audio_dir: Optional[PathLike] = None,
    text_column: str = "transcription",
    max_utts_per_lang: Optional[int] = None,
    check_audio: bool = False,
) -> Dict[str, PrepStats]:
    """Write one Kaldi data directory per FLEURS split.

    ``out_dir/<split>/`` gets ``wav.scp`` (absolute wav paths), ``text``,
    ``utt2spk``/``spk2utt``, ``utt2lang``, ``utt2dur`` and two extra maps,
    ``utt2gender`` (the ``gender`` column) and ``utt2raw`` (``raw_transcription``).
    Utterance ids are :func:`utt_id_of` (``en_us-train-1234567``). FLEURS publishes
    no speaker ids, so ``utt2spk`` maps every utterance to itself (speaker-level
    CMVN or adaptation is therefore per utterance).

    All tsv files are read and checked before anything is extracted or written.
    Audio comes from ``<lang>/audio/<split>/`` when that directory exists, otherwise
    from ``<lang>/audio/<split>.tar.gz``, extracted once into
    ``audio_dir/<lang>/<split>/`` (see :func:`extract_split_archive`). A row whose
    audio file is absent is skipped with a warning naming the tsv line and the
    file, and counted in :attr:`PrepStats.num_skipped`; so is, with ``check_audio``,
    a row whose audio cannot be read, is truncated or holds no samples. Transcript
    problems are errors naming the tsv line: an empty text, a control character (a
    transcript too long for its audio is left to stage 2, ``format_data``, which
    measures the audio). Each data directory is
    validated and swapped into place atomically, so a rerun simply replaces it.

    Args:
        corpus_dir: The FLEURS root (holding ``en_us/`` ...), or a directory whose
            ``data/`` subdirectory is that root (the Hugging Face layout).
        out_dir: Where ``<split>/`` data directories are written.
        langs: FLEURS codes to prepare; ``None``: every language directory present.
        splits: Splits to prepare, from ``train``, ``dev``, ``test``.
        audio_dir: Where archives are extracted (default ``out_dir/audio``).
        text_column: ``transcription`` (normalised, the default) or
            ``raw_transcription`` for the ``text`` file.
        max_utts_per_lang: Keep at most this many utterances per language and split
            (the first ones in tsv order that have audio); ``None`` keeps all.
        check_audio: Read every wav header: it must be 16 kHz, and ``utt2dur`` then
            comes from the header (a mismatch with ``num_samples`` is logged);
            otherwise ``utt2dur`` is ``num_samples / 16000``.

    Returns:
        ``{split: PrepStats}``.

    Raises:
        ValueError: Bad ``splits``, ``text_column`` or ``max_utts_per_lang``.
        UnknownLanguageError: A language code (requested or found) is not a FLEURS code.
        FleursFormatError: Missing corpus, language directory, tsv file or audio;
            malformed tsv line (``file:line: ...``); empty transcription or one with
            a control character; a split with no usable utterance.
        DataDirError: The data to be written is invalid.
    """
    corpus_dir = os.fspath(corpus_dir)
    out_dir = os.path.abspath(os.fspath(out_dir))
    audio_dir = (os.path.abspath(os.fspath(audio_dir)) if audio_dir is not None
                 else os.path.join(out_dir, "audio"))
    splits = list(dict.fromkeys(splits))
    bad = [s for s in splits if s not in FLEURS_SPLITS]
    if bad or not splits:
        raise ValueError(f"unknown split(s) {bad}; allowed: {', '.join(FLEURS_SPLITS)}")
    if text_column not in TEXT_COLUMNS:
        raise ValueError(
            f"text_column must be one of {', '.join(TEXT_COLUMNS)}, got {text_column!r}")
    if max_utts_per_lang is not None and max_utts_per_lang < 1:
        raise ValueError(f"max_utts_per_lang must be >= 1, got {max_utts_per_lang}")

    root = _corpus_root(corpus_dir)
    if langs is None:
        langs = _discover_languages(root)
    else:
        langs = list(dict.fromkeys(langs))
        if not langs:
            raise ValueError("no languages given")
        for lang in langs:
            if lang not in FLEURS_LANGUAGES:
                raise _unknown_language(lang, "requested languages")
        for lang in langs:
            if not os.path.isdir(os.path.join(root, lang)):
                present = sorted(n for n in os.listdir(root) if n in FLEURS_LANGUAGES)
                raise FleursFormatError(
                    f"{os.path.join(root, lang)}: language directory not found "
                    f"(present: {', '.join(present) or 'none'})"
                )

    # 1. read and check every tsv before touching anything
    tables: Dict[Tuple[str, str], List[FleursRow]] = {}
    for lang in langs:
        for split in splits:
            rows = read_fleurs_tsv(os.path.join(root, lang, f"{split}.tsv"))
            for row in rows:
                text = getattr(row, text_column)
                if not text:
                    raise FleursFormatError(f"{row.where}: empty {text_column} for {row.file_name}")
                bad = find_control_char(text)
                if bad is not None:
                    raise FleursFormatError(
                        f"{row.where}: {text_column} of {row.file_name} contains control "
                        f"character {bad[1]} at position {bad[0]}")
            tables[lang, split] = rows

    # 2. audio, then one data dir per split
    results: Dict[str, PrepStats] = {}
    for split in splits:
        stats = PrepStats(split=split, data_dir=os.path.join(out_dir, split))
        data = DataDir(wav_scp={})
        extras: Dict[str, Dict[str, str]] = {"utt2gender": {}, "utt2raw": {}}
        seconds = 0.0
        for lang in langs:
            rows = tables[lang, split]
            wav_dir = _audio_source(root, lang, split, audio_dir)
            present = set(os.listdir(wav_dir))
            seen: Dict[str, str] = {}
            kept = 0
            for row in rows:
                if max_utts_per_lang is not None and kept >= max_utts_per_lang:
                    break
                if row.file_name in seen:
                    msg = (f"{row.where}: {row.file_name} already listed "
                           f"at line {seen[row.file_name]}")
                elif row.file_name not in present:
                    msg = f"{row.where}: audio file {row.file_name} not found in {wav_dir}"
                else:
                    msg = ""
                path = os.path.abspath(os.path.join(wav_dir, row.file_name))
                num_samples = row.num_samples
                if check_audio and not msg:
                    try:
                        sr, num_samples = read_audio_info(path)
                    except AudioError as e:
                        msg = f"{row.where}: {e}"
                    else:
                        if num_samples == 0:
                            msg = f"{row.where}: audio file {path} holds no samples"
                if msg:
                    logger.warning("skipping: %s", msg)
                    stats.skipped.append(msg)
                    continue
                seen[row.file_name] = str(row.lineno)
                if check_audio:
                    n, num_samples = num_samples, row.num_samples
                    if sr != FLEURS_SAMPLE_RATE:
                        raise FleursFormatError(
                            f"{row.where}: {path}: sample rate {sr} Hz, "
                            f"expected {FLEURS_SAMPLE_RATE}")
                    if n != num_samples:
                        logger.warning("%s: num_samples %d but %s has %d",
                                       row.where, num_samples, path, n)
                    num_samples = n
                utt = utt_id_of(lang, split, row.file_name)
                data.wav_scp[utt] = path
                data.text[utt] = getattr(row, text_column)
                data.utt2lang[utt] = lang
                data.utt2dur[utt] = num_samples / FLEURS_SAMPLE_RATE
                extras["utt2gender"][utt] = row.gender
                extras["utt2raw"][utt] = row.raw_transcription
                seconds += num_samples / FLEURS_SAMPLE_RATE
                kept += 1
            if rows and kept == 0:
                raise FleursFormatError(
                    f"{rows[0].path}: none of its {len(rows)} audio files found in {wav_dir}")
            stats.per_lang[lang] = kept
        stats.num_utts = len(data.wav_scp)
        stats.num_skipped = len(stats.skipped)
        stats.hours = seconds / 3600.0
        if stats.num_utts == 0:
            raise FleursFormatError(
                f"{root}: no utterances for split {split!r} in {', '.join(langs)}")
        data.utt2spk = {u: u for u in data.wav_scp}
        _write_split_dir(stats.data_dir, data, extras)
        logger.info("%s: %d utterances (%d skipped), %.2f h, %d languages",
                    stats.data_dir, stats.num_utts, stats.num_skipped, stats.hours, len(langs))
        results[split] = stats
    return results


# ----------------------------------------------------------------------- stand-in


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


def _split_speakers(num_train: int, num_test: int, seed: int) -> Tuple[list, list]:
    """Train and dev/test speakers with disjoint ids and, where possible, disjoint timbres.

    The espeak-ng variants are partitioned in proportion to the two counts; train
    speakers only use the first part, dev/test speakers only the second, so a test
    voice's timbre is never heard in training (prosody settings also differ).
    """
    from usm_espnet.data.synth import VARIANTS, make_speakers

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


def _standin_params(**kw: object) -> Dict[str, object]:
    params = dict(kw)
    params["version"] = STANDIN_VERSION
    return params


def _params_hash(params: Dict[str, object]) -> str:
    return hashlib.sha256(json.dumps(params, sort_keys=True).encode("utf-8")).hexdigest()[:16]


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

    Sentences come from :func:`usm_espnet.data.parallel_text.generate_parallel_text`
    (one id per sentence, shared by all languages, as in FLEURS) and are split with
    :func:`~usm_espnet.data.parallel_text.split_ids`, so no dev or test sentence is in
    train (and every dev/test character occurs in train, unless the corpus is too small
    for that: then a warning is logged). Each sentence is read by ``utts_per_sentence``
    different speakers; train speakers and dev/test speakers are disjoint (different
    espeak-ng timbres where the counts allow, see below), so test voices are never
    heard in training.
    Audio is synthesised with :func:`usm_espnet.data.synth.synthesize_many` (16 kHz,
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
      and untranscribed sentence; see :mod:`usm_espnet.data.unspoken_text`.
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
        acoustics: A name in :data:`usm_espnet.data.synth.ACOUSTICS`: ``None``/``clean``
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
    from usm_espnet.data import parallel_text
    from usm_espnet.data.synth import SynthItem, acoustics_of, espeak_voice, synthesize_many

    t0 = time.perf_counter()
    out_root = os.path.abspath(os.fspath(out_root))
    langs = list(dict.fromkeys(langs if langs is not None else parallel_text.DEFAULT_LANGS))
    if not langs:
        raise ValueError("no languages given")
    for lang in langs:
        if lang not in FLEURS_LANGUAGES:
            raise _unknown_language(lang, "requested languages")
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
    digest = _params_hash(params)
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
            raise ValueError(
                f"{out_root}: exists, is not empty and was not made by make_standin_fleurs "
                f"(no {DONE_MARKER}); remove it or choose another output directory")
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
    train_spk, test_spk = _split_speakers(num_train_speakers, num_test_speakers, seed)
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
