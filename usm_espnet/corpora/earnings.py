"""Earnings-21/22: long-form ASR data preparation (lhotse-style :func:`prepare_longform`).

The real long-form corpora we support are Rev's Earnings-21 and Earnings-22
(earnings calls, tens of minutes each). Their layout is::

    <root>/media/<id>.mp3                       (also accepted: .wav, .flac)
    <root>/transcripts/nlp_references/<id>.nlp
    <root>/metadata.tsv                         (optional; ours, see below)

An ``.nlp`` file is ``|``-separated with a header line::

    token|speaker|ts|endTs|punctuation|case|tags

(Earnings-22 adds an eighth column, ``wer_tags``; both forms are read). ``token`` is
the word; ``punctuation`` holds the punctuation that follows it, ``case`` its casing
class and ``ts``/``endTs`` its times in seconds, where known (often empty).

``metadata.tsv`` is tab-separated with the header
``id	lang	minutes	seconds	num_sentences`` and gives each recording's FLEURS
language code (only ``id`` and ``lang`` are read; the other columns are informative
and may be empty). Without it every recording gets the ``lang`` argument of
:func:`prepare_longform` (``en_us``, as Earnings-21/22 are English).

:func:`prepare_longform` reads such a corpus and writes one Kaldi data directory with one
utterance per recording (the whole recording is the utterance; long-form inference windows
it, see :mod:`usm_espnet.longform`). The synthetic stand-in in exactly that layout is
:mod:`usm_espnet.standin.longform`.

Why not lhotse's ``prepare_earnings21`` / ``prepare_earnings22`` (lhotse 1.33.0): each
asserts the full release (exactly 44 / 125 mp3 files), so a subset or a converted copy
(wav, flac) cannot be read, and it keeps only the words of an ``.nlp`` file (no
punctuation or case columns, no language per recording); its failures are bare
``assert`` statements.
"""

from __future__ import annotations

import logging
import os
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

from usm_espnet.data.audio import AudioError, check_wav_complete
from usm_espnet.data.kaldi import (
    MAX_CHARS_PER_SECOND,
    DataDir,
    DataDirError,
    find_control_char,
    write_datadir,
)
from usm_espnet.data.languages import FLEURS_LANGUAGES, unknown_language_error
from usm_espnet.utils import atomic_write_text

__all__ = [
    "DEFAULT_MINUTES",
    "LONGFORM_SAMPLE_RATE",
    "MEDIA_EXTENSIONS",
    "METADATA_COLUMNS",
    "NLP_COLUMNS",
    "prepare_longform",
    "read_nlp",
    "write_nlp",
]

logger = logging.getLogger(__name__)

PathLike = Union[str, "os.PathLike[str]"]

#: The seven ``.nlp`` columns (Earnings-21), in order.
NLP_COLUMNS: Tuple[str, ...] = ("token", "speaker", "ts", "endTs", "punctuation", "case", "tags")
#: The optional eighth column of Earnings-22's ``.nlp`` files.
NLP_EXTRA_COLUMN = "wer_tags"
#: Audio file extensions accepted under ``media/`` (case-insensitive).
MEDIA_EXTENSIONS: Tuple[str, ...] = (".wav", ".flac", ".mp3")
#: Columns of ``metadata.tsv``, in the order the stand-in writes them.
METADATA_COLUMNS: Tuple[str, ...] = ("id", "lang", "minutes", "seconds", "num_sentences")
#: Sample rate of the stand-in's recordings.
LONGFORM_SAMPLE_RATE = 16000
#: Default recording lengths of the stand-in, in minutes.
DEFAULT_MINUTES: Tuple[float, ...] = (1, 5, 15, 30, 60)
#: Name of the marker written inside the stand-in once it is complete.
DONE_MARKER = ".done"

MEDIA_DIR = "media"
NLP_DIR = os.path.join("transcripts", "nlp_references")
METADATA_FILE = "metadata.tsv"
#: Stand-in bookkeeping that Earnings does not publish: one line per spoken sentence.
SENTENCES_FILE = "sentences.tsv"
SENTENCES_COLUMNS: Tuple[str, ...] = (
    "id", "index", "start", "end", "speaker_id", "sentence_id", "text")



# -------------------------------------------------------------------------- .nlp


def _nlp_header(cols: Sequence[str]) -> Optional[Tuple[str, ...]]:
    """The accepted header ``cols`` matches, or None."""
    names = tuple(c.strip() for c in cols)
    if names in (NLP_COLUMNS, NLP_COLUMNS + (NLP_EXTRA_COLUMN,)):
        return names
    return None


