"""Results reporting for ASR recipes: Markdown tables, plots, RESULTS.md sections.

Numbers measured on the synthetic stand-in corpus are always labelled as such
and the paper's numbers are never put in the same row or table as ours, since
the two are not measured on the same data.
"""

import contextlib
import io
import os
import re
from pathlib import Path
from typing import Dict, Iterator, List, Mapping, Optional, Union

from usm_espnet.data.languages import FLEURS_LANGUAGES
from usm_espnet.report.paper import paper_source, paper_value
from usm_espnet.scoring.asr import LangScore, average, pooled
from usm_espnet.utils import atomic_write_bytes, atomic_write_text

PathLike = Union[str, "os.PathLike[str]"]

# Published reference numbers, each read from the one table of the paper's numbers
# (report/paper_numbers.tsv, read by report/paper.py; sources and caveats are there).
PAPER_RESULTS: Dict[str, Dict[str, object]] = {
    "fleurs": {
        # USM-M on FLEURS-102, WER and CER (the source says the row was not re-checked)
        "source": paper_source("fleurs102"),
        "wer": paper_value("fleurs102", "USM-M", "WER"),
        "cer": paper_value("fleurs102", "USM-M", "CER"),
    },
    "covost2": {
        # Read by usm_espnet.bin.score_st (scoring/st.py).
        "source": paper_source("covost2"),
        "metric": "BLEU",
        "bleu": paper_value("covost2", "USM-M", "BLEU"),
        "systems": {row: paper_value("covost2", row, "BLEU")
                    for row in ("USM-M", "previous best (as cited by the USM paper)")},
        # a translation benchmark: no WER/CER (results_markdown prints "n/a")
        "wer": None,
        "cer": None,
    },
}

STANDIN_LABEL = (
    "**Synthetic stand-in corpus:** these numbers were measured on the synthetic "
    "stand-in for FLEURS (generated audio and text), not on real FLEURS. They are "
    "NOT comparable with the paper's numbers on real FLEURS."
)


def md_cell(text: object) -> str:
    """Escape a value for a Markdown table cell.

    Args:
        text: Any value; converted with ``str``.

    Returns:
        The text with ``|`` escaped and line breaks turned into spaces.
    """
    return " ".join(str(text).split()).replace("|", "\\|")


def _lang_name(lang: str) -> str:
    """Return the English name of a FLEURS language code, or ``""``.

    Args:
        lang: Language code.

    Returns:
        The name from ``FLEURS_LANGUAGES``, or an empty string if unknown.
    """
    entry = FLEURS_LANGUAGES.get(lang)
    return entry[0] if entry else ""


