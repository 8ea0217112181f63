"""Kaldi-style data directories: reading, validation, atomic writing.

A data directory holds plain-text maps, one ``key value`` entry per line, sorted by
key in C (byte) order:

``wav.scp`` (required)
    recording id -> audio: a file path, a Kaldi ark reference (``foo.ark:123`` or
    ``ark:foo.ark:123``, read with kaldiio) or a shell command ending in ``|`` whose
    stdout is a WAV stream.
``segments``
    ``utt rec start end`` (seconds); ``end == -1`` means "to the end of the
    recording" (Kaldi convention). Without ``segments`` every recording is one
    utterance with the recording id as utterance id.
``text``, ``utt2spk``, ``utt2lang``, ``utt2dur``
    utterance id -> transcript / speaker / language / duration (seconds).
``spk2utt``
    derived from ``utt2spk``; checked for consistency, never read into ``DataDir``.

Every error about a file is a :class:`DataDirError` whose message starts with the
file path and, where one applies, the 1-based line number, e.g.
``data/train/text:17: empty transcript for utterance 'x'``. Audio is read by
:mod:`usm_espnet.data.audio`, whose problems are :class:`~usm_espnet.data.audio.AudioError`.
The checks of :func:`validate_datadir` live in :mod:`usm_espnet.data.validate`, shared
with the preflight and ``format_data``; ``MAX_CHARS_PER_SECOND``,
``EXPECTED_SAMPLE_RATE``, ``MAX_SEGMENT_OVERSHOOT`` and ``find_control_char`` are
still importable from here.

Why our own reader and not ``lhotse.kaldi.load_kaldi_data_dir`` (lhotse 1.33.0, measured
with ``tools/lhotse_eval.py``): lhotse loads a ``text`` with a duplicate id (keeping the
second transcript), drops a transcript whose utterance has no audio and accepts unsorted
files, all without a word, and a byte-order mark ends in a bare ``KeyError``; here each
is one ``file:line`` error (the bad-input matrix of docs/reliability.md).
"""

from __future__ import annotations

import logging
import math
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from typing import (
    Any,
    Dict,
    Iterable,
    List,
    Optional,
    Tuple,
    Union,
)

from usm_espnet.utils import current_umask, replace_dir

__all__ = [
    "DataDir",
    "DataDirError",
    "KaldiMap",
    "read_datadir",
    "read_kaldi_map",
    "where_of",
    "UTF8_BOM",
    "strip_bom",
    "validate_datadir",
    "write_datadir",
    "write_datadir_with_extras",
]

logger = logging.getLogger(__name__)

PathLike = Union[str, "os.PathLike[str]"]
Segment = Tuple[str, float, float]

# Files in the order they are checked.
_UTT_FILES = ("text", "utt2spk", "utt2lang", "utt2dur")
_KNOWN_FILES = ("wav.scp", "segments") + _UTT_FILES + ("spk2utt",)

_LINE_RE = re.compile(r"([^ \t]+)(?:[ \t]+(.*))?\Z", re.DOTALL)


class DataDirError(ValueError):
    """A data directory file is missing, malformed or inconsistent.

    The message names the file and, where one applies, the 1-based line number.
    """


#: Names that moved to :mod:`usm_espnet.data.validate`, still importable from here.
_MOVED = ("EXPECTED_SAMPLE_RATE", "MAX_CHARS_PER_SECOND", "MAX_SEGMENT_OVERSHOOT",
          "find_control_char")


