"""CORAAL: Kaldi data preparation, the transcript normaliser, and a synthetic stand-in.

CORAAL, the Corpus of Regional African American Language (University of Oregon), is the
African American English test set of the USM paper (arXiv 2303.01037). It is published per
*component* (a place and time of recording: ``ATL`` Atlanta, ``DCA``/``DCB`` Washington DC,
``DTA`` Detroit, ``LES`` Lower East Side, ``PRV`` Princeville, ``ROC`` Rochester, ``VLD``
Valdosta ...), each as archives that extract to::

    <corpus_dir>/DCA_audio_part01_2018.10.06/DCA_se1_ag1_f_01_1.wav   (44.1 kHz interviews)
    <corpus_dir>/DCA_textfiles_2018.10.06/DCA_se1_ag1_f_01_1.txt      (one transcript per wav)
    <corpus_dir>/DCA_metadata_2018.10.06.txt                           (tab-separated)

:func:`prepare_coraal` walks ``corpus_dir`` recursively, so the directories may sit
anywhere below it; archives ``<C>_audio_*.tar.gz`` / ``<C>_textfiles_*.tar.gz`` that have no
extracted directory beside them are extracted once into ``extract_dir``. Files are paired by
name (``<stem>.wav`` with ``<stem>.txt``); the component is the part of the name before the
first ``_``.

Transcripts
-----------
A header line ``Line<TAB>Spkr<TAB>StTime<TAB>Content<TAB>EnTime``, then one row per
utterance turn: the line number, the speaker id (the interviewee's, e.g.
``DCA_se1_ag1_f_01``, or an interviewer's, ``DCA_int_01``), start and end in seconds and
the transcribed content. A UTF-8 byte order mark and ``\\r\\n`` line ends are accepted;
a file that is not UTF-8 is read as Latin-1 (logged). Blank lines are ignored.

Every row is accounted for: it becomes a segment or is dropped with one of these reasons
(counted in ``coraal_prep.json``, listed with ``file:line`` in ``coraal_skipped.tsv``,
the first ones of each reason logged):

=====================  ================================================================
``malformed``          not 5 tab-separated fields, an empty field other than Content, a
                       ``Line`` that is not an integer or repeats, a time that is not a
                       finite number >= 0, a speaker id with spaces
``bad_times``          ``EnTime <= StTime``
``out_of_order``       ``StTime`` earlier than the previous row's (rows are in time order)
``beyond_audio``       starts after the end of the wav, or ends more than 0.5 s past it
                       (an end up to 0.5 s past is clamped, as Kaldi does)
``unclosed_markup``    ``(``, ``((``, ``<``, ``[`` or ``/`` without its closing mark, or
                       a stray ``)``, ``>``, ``]``
``no_speech``          nothing left after removing markup (pause rows, ``<laugh>`` ...)
``mostly_unintelligible``  see the normaliser below
``overlap``            (only with ``drop_overlap``) content with ``[...]``
``not_selected``       (only with ``speakers="interviewee"``) an interviewer's row
=====================  ================================================================

With ``on_error="raise"`` the first five reasons raise :class:`CoraalFormatError` instead,
its message starting with ``file:line``. A wrong header always raises. A transcript without
its wav (or the reverse), unreadable audio or audio below 16 kHz skips the whole file
(counted under ``files_skipped``; raises with ``on_error="raise"``).

The transcript normaliser (:func:`normalize_coraal`)
----------------------------------------------------
Markup, scanned left to right (brackets may contain the other kinds):

* ``(pause 0.52)`` (also ``(pause)``): a pause; removed.
* ``(...)``, any other single parentheses: a note on the line (``(breathy)``); removed.
* ``((words))``: uncertain transcription; the words are kept. ``(( ))`` with nothing in
  it counts as an unintelligible span.
* ``<...>``: non-speech sounds (``<laugh>``, ``<cough>``, ``<ts>``); removed.
* ``/.../``: ``/unintelligible/``, ``/inaudible/``, ``/?/``, ``//`` and redactions
  ``/RD-NAME-1/``, ``/RD-ADDRESS/`` ... (anything starting ``RD-``) are *masked spans*:
  removed and counted. Any other text between slashes is the transcriber's guess and is kept.
* ``[...]``: overlapped speech; the words inside are kept, the row is marked as overlapped.

The remaining text is NFKC-normalised and lower-cased; typographic apostrophes become
``'``; an apostrophe is kept only between two letters or digits (``ain't``, ``y'all``;
``goin'`` becomes ``goin``); every other punctuation mark or symbol (hyphens included)
separates words; whitespace is collapsed. Digits are kept as written (CORAAL spells most
numbers out).

A row is dropped as ``mostly_unintelligible`` when masked spans make up more than
``max_unintelligible`` (default 0.5) of its units, a unit being a kept word or a masked
span (one span counts as one unit however many words it hides). So
``/unintelligible/ yeah`` (1 of 2) is kept as ``yeah``, ``/unintelligible/ /RD-NAME-2/ yeah``
(2 of 3) is dropped.

Data written
------------
Interviews are split by interviewee (all parts of one speaker's interview in the same
split), per component, with a seeded hash: ``fractions`` of each component's interviewees
go to train, dev and test (a component with at least 3 interviewees gets at least one in
dev and one in test; with 2, one in test). ``<out_dir>/{train,dev,test}`` are Kaldi dirs
of *segments*, one per kept row (``segments`` over the interview wavs, which stay at their
own rate; stage 2 of the recipe template resamples), with ``text``, ``utt2spk`` (the
row's speaker), ``utt2lang`` (``en_us``), ``utt2dur`` and ``utt2component``.
``<out_dir>/test_longform`` has one utterance per test interview file: its whole wav and
the normalised words of every row that passed the format checks, in time order (both
speakers; rows dropped as ``overlap`` or ``not_selected`` still contribute their words,
since their audio is in the recording). A row dropped as ``mostly_unintelligible`` (or
for unclosed markup) has speech in the audio that the reference cannot hold: its words
are left out and its time span (less the time of other, scored rows) is written to
``test_longform/unscored_spans`` (``<file> <start> <end>``), where whole-interview
scoring drops the hypothesis words too. With ``train_context_seconds`` the train split
also holds one segment per row with the rows after it and the pauses around them
(:func:`context_segments`). Utterance
ids are ``<speaker>-<file>-<Line>`` (zero-padded) and the file stem for long-form.
"""

from __future__ import annotations

