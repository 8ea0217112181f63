"""FLEURS: Kaldi data preparation (lhotse-style :func:`prepare_fleurs`).

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

:func:`prepare_fleurs` reads such a corpus (extracting the archives once, idempotently)
and writes one Kaldi data directory per split, as lhotse's recipe modules do. The
synthetic stand-in in exactly that layout is :mod:`usm_espnet.standin.fleurs`.

Why not lhotse's ``prepare_fleurs`` (lhotse 1.33.0): it reads the layout its own
downloader writes (``metadata/<lang>/<split>.tsv`` beside ``<lang>/<split>/*.wav``),
not the published one above (tsv files beside ``audio/<split>.tar.gz``), unpacks each
tsv row without a check (a short row is a bare ``ValueError`` naming no file or line),
and makes speaker ids up from sentence ids; here a short row is one error naming the
tsv file and line, and a row whose audio is missing a counted skip naming its line.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import shutil
import tarfile
import tempfile
import unicodedata
import zlib
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

from usm_espnet.data.audio import AudioError, read_audio_info
from usm_espnet.data.kaldi import DataDir, find_control_char, write_datadir_with_extras
from usm_espnet.data.languages import FLEURS_LANGUAGES, requested_languages, unknown_language_error
from usm_espnet.utils import atomic_write_text, replace_dir

__all__ = [
    "FLEURS_COLUMNS",
    "FLEURS_SAMPLE_RATE",
    "FLEURS_SPLITS",
    "FleursFormatError",
    "FleursRow",
    "PrepStats",
    "extract_split_archive",
    "fleurs_chars",
    "fleurs_normalize",
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
            raise unknown_language_error(name, d)
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
        langs = requested_languages(langs)
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
        write_datadir_with_extras(stats.data_dir, data, extras)
        logger.info("%s: %d utterances (%d skipped), %.2f h, %d languages",
                    stats.data_dir, stats.num_utts, stats.num_skipped, stats.hours, len(langs))
        results[split] = stats
    return results
