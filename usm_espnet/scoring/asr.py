"""Per-language WER/CER scoring of ASR hypotheses.

Conventions (used consistently by every function here):

* Both reference and hypothesis go through
  :func:`usm_espnet.scoring.normalize.normalize_text` first.
* **WER** is counted over whitespace-separated words, except for languages
  written without spaces (:func:`usm_espnet.scoring.normalize.is_unsegmented`),
  where it is counted over characters (characters-as-words, spaces dropped).
* **CER** is counted over the characters (Unicode code points) of the
  normalised text *including* the single spaces between words, as ESPnet's
  CER (which scores a ``<space>`` token) does; for unsegmented languages the
  spaces are removed first, since they are not part of the orthography.
* Corpus-level rates per language are pooled (total errors / total reference
  units of that language); :func:`average` then takes the unweighted (macro)
  mean over languages, which is how the USM paper averages per-language error
  rates on FLEURS.

Alignment counts come from ``jiwer.process_words`` and
``jiwer.process_characters``.
"""

import json
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple, Union

import jiwer

from usm_espnet.scoring.normalize import cer_string, normalize_text, tokenize_words
from usm_espnet.utils import atomic_write_text

logger = logging.getLogger(__name__)

PathLike = Union[str, "os.PathLike[str]"]


@dataclass
class ErrorCounts:
    """Edit-distance counts of one or more utterances.

    Args:
        errors: Substitutions + deletions + insertions.
        ref_len: Number of reference units (words or characters).
        substitutions: Number of substituted units.
        deletions: Number of deleted reference units.
        insertions: Number of inserted hypothesis units.
        num_utts: Number of utterances these counts cover.
    """

    errors: int = 0
    ref_len: int = 0
    substitutions: int = 0
    deletions: int = 0
    insertions: int = 0
    num_utts: int = 0

    @property
    def rate(self) -> float:
        """Error rate in percent (``errors / ref_len * 100``; 0 if ``ref_len`` is 0)."""
        if self.ref_len == 0:
            return 0.0
        return self.errors / self.ref_len * 100.0

    def add(self, other: "ErrorCounts") -> None:
        """Accumulate ``other`` into these counts in place.

        Args:
            other: Counts to add.
        """
        self.errors += other.errors
        self.ref_len += other.ref_len
        self.substitutions += other.substitutions
        self.deletions += other.deletions
        self.insertions += other.insertions
        self.num_utts += other.num_utts

    def to_dict(self) -> Dict[str, Union[int, float]]:
        """Return the counts and the rate as a JSON-friendly dict.

        Returns:
            A dict with ``rate`` plus every count field.
        """
        return {
            "rate": round(self.rate, 4),
            "errors": self.errors,
            "ref_len": self.ref_len,
            "substitutions": self.substitutions,
            "deletions": self.deletions,
            "insertions": self.insertions,
            "num_utts": self.num_utts,
        }


@dataclass
class LangScore:
    """WER and CER of one language.

    Args:
        lang: Language code (as found in ``utt2lang``).
        wer: Word-level counts (character-level for unsegmented languages).
        cer: Character-level counts.
        utt_ids: The utterances scored for this language, in scoring order.
    """

    lang: str
    wer: ErrorCounts
    cer: ErrorCounts
    utt_ids: List[str] = field(default_factory=list)


def _counts_from_output(output: Union[jiwer.WordOutput, jiwer.CharacterOutput],
                        ref_len: int) -> ErrorCounts:
    """Convert a jiwer result for one utterance into :class:`ErrorCounts`.

    Args:
        output: Result of ``jiwer.process_words``/``process_characters``.
        ref_len: Number of reference units.

    Returns:
        The counts, with ``num_utts`` = 1.
    """
    subs, dels, ins = output.substitutions, output.deletions, output.insertions
    return ErrorCounts(errors=subs + dels + ins, ref_len=ref_len, substitutions=subs,
                       deletions=dels, insertions=ins, num_utts=1)


def _count_tokens(ref: List[str], hyp: List[str]) -> ErrorCounts:
    """Align two token sequences (tokens contain no whitespace).

    Args:
        ref: Reference tokens.
        hyp: Hypothesis tokens.

    Returns:
        Counts for this one utterance.
    """
    output = jiwer.process_words(" ".join(ref), " ".join(hyp))
    return _counts_from_output(output, len(ref))


def _count_chars(ref: str, hyp: str) -> ErrorCounts:
    """Align two strings character by character (spaces are characters).

    Args:
        ref: Reference string, single-spaced and stripped.
        hyp: Hypothesis string, single-spaced and stripped.

    Returns:
        Counts for this one utterance.
    """
    output = jiwer.process_characters(ref, hyp)
    return _counts_from_output(output, len(ref))


