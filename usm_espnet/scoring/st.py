"""Speech-translation scoring: sacrebleu BLEU and chrF per source language.

Conventions:

* Hypotheses and references are scored as they are (detokenised, case kept), with
  sacrebleu's defaults: BLEU with the ``13a`` tokeniser, exponential smoothing and one
  reference; chrF with character 6-grams and beta 2. This is what the CoVoST 2 papers
  report (case-sensitive detokenised BLEU). Only whitespace is collapsed (and, when
  asked, tag tokens such as ``<fr>`` are removed by the caller).
* Scores are corpus-level per source language (the language is that of the speech,
  from ``utt2lang``); :func:`average` is the unweighted mean over languages, as the USM
  paper averages BLEU over the 21 X -> En directions of CoVoST 2. ``pooled`` scores all
  utterances as one corpus.
* Each language's hypotheses and references are also written one sentence a line,
  in utterance-id order (``hyp.<lang>.txt``, ``ref.<lang>.txt``), so that
  ``sacrebleu ref.fr.txt -i hyp.fr.txt -m bleu chrf`` reproduces the numbers.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Tuple, Union

from usm_espnet.utils import atomic_write_text

logger = logging.getLogger(__name__)

PathLike = Union[str, "os.PathLike[str]"]

#: sacrebleu tokenisers accepted by :func:`score_st` (``13a`` is sacrebleu's default).
TOKENIZERS: Tuple[str, ...] = ("13a", "intl", "none", "zh", "ja-mecab", "ko-mecab", "char", "flores101", "flores200")
#: Decimal places kept in ``scores.json`` (sacrebleu's CLI prints the same with ``-w 4``).
DECIMALS = 4

__all__ = ["LangST", "STScores", "average", "read_text_map", "score_st", "write_st_scores",
           "st_results_markdown", "TOKENIZERS"]


@dataclass
class LangST:
    """BLEU and chrF of one source language.

    Args:
        lang: Source language (from ``utt2lang``).
        bleu: Corpus BLEU.
        chrf: Corpus chrF.
        num_utts: Utterances scored.
        bleu_detail: sacrebleu's verbose BLEU line (n-gram precisions, brevity penalty).
        utt_ids: The utterances, in scoring order.
    """

    lang: str
    bleu: float
    chrf: float
    num_utts: int
    bleu_detail: str = ""
    utt_ids: List[str] = field(default_factory=list)


@dataclass
class STScores:
    """Output of :func:`score_st`.

    Args:
        languages: Per-language scores, sorted by language.
        pooled_bleu: BLEU over all utterances as one corpus.
        pooled_chrf: chrF over all utterances as one corpus.
        signatures: sacrebleu signatures of the two metrics.
    """

    languages: Dict[str, LangST]
    pooled_bleu: float
    pooled_chrf: float
    signatures: Dict[str, str]


def _r(x: float) -> float:
    return float(f"{x:.{DECIMALS}f}")


def _metrics(tokenize: str, lowercase: bool):
    from sacrebleu.metrics import BLEU, CHRF

    return BLEU(tokenize=tokenize, lowercase=lowercase), CHRF(lowercase=lowercase)


def read_text_map(path: PathLike, allow_empty: bool = True) -> Dict[str, str]:
    """Read a Kaldi ``utt text`` file (hypotheses may be empty).

    Args:
        path: The file (UTF-8).
        allow_empty: Accept lines holding only an utterance id (empty text).

    Raises:
        ValueError: Invalid UTF-8, a line starting with whitespace, a duplicate id, or an
            empty text when not allowed; the message names ``file:line``.
    """
    out: Dict[str, str] = {}
    first: Dict[str, int] = {}
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, start=1):
            where = f"{path}:{lineno}"
            try:
                line = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as e:
                raise ValueError(f"{where}: not valid UTF-8 ({e.reason})") from None
            if lineno == 1 and line.startswith("\ufeff"):
                logger.warning("%s: ignoring the UTF-8 byte-order mark (BOM) at the start "
                               "of the file", path)
                line = line[1:]
            if not line.strip():
                continue
            if line[0].isspace():
                raise ValueError(f"{where}: malformed line (starts with whitespace): {line!r}")
            parts = line.split(maxsplit=1)
            text = " ".join(parts[1].split()) if len(parts) > 1 else ""
            if not text and not allow_empty:
                raise ValueError(f"{where}: empty text for {parts[0]!r}")
            if parts[0] in out:
                raise ValueError(f"{where}: duplicate utterance id {parts[0]!r} "
                                 f"(first at line {first[parts[0]]})")
            out[parts[0]] = text
            first[parts[0]] = lineno
    return out


def score_st(refs: Mapping[str, str], hyps: Mapping[str, str], utt2lang: Mapping[str, str],
             missing: str = "error", tokenize: str = "13a", lowercase: bool = False) -> STScores:
    """Corpus BLEU and chrF per source language, and pooled over all utterances.

    Args:
        refs: Utterance id -> reference translation; every one is scored.
        hyps: Utterance id -> hypothesis (ids without a reference are ignored, with a warning).
        utt2lang: Utterance id -> source language; must cover every reference.
        missing: References without a hypothesis: ``error`` raises, ``empty`` scores
            them as empty hypotheses (with a warning).
        tokenize: sacrebleu tokeniser for BLEU (:data:`TOKENIZERS`).
        lowercase: Case-insensitive scores (default: case-sensitive).

    Returns:
        :class:`STScores`.

    Raises:
        ValueError: Bad ``missing`` or ``tokenize``; no references; references without
            a language or (with ``missing="error"``) without a hypothesis.
    """
    if missing not in ("error", "empty"):
        raise ValueError(f"missing must be one of error, empty; got {missing!r}")
    if tokenize not in TOKENIZERS:
        raise ValueError(f"tokenize must be one of {', '.join(TOKENIZERS)}; got {tokenize!r}")
    utts = sorted(refs)
    if not utts:
        raise ValueError("no references to score")
    no_lang = [u for u in utts if u not in utt2lang]
    if no_lang:
        raise ValueError(f"no language in utt2lang for {len(no_lang)} utterance(s): "
                         f"{', '.join(no_lang[:5])}")
    no_hyp = [u for u in utts if u not in hyps]
    if no_hyp:
        msg = f"no hypothesis for {len(no_hyp)} utterance(s): {', '.join(no_hyp[:5])}"
        if missing == "error":
            raise ValueError(msg)
        logger.warning("%s; scored as empty", msg)
    extra = sorted(set(hyps) - set(refs))
    if extra:
        logger.warning("ignoring %d hypotheses without a reference: %s", len(extra),
                       ", ".join(extra[:5]))
    bleu, chrf = _metrics(tokenize, lowercase)
    by_lang: Dict[str, List[str]] = {}
    for u in utts:
        by_lang.setdefault(utt2lang[u], []).append(u)
    langs: Dict[str, LangST] = {}
    for lang in sorted(by_lang):
        ids = by_lang[lang]
        h = [hyps.get(u, "") for u in ids]
        r = [refs[u] for u in ids]
        b = bleu.corpus_score(h, [r])
        langs[lang] = LangST(lang=lang, bleu=b.score, chrf=chrf.corpus_score(h, [r]).score,
                             num_utts=len(ids), bleu_detail=str(b), utt_ids=ids)
    h = [hyps.get(u, "") for u in utts]
    r = [refs[u] for u in utts]
    return STScores(languages=langs, pooled_bleu=bleu.corpus_score(h, [r]).score,
                    pooled_chrf=chrf.corpus_score(h, [r]).score,
                    signatures={"bleu": str(bleu.get_signature()), "chrf": str(chrf.get_signature())})


def average(scores: STScores) -> Tuple[float, float]:
    """Unweighted mean of BLEU and chrF over source languages.

    Raises:
        ValueError: No languages.
    """
    if not scores.languages:
        raise ValueError("cannot average an empty set of language scores")
    n = len(scores.languages)
    return (sum(s.bleu for s in scores.languages.values()) / n,
            sum(s.chrf for s in scores.languages.values()) / n)


def scores_to_dict(scores: STScores) -> Dict[str, object]:
    """The JSON document written as ``scores.json`` (scores rounded to 4 decimals)."""
    mean_bleu, mean_chrf = average(scores)
    return {
        "metric": "bleu",
        "conventions": ("sacrebleu corpus BLEU and chrF per source language on detokenised, "
                        "whitespace-collapsed text; macro_average = unweighted mean over "
                        "source languages; pooled = all utterances as one corpus"),
        "signatures": scores.signatures,
        "languages": {lang: {"bleu": _r(s.bleu), "chrf": _r(s.chrf), "num_utts": s.num_utts,
                             "bleu_detail": s.bleu_detail}
                      for lang, s in scores.languages.items()},
        "macro_average": {"bleu": _r(mean_bleu), "chrf": _r(mean_chrf),
                          "num_langs": len(scores.languages)},
        "pooled": {"bleu": _r(scores.pooled_bleu), "chrf": _r(scores.pooled_chrf),
                   "num_utts": sum(s.num_utts for s in scores.languages.values())},
    }


def _line(text: str) -> str:
    return " ".join(text.split())


def write_st_scores(out_dir: PathLike, scores: STScores, refs: Mapping[str, str],
                    hyps: Mapping[str, str], tokenize: str = "13a", lowercase: bool = False) -> None:
    """Write ``scores.json``, ``per_utt.tsv`` and ``{hyp,ref}.<lang>.txt`` into ``out_dir``.

    ``per_utt.tsv`` (header ``utt lang bleu chrf ref hyp``) has sentence BLEU (effective
    n-gram order) and sentence chrF of every utterance, to find the worst ones; the
    corpus scores are not averages of these.

    Args:
        out_dir: Output directory (created if needed).
        scores: Output of :func:`score_st`.
        refs: The references scored.
        hyps: The hypotheses scored (missing ones count as empty).
        tokenize: BLEU tokeniser used for the sentence scores.
        lowercase: Case-insensitive sentence scores.
    """
    from sacrebleu.metrics import BLEU, CHRF

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out_dir / "scores.json",
                      json.dumps(scores_to_dict(scores), indent=2, ensure_ascii=False) + "\n")
    sbleu = BLEU(tokenize=tokenize, lowercase=lowercase, effective_order=True)
    schrf = CHRF(lowercase=lowercase)
    rows = ["utt\tlang\tbleu\tchrf\tref\thyp"]
    for lang, s in scores.languages.items():
        h = [_line(hyps.get(u, "")) for u in s.utt_ids]
        r = [_line(refs[u]) for u in s.utt_ids]
        atomic_write_text(out_dir / f"hyp.{lang}.txt", "".join(x + "\n" for x in h))
        atomic_write_text(out_dir / f"ref.{lang}.txt", "".join(x + "\n" for x in r))
        for u, hh, rr in zip(s.utt_ids, h, r):
            rows.append(f"{u}\t{lang}\t{sbleu.sentence_score(hh, [rr]).score:.2f}\t"
                        f"{schrf.sentence_score(hh, [rr]).score:.2f}\t{rr}\t{hh}")
    atomic_write_text(out_dir / "per_utt.tsv", "\n".join(rows) + "\n")


def _cell(text: object) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def st_results_markdown(scores: STScores, title: str, paper: Optional[Mapping[str, object]],
                        standin: bool, lang_names: Optional[Mapping[str, str]] = None,
                        extra_info: Optional[Mapping[str, str]] = None) -> str:
    """Render BLEU/chrF per source language as a RESULTS.md section.

    The paper's numbers, when given, go in their own table under their own heading.

    Args:
        scores: Output of :func:`score_st`.
        title: Section heading.
        paper: An entry of ``usm_espnet.report.results.PAPER_RESULTS`` with ``source``
            and ``systems`` ({system: average BLEU}), or None.
        standin: Label the numbers as measured on the synthetic stand-in.
        lang_names: Language code -> English name for the table.
        extra_info: Facts listed under the table (command, model ...).

    Returns:
        Markdown ending with a newline.
    """
    lang_names = lang_names or {}
    lines = [f"## {title}", ""]
    if standin:
        lines += ["> **Synthetic stand-in corpus:** measured on the synthetic stand-in for "
                  "CoVoST 2 (espeak-ng speech of generated parallel text), not on real "
                  "CoVoST 2; NOT comparable with the paper's numbers.", ""]
    lines += ["| Source | Language | #utts | BLEU | chrF |", "| --- | --- | ---: | ---: | ---: |"]
    for lang, s in scores.languages.items():
        lines.append(f"| {_cell(lang)} | {_cell(lang_names.get(lang, ''))} | {s.num_utts} | "
                     f"{s.bleu:.2f} | {s.chrf:.2f} |")
    mean_bleu, mean_chrf = average(scores)
    total = sum(s.num_utts for s in scores.languages.values())
    lines += [f"| **Average (macro)** | {len(scores.languages)} languages | {total} | "
              f"**{mean_bleu:.2f}** | **{mean_chrf:.2f}** |", "",
              f"X -> English. sacrebleu corpus scores per source language on detokenised text; "
              f"the average is the unweighted mean over source languages. Pooled over all "
              f"utterances: BLEU {scores.pooled_bleu:.2f}, chrF {scores.pooled_chrf:.2f}. "
              f"Signatures: BLEU `{scores.signatures['bleu']}`, chrF `{scores.signatures['chrf']}`.",
              ""]
    for key, value in (extra_info or {}).items():
        value = str(value)
        shown = f"`{value}`" if key.lower() == "command" and "`" not in value else _cell(value)
        lines.append(f"- **{_cell(key)}**: {shown}")
    if extra_info:
        lines.append("")
    if paper is not None:
        heading = "Paper reference"
        if standin:
            heading += " (real CoVoST 2; not comparable with the stand-in numbers above)"
        lines += [f"### {heading}", "", f"{paper['source']}.", "",
                  "| System | BLEU (average) |", "| --- | ---: |"]
        for system, value in dict(paper.get("systems", {})).items():
            lines.append(f"| {_cell(system)} | {float(value):.1f} |")
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"