def results_markdown(scores: Dict[str, LangScore], title: str, paper_key: Optional[str],
                     standin: bool, extra_info: Optional[Mapping[str, str]] = None,
                     image: Optional[str] = None) -> str:
    """Render per-language results as Markdown.

    Layout: the title; the stand-in label when ``standin``; a table with one
    row per language (code, name, #utts, WER, CER) and an ``Average (macro)``
    row; the ``extra_info`` entries; optionally the plot; then, when
    ``paper_key`` is given, the paper's numbers in their own table under their
    own heading (never in a row of ours).

    Args:
        scores: Output of :func:`usm_espnet.scoring.asr.score_asr`.
        title: Heading of the section.
        paper_key: Key of :data:`PAPER_RESULTS` to quote, or None.
        standin: Whether the numbers come from the synthetic stand-in corpus.
        extra_info: Extra facts listed under the table (model, training
            time, data hours, command, ...), in the given order.
        image: Relative path of a plot to embed, or None.

    Returns:
        The Markdown text, ending with a newline.

    Raises:
        KeyError: ``paper_key`` is not in :data:`PAPER_RESULTS`.
    """
    paper = PAPER_RESULTS[paper_key] if paper_key is not None else None
    lines: List[str] = [f"## {title}", ""]
    if standin:
        lines += [f"> {STANDIN_LABEL}", ""]

    lines += ["| Lang | Language | #utts | WER (%) | CER (%) |",
              "| --- | --- | ---: | ---: | ---: |"]
    for lang, s in scores.items():
        lines.append(f"| {md_cell(lang)} | {md_cell(_lang_name(lang))} | "
                     f"{s.wer.num_utts} | {s.wer.rate:.2f} | {s.cer.rate:.2f} |")
    if scores:
        mean_wer, mean_cer = average(scores)
        total = sum(s.wer.num_utts for s in scores.values())
        lines.append(f"| **Average (macro)** | {len(scores)} languages | {total} | "
                     f"**{mean_wer:.2f}** | **{mean_cer:.2f}** |")
    lines.append("")
    lines.append("WER is over words (over characters for languages written without "
                 "spaces); CER is over characters including spaces (excluding them "
                 "for those languages); text normalised by "
                 "`usm_espnet.scoring.normalize.normalize_text`. The average is the "
                 "unweighted mean over languages.")
    if scores:
        pwer, pcer = pooled(scores)
        lines.append("")
        lines.append(f"Pooled over all utterances: WER {pwer.rate:.2f}%, "
                     f"CER {pcer.rate:.2f}%.")
    lines.append("")

    if extra_info:
        for key, value in extra_info.items():
            value = str(value)
            shown = f"`{value}`" if key.lower() == "command" and "`" not in value \
                else md_cell(value)
            lines.append(f"- **{md_cell(key)}**: {shown}")
        lines.append("")

    if image:
        lines += [f"![per-language WER and CER]({image})", ""]

    if paper is not None:
        heading = "Paper reference"
        if standin:
            heading += " (real FLEURS; not comparable with the stand-in numbers above)"
        fmt = lambda v: f"{v:.1f}" if isinstance(v, (int, float)) else "n/a"  # noqa: E731
        lines += [f"### {heading}", "",
                  "| Source | WER (%) | CER (%) |", "| --- | ---: | ---: |",
                  f"| {md_cell(paper['source'])} | {fmt(paper.get('wer'))} | "
                  f"{fmt(paper.get('cer'))} |", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def plot_per_language(scores: Dict[str, LangScore], png_path: PathLike, title: str,
                      standin: Optional[bool] = None) -> None:
    """Draw per-language WER and CER as grouped bars with macro averages.

    The macro-average WER and CER are drawn as dashed horizontal lines in the
    colour of their bars. Uses the Agg canvas directly (no pyplot state, no
    display needed); the PNG is written atomically.

    Args:
        scores: Output of :func:`usm_espnet.scoring.asr.score_asr`.
        png_path: Output PNG file (its directory is created if needed).
        title: Figure title.
        standin: Whether the numbers come from the synthetic stand-in (said in the title
            and under the axes); None: stand-in when the title says so.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    langs = list(scores)
    wers = [scores[lang].wer.rate for lang in langs]
    cers = [scores[lang].cer.rate for lang in langs]
    width = max(6.0, 0.45 * len(langs) + 2.0)
    fig = Figure(figsize=(width, 4.5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    xs = list(range(len(langs)))
    bar = 0.4
    ax.bar([x - bar / 2 for x in xs], wers, bar, label="WER", color="tab:blue")
    ax.bar([x + bar / 2 for x in xs], cers, bar, label="CER", color="tab:orange")
    if langs:
        mean_wer, mean_cer = average(scores)
        ax.axhline(mean_wer, color="tab:blue", linestyle="--", linewidth=1,
                   label=f"WER macro avg {mean_wer:.1f}%")
        ax.axhline(mean_cer, color="tab:orange", linestyle="--", linewidth=1,
                   label=f"CER macro avg {mean_cer:.1f}%")
    ax.set_xticks(xs)
    ax.set_xticklabels(langs, rotation=60 if len(langs) > 8 else 0, ha="right"
                       if len(langs) > 8 else "center", fontsize=8)
    ax.set_ylabel("error rate (%)")
    ax.set_xlim(-0.7, max(len(langs) - 0.3, 0.7))
    ax.set_xlabel("language")
    top = max(wers + cers + [1.0])
    ax.set_ylim(0, top * 1.3)  # headroom for the legend
    stand = is_standin(title, standin)
    ax.set_title(plot_title(title, stand), fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout(rect=(0, 0.04 if stand else 0, 1, 1))
    annotate_standin(fig, stand)

    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    atomic_write_bytes(png_path, buf.getvalue())


STANDIN_PLOT_NOTE = "Synthetic stand-in data: not comparable with the paper's numbers"


def plot_title(title: str, standin: Optional[bool], width: int = 70) -> str:
    """A figure title: wrapped to ``width`` characters, marked as stand-in when ``standin``.

    Args:
        title: The title as given.
        standin: True when the data are the synthetic stand-in; None: unknown (the
            title is kept as it is).
        width: Line length of the wrapping.

    Returns:
        The title, with "(synthetic stand-in)" appended when needed, wrapped.
    """
    import textwrap

    if standin and "stand-in" not in title.lower():
        title = f"{title} (synthetic stand-in)"
    return "\n".join(textwrap.wrap(title, width)) or title


def is_standin(title: str, standin: Optional[bool]) -> bool:
    """Whether a plot shows stand-in data: ``standin`` when given, else read from the title."""
    return bool(standin) if standin is not None else "stand-in" in title.lower()


def annotate_standin(fig, standin: bool) -> None:
    """A line under the axes of ``fig`` saying the data are the synthetic stand-in."""
    if standin:
        fig.text(0.5, 0.005, STANDIN_PLOT_NOTE, ha="center", va="bottom", fontsize=8,
                 color="tab:red", style="italic")


_SECTION_ID = re.compile(r"^[A-Za-z0-9_.:/+-]+$")


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``path`` + ``.lock`` (POSIX only).

    Args:
        path: The file being updated.

    Yields:
        Nothing; the lock is held inside the ``with`` block.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - non-POSIX
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def update_recipe_results(results_md_path: PathLike, section_id: str, markdown: str) -> None:
    """Insert or replace one experiment's section of a recipe's RESULTS.md.

    The section is delimited by ``<!-- {section_id} start -->`` and
    ``<!-- {section_id} end -->``. An existing section is replaced in place
    (other sections and text are kept byte for byte); otherwise the section
    is appended. A missing file is created with a ``# RESULTS`` heading.
    Concurrent updates are serialised with a lock file next to it and the
    file is replaced atomically.

    Args:
        results_md_path: The recipe's RESULTS.md.
        section_id: Identifier of the section (letters, digits, ``_.:/+-``).
        markdown: New content of the section.

    Raises:
        ValueError: Invalid ``section_id``, or the file has the start marker
            without an end marker (or they are out of order / repeated).
    """
    if not _SECTION_ID.match(section_id):
        raise ValueError(f"invalid section id {section_id!r}")
    path = Path(results_md_path)
    start = f"<!-- {section_id} start -->"
    end = f"<!-- {section_id} end -->"
    block = f"{start}\n{markdown.rstrip(chr(10))}\n{end}"
    with _locked(path):
        old = path.read_text(encoding="utf-8") if path.exists() else "# RESULTS\n"
        n_start, n_end = old.count(start), old.count(end)
        if n_start == 0 and n_end == 0:
            new = old.rstrip("\n") + "\n\n" + block + "\n"
        elif n_start == 1 and n_end == 1 and old.index(start) < old.index(end):
            i = old.index(start)
            j = old.index(end) + len(end)
            new = old[:i] + block + old[j:]
        else:
            raise ValueError(f"{path}: section {section_id!r} has unbalanced markers "
                             f"({n_start} start, {n_end} end)")
        atomic_write_text(path, new)


def print_table(scores: Dict[str, LangScore]) -> str:
    """Format scores as a plain-text table for the terminal.

    Args:
        scores: Output of :func:`usm_espnet.scoring.asr.score_asr`.

    Returns:
        The table (lines joined by newlines, trailing newline included), with
        a macro-average row; the caller prints it.
    """
    rows = [("lang", "language", "#utts", "WER%", "CER%")]
    for lang, s in scores.items():
        rows.append((lang, _lang_name(lang), str(s.wer.num_utts),
                     f"{s.wer.rate:.2f}", f"{s.cer.rate:.2f}"))
    footer = []
    if scores:
        mean_wer, mean_cer = average(scores)
        total = sum(s.wer.num_utts for s in scores.values())
        footer.append(("average (macro)", f"{len(scores)} langs", str(total),
                       f"{mean_wer:.2f}", f"{mean_cer:.2f}"))
    widths = [max(len(r[i]) for r in rows + footer) for i in range(5)]

    def fmt(row: tuple) -> str:
        left = [row[i].ljust(widths[i]) for i in range(2)]
        right = [row[i].rjust(widths[i]) for i in range(2, 5)]
        return "  ".join(left + right).rstrip()

    rule = "-" * (sum(widths) + 2 * (len(widths) - 1))
    out = [fmt(rows[0]), rule] + [fmt(r) for r in rows[1:]]
    if footer:
        out += [rule, fmt(footer[0])]
    if not scores:
        out.append("(no utterances scored)")
    return "\n".join(out) + "\n"