def score_utterance(ref: str, hyp: str, lang: Optional[str]
                    ) -> Tuple[ErrorCounts, ErrorCounts, str, str]:
    """Score a single utterance.

    Args:
        ref: Reference text (raw or already normalised).
        hyp: Hypothesis text (raw or already normalised).
        lang: Language code, which selects the WER units.

    Returns:
        ``(wer_counts, cer_counts, normalised_ref, normalised_hyp)``.
    """
    nref = normalize_text(ref, lang)
    nhyp = normalize_text(hyp, lang)
    wer = _count_tokens(tokenize_words(nref, lang), tokenize_words(nhyp, lang))
    cer = _count_chars(cer_string(nref, lang), cer_string(nhyp, lang))
    return wer, cer, nref, nhyp


def _decode_lines(path: Path) -> Iterable[Tuple[int, str]]:
    """Yield ``(line_number, line)`` of a UTF-8 text file, newline removed.

    Args:
        path: File to read.

    Yields:
        1-based line number and the line without its line terminator.

    Raises:
        ValueError: A line is not valid UTF-8 (names ``file:line``).
        OSError: The file cannot be opened (missing, a directory ...).
    """
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise ValueError(f"{path}:{lineno}: not valid UTF-8 ({e})") from e
            if lineno == 1 and line.startswith("\ufeff"):
                logger.warning("%s: ignoring the UTF-8 byte-order mark (BOM) at the start "
                               "of the file", path)
                line = line[1:]
            yield lineno, line.rstrip("\r\n")


def read_trn(path: PathLike, fmt: str = "auto") -> Dict[str, str]:
    """Read a transcript file into ``{utt_id: text}``.

    Two layouts are understood:

    * ``kaldi``: ``utt_id text...`` per line (the ESPnet/Kaldi ``text`` file);
      the text may be empty, as decoders write for empty hypotheses.
    * ``trn``: ``text... (utt_id)`` per line (the sclite ``.trn`` file that
      ESPnet's scoring writes).

    ``auto`` picks ``trn`` when every non-blank line ends with ``(...)`` and
    ``kaldi`` otherwise. Blank lines are skipped.

    Args:
        path: File to read.
        fmt: ``"auto"``, ``"kaldi"`` or ``"trn"``.

    Returns:
        Utterance id to text, in file order.

    Raises:
        ValueError: A malformed line (missing utterance id, a line starting
            with whitespace, a ``trn`` line without ``(utt_id)``, invalid
            UTF-8) or a duplicate utterance id; the message names
            ``file:line``.
    """
    if fmt not in ("auto", "kaldi", "trn"):
        raise ValueError(f"unknown transcript format {fmt!r}")
    path = Path(path)
    lines = [(n, line) for n, line in _decode_lines(path) if line.strip()]
    if fmt == "auto":
        is_trn = bool(lines) and all(
            line.rstrip().endswith(")") and "(" in line for _, line in lines)
        fmt = "trn" if is_trn else "kaldi"

    out: Dict[str, str] = {}
    first_seen: Dict[str, int] = {}
    for lineno, line in lines:
        where = f"{path}:{lineno}"
        if fmt == "kaldi":
            if line[0].isspace():
                raise ValueError(f"{where}: malformed line (starts with whitespace, "
                                 f"no utterance id): {line!r}")
            parts = line.split(maxsplit=1)
            utt = parts[0]
            text = parts[1].strip() if len(parts) > 1 else ""
        else:
            body = line.rstrip()
            open_at = body.rfind("(")
            if not body.endswith(")") or open_at < 0:
                raise ValueError(f"{where}: malformed trn line (expected "
                                 f"'text (utt_id)'): {line!r}")
            utt = body[open_at + 1:-1].strip()
            text = body[:open_at].strip()
            if not utt or any(c.isspace() for c in utt):
                raise ValueError(f"{where}: malformed trn utterance id {utt!r}")
        if utt in out:
            raise ValueError(f"{where}: duplicate utterance id {utt!r} "
                             f"(first at line {first_seen[utt]})")
        out[utt] = text
        first_seen[utt] = lineno
    return out


def read_utt2lang(path: PathLike) -> Dict[str, str]:
    """Read an ``utt2lang`` file (``utt_id lang`` per line).

    Args:
        path: File to read.

    Returns:
        Utterance id to language code.

    Raises:
        ValueError: A line without exactly two fields, or a duplicate id; the
            message names ``file:line``.
    """
    path = Path(path)
    out: Dict[str, str] = {}
    for lineno, line in _decode_lines(path):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2 or line[0].isspace():
            raise ValueError(f"{path}:{lineno}: malformed utt2lang line "
                             f"(expected 'utt_id lang'): {line!r}")
        if parts[0] in out:
            raise ValueError(f"{path}:{lineno}: duplicate utterance id {parts[0]!r}")
        out[parts[0]] = parts[1]
    return out