import hashlib
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
import unicodedata
import zlib
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from usm_espnet.data.audio import AudioError, read_audio_info
from usm_espnet.data.kaldi import DataDir, DataDirError, write_datadir
from usm_espnet.utils import atomic_write_text, replace_dir

__all__ = [
    "COMPONENTS",
    "DROP_REASONS",
    "ERROR_REASONS",
    "TRANSCRIPT_COLUMNS",
    "UNSCORED_SPANS",
    "CoraalFormatError",
    "CoraalPrepStats",
    "CoraalRow",
    "CoraalStandinStats",
    "CoraalText",
    "component_of",
    "context_segments",
    "make_standin_coraal",
    "normalize_coraal",
    "prepare_coraal",
    "read_coraal_metadata",
    "read_coraal_transcript",
    "split_interviews",
    "subtract_spans",
]

logger = logging.getLogger(__name__)

PathLike = Union[str, "os.PathLike[str]"]

#: The released components and where/when they were recorded.
COMPONENTS: Dict[str, str] = {
    "ATL": "Atlanta, GA",
    "DCA": "Washington DC (1968)",
    "DCB": "Washington DC (2016)",
    "DTA": "Detroit, MI (1966)",
    "LES": "Lower East Side, Manhattan, NY",
    "PRV": "Princeville, NC",
    "ROC": "Rochester, NY",
    "VLD": "Valdosta, GA",
}
#: The transcript header, in order.
TRANSCRIPT_COLUMNS: Tuple[str, ...] = ("Line", "Spkr", "StTime", "Content", "EnTime")
#: Reasons a row can be dropped (see the module docstring), in reporting order.
DROP_REASONS: Tuple[str, ...] = (
    "malformed", "bad_times", "out_of_order", "beyond_audio", "unclosed_markup",
    "no_speech", "mostly_unintelligible", "overlap", "not_selected",
)
#: The reasons that are errors in the data (they raise with ``on_error="raise"``).
ERROR_REASONS: Tuple[str, ...] = DROP_REASONS[:5]
#: How far (s) a row may end past the end of its audio before it is dropped.
MAX_OVERSHOOT_S = 0.5
#: Lowest sample rate accepted (the recipe resamples to 16 kHz).
MIN_SAMPLE_RATE = 16000
#: Sample rate of the real corpus and of the stand-in's wavs.
CORAAL_SAMPLE_RATE = 44100
#: Language of every utterance (utt2lang).
LANG = "en_us"
#: Marker the stand-in leaves in its root.
DONE_MARKER = ".done"
#: Bump when the stand-in generator changes what it writes.
STANDIN_VERSION = 1
#: Number of skips of each reason logged individually (all are in coraal_skipped.tsv).
_LOG_FIRST = 10

_MASKED_WORDS = frozenset({"unintelligible", "inaudible", "?", ""})
_PAUSE_RE = re.compile(r"pause(\s+\d+(\.\d*)?)?\s*", re.IGNORECASE)
_APOSTROPHES = "'\u2019\u2018\u02bc\uff07`"
_METADATA_RE = re.compile(r"^([A-Z]{3})_metadata_.*\.txt$")
_STEM_RE = re.compile(r"^[A-Z]{3}_\S+$")
_ARCHIVE_RE = re.compile(r"^[A-Z]{3}_(audio|textfiles)_.*\.(tar\.gz|tgz|tar)$")


class CoraalFormatError(ValueError):
    """A CORAAL file that does not follow the published format.

    The message starts with the file and, where one applies, the 1-based line number:
    ``DCA_textfiles_2018.10.06/DCA_se1_ag1_f_01_1.txt:17: unclosed '[' at column 9 ...``.
    """


def component_of(name: str) -> str:
    """The component of a CORAAL file or speaker id: the part before the first ``_``.

    Args:
        name: ``DCA_se1_ag1_f_01_1``, ``DCA_int_01`` ...

    Returns:
        ``DCA``.
    """
    return name.split("_", 1)[0]


# ------------------------------------------------------------------------ normaliser


@dataclass
class CoraalText:
    """A normalised CORAAL ``Content`` field.

    Args:
        text: The normalised words, single-spaced (may be empty).
        num_masked: Masked spans: unintelligible, inaudible, redacted, empty ``(( ))``.
        num_redacted: Of those, redactions (``/RD-.../``).
        num_pauses: ``(pause ...)`` marks.
        num_nonspeech: ``<...>`` tags and ``(...)`` notes.
        num_uncertain: ``((...))`` and ``/words/`` guesses kept.
        overlap: The content had ``[...]`` (overlapped speech).
    """

    text: str = ""
    num_masked: int = 0
    num_redacted: int = 0
    num_pauses: int = 0
    num_nonspeech: int = 0
    num_uncertain: int = 0
    overlap: bool = False

    @property
    def num_words(self) -> int:
        """Number of kept words."""
        return len(self.text.split())

    @property
    def masked_fraction(self) -> float:
        """Masked spans / (masked spans + kept words); 0 for an empty row."""
        units = self.num_masked + self.num_words
        return self.num_masked / units if units else 0.0


def _word_chars(text: str) -> str:
    """Lower-case words of plain text (no markup), per the module docstring."""
    text = unicodedata.normalize("NFKC", text).lower()
    for a in _APOSTROPHES:
        text = text.replace(a, "'")
    out: List[str] = []
    n = len(text)
    for i, ch in enumerate(text):
        cat = unicodedata.category(ch)
        if cat[0] in "LN" or cat[0] == "M":
            out.append(ch)
        elif ch == "'":
            left = i > 0 and unicodedata.category(text[i - 1])[0] in "LNM"
            right = i + 1 < n and unicodedata.category(text[i + 1])[0] in "LNM"
            out.append("'" if left and right else " ")
        else:
            out.append(" ")
    return " ".join("".join(out).split())


