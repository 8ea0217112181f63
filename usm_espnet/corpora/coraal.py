"""CORAAL: Kaldi data preparation (lhotse-style :func:`prepare_coraal`).

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

Transcripts (their format, the drop reasons of their rows, and the normaliser
:func:`normalize_coraal`) are read by :mod:`usm_espnet.corpora.coraal_text`; the synthetic
stand-in in exactly this layout is :mod:`usm_espnet.standin.coraal`.

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

import json
import logging
import math
import os
import random
import re
import shutil
import tarfile
import tempfile
import zlib
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple, Union

from usm_espnet.corpora.coraal_text import (
    DROP_REASONS,
    ERROR_REASONS,
    TRANSCRIPT_COLUMNS,
    CoraalFormatError,
    CoraalRow,
    CoraalText,
    MetadataRow,
    RowRejecter,
    SkippedRow,
    normalize_coraal,
    read_coraal_metadata,
    read_coraal_transcript,
)
from usm_espnet.data.audio import AudioError, read_audio_info
from usm_espnet.data.kaldi import DataDir, write_datadir_with_extras
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
    "CoraalText",
    "component_of",
    "context_segments",
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
_METADATA_RE = re.compile(r"^([A-Z]{3})_metadata_.*\.txt$")
_STEM_RE = re.compile(r"^[A-Z]{3}_\S+$")
_ARCHIVE_RE = re.compile(r"^[A-Z]{3}_(audio|textfiles)_.*\.(tar\.gz|tgz|tar)$")


def component_of(name: str) -> str:
    """The component of a CORAAL file or speaker id: the part before the first ``_``.

    Args:
        name: ``DCA_se1_ag1_f_01_1``, ``DCA_int_01`` ...

    Returns:
        ``DCA``.
    """
    return name.split("_", 1)[0]


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
    reject = RowRejecter(on_error)
    corpus_dir = os.path.abspath(os.fspath(corpus_dir))
    out_dir = os.fspath(out_dir)
    extract_dir = os.fspath(extract_dir) if extract_dir else os.path.join(out_dir, "coraal_extracted")
    wavs, txts, meta_files = _discover(corpus_dir, extract_dir)
    metadata: Dict[str, MetadataRow] = {}
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
    file_skips: List[SkippedRow] = []

    def skip_file(reason: str, path: str, message: str) -> None:
        if on_error == "raise" and reason != "not_selected":
            raise CoraalFormatError(f"{path}: {message}")
        stats.files_skipped[reason] = stats.files_skipped.get(reason, 0) + 1
        file_skips.append(SkippedRow(path, f"file_{reason}", message))
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
                file_skips.append(SkippedRow(txt, "file_no_longform_text",
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
        write_datadir_with_extras(os.path.join(out_dir, split), data,
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
    write_datadir_with_extras(os.path.join(out_dir, longform_set), data,
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