def _describe_ids(ids: List[str], limit: int = 5) -> str:
    """Format up to ``limit`` ids and the total count for an error message.

    Args:
        ids: Utterance ids.
        limit: How many to show.

    Returns:
        e.g. ``"3 utterances: a, b, c"`` or ``"12 utterances: a, ... (+7 more)"``.
    """
    shown = ", ".join(ids[:limit])
    more = f" (+{len(ids) - limit} more)" if len(ids) > limit else ""
    return f"{len(ids)} utterance{'s' if len(ids) != 1 else ''}: {shown}{more}"


def score_asr(refs: Dict[str, str], hyps: Dict[str, str], utt2lang: Dict[str, str],
              missing: str = "error") -> Dict[str, LangScore]:
    """Score hypotheses against references, per language.

    Every utterance of ``refs`` is scored (hypotheses without a reference are
    ignored with a warning). See the module docstring for the units of WER
    and CER.

    Args:
        refs: Utterance id to reference text.
        hyps: Utterance id to hypothesis text.
        utt2lang: Utterance id to language code; must cover every reference.
        missing: What to do with references that have no hypothesis:
            ``"error"`` raises, ``"empty"`` scores them as empty hypotheses
            (all deletions) and logs a warning.

    Returns:
        Language code to :class:`LangScore`, sorted by language code.

    Raises:
        ValueError: Unknown ``missing`` mode; hypotheses missing in ``"error"``
            mode; references without a language. Messages give the count and
            up to 5 utterance ids.
    """
    if missing not in ("error", "empty"):
        raise ValueError(f"missing must be 'error' or 'empty', not {missing!r}")
    utts = sorted(refs)
    no_lang = [u for u in utts if u not in utt2lang]
    if no_lang:
        raise ValueError(f"no language in utt2lang for {_describe_ids(no_lang)}")
    no_hyp = [u for u in utts if u not in hyps]
    if no_hyp:
        if missing == "error":
            raise ValueError(f"no hypothesis for {_describe_ids(no_hyp)}")
        logger.warning("no hypothesis for %s; scored as empty", _describe_ids(no_hyp))
    extra = sorted(set(hyps) - set(refs))
    if extra:
        logger.warning("ignoring hypotheses without a reference: %s",
                       _describe_ids(extra))

    scores: Dict[str, LangScore] = {}
    for utt in utts:
        lang = utt2lang[utt]
        wer, cer, _, _ = score_utterance(refs[utt], hyps.get(utt, ""), lang)
        if lang not in scores:
            scores[lang] = LangScore(lang=lang, wer=ErrorCounts(), cer=ErrorCounts())
        scores[lang].wer.add(wer)
        scores[lang].cer.add(cer)
        scores[lang].utt_ids.append(utt)
    return dict(sorted(scores.items()))


def average(scores: Dict[str, LangScore]) -> Tuple[float, float]:
    """Macro average of WER and CER over languages.

    Each language counts once, whatever its number of utterances, as the USM
    paper averages per-language error rates over the FLEURS languages.

    Args:
        scores: Output of :func:`score_asr`.

    Returns:
        ``(mean_wer, mean_cer)`` in percent.

    Raises:
        ValueError: ``scores`` is empty.
    """
    if not scores:
        raise ValueError("cannot average an empty set of language scores")
    n = len(scores)
    return (sum(s.wer.rate for s in scores.values()) / n,
            sum(s.cer.rate for s in scores.values()) / n)


def pooled(scores: Dict[str, LangScore]) -> Tuple[ErrorCounts, ErrorCounts]:
    """Pool the counts of all languages (micro average).

    Args:
        scores: Output of :func:`score_asr`.

    Returns:
        ``(wer_counts, cer_counts)`` summed over languages.
    """
    wer, cer = ErrorCounts(), ErrorCounts()
    for s in scores.values():
        wer.add(s.wer)
        cer.add(s.cer)
    return wer, cer