class _Scan:
    def __init__(self, content: str, where: str) -> None:
        self.content = content
        self.where = where
        self.pieces: List[str] = []
        self.res = CoraalText()

    def fail(self, what: str, pos: int) -> CoraalFormatError:
        prefix = f"{self.where}: " if self.where else ""
        return CoraalFormatError(f"{prefix}{what} at column {pos + 1} in {self.content!r}")

    def scan(self, lo: int, hi: int) -> None:
        s = self.content
        i = lo
        while i < hi:
            c = s[i]
            if c == "(":
                if s.startswith("((", i):
                    j = s.find("))", i + 2, hi)
                    if j < 0:
                        raise self.fail("unclosed '(('", i)
                    inner = s[i + 2:j]
                    if not _word_chars(inner):
                        self.res.num_masked += 1
                    else:
                        self.res.num_uncertain += 1
                        self.pieces.append(" ")
                        self.scan(i + 2, j)
                    self.pieces.append(" ")
                    i = j + 2
                    continue
                j = s.find(")", i + 1, hi)
                if j < 0:
                    raise self.fail("unclosed '('", i)
                inner = s[i + 1:j]
                if "(" in inner:
                    raise self.fail("'(' inside '(...)'", i + 1 + inner.index("("))
                if _PAUSE_RE.fullmatch(inner.strip()):
                    self.res.num_pauses += 1
                else:
                    self.res.num_nonspeech += 1
                self.pieces.append(" ")
                i = j + 1
            elif c == "<":
                j = s.find(">", i + 1, hi)
                if j < 0:
                    raise self.fail("unclosed '<'", i)
                if "<" in s[i + 1:j]:
                    raise self.fail("'<' inside '<...>'", s.index("<", i + 1))
                self.res.num_nonspeech += 1
                self.pieces.append(" ")
                i = j + 1
            elif c == "/":
                j = s.find("/", i + 1, hi)
                if j < 0:
                    raise self.fail("unclosed '/'", i)
                inner = s[i + 1:j].strip()
                if inner.lower() in _MASKED_WORDS or inner.upper().startswith("RD-"):
                    self.res.num_masked += 1
                    self.res.num_redacted += int(inner.upper().startswith("RD-"))
                else:
                    self.res.num_uncertain += 1
                    self.pieces.append(" ")
                    self.scan(i + 1, j)
                self.pieces.append(" ")
                i = j + 1
            elif c == "[":
                depth, j = 1, i + 1
                while j < hi and depth:
                    depth += {"[": 1, "]": -1}.get(s[j], 0)
                    j += 1
                if depth:
                    raise self.fail("unclosed '['", i)
                self.res.overlap = True
                self.pieces.append(" ")
                self.scan(i + 1, j - 1)
                self.pieces.append(" ")
                i = j
            elif c in ")>]":
                raise self.fail(f"unmatched {c!r}", i)
            else:
                self.pieces.append(c)
                i += 1


def normalize_coraal(content: str, *, where: str = "") -> CoraalText:
    """Normalise a CORAAL ``Content`` field (rules in the module docstring).

    Args:
        content: The field as transcribed, markup included.
        where: ``file:line`` to start error messages with.

    Returns:
        The normalised words and counts of the markup found.

    Raises:
        CoraalFormatError: Unclosed or unmatched markup (message names ``where`` and
            the column).
    """
    scan = _Scan(content, where)
    scan.scan(0, len(content))
    scan.res.text = _word_chars("".join(scan.pieces))
    return scan.res


# ------------------------------------------------------------------------ transcripts


@dataclass
class CoraalRow:
    """One row of a transcript that passed the format checks.

    Args:
        line: The ``Line`` field.
        spkr: The ``Spkr`` field.
        start: ``StTime`` (s).
        end: ``EnTime`` (s).
        content: ``Content`` as transcribed.
        path: The transcript file.
        lineno: 1-based line of the file (the header is line 1).
    """

    line: int
    spkr: str
    start: float
    end: float
    content: str
    path: str = ""
    lineno: int = 0

    @property
    def where(self) -> str:
        """``path:line``."""
        return f"{self.path}:{self.lineno}"


@dataclass
class _Skip:
    where: str
    reason: str
    message: str
    content: str = ""


class _Rejecter:
    """Counts (and logs) dropped rows; raises for data errors when asked to."""

    def __init__(self, on_error: str) -> None:
        if on_error not in ("skip", "raise"):
            raise ValueError(f"on_error must be 'skip' or 'raise', got {on_error!r}")
        self.on_error = on_error
        self.skips: List[_Skip] = []
        self.counts: Dict[str, int] = {r: 0 for r in DROP_REASONS}

    def __call__(self, reason: str, where: str, message: str, content: str = "") -> None:
        if reason in ERROR_REASONS and self.on_error == "raise":
            raise CoraalFormatError(f"{where}: {message}")
        self.counts[reason] += 1
        self.skips.append(_Skip(where, reason, message, content))
        if reason in ERROR_REASONS:
            log = logger.warning if self.counts[reason] <= _LOG_FIRST else logger.debug
            log("%s: %s (row dropped: %s)", where, message, reason)


