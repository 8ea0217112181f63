"""CORAAL transcripts: the transcript and metadata readers and the normaliser.

What :func:`usm_espnet.corpora.coraal.prepare_coraal` reads, one file at a time.

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
"""

from __future__ import annotations

import logging
import math
import os
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple, Union

__all__ = [
    "DROP_REASONS",
    "ERROR_REASONS",
    "TRANSCRIPT_COLUMNS",
    "CoraalFormatError",
    "CoraalRow",
    "CoraalText",
    "MetadataRow",
    "RowRejecter",
    "SkippedRow",
    "normalize_coraal",
    "read_coraal_metadata",
    "read_coraal_transcript",
]

logger = logging.getLogger(__name__)

PathLike = Union[str, "os.PathLike[str]"]

#: The transcript header, in order.
TRANSCRIPT_COLUMNS: Tuple[str, ...] = ("Line", "Spkr", "StTime", "Content", "EnTime")
#: Reasons a row can be dropped (see the module docstring), in reporting order.
DROP_REASONS: Tuple[str, ...] = (
    "malformed", "bad_times", "out_of_order", "beyond_audio", "unclosed_markup",
    "no_speech", "mostly_unintelligible", "overlap", "not_selected",
)
#: The reasons that are errors in the data (they raise with ``on_error="raise"``).
ERROR_REASONS: Tuple[str, ...] = DROP_REASONS[:5]
#: Number of skips of each reason logged individually (all are in coraal_skipped.tsv).
_LOG_FIRST = 10

_MASKED_WORDS = frozenset({"unintelligible", "inaudible", "?", ""})
_PAUSE_RE = re.compile(r"pause(\s+\d+(\.\d*)?)?\s*", re.IGNORECASE)
_APOSTROPHES = "'\u2019\u2018\u02bc\uff07`"


class CoraalFormatError(ValueError):
    """A CORAAL file that does not follow the published format.

    The message starts with the file and, where one applies, the 1-based line number:
    ``DCA_textfiles_2018.10.06/DCA_se1_ag1_f_01_1.txt:17: unclosed '[' at column 9 ...``.
    """


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
class SkippedRow:
    """A transcript row (or whole file) left out: where, the reason, a message, its content."""

    where: str
    reason: str
    message: str
    content: str = ""


class RowRejecter:
    """Counts (and logs) dropped rows; raises for data errors when asked to."""

    def __init__(self, on_error: str) -> None:
        if on_error not in ("skip", "raise"):
            raise ValueError(f"on_error must be 'skip' or 'raise', got {on_error!r}")
        self.on_error = on_error
        self.skips: List[SkippedRow] = []
        self.counts: Dict[str, int] = {r: 0 for r in DROP_REASONS}

    def __call__(self, reason: str, where: str, message: str, content: str = "") -> None:
        if reason in ERROR_REASONS and self.on_error == "raise":
            raise CoraalFormatError(f"{where}: {message}")
        self.counts[reason] += 1
        self.skips.append(SkippedRow(where, reason, message, content))
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
                           _rejecter: Optional[RowRejecter] = None) -> List[CoraalRow]:
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
    reject = _rejecter if _rejecter is not None else RowRejecter(on_error)
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
class MetadataRow:
    """One interview file's row of a component's metadata file (:func:`read_coraal_metadata`)."""

    file: str
    spkr: str
    where: str
    fields: Dict[str, str] = field(default_factory=dict)


def read_coraal_metadata(path: PathLike) -> Dict[str, MetadataRow]:
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
    out: Dict[str, MetadataRow] = {}
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
        out[file] = MetadataRow(file, spkr, where, row)
    return out