def scores_to_dict(scores: Dict[str, LangScore]) -> Dict[str, object]:
    """Build the JSON document written as ``scores.json``.

    Args:
        scores: Output of :func:`score_asr`.

    Returns:
        ``{"languages": {lang: {"wer", "cer", "wer_counts", "cer_counts"}},
        "macro_average": {...}, "pooled": {...}, "conventions": str}``.
    """
    doc: Dict[str, object] = {
        "conventions": ("normalize_text on ref and hyp; WER over words "
                        "(characters for unsegmented languages); CER over "
                        "characters incl. single spaces (spaces removed for "
                        "unsegmented languages); macro average = unweighted "
                        "mean over languages"),
        "languages": {
            lang: {"wer": round(s.wer.rate, 4), "cer": round(s.cer.rate, 4),
                   "num_utts": s.wer.num_utts,
                   "wer_counts": s.wer.to_dict(), "cer_counts": s.cer.to_dict()}
            for lang, s in scores.items()
        },
    }
    if scores:
        mean_wer, mean_cer = average(scores)
        pwer, pcer = pooled(scores)
        doc["macro_average"] = {"wer": round(mean_wer, 4), "cer": round(mean_cer, 4),
                                "num_langs": len(scores)}
        doc["pooled"] = {"wer": round(pwer.rate, 4), "cer": round(pcer.rate, 4),
                         "num_utts": pwer.num_utts}
    return doc


def load_scores(path: PathLike) -> Dict[str, LangScore]:
    """Read a ``scores.json`` written by :func:`write_scores` back.

    Args:
        path: The ``scores.json`` file.

    Returns:
        Language code to :class:`LangScore` (without ``utt_ids``).
    """
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    out: Dict[str, LangScore] = {}
    for lang, entry in doc["languages"].items():
        counts = []
        for key in ("wer_counts", "cer_counts"):
            d = dict(entry[key])
            d.pop("rate", None)
            counts.append(ErrorCounts(**d))
        out[lang] = LangScore(lang=lang, wer=counts[0], cer=counts[1])
    return out


def _tsv_field(text: str) -> str:
    """Make a value safe for one TSV cell.

    Args:
        text: Cell content.

    Returns:
        ``text`` with tabs and line breaks replaced by spaces.
    """
    return " ".join(text.split()) if any(c in text for c in "\t\r\n") else text