def __getattr__(name: str) -> Any:
    # Lazy: usm_espnet.data.validate imports this module.
    if name in _MOVED:
        from usm_espnet.data import validate

        return getattr(validate, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# --------------------------------------------------------------------------- maps


class KaldiMap(Dict[str, Any]):
    """A ``dict`` read from a Kaldi map file that remembers where each key was.

    Behaves exactly like a ``dict`` (equality included); the extra attributes only
    serve error messages.

    Args:
        *args: Passed to ``dict``.
        path: The file the map was read from, if any.
        lines: Key -> 1-based line number in ``path``.
        **kwargs: Passed to ``dict``.
    """

    def __init__(
        self,
        *args: Any,
        path: Optional[str] = None,
        lines: Optional[Dict[str, int]] = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.path = path
        self.lines: Dict[str, int] = dict(lines) if lines else {}

    def where(self, key: str) -> str:
        """Return ``"path:line"`` for ``key`` (or just ``"path"``, or ``""``).

        Args:
            key: A key of the map.
        """
        if self.path is None:
            return ""
        line = self.lines.get(key)
        return f"{self.path}:{line}" if line is not None else self.path


def where_of(m: Dict[str, Any], key: str) -> str:
    """``path:line`` of ``key`` when ``m`` is a :class:`KaldiMap` read from a file, else ``""``."""
    return m.where(key) if isinstance(m, KaldiMap) else ""


def _submap(m: Dict[str, Any], keys: Iterable[str]) -> Dict[str, Any]:
    """Restrict ``m`` to ``keys`` (those present), keeping line information."""
    items = {k: m[k] for k in keys if k in m}
    if isinstance(m, KaldiMap):
        return KaldiMap(items, path=m.path, lines={k: m.lines[k] for k in items if k in m.lines})
    return items


#: The UTF-8 byte-order mark some Windows editors (Notepad, Excel's "CSV UTF-8") put first.
UTF8_BOM = b"\xef\xbb\xbf"


def strip_bom(raw: bytes, name: str, bom: str = "strip") -> bytes:
    """Remove a UTF-8 byte-order mark from the start of a file's bytes.

    Kaldi and ESPnet read a BOM as part of the first key (``\ufeffu0``), which then
    sorts after every other key and ends up in decoded ids. Our readers drop it with
    a warning naming the file; where the file is handed to ESPnet afterwards (which
    would keep it), ``bom="error"`` reports it instead.

    Args:
        raw: The file's bytes.
        name: The file, for the message.
        bom: ``"strip"`` (warn and drop) or ``"error"`` (raise).

    Returns:
        ``raw`` without the BOM.

    Raises:
        DataDirError: ``bom="error"`` and the file starts with a BOM.
    """
    if not raw.startswith(UTF8_BOM):
        return raw
    if bom == "error":
        raise DataDirError(
            f"{name}:1: the file starts with a UTF-8 byte-order mark (BOM, bytes EF BB BF), "
            f"which ESPnet would read as part of the first id; remove it "
            f"(sed -i '1s/^\\xEF\\xBB\\xBF//' {name})")
    logger.warning("%s: ignoring the UTF-8 byte-order mark (BOM) at the start of the file", name)
    return raw[len(UTF8_BOM):]


def read_kaldi_map(path: PathLike, *, allow_empty_value: bool = False,
                   bom: str = "strip") -> KaldiMap:
    """Read a ``key value...`` file into an ordered map (file order is kept).

    The key is everything up to the first space or tab; the value is the rest of
    the line with surrounding spaces, tabs and carriage returns removed. Sorting is
    not checked here (see :func:`validate_datadir`).

    Args:
        path: File to read (UTF-8).
        allow_empty_value: Accept lines that hold only a key (value ``""``);
            otherwise such a line is malformed.
        bom: A UTF-8 byte-order mark at the start: ``"strip"`` (logged warning)
            or ``"error"`` (for files ESPnet reads afterwards); see :func:`strip_bom`.

    Returns:
        A :class:`KaldiMap` with ``path`` and per-key line numbers recorded.

    Raises:
        DataDirError: The file cannot be read, is not UTF-8, or has a blank or
            malformed line or a duplicate key (message ``"path:line: ..."``).
    """
    name = os.fspath(path)
    try:
        with open(name, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise DataDirError(f"{name}: file not found") from None
    except IsADirectoryError:
        raise DataDirError(f"{name}: is a directory, not a file") from None
    except OSError as e:
        raise DataDirError(f"{name}: cannot read: {e.strerror or e}") from None
    raw = strip_bom(raw, name, bom)
    chunks = raw.split(b"\n")
    if chunks and chunks[-1] == b"":
        chunks.pop()
    out = KaldiMap(path=name)
    for lineno, chunk in enumerate(chunks, start=1):
        try:
            line = chunk.decode("utf-8")
        except UnicodeDecodeError:
            raise DataDirError(f"{name}:{lineno}: line is not valid UTF-8") from None
        line = line.rstrip("\r")
        if not line.strip(" \t"):
            raise DataDirError(f"{name}:{lineno}: blank line")
        m = _LINE_RE.match(line)
        if m is None:
            raise DataDirError(f"{name}:{lineno}: malformed line (starts with whitespace)")
        key, value = m.group(1), (m.group(2) or "").strip(" \t\r")
        if not value and not allow_empty_value:
            raise DataDirError(f"{name}:{lineno}: malformed line: key {key!r} has no value")
        if key in out:
            raise DataDirError(
                f"{name}:{lineno}: duplicate key {key!r} (first on line {out.lines[key]})"
            )
        out[key] = value
        out.lines[key] = lineno
    return out


# ---------------------------------------------------------------------- DataDir


@dataclass
class DataDir:
    """In-memory Kaldi data directory.

    Args:
        wav_scp: Recording id -> path, ark reference or piped command.
        text: Utterance id -> transcript.
        utt2spk: Utterance id -> speaker id (empty: each utterance is its own
            speaker when written).
        utt2lang: Utterance id -> language code.
        segments: Utterance id -> (recording id, start s, end s); empty when
            recordings are utterances.
        utt2dur: Utterance id -> duration in seconds.
    """

    wav_scp: Dict[str, str]
    text: Dict[str, str] = field(default_factory=dict)
    utt2spk: Dict[str, str] = field(default_factory=dict)
    utt2lang: Dict[str, str] = field(default_factory=dict)
    segments: Dict[str, Segment] = field(default_factory=dict)
    utt2dur: Dict[str, float] = field(default_factory=dict)

    def utt_ids(self) -> List[str]:
        """Sorted (C order) utterance ids: ``segments`` keys if any, else ``wav_scp`` keys."""
        return sorted(self.segments if self.segments else self.wav_scp)

    def spk2utt(self) -> Dict[str, List[str]]:
        """Speaker -> sorted utterance ids, derived from ``utt2spk``.

        Without ``utt2spk`` every utterance is its own speaker.
        """
        utt2spk = self.utt2spk or {u: u for u in self.utt_ids()}
        out: Dict[str, List[str]] = {}
        for utt in sorted(utt2spk):
            out.setdefault(utt2spk[utt], []).append(utt)
        return dict(sorted(out.items()))

    def subset(self, utt_ids: Iterable[str]) -> "DataDir":
        """Return a new ``DataDir`` restricted to ``utt_ids``.

        With ``segments``, ``wav_scp`` keeps only the recordings still referenced.

        Args:
            utt_ids: Utterance ids to keep; each must be an utterance of this data.

        Raises:
            KeyError: Some ids are not utterances of this data.
        """
        keep = set(utt_ids)
        known = self.segments if self.segments else self.wav_scp
        unknown = sorted(keep.difference(known))
        if unknown:
            shown = ", ".join(repr(u) for u in unknown[:5])
            more = f" (and {len(unknown) - 5} more)" if len(unknown) > 5 else ""
            raise KeyError(f"unknown utterance ids: {shown}{more}")
        utts = [u for u in known if u in keep]
        if self.segments:
            segments = _submap(self.segments, utts)
            recs = {seg[0] for seg in segments.values()}
            wav_scp = _submap(self.wav_scp, [r for r in self.wav_scp if r in recs])
        else:
            segments = _submap(self.segments, [])
            wav_scp = _submap(self.wav_scp, utts)
        return DataDir(
            wav_scp=wav_scp,
            text=_submap(self.text, utts),
            utt2spk=_submap(self.utt2spk, utts),
            utt2lang=_submap(self.utt2lang, utts),
            segments=segments,
            utt2dur=_submap(self.utt2dur, utts),
        )


def _parse_float(text: str, where: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise DataDirError(f"{where}: {what} is not a number: {text!r}") from None
    if not math.isfinite(value):
        raise DataDirError(f"{where}: {what} is not finite: {text!r}")
    return value


def _parse_segments(raw: KaldiMap) -> KaldiMap:
    out = KaldiMap(path=raw.path, lines=raw.lines)
    for utt, value in raw.items():
        where = raw.where(utt)
        fields = value.split()
        if len(fields) != 3:
            raise DataDirError(
                f"{where}: malformed segment for utterance {utt!r}: expected "
                f"'<recording> <start> <end>', got {value!r}"
            )
        start = _parse_float(fields[1], where, f"start time of utterance {utt!r}")
        end = _parse_float(fields[2], where, f"end time of utterance {utt!r}")
        out[utt] = (fields[0], start, end)
    return out


def _parse_utt2dur(raw: KaldiMap) -> KaldiMap:
    out = KaldiMap(path=raw.path, lines=raw.lines)
    for utt, value in raw.items():
        out[utt] = _parse_float(value, raw.where(utt), f"duration of utterance {utt!r}")
    return out


def _read_files(path: PathLike) -> Tuple[str, Dict[str, KaldiMap]]:
    """Read every known file present in ``path`` (raw string values)."""
    root = os.fspath(path)
    if not os.path.isdir(root):
        raise DataDirError(f"{root}: not a directory")
    raw: Dict[str, KaldiMap] = {}
    for name in _KNOWN_FILES:
        file = os.path.join(root, name)
        if os.path.exists(file):
            raw[name] = read_kaldi_map(file, allow_empty_value=(name == "text"))
    if "wav.scp" not in raw:
        raise DataDirError(f"{os.path.join(root, 'wav.scp')}: file not found")
    return root, raw


def _build(raw: Dict[str, KaldiMap]) -> DataDir:
    empty = lambda: KaldiMap()  # noqa: E731
    return DataDir(
        wav_scp=raw["wav.scp"],
        text=raw.get("text", empty()),
        utt2spk=raw.get("utt2spk", empty()),
        utt2lang=raw.get("utt2lang", empty()),
        segments=_parse_segments(raw["segments"]) if "segments" in raw else empty(),
        utt2dur=_parse_utt2dur(raw["utt2dur"]) if "utt2dur" in raw else empty(),
    )


# ------------------------------------------------------------------- validation


def validate_datadir(
    path: PathLike, require_text: bool = True, check_audio: bool = False
) -> None:
    """Check a data directory; raise on the first problem found.

    The checks are :func:`usm_espnet.data.validate.check_datadir`'s: malformed
    lines, duplicate ids, C-order sorting, empty transcripts, control characters
    in transcripts (see :func:`usm_espnet.data.validate.find_control_char`),
    consistent utterance ids across ``text``/``utt2spk``/``utt2lang``/``utt2dur``
    and ``wav.scp`` (or ``segments``), segment times and recordings, numeric
    durations, ``spk2utt`` against ``utt2spk`` and, optionally, the audio itself.

    Args:
        path: The data directory.
        require_text: Fail if ``text`` is absent.
        check_audio: Also open every recording (headers only): it must be readable,
            complete (see :func:`~usm_espnet.data.audio.check_wav_complete`),
            non-empty and 16 kHz, and segments must lie within it
            (:func:`usm_espnet.data.validate.check_recordings`).

    Raises:
        DataDirError: Message ``"<dir>/<file>:<line>: ..."`` (line where one applies).
    """
    read_datadir(path, validate=True, require_text=require_text, check_audio=check_audio)


def read_datadir(
    path: PathLike,
    validate: bool = True,
    require_text: bool = True,
    check_audio: bool = False,
) -> DataDir:
    """Read a data directory.

    The maps of the returned ``DataDir`` are :class:`KaldiMap` objects that
    remember their file and line numbers (used in later error messages).

    Args:
        path: The data directory.
        validate: Run the :func:`validate_datadir` checks. Even without it,
            unparsable files (malformed lines, duplicate keys, non-numeric times)
            raise.
        require_text: With ``validate``, fail if ``text`` is absent.
        check_audio: With ``validate``, also check the audio (see
            :func:`validate_datadir`).

    Raises:
        DataDirError: See :func:`validate_datadir`.
    """
    root, raw = _read_files(path)
    data = _build(raw)
    if validate:
        from usm_espnet.data.validate import check_datadir

        check_datadir(root, raw, data, require_text, check_audio)
    return data


# ---------------------------------------------------------------------- writing


def _fmt_float(x: float) -> str:
    s = repr(float(x))
    if "e" in s:
        s = f"{x:.10f}".rstrip("0").rstrip(".")
    return s


def _format_lines(
    file: str, items: Iterable[Tuple[str, str]], allow_empty: bool = False
) -> List[str]:
    lines = []
    for lineno, (key, value) in enumerate(sorted(items), start=1):
        if not isinstance(key, str) or not key or any(c.isspace() for c in key):
            raise DataDirError(
                f"{file}:{lineno}: invalid key {key!r} (empty or contains whitespace)"
            )
        value = str(value)
        if "\n" in value or "\r" in value:
            raise DataDirError(f"{file}:{lineno}: value for key {key!r} contains a line break")
        lines.append(f"{key} {value}" if value or not allow_empty else key)
    return lines


def _write_file(path: str, lines: List[str]) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("".join(line + "\n" for line in lines))
        f.flush()
        os.fsync(f.fileno())


def _fsync_dir(path: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_files(tmp: str, shown: str, data: DataDir) -> None:
    """Write ``data`` into ``tmp``; error messages use ``shown`` as directory."""
    def file(name: str) -> str:
        return os.path.join(shown, name)

    utt2spk = dict(data.utt2spk) if data.utt2spk else {u: u for u in data.utt_ids()}
    spk2utt: Dict[str, List[str]] = {}
    for utt in sorted(utt2spk):
        spk2utt.setdefault(str(utt2spk[utt]), []).append(utt)
    outputs: List[Tuple[str, List[str]]] = [
        ("wav.scp", _format_lines(file("wav.scp"), data.wav_scp.items())),
        ("utt2spk", _format_lines(file("utt2spk"), utt2spk.items())),
        ("spk2utt", _format_lines(file("spk2utt"), ((s, " ".join(u)) for s, u in spk2utt.items()))),
    ]
    if data.text:
        outputs.append(("text", _format_lines(file("text"), data.text.items(), allow_empty=True)))
    if data.utt2lang:
        outputs.append(("utt2lang", _format_lines(file("utt2lang"), data.utt2lang.items())))
    if data.segments:
        seg_items = (
            (u, f"{rec} {_fmt_float(start)} {_fmt_float(end)}")
            for u, (rec, start, end) in data.segments.items()
        )
        outputs.append(("segments", _format_lines(file("segments"), seg_items)))
    if data.utt2dur:
        dur_items = ((u, _fmt_float(d)) for u, d in data.utt2dur.items())
        outputs.append(("utt2dur", _format_lines(file("utt2dur"), dur_items)))
    for name, lines in outputs:
        _write_file(os.path.join(tmp, name), lines)


def _why_not_creatable(parent: str, err: OSError) -> str:
    """Why a directory under ``parent`` could not be made: the component that is a file, or ``err``."""
    p = parent
    while p and not os.path.lexists(p):
        p = os.path.dirname(p)
    if p and not os.path.isdir(p):
        return f"{p} is a file, not a directory"
    return f"{parent}: {err.strerror or err}"


def write_datadir(path: PathLike, data: DataDir, overwrite: bool = True) -> None:
    """Write ``data`` as a Kaldi data directory, atomically.

    All files are written into a temporary directory beside ``path``, validated,
    and only then moved into place; on any error the temporary directory is removed
    and an existing ``path`` is left untouched. Replacing an existing directory
    swaps it out by rename (the old one, including any other files it held, is
    removed afterwards). Files are sorted by key in C order; ``spk2utt`` is derived
    from ``utt2spk``, which defaults to utterance -> itself when empty.

    Args:
        path: Target directory.
        data: The data to write.
        overwrite: Replace an existing ``path``; if False, raise instead.

    Raises:
        FileExistsError: ``path`` exists and ``overwrite`` is False.
        DataDirError: ``data`` is invalid (message names ``path``'s files), or ``path``
            cannot be created (a component of it is a file, no permission).
    """
    target = os.path.abspath(os.fspath(path))
    shown = os.fspath(path)
    if os.path.lexists(target) and not overwrite:
        raise FileExistsError(f"{shown}: already exists (overwrite=False)")
    parent, name = os.path.split(target)
    try:
        os.makedirs(parent, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=f".{name}.tmp-", dir=parent)
    except OSError as e:  # e.g. a path component is a file, or no write permission
        raise DataDirError(f"{shown}: cannot create it: {_why_not_creatable(parent, e)}") from None
    try:
        os.chmod(tmp, 0o777 & ~current_umask())
        _write_files(tmp, shown, data)
        try:
            validate_datadir(tmp, require_text=bool(data.text))
        except DataDirError as e:
            raise DataDirError(str(e).replace(tmp, shown)) from None
        replace_dir(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync_dir(parent)


def write_datadir_with_extras(target: str, data: DataDir, extras: Dict[str, Dict[str, str]]) -> None:
    """Write a data dir plus extra ``utt2*`` maps (empty values allowed), all swapped into place at once.

    Used by the corpus readers that add maps :class:`DataDir` does not hold (FLEURS'
    ``utt2gender``, CoVoST 2's translations): the whole directory, extras included, is
    staged beside ``target``, validated and then swapped in, so a reader never leaves a
    half-written split. Errors name ``target``'s files, not the staging directory's.

    Raises:
        DataDirError: The staged directory does not validate.
    """
    parent, name = os.path.split(os.path.abspath(target))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{name}.tmp-", dir=parent)
    staged = os.path.join(tmp, name)
    try:
        write_datadir(staged, data)
        for fname, mapping in extras.items():
            with open(os.path.join(staged, fname), "w", encoding="utf-8", newline="\n") as f:
                for key in sorted(mapping):
                    value = mapping[key]
                    f.write(f"{key} {value}\n" if value else f"{key}\n")
        validate_datadir(staged)
        replace_dir(staged, target)
    except DataDirError as e:
        raise DataDirError(str(e).replace(staged, target)) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