def read_nlp(path: PathLike) -> List[str]:
    """Read the tokens (words) of an Earnings-21/22 ``.nlp`` transcript.

    The first line must be the header ``token|speaker|ts|endTs|punctuation|case|tags``,
    optionally followed by ``|wer_tags``; every other non-blank line must have as many
    ``|``-separated columns as the header and a non-empty token. A UTF-8 byte order
    mark and ``\\r\\n`` line ends are accepted; blank lines are skipped.

    Args:
        path: The ``.nlp`` file.

    Returns:
        The tokens in file order (surrounding whitespace stripped); empty for a file
        that holds only the header.

    Raises:
        DataDirError: Missing or unreadable file, missing header, a line with the
            wrong number of columns, an empty token or invalid UTF-8; the message
            names ``path:line``; a token holding a control character.
    """
    shown = os.fspath(path)
    try:
        with open(shown, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise DataDirError(f"{shown}: file not found") from None
    except OSError as e:
        raise DataDirError(f"{shown}: cannot read: {e.strerror or e}") from None
    expected = "|".join(NLP_COLUMNS)
    if not raw.strip():
        raise DataDirError(f"{shown}: empty file: missing header line {expected!r}")
    header: Optional[Tuple[str, ...]] = None
    tokens: List[str] = []
    for lineno, chunk in enumerate(raw.split(b"\n"), start=1):
        where = f"{shown}:{lineno}"
        try:
            line = chunk.decode("utf-8")
        except UnicodeDecodeError as e:
            raise DataDirError(f"{where}: not valid UTF-8 ({e.reason})") from None
        if lineno == 1:
            line = line.lstrip("\ufeff")
        line = line.rstrip("\r")
        if header is None:
            header = _nlp_header(line.split("|"))
            if header is None:
                raise DataDirError(
                    f"{where}: missing header: expected {expected!r} "
                    f"(optionally followed by '|{NLP_EXTRA_COLUMN}'), got {line[:80]!r}")
            continue
        if not line.strip():
            continue
        cols = line.split("|")
        if len(cols) != len(header):
            raise DataDirError(
                f"{where}: expected {len(header)} '|'-separated columns "
                f"({'|'.join(header)}), got {len(cols)}")
        token = cols[0].strip()
        if not token:
            raise DataDirError(f"{where}: empty token")
        bad = find_control_char(token)
        if bad is not None:
            raise DataDirError(f"{where}: token contains control character {bad[1]}")
        tokens.append(token)
    return tokens


def _nlp_field(value: object, what: str) -> str:
    text = "" if value is None else str(value)
    if "|" in text or "\n" in text or "\r" in text:
        raise ValueError(f"{what} {text!r} contains '|' or a line break")
    return text


def write_nlp(path: PathLike, rows: Iterable[Union[str, Sequence[object]]]) -> None:
    """Write an Earnings-style ``.nlp`` transcript (atomically: temporary file, then rename).

    Args:
        path: Destination file (its directory is created if needed).
        rows: One row per token: either the token alone (a ``str``; the other columns
            are left empty) or a sequence of at most 8 fields in the column order
            ``token, speaker, ts, endTs, punctuation, case, tags[, wer_tags]``
            (missing trailing fields are empty; ``None`` is written as empty). If any
            row has 8 fields the file gets the ``wer_tags`` column (Earnings-22),
            otherwise the 7 columns of Earnings-21.

    Raises:
        ValueError: An empty token, a token with whitespace, a field containing ``|``
            or a line break, or a row with more than 8 fields.
    """
    table: List[List[str]] = []
    width = len(NLP_COLUMNS)
    for i, row in enumerate(rows, start=1):
        fields = [row] if isinstance(row, str) else list(row)
        if not fields or len(fields) > len(NLP_COLUMNS) + 1:
            raise ValueError(f"row {i}: expected 1 to {len(NLP_COLUMNS) + 1} fields, got {len(fields)}")
        out = [_nlp_field(v, f"row {i}: field") for v in fields]
        token = out[0].strip()
        if not token or any(c.isspace() for c in token):
            raise ValueError(f"row {i}: token {out[0]!r} is empty or contains whitespace")
        out[0] = token
        width = max(width, len(out))
        table.append(out)
    header = NLP_COLUMNS + ((NLP_EXTRA_COLUMN,) if width > len(NLP_COLUMNS) else ())
    lines = ["|".join(header)]
    lines += ["|".join(r + [""] * (len(header) - len(r))) for r in table]
    atomic_write_text(path, "".join(line + "\n" for line in lines))


# --------------------------------------------------------------------- preparation


def _check_lang(code: str, where: str) -> str:
    if code not in FLEURS_LANGUAGES:
        raise DataDirError(str(unknown_language_error(code, where)))
    return code


def _list_media(media_dir: str) -> Dict[str, str]:
    """Recording id -> absolute audio path, for every accepted file in ``media_dir``."""
    out: Dict[str, str] = {}
    for name in sorted(os.listdir(media_dir)):
        path = os.path.join(media_dir, name)
        if name.startswith(".") or not os.path.isfile(path):
            continue
        stem, ext = os.path.splitext(name)
        if ext.lower() not in MEDIA_EXTENSIONS:
            logger.warning("ignoring %s (not %s)", path, "/".join(MEDIA_EXTENSIONS))
            continue
        if not stem or any(c.isspace() for c in stem):
            raise DataDirError(f"{path}: recording id {stem!r} is empty or contains whitespace")
        if stem in out:
            raise DataDirError(
                f"{path}: recording {stem!r} has two media files ({out[stem]} and {path})")
        out[stem] = os.path.abspath(path)
    return out


def _list_transcripts(nlp_dir: str) -> Dict[str, str]:
    """Recording id -> ``.nlp`` path, for every ``*.nlp`` in ``nlp_dir``."""
    out: Dict[str, str] = {}
    for name in sorted(os.listdir(nlp_dir)):
        path = os.path.join(nlp_dir, name)
        if name.startswith(".") or not os.path.isfile(path):
            continue
        stem, ext = os.path.splitext(name)
        if ext != ".nlp":
            logger.warning("ignoring %s (not a .nlp file)", path)
            continue
        out[stem] = path
    return out


def _read_metadata(path: str, recordings: Dict[str, str]) -> Dict[str, str]:
    """Recording id -> language code from ``metadata.tsv`` (see the module docstring)."""
    out: Dict[str, str] = {}
    seen: Dict[str, int] = {}
    with open(path, "rb") as f:
        raw = f.read()
    header: Optional[List[str]] = None
    for lineno, chunk in enumerate(raw.split(b"\n"), start=1):
        where = f"{path}:{lineno}"
        try:
            line = chunk.decode("utf-8")
        except UnicodeDecodeError as e:
            raise DataDirError(f"{where}: not valid UTF-8 ({e.reason})") from None
        if lineno == 1:
            line = line.lstrip("\ufeff")
        line = line.rstrip("\r")
        if header is None:
            header = [c.strip() for c in line.split("\t")]
            if "id" not in header or "lang" not in header:
                raise DataDirError(
                    f"{where}: expected a tab-separated header with columns "
                    f"{', '.join(METADATA_COLUMNS)} (at least id and lang), got {line[:80]!r}")
            continue
        if not line.strip():
            continue
        cols = [c.strip() for c in line.split("\t")]
        if len(cols) != len(header):
            raise DataDirError(
                f"{where}: expected {len(header)} tab-separated columns, got {len(cols)}")
        rec, lang = cols[header.index("id")], cols[header.index("lang")]
        if rec in seen:
            raise DataDirError(f"{where}: recording {rec!r} listed twice (first at line {seen[rec]})")
        seen[rec] = lineno
        _check_lang(lang, where)
        if rec not in recordings:
            raise DataDirError(f"{where}: recording {rec!r} has no media file")
        out[rec] = lang
    if header is None:
        raise DataDirError(f"{path}: empty file (expected a header line)")
    return out


def prepare_longform(root: PathLike, out_dir: PathLike, lang: str = "en_us") -> Dict[str, object]:
    """Write a Kaldi data directory from an Earnings-21/22-layout corpus.

    Every recording is one utterance (id = recording id = speaker id): ``wav.scp``
    (absolute audio paths, any sample rate: long-form inference resamples),
    ``text`` (the ``.nlp`` tokens joined by single spaces, as written: no case or
    punctuation normalisation, which scoring applies), ``utt2spk``/``spk2utt``,
    ``utt2lang`` and ``utt2dur`` (from the audio header, via ``soundfile.info``).
    Everything is checked before anything is written; the directory is written
    atomically by :func:`~usm_espnet.data.kaldi.write_datadir`.

    Args:
        root: Corpus root holding ``media/`` and ``transcripts/nlp_references/``.
        out_dir: The data directory to write (replaced as a whole).
        lang: FLEURS code of recordings not listed in ``<root>/metadata.tsv`` (all of
            them when there is no such file).

    Returns:
        ``{"out_dir", "num_recordings", "hours", "num_words", "per_lang"}`` where
        ``per_lang`` maps each language to its number of recordings.

    Raises:
        DataDirError: A missing directory; no media; a media file without a
            transcript or a transcript without media (naming the file); a malformed
            or empty transcript (naming the file and line); unreadable, truncated or
            empty audio; a transcript with more characters per second of audio than
            :data:`~usm_espnet.data.kaldi.MAX_CHARS_PER_SECOND`;
            a malformed ``metadata.tsv`` line or an unknown language code in it
            (naming ``metadata.tsv:line``); an unknown ``lang``.
    """
    root = os.path.abspath(os.fspath(root))
    out_dir = os.fspath(out_dir)
    _check_lang(lang, "lang argument")
    if not os.path.isdir(root):
        raise DataDirError(f"{root}: long-form corpus directory not found")
    media_dir = os.path.join(root, MEDIA_DIR)
    nlp_dir = os.path.join(root, NLP_DIR)
    for d, what in ((media_dir, "media/<id>.wav|.flac|.mp3"),
                    (nlp_dir, "transcripts/nlp_references/<id>.nlp")):
        if not os.path.isdir(d):
            raise DataDirError(f"{d}: directory not found (expected {what})")
    media = _list_media(media_dir)
    if not media:
        raise DataDirError(f"{media_dir}: no {'/'.join(MEDIA_EXTENSIONS)} files")
    transcripts = _list_transcripts(nlp_dir)
    no_nlp = [r for r in media if r not in transcripts]
    if no_nlp:
        more = f" (and {len(no_nlp) - 1} more recordings without one)" if len(no_nlp) > 1 else ""
        raise DataDirError(
            f"{media[no_nlp[0]]}: no transcript {os.path.join(nlp_dir, no_nlp[0] + '.nlp')}{more}")
    no_media = [r for r in transcripts if r not in media]
    if no_media:
        more = f" (and {len(no_media) - 1} more transcripts without one)" if len(no_media) > 1 else ""
        raise DataDirError(
            f"{transcripts[no_media[0]]}: no media file "
            f"{os.path.join(media_dir, no_media[0])}{{{','.join(MEDIA_EXTENSIONS)}}}{more}")

    meta_path = os.path.join(root, METADATA_FILE)
    langs = _read_metadata(meta_path, media) if os.path.isfile(meta_path) else {}
    unlisted = [r for r in media if r not in langs]
    if langs and unlisted:
        logger.warning("%s does not list %d recording(s) (e.g. %s); they get lang %s",
                       meta_path, len(unlisted), unlisted[0], lang)

    import soundfile as sf

    data = DataDir(wav_scp={})
    seconds, words = 0.0, 0
    per_lang: Dict[str, int] = {}
    for rec in sorted(media):
        tokens = read_nlp(transcripts[rec])
        if not tokens:
            raise DataDirError(f"{transcripts[rec]}: empty transcript (header only, no tokens)")
        path = media[rec]
        try:
            check_wav_complete(path)
            info = sf.info(path)
        except AudioError as e:
            raise DataDirError(f"{path}: {e}") from None
        except Exception as e:  # noqa: BLE001 - soundfile raises several types
            raise DataDirError(f"{path}: cannot read audio: {e}") from None
        if info.frames <= 0 or info.samplerate <= 0:
            raise DataDirError(f"{path}: no audio ({info.frames} frames)")
        dur = info.frames / info.samplerate
        chars = sum(len(t) for t in tokens)
        if chars / dur > MAX_CHARS_PER_SECOND:
            raise DataDirError(
                f"{transcripts[rec]}: {chars} characters for {dur:.2f} s of audio in {path} "
                f"({chars / dur:.0f}/s, more than the {MAX_CHARS_PER_SECOND:g}/s speech can "
                f"carry): not this recording's transcript?")
        rec_lang = langs.get(rec, lang)
        data.wav_scp[rec] = path
        data.text[rec] = " ".join(tokens)
        data.utt2spk[rec] = rec
        data.utt2lang[rec] = rec_lang
        data.utt2dur[rec] = dur
        seconds += dur
        words += len(tokens)
        per_lang[rec_lang] = per_lang.get(rec_lang, 0) + 1
    write_datadir(out_dir, data)
    logger.info("%s -> %s: %d recordings, %.3f h, %d words, %d languages",
                root, out_dir, len(media), seconds / 3600.0, words, len(per_lang))
    return {"out_dir": out_dir, "num_recordings": len(media), "hours": seconds / 3600.0,
            "num_words": words, "per_lang": dict(sorted(per_lang.items()))}