def write_scores(out_dir: PathLike, scores: Dict[str, LangScore], refs: Dict[str, str],
                 hyps: Dict[str, str], num_examples: int = 3) -> None:
    """Write the scoring outputs into ``out_dir``.

    Files (each written atomically):

    * ``scores.json``: per-language WER/CER with their counts, the macro
      average and the pooled rates (see :func:`scores_to_dict`);
    * ``per_utt.tsv``: header ``utt lang ref hyp cer wer``, one line per
      utterance with the normalised texts and its CER/WER in percent;
    * ``alignments.txt``: for each language, the word alignments of its
      ``num_examples`` utterances with the most character errors (utterances
      without errors are not shown; the file is skipped when 0).

    Args:
        out_dir: Output directory (created if needed).
        scores: Output of :func:`score_asr` (its ``utt_ids`` say which
            utterances belong to which language).
        refs: The references that were scored.
        hyps: The hypotheses that were scored (missing ones count as empty).
        num_examples: Alignment examples per language.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out_dir / "scores.json",
                      json.dumps(scores_to_dict(scores), indent=2, ensure_ascii=False)
                      + "\n")

    rows = ["utt\tlang\tref\thyp\tcer\twer"]
    examples: List[str] = []
    for lang, score in scores.items():
        per_lang = []
        for utt in score.utt_ids:
            wer, cer, nref, nhyp = score_utterance(refs[utt], hyps.get(utt, ""), lang)
            rows.append(f"{utt}\t{lang}\t{_tsv_field(nref)}\t{_tsv_field(nhyp)}"
                        f"\t{cer.rate:.2f}\t{wer.rate:.2f}")
            per_lang.append((cer.errors, cer.rate, utt, nref, nhyp))
        if num_examples <= 0:
            continue
        wrong = [x for x in per_lang if x[0] > 0]
        worst = sorted(wrong, key=lambda x: (-x[0], -x[1], x[2]))[:num_examples]
        examples.append(f"##### {lang} (WER {score.wer.rate:.2f}%, "
                        f"CER {score.cer.rate:.2f}%): worst {len(worst)} of "
                        f"{len(wrong)} utterances with errors, by character errors\n")
        for errs, rate, utt, nref, nhyp in worst:
            ref_t, hyp_t = tokenize_words(nref, lang), tokenize_words(nhyp, lang)
            output = jiwer.process_words(" ".join(ref_t), " ".join(hyp_t))
            text = jiwer.visualize_alignment(output, show_measures=False,
                                             skip_correct=False)
            text = text.replace("=== SENTENCE 1 ===", f"--- {utt} (CER {rate:.2f}%)")
            examples.append(text.strip("\n") + "\n")
    atomic_write_text(out_dir / "per_utt.tsv", "\n".join(rows) + "\n")
    if num_examples > 0:
        atomic_write_text(out_dir / "alignments.txt", "\n".join(examples) + "\n")


_TAG = re.compile(r"<[A-Za-z0-9_\-]+>")


def strip_tags(text: str) -> str:
    """Drop tag tokens (``<en_us>``, ``<fr>``, ``<unk>``) and the spaces they leave."""
    return " ".join(_TAG.sub(" ", text).split())


def scoring_inputs(refs: Dict[str, str], hyps: Dict[str, str], ref_path: PathLike, hyp_path: PathLike,
                   utt2lang_path: Optional[PathLike], lang: Optional[str], missing: str = "error",
                   tags: bool = False) -> Tuple[Dict[str, str], Dict[str, str], Dict[str, str]]:
    """What the scoring entry points (``score_asr``, ``score_st``) share after reading ref/hyp.

    Strips tag tokens when ``tags`` is true, reads ``utt2lang_path`` (else every utterance
    gets ``lang``) and checks the ids with :func:`check_ids`.

    Returns:
        ``(refs, hyps, utt2lang)``.

    Raises:
        ValueError, OSError: as :func:`check_ids` and :func:`read_utt2lang`.
    """
    if tags:
        refs = {u: strip_tags(t) for u, t in refs.items()}
        hyps = {u: strip_tags(t) for u, t in hyps.items()}
    utt2lang = read_utt2lang(utt2lang_path) if utt2lang_path is not None else None
    check_ids(refs, hyps, utt2lang, ref_path, hyp_path, utt2lang_path, missing)
    if utt2lang is None:
        utt2lang = {u: lang for u in refs}
    return refs, hyps, utt2lang


def check_ids(refs: Dict[str, str], hyps: Dict[str, str], utt2lang: Optional[Dict[str, str]],
              ref_path: PathLike, hyp_path: PathLike, utt2lang_path: Optional[PathLike] = None,
              missing: str = "error") -> None:
    """Check that references, hypotheses and languages name the same utterances.

    Used by the scoring entry points (``score_asr``, ``score_st``) before scoring, so
    that each problem is one message naming the file at fault.

    Args:
        refs: Reference texts (from ``ref_path``).
        hyps: Hypotheses (from ``hyp_path``).
        utt2lang: Languages (from ``utt2lang_path``), or None when one ``--lang`` is given.
        ref_path: The reference file, for messages.
        hyp_path: The hypothesis file, for messages.
        utt2lang_path: The utt2lang file, for messages.
        missing: ``"error"``: every reference needs a hypothesis; ``"empty"``: missing
            ones are scored as empty (still an error when no id is shared at all).

    Raises:
        ValueError: No references; no hypotheses; no shared id; hypotheses missing
            (``missing="error"``); references without a language.
    """
    if not refs:
        raise ValueError(f"{ref_path}: no reference transcripts (empty file)")
    if not hyps:
        raise ValueError(f"{hyp_path}: no hypotheses (empty file; did decoding finish?) "
                         f"for the {len(refs)} utterances of {ref_path}")
    shared = [u for u in refs if u in hyps]
    if not shared:
        raise ValueError(
            f"{hyp_path}: none of its {len(hyps)} utterance ids is in {ref_path} (e.g. "
            f"{next(iter(hyps))!r} here, {next(iter(refs))!r} there): hypotheses of "
            f"another test set?")
    lacking = [u for u in refs if u not in hyps]
    if lacking and missing == "error":
        raise ValueError(
            f"{hyp_path}: no hypothesis for {_describe_ids(lacking)} of {ref_path} "
            f"({len(shared)} of {len(refs)} present; --missing empty scores the missing "
            f"ones as empty)")
    if utt2lang is not None:
        nolang = [u for u in refs if u not in utt2lang]
        if nolang:
            raise ValueError(f"{utt2lang_path}: no language for {_describe_ids(nolang)} of "
                             f"{ref_path}")


def describe_os_error(e: OSError) -> str:
    """``"<file>: <reason>"`` for an error opening a file (no errno, no traceback)."""
    if isinstance(e, IsADirectoryError):
        return f"{e.filename}: is a directory, not a file"
    if isinstance(e, FileNotFoundError):
        return f"{e.filename}: file not found"
    return f"{e.filename}: {e.strerror}" if e.filename else str(e)


def describe_error(e: BaseException) -> str:
    """The message of a scorer's bad input: :func:`describe_os_error` for an OSError."""
    return describe_os_error(e) if isinstance(e, OSError) else str(e)