def _read_lines(path: str) -> List[str]:
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise CoraalFormatError(f"{path}: file not found") from None
    except OSError as e:
        raise CoraalFormatError(f"{path}: cannot read: {e.strerror or e}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        logger.warning("%s: not UTF-8 (%s); reading it as Latin-1", path, e.reason)
        text = raw.decode("latin-1")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    lines = [line.rstrip("\r") for line in lines]
    if lines:
        lines[0] = lines[0].lstrip("\ufeff")
    return lines


def _number(text: str) -> Optional[float]:
    try:
        v = float(text)
    except ValueError:
        return None
    return v if math.isfinite(v) and v >= 0 else None


def read_coraal_transcript(path: PathLike, *, on_error: str = "skip",
                           _rejecter: Optional[_Rejecter] = None) -> List[CoraalRow]:
    """Read a CORAAL transcript (``<stem>.txt``), checking every row.

    Rows that fail a check (``malformed``, ``bad_times``, ``out_of_order``) are left out
    and counted (see the module docstring); they raise with ``on_error="raise"``.

    Args:
        path: The transcript.
        on_error: ``"skip"`` (count and log) or ``"raise"``.

    Returns:
        The rows that passed, in file order.

    Raises:
        CoraalFormatError: A missing or empty file or a wrong header (always), or a bad
            row with ``on_error="raise"``; the message names ``path:line``.
        ValueError: An unknown ``on_error``.
    """
    reject = _rejecter if _rejecter is not None else _Rejecter(on_error)
    shown = os.fspath(path)
    lines = _read_lines(shown)
    expected = "\t".join(TRANSCRIPT_COLUMNS)
    if not lines:
        raise CoraalFormatError(f"{shown}: empty file (expected the header {expected!r})")
    header = tuple(c.strip() for c in lines[0].split("\t"))
    if header != TRANSCRIPT_COLUMNS:
        raise CoraalFormatError(
            f"{shown}:1: expected the header {expected!r} (tab-separated), got {lines[0][:80]!r}")
    rows: List[CoraalRow] = []
    seen_lines: Dict[int, int] = {}
    prev_start = -1.0
    for lineno, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        where = f"{shown}:{lineno}"
        cols = line.split("\t")
        if len(cols) != len(TRANSCRIPT_COLUMNS):
            reject("malformed", where, f"expected {len(TRANSCRIPT_COLUMNS)} tab-separated fields "
                   f"({', '.join(TRANSCRIPT_COLUMNS)}), got {len(cols)}", line)
            continue
        f_line, spkr, f_start, content, f_end = (c.strip() for c in cols)
        missing = [n for n, v in zip(TRANSCRIPT_COLUMNS, (f_line, spkr, f_start, "x", f_end)) if not v]
        if missing:
            reject("malformed", where, f"empty field {', '.join(missing)}", line)
            continue
        if not f_line.isdigit():
            reject("malformed", where, f"Line {f_line!r} is not an integer", line)
            continue
        number = int(f_line)
        if number in seen_lines:
            reject("malformed", where, f"Line {number} repeats (first at line {seen_lines[number]})",
                   line)
            continue
        if any(ch.isspace() for ch in spkr):
            reject("malformed", where, f"speaker id {spkr!r} contains whitespace", line)
            continue
        start, end = _number(f_start), _number(f_end)
        if start is None or end is None:
            bad = f_start if start is None else f_end
            what = "StTime" if start is None else "EnTime"
            reject("malformed", where, f"{what} {bad!r} is not a number >= 0", line)
            continue
        if end <= start:
            reject("bad_times", where, f"EnTime {f_end} <= StTime {f_start}", line)
            continue
        if start < prev_start:
            reject("out_of_order", where,
                   f"StTime {f_start} is before the previous row's ({prev_start:g})", line)
            continue
        seen_lines[number] = lineno
        prev_start = start
        rows.append(CoraalRow(number, spkr, start, end, content, shown, lineno))
    return rows


@dataclass
class _Meta:
    file: str
    spkr: str
    where: str
    fields: Dict[str, str] = field(default_factory=dict)


def read_coraal_metadata(path: PathLike) -> Dict[str, _Meta]:
    """Read a component's metadata file (tab-separated, a header line).

    Only ``CORAAL.File`` (the interview file's stem) and ``CORAAL.Spkr`` (its
    interviewee) are required; the other columns are kept as they are. A file listed
    twice (the real files have a row per file and audio part) must name the same
    speaker both times.

    Args:
        path: ``<C>_metadata_<version>.txt``.

    Returns:
        ``CORAAL.File`` -> its row.

    Raises:
        CoraalFormatError: Missing columns, a row with another number of fields, an
            empty file or speaker, or a file listed with two speakers (``path:line``).
    """
    shown = os.fspath(path)
    lines = _read_lines(shown)
    if not lines:
        raise CoraalFormatError(f"{shown}: empty file (expected a header line)")
    header = [c.strip().strip('"') for c in lines[0].split("\t")]
    for col in ("CORAAL.File", "CORAAL.Spkr"):
        if col not in header:
            raise CoraalFormatError(
                f"{shown}:1: no {col} column in the header (columns: {', '.join(header[:12])})")
    out: Dict[str, _Meta] = {}
    for lineno, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        where = f"{shown}:{lineno}"
        cols = [c.strip().strip('"') for c in line.split("\t")]
        if len(cols) != len(header):
            raise CoraalFormatError(
                f"{where}: expected {len(header)} tab-separated fields, got {len(cols)}")
        row = dict(zip(header, cols))
        file, spkr = row["CORAAL.File"], row["CORAAL.Spkr"]
        if not file or not spkr:
            raise CoraalFormatError(f"{where}: empty CORAAL.File or CORAAL.Spkr")
        if file in out:
            if out[file].spkr != spkr:
                raise CoraalFormatError(
                    f"{where}: file {file!r} listed with speaker {spkr!r}, but with "
                    f"{out[file].spkr!r} at {out[file].where}")
            continue
        out[file] = _Meta(file, spkr, where, row)
    return out


# ------------------------------------------------------------------------ discovery


def _extract(archive: str, dest_root: str) -> str:
    """Extract ``archive`` flat into ``dest_root/<archive name>/`` once (marker checked)."""
    name = re.sub(r"\.(tar\.gz|tgz|tar)$", "", os.path.basename(archive))
    final = os.path.join(dest_root, name)
    marker = os.path.join(final, DONE_MARKER)
    st = os.stat(archive)
    stamp = {"archive": os.path.abspath(archive), "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    if os.path.isfile(marker):
        try:
            with open(marker, encoding="utf-8") as f:
                if json.load(f) == stamp:
                    return final
        except (OSError, ValueError):
            pass
    os.makedirs(dest_root, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{name}.extract-", dir=dest_root)
    logger.info("extracting %s to %s", archive, final)
    try:
        out = os.path.join(tmp, name)
        os.mkdir(out)
        try:
            with tarfile.open(archive, "r:*") as tar:
                for member in tar:
                    if member.isdir():
                        continue
                    try:
                        tarfile.data_filter(member, out)
                    except tarfile.FilterError as e:
                        raise CoraalFormatError(f"{archive}: unsafe member {member.name!r}: {e}") from None
                    if not member.isfile():
                        raise CoraalFormatError(f"{archive}: member {member.name!r} is not a regular file")
                    base = os.path.basename(member.name)
                    if not base or base.startswith("."):
                        continue
                    dst = os.path.join(out, base)
                    if os.path.exists(dst):
                        raise CoraalFormatError(f"{archive}: two members named {base!r}")
                    src = tar.extractfile(member)
                    assert src is not None
                    with src, open(dst, "wb") as f:
                        shutil.copyfileobj(src, f, 1 << 20)
        except (tarfile.TarError, EOFError, zlib.error, OSError) as e:
            if isinstance(e, CoraalFormatError):
                raise
            raise CoraalFormatError(f"{archive}: cannot read archive: {type(e).__name__}: {e}") from None
        with open(os.path.join(out, DONE_MARKER), "w", encoding="utf-8") as f:
            json.dump(stamp, f)
        replace_dir(out, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def _discover(corpus_dir: str, extract_dir: str
              ) -> Tuple[Dict[str, str], Dict[str, str], List[str]]:
    """(stem -> wav, stem -> transcript, metadata files) found below ``corpus_dir``."""
    if not os.path.isdir(corpus_dir):
        raise CoraalFormatError(f"{corpus_dir}: CORAAL directory not found")
    roots = [corpus_dir]
    archives = []
    for dirpath, dirnames, files in os.walk(corpus_dir, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(files):
            if _ARCHIVE_RE.match(name):
                stem = re.sub(r"\.(tar\.gz|tgz|tar)$", "", name)
                if not os.path.isdir(os.path.join(dirpath, stem)):
                    archives.append(os.path.join(dirpath, name))
    ext_abs = os.path.abspath(extract_dir)
    for a in archives:
        roots.append(_extract(a, extract_dir))
    wavs: Dict[str, str] = {}
    txts: Dict[str, str] = {}
    metas: List[str] = []
    for k, root in enumerate(roots):
        for dirpath, dirnames, files in os.walk(root, followlinks=True):
            if k == 0 and os.path.abspath(dirpath).startswith(ext_abs + os.sep):
                dirnames[:] = []  # extracted copies are walked as their own roots
                continue
            dirnames[:] = sorted(d for d in dirnames if not d.startswith(".")
                                 and os.path.abspath(os.path.join(dirpath, d)) != ext_abs)
            for name in sorted(files):
                path = os.path.join(dirpath, name)
                stem, ext = os.path.splitext(name)
                if _METADATA_RE.match(name):
                    metas.append(path)
                elif ext.lower() in (".wav", ".txt") and _STEM_RE.match(stem):
                    table = wavs if ext.lower() == ".wav" else txts
                    if stem in table:
                        raise CoraalFormatError(
                            f"{path}: {stem}{ext} found twice (also {table[stem]})")
                    table[stem] = os.path.abspath(path)
    return wavs, txts, sorted(metas)


# ------------------------------------------------------------------------ splits


def _split_counts(n: int, fractions: Dict[str, float]) -> Tuple[int, int]:
    """(dev, test) interviewees out of ``n`` (see the module docstring)."""
    n_test = round(n * fractions["test"])
    n_dev = round(n * fractions["dev"])
    if n >= 3:
        n_test = max(n_test, 1 if fractions["test"] > 0 else 0)
        n_dev = max(n_dev, 1 if fractions["dev"] > 0 else 0)
    elif n == 2:
        n_test, n_dev = (1 if fractions["test"] > 0 else 0), 0
    else:
        n_test = n_dev = 0
    while n_test + n_dev >= n and n > 0 and (n_test + n_dev) > 0 and fractions["train"] > 0:
        if n_dev > 0:
            n_dev -= 1
        else:
            n_test -= 1
    return n_dev, n_test


def split_interviews(interviewees: Dict[str, str], *, fractions: Optional[Dict[str, float]] = None,
                     seed: int = 0) -> Dict[str, str]:
    """Assign interviewees to train/dev/test, per component, with a seeded hash.

    Args:
        interviewees: Interviewee speaker id -> component.
        fractions: ``{"train", "dev", "test"}`` fractions (default 0.8/0.1/0.1).
        seed: Seed of the hash that orders each component's interviewees.

    Returns:
        Interviewee -> split.

    Raises:
        ValueError: Bad fractions.
    """
    fractions = dict(fractions or {"train": 0.8, "dev": 0.1, "test": 0.1})
    if sorted(fractions) != ["dev", "test", "train"] or any(v < 0 for v in fractions.values()) \
            or not math.isclose(sum(fractions.values()), 1.0, abs_tol=1e-6):
        raise ValueError(f"fractions must be train/dev/test values >= 0 summing to 1, got {fractions}")
    by_comp: Dict[str, List[str]] = {}
    for spk, comp in interviewees.items():
        by_comp.setdefault(comp, []).append(spk)
    out: Dict[str, str] = {}
    for comp, spks in sorted(by_comp.items()):
        order = sorted(spks, key=lambda s: (zlib.crc32(f"coraal-split-{seed}-{s}".encode()), s))
        n_dev, n_test = _split_counts(len(order), fractions)
        for i, spk in enumerate(order):
            out[spk] = "test" if i < n_test else "dev" if i < n_test + n_dev else "train"
        if n_test == 0:
            logger.warning("component %s: %d interviewee(s), none held out for test", comp, len(order))
    return out


# ------------------------------------------------------------------------ preparation


@dataclass
class CoraalPrepStats:
    """What :func:`prepare_coraal` read and wrote.

    Args:
        out_dir: Where the data dirs are.
        files_in: Transcript or audio files found (paired by stem).
        files_used: Interview files prepared.
        files_skipped: Reason -> files skipped (``no_audio``, ``no_transcript``,
            ``bad_audio``, ``low_sample_rate``, ``not_selected``).
        rows_in: Rows of the used files (header and blank lines excluded).
        rows_kept: Rows that became segments (before the recipe's duration filter).
        rows_dropped: Reason -> rows dropped; ``rows_in == rows_kept + sum(rows_dropped)``.
        segments: Split -> segments written.
        hours: Split -> hours of segments written.
        interviews: Split -> component -> interview files.
        longform_recordings: Whole interviews in ``test_longform``.
        longform_hours: Their audio, in hours.
    """

    out_dir: str
    files_in: int = 0
    files_used: int = 0
    files_skipped: Dict[str, int] = field(default_factory=dict)
    rows_in: int = 0
    rows_kept: int = 0
    rows_dropped: Dict[str, int] = field(default_factory=dict)
    segments: Dict[str, int] = field(default_factory=dict)
    hours: Dict[str, float] = field(default_factory=dict)
    interviews: Dict[str, Dict[str, int]] = field(default_factory=dict)
    longform_recordings: int = 0
    longform_hours: float = 0.0

    def summary(self) -> str:
        """One line per split and one for the drops."""
        lines = [f"{self.out_dir}: {self.files_used} interview files "
                 f"({self.files_in} found), {self.rows_in} rows, {self.rows_kept} kept"]
        for split in ("train", "dev", "test"):
            comps = ", ".join(f"{c} {n}" for c, n in sorted(self.interviews.get(split, {}).items()))
            lines.append(f"  {split}: {self.segments.get(split, 0)} segments, "
                         f"{self.hours.get(split, 0.0):.3f} h; interviews: {comps or 'none'}")
        lines.append(f"  test_longform: {self.longform_recordings} recordings, "
                     f"{self.longform_hours:.3f} h")
        dropped = ", ".join(f"{k} {v}" for k, v in self.rows_dropped.items() if v)
        lines.append(f"  rows dropped: {dropped or 'none'}")
        skipped = ", ".join(f"{k} {v}" for k, v in self.files_skipped.items() if v)
        if skipped:
            lines.append(f"  files skipped: {skipped}")
        return "\n".join(lines)


def _write_dir(target: str, data: DataDir, extras: Dict[str, Dict[str, str]]) -> None:
    """Write a data dir and extra maps, swapped into place together."""
    parent, name = os.path.split(os.path.abspath(target))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{name}.tmp-", dir=parent)
    try:
        staged = os.path.join(tmp, name)
        write_datadir(staged, data)
        for fname, mapping in extras.items():
            atomic_write_text(os.path.join(staged, fname),
                              "".join(f"{k} {mapping[k]}\n" for k in sorted(mapping)))
        replace_dir(staged, target)
    except DataDirError as e:
        raise DataDirError(str(e).replace(os.path.join(tmp, name), target)) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


#: file of ``<longform_set>``: ``<recording> <start> <end>`` per line, the time spans whose
#: speech is in the audio but not in the reference (rows dropped as mostly unintelligible or
#: with unclosed markup, less the time of scored rows); whole-interview scoring leaves the
#: hypothesis words inside them out (``egs/coraal/asr1/local/score_components.py``)
UNSCORED_SPANS = "unscored_spans"


def subtract_spans(spans: Sequence[Tuple[float, float]], minus: Sequence[Tuple[float, float]]
                   ) -> List[Tuple[float, float]]:
    """The time of ``spans`` not covered by ``minus``: sorted, disjoint, non-empty intervals."""
    out: List[Tuple[float, float]] = []
    for st, en in sorted(spans):
        pieces = [(st, en)]
        for m0, m1 in minus:
            nxt = []
            for a, b in pieces:
                if m1 <= a or m0 >= b:
                    nxt.append((a, b))
                    continue
                if m0 > a:
                    nxt.append((a, m0))
                if m1 < b:
                    nxt.append((m1, b))
            pieces = nxt
        out.extend(p for p in pieces if p[1] - p[0] > 1e-6)
    merged: List[Tuple[float, float]] = []
    for a, b in sorted(out):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def context_segments(rows: Sequence[Tuple[float, float, str, str, str]], max_seconds: float,
                     audio_seconds: float, rng: random.Random
                     ) -> Dict[str, Tuple[float, float, str, int]]:
    """Training segments with the pauses and silence around the rows of one recording.

    For each kept row, in time order: that row and a random number of the kept rows
    right after it whose span (first start to last end) stays within ``max_seconds``,
    with everything between them (pauses, ``no_speech`` rows); the group stops before
    any row whose speech is not in the transcript (``speech_dropped``: mostly
    unintelligible, overlapped or unselected rows), so the text is exactly the speech
    in the span. The span is then widened on each side by a random stretch of up to
    0.5 s (at most a quarter of ``max_seconds``) of audio that no speech row covers.

    Args:
        rows: ``(start, end, fate, text, utt)`` in time order; ``fate`` is ``kept``,
            ``no_speech`` or ``speech_dropped``.
        max_seconds: Longest span of rows in one segment.
        audio_seconds: Length of the recording.
        rng: Seeded random source.

    Returns:
        ``<utt of the first row>-ctx`` -> ``(start, end, text, number of rows)``.
    """
    speech = [(st, en) for st, en, fate, _, _ in rows if fate != "no_speech"]
    edge = min(0.5, max_seconds / 4)
    out: Dict[str, Tuple[float, float, str, int]] = {}
    for i, (st, en, fate, _, utt) in enumerate(rows):
        if fate != "kept":
            continue
        group = [i]
        for j in range(i + 1, len(rows)):
            if rows[j][2] == "speech_dropped" or rows[j][1] - st > max_seconds:
                break
            if rows[j][2] == "kept":
                group.append(j)
        group = group[:rng.randint(1, len(group))]
        g_st, g_en = st, max(rows[k][1] for k in group)
        # overlapping speech of other rows must not enter the widened span
        if any(r[2] != "no_speech" and k not in group and r[0] < g_en and r[1] > g_st
               for k, r in enumerate(rows)):
            continue  # another speech row overlaps the span: its words are not in the text
        left = max([e for s_, e in speech if e <= g_st + 1e-9] + [0.0])
        right = min([s_ for s_, e in speech if s_ >= g_en - 1e-9] + [audio_seconds])
        start = max(left, g_st - rng.uniform(0, edge))
        end = min(right, g_en + rng.uniform(0, edge))
        text = " ".join(rows[k][3] for k in group)
        out[f"{utt}-ctx"] = (round(start, 4), round(end, 4), text, len(group))
    return out


def prepare_coraal(
    corpus_dir: PathLike,
    out_dir: PathLike,
    *,
    components: Optional[Sequence[str]] = None,
    fractions: Optional[Dict[str, float]] = None,
    seed: int = 0,
    speakers: str = "all",
    max_unintelligible: float = 0.5,
    drop_overlap: bool = False,
    on_error: str = "skip",
    extract_dir: Optional[PathLike] = None,
    longform_set: str = "test_longform",
    train_context_seconds: float = 0.0,
) -> CoraalPrepStats:
    """Write Kaldi data dirs from a CORAAL release (or the stand-in).

    See the module docstring for the layout read, the checks, the normaliser and what is
    written: ``<out_dir>/{train,dev,test}`` (segments), ``<out_dir>/<longform_set>``
    (whole test interviews), ``<out_dir>/coraal_prep.json`` (these stats) and
    ``<out_dir>/coraal_skipped.tsv`` (every dropped row or skipped file, with the reason).

    Args:
        corpus_dir: Directory holding the extracted component directories (or archives).
        out_dir: Where the data dirs are written (each replaced as a whole).
        components: Components to prepare (``None``: all found).
        fractions: Interviewee fractions per split (default 0.8/0.1/0.1).
        seed: Seed of the split.
        speakers: ``"all"`` (interviewers' rows too) or ``"interviewee"`` (segments of
            the interviewee only; the long-form reference keeps everyone).
        max_unintelligible: Drop a row whose masked fraction exceeds this (0..1).
        drop_overlap: Drop rows with overlapped speech (``[...]``).
        on_error: ``"skip"`` (count, log, go on) or ``"raise"`` (first data error raises).
        extract_dir: Where archives are extracted (default ``<out_dir>/coraal_extracted``).
        longform_set: Name of the whole-interview data dir.
        train_context_seconds: With a value > 0, the train split also gets one
            *context segment* per kept row (:func:`context_segments`): that row and the
            rows after it, up to this span, with the pauses between them and a seeded
            random stretch of the untranscribed audio before and after. A model trained
            on tightly cut rows only has never heard a pause; a long-form window holds
            several turns and the silences between them.

    Returns:
        :class:`CoraalPrepStats`.

    Raises:
        CoraalFormatError: A missing corpus, a bad header or metadata file, duplicate
            files, an unknown component, no usable interview, or (with
            ``on_error="raise"``) the first bad row or file.
        ValueError: Unknown ``speakers`` / ``on_error``, bad ``max_unintelligible`` or
            ``fractions``.
    """
    if speakers not in ("all", "interviewee"):
        raise ValueError(f"speakers must be 'all' or 'interviewee', got {speakers!r}")
    if not 0.0 <= max_unintelligible <= 1.0:
        raise ValueError(f"max_unintelligible must be in [0, 1], got {max_unintelligible}")
    if not (math.isfinite(train_context_seconds) and train_context_seconds >= 0):
        raise ValueError(f"train_context_seconds must be a number >= 0, got {train_context_seconds}")
    reject = _Rejecter(on_error)
    corpus_dir = os.path.abspath(os.fspath(corpus_dir))
    out_dir = os.fspath(out_dir)
    extract_dir = os.fspath(extract_dir) if extract_dir else os.path.join(out_dir, "coraal_extracted")
    wavs, txts, meta_files = _discover(corpus_dir, extract_dir)
    metadata: Dict[str, _Meta] = {}
    for path in meta_files:
        for file, meta in read_coraal_metadata(path).items():
            if file in metadata and metadata[file].spkr != meta.spkr:
                raise CoraalFormatError(f"{meta.where}: file {file!r} listed with speaker "
                                        f"{meta.spkr!r}, but with {metadata[file].spkr!r} at "
                                        f"{metadata[file].where}")
            metadata.setdefault(file, meta)
    found = sorted({component_of(s) for s in set(wavs) | set(txts)})
    if components:
        wanted = [c.upper() for c in components]
        unknown = [c for c in wanted if c not in found]
        if unknown:
            raise CoraalFormatError(f"{corpus_dir}: no files of component(s) {', '.join(unknown)} "
                                    f"(found: {', '.join(found) or 'none'})")
    else:
        wanted = found
    stats = CoraalPrepStats(out_dir=out_dir, files_skipped={})
    file_skips: List[_Skip] = []

    def skip_file(reason: str, path: str, message: str) -> None:
        if on_error == "raise" and reason != "not_selected":
            raise CoraalFormatError(f"{path}: {message}")
        stats.files_skipped[reason] = stats.files_skipped.get(reason, 0) + 1
        file_skips.append(_Skip(path, f"file_{reason}", message))
        if reason != "not_selected":
            logger.warning("%s: %s (file skipped)", path, message)

    stems = sorted(set(wavs) | set(txts))
    stats.files_in = len(stems)
    usable: List[Tuple[str, str, str, float]] = []  # stem, wav, txt, seconds
    for stem in stems:
        comp = component_of(stem)
        if comp not in wanted:
            skip_file("not_selected", wavs.get(stem) or txts[stem], f"component {comp} not selected")
            continue
        if stem not in wavs:
            skip_file("no_audio", txts[stem], f"no audio {stem}.wav for this transcript")
            continue
        if stem not in txts:
            skip_file("no_transcript", wavs[stem], f"no transcript {stem}.txt for this audio")
            continue
        try:
            sr, n = read_audio_info(wavs[stem])
        except AudioError as e:
            skip_file("bad_audio", wavs[stem], str(e))
            continue
        if sr < MIN_SAMPLE_RATE or n == 0:
            skip_file("low_sample_rate" if sr < MIN_SAMPLE_RATE else "bad_audio", wavs[stem],
                      f"{sr} Hz audio (at least {MIN_SAMPLE_RATE} Hz needed)" if sr < MIN_SAMPLE_RATE
                      else "no samples")
            continue
        usable.append((stem, wavs[stem], txts[stem], n / sr))
    for file, meta in sorted(metadata.items()):
        if component_of(file) in wanted and file not in wavs and file not in txts:
            logger.warning("%s: %s is listed but neither %s.wav nor %s.txt was found",
                           meta.where, file, file, file)
    if not usable:
        raise CoraalFormatError(f"{corpus_dir}: no interview with both <stem>.wav and <stem>.txt "
                                f"(components: {', '.join(wanted) or 'none'})")

    interviewee = {stem: (metadata[stem].spkr if stem in metadata else re.sub(r"_\d+$", "", stem))
                   for stem, _, _, _ in usable}
    comp_of_stem = {stem: component_of(stem) for stem, _, _, _ in usable}
    split_of_spk = split_interviews({interviewee[s]: comp_of_stem[s] for s in interviewee},
                                    fractions=fractions, seed=seed)
    seg: Dict[str, Dict[str, dict]] = {s: {} for s in ("train", "dev", "test")}
    longform: Dict[str, dict] = {}
    unscored_spans: Dict[str, List[Tuple[float, float]]] = {}
    for stem, wav, txt, seconds in usable:
        split = split_of_spk[interviewee[stem]]
        comp = comp_of_stem[stem]
        before = sum(reject.counts.values())
        rows = read_coraal_transcript(txt, _rejecter=reject)
        n_rows = len(rows) + sum(reject.counts.values()) - before
        stats.rows_in += n_rows
        stats.files_used += 1
        stats.interviews.setdefault(split, {}).setdefault(comp, 0)
        stats.interviews[split][comp] += 1
        words: List[str] = []
        fates: List[Tuple[float, float, str, str, str]] = []  # start, end, fate, text, utt
        unscored: List[Tuple[float, float]] = []  # speech in the audio, not in the reference
        scored: List[Tuple[float, float]] = []  # rows whose words are in the reference
        for row in rows:
            if row.start >= seconds or row.end > seconds + MAX_OVERSHOOT_S:
                reject("beyond_audio", row.where,
                       f"row {row.start:g}-{row.end:g} s lies beyond the audio ({seconds:.3f} s, "
                       f"{os.path.basename(wav)})", row.content)
                continue
            end = min(row.end, seconds)
            try:
                norm = normalize_coraal(row.content, where=row.where)
            except CoraalFormatError as e:
                reject("unclosed_markup", row.where, str(e).split(": ", 1)[-1], row.content)
                fates.append((row.start, end, "speech_dropped", "", ""))
                unscored.append((row.start, end))
                continue
            fate = "speech_dropped"
            if norm.masked_fraction > max_unintelligible:
                # its speech is in the audio but mostly not in the reference: the whole
                # row's time is left out of whole-interview scoring (unscored_spans)
                unscored.append((row.start, end))
            elif norm.text:
                words.append(norm.text)
                scored.append((row.start, end))
            if not norm.text and not norm.num_masked:
                fate = "no_speech"
                reject("no_speech", row.where, "no words after removing markup", row.content)
            elif norm.masked_fraction > max_unintelligible:
                reject("mostly_unintelligible", row.where,
                       f"{norm.num_masked} masked span(s) and {norm.num_words} word(s)", row.content)
            elif drop_overlap and norm.overlap:
                reject("overlap", row.where, "overlapped speech", row.content)
            elif speakers == "interviewee" and row.spkr != interviewee[stem]:
                reject("not_selected", row.where, f"speaker {row.spkr} is not the interviewee",
                       row.content)
            else:
                utt = f"{row.spkr}-{stem}-{row.line:05d}"
                seg[split][utt] = {"rec": stem, "wav": wav, "start": row.start, "end": end,
                                   "text": norm.text, "spk": row.spkr, "comp": comp}
                stats.rows_kept += 1
                fate = "kept"
            fates.append((row.start, end, fate, norm.text, f"{row.spkr}-{stem}-{row.line:05d}"))
        if split == "train" and train_context_seconds > 0:
            rng = random.Random(f"coraal-context-{seed}-{stem}")
            for utt, (st, en, text, _) in context_segments(fates, train_context_seconds, seconds,
                                                           rng).items():
                seg[split][f"{interviewee[stem]}-{utt}"] = {
                    "rec": stem, "wav": wav, "start": st, "end": en, "text": text,
                    "spk": interviewee[stem], "comp": comp}
        if split == "test":
            if words:
                unscored_spans[stem] = subtract_spans(unscored, scored)
                longform[stem] = {"wav": wav, "text": " ".join(words), "spk": interviewee[stem],
                                  "comp": comp, "seconds": seconds}
            else:
                file_skips.append(_Skip(txt, "file_no_longform_text",
                                        "no legible words; left out of the long-form set"))
                logger.warning("%s: no legible words; left out of %s", txt, longform_set)
    stats.rows_dropped = dict(reject.counts)
    assert stats.rows_in == stats.rows_kept + sum(stats.rows_dropped.values())

    for split, utts in seg.items():  # check everything before writing anything
        if not utts:
            raise CoraalFormatError(
                f"{corpus_dir}: no {split} segment left (interviews per split: {stats.interviews}; "
                f"rows dropped: {stats.rows_dropped}); a split needs interviews with usable rows")
    if not longform:
        raise CoraalFormatError(f"{corpus_dir}: no test interview with legible words for {longform_set}")
    for split, utts in seg.items():
        data = DataDir(
            wav_scp={u["rec"]: u["wav"] for u in utts.values()},
            text={k: u["text"] for k, u in utts.items()},
            utt2spk={k: u["spk"] for k, u in utts.items()},
            utt2lang={k: LANG for k in utts},
            segments={k: (u["rec"], round(u["start"], 4), round(u["end"], 4)) for k, u in utts.items()},
            utt2dur={k: round(u["end"] - u["start"], 4) for k, u in utts.items()},
        )
        _write_dir(os.path.join(out_dir, split), data,
                   {"utt2component": {k: u["comp"] for k, u in utts.items()}})
        stats.segments[split] = len(utts)
        stats.hours[split] = sum(u["end"] - u["start"] for u in utts.values()) / 3600.0
    data = DataDir(
        wav_scp={k: r["wav"] for k, r in longform.items()},
        text={k: r["text"] for k, r in longform.items()},
        utt2spk={k: r["spk"] for k, r in longform.items()},
        utt2lang={k: LANG for k in longform},
        utt2dur={k: round(r["seconds"], 4) for k, r in longform.items()},
    )
    _write_dir(os.path.join(out_dir, longform_set), data,
               {"utt2component": {k: r["comp"] for k, r in longform.items()}})
    atomic_write_text(os.path.join(out_dir, longform_set, UNSCORED_SPANS),
                      "".join(f"{rec} {st:.4f} {en:.4f}\n" for rec in sorted(longform)
                              for st, en in unscored_spans.get(rec, [])))
    stats.longform_recordings = len(longform)
    stats.longform_hours = sum(r["seconds"] for r in longform.values()) / 3600.0

    skipped = ["where\treason\tmessage\tcontent"]
    for s in file_skips + reject.skips:
        skipped.append("\t".join(" ".join(x.split()) for x in (s.where, s.reason, s.message, s.content)))
    atomic_write_text(os.path.join(out_dir, "coraal_skipped.tsv"), "\n".join(skipped) + "\n")
    atomic_write_text(os.path.join(out_dir, "coraal_prep.json"),
                      json.dumps({"params": {"corpus_dir": corpus_dir, "components": wanted,
                                             "fractions": fractions, "seed": seed,
                                             "speakers": speakers,
                                             "max_unintelligible": max_unintelligible,
                                             "drop_overlap": drop_overlap, "on_error": on_error},
                                  "stats": asdict(stats)}, indent=1) + "\n")
    logger.info("%s", stats.summary())
    return stats


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


def _standin_hash(params: Dict[str, object]) -> str:
    return hashlib.sha256(json.dumps(params, sort_keys=True).encode("utf-8")).hexdigest()[:16]


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

    from usm_espnet.data.fleurs import gender_of_variant
    from usm_espnet.data.synth import OUTPUT_SAMPLE_RATE, SynthItem, make_speakers, synthesize_many, write_wav_atomic

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
    digest = _standin_hash(params)
    marker = os.path.join(out_root, DONE_MARKER)
    if os.path.lexists(out_root):
        old = None
        if os.path.isfile(marker):
            try:
                with open(marker, encoding="utf-8") as f:
                    old = json.load(f)
            except (OSError, ValueError):
                old = {}
        if old is None and (not os.path.isdir(out_root) or os.listdir(out_root)):
            raise ValueError(f"{out_root}: exists, is not empty and was not made by "
                             f"make_standin_coraal (no {DONE_MARKER}); remove it or choose another")
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
