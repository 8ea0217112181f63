"""Side-by-side tables of several experiments (e.g. scratch vs pre-trained).

Each experiment is read from the ``scores.json`` its scoring stage wrote.
Paper numbers, when given, go in a separate table: they are measured on other
data and never share a table with ours.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Dict, Optional, Sequence, Tuple

from usm_espnet.report.results import STANDIN_LABEL, annotate_standin, is_standin, md_cell, plot_title
from usm_espnet.utils import atomic_write_bytes


@dataclass
class Row:
    """One experiment of a comparison.

    Args:
        label: What differs (e.g. "BEST-RQ, 16 softmax heads").
        scores_path: Its ``scores.json``.
    """

    label: str
    scores_path: str
    trainable_params: Optional[int] = None


def _load(path: str) -> Dict:
    try:
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: not found (has the scoring stage run?)") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}:{e.lineno}: not valid JSON ({e.msg})") from None
    if "languages" not in d or "macro_average" not in d:
        raise ValueError(f"{path}: not a scores.json of usm_espnet.bin.score_asr")
    return d


def comparison_markdown(
    rows: Sequence[Row],
    title: str,
    standin: bool,
    paper: Optional[Tuple[str, Sequence[Tuple[str, float]]]] = None,
    note: str = "",
    command: str = "",
    plot: str = "",
    paper_metric: str = "CER",
) -> str:
    """A Markdown section: per-language CER for each row plus the macro average.

    Args:
        rows: Experiments, in table order.
        title: Section title.
        standin: Label the numbers as measured on the synthetic stand-in.
        paper: ``(source, [(label, CER %), ...])`` quoted in a separate table.
        note: Free text printed under the table (setup, steps).
        command: The command that produced the section.
        plot: Relative path of a plot to embed.
        paper_metric: What the paper's numbers are (CER or WER).
    """
    data = [(r, _load(r.scores_path)) for r in rows]
    langs = sorted({lang for _, d in data for lang in d["languages"]})
    out = [f"## {title}", ""]
    if standin:
        out += [f"> {STANDIN_LABEL}", ""]
    with_params = any(r.trainable_params is not None for r in rows)
    out.append("| Experiment | " + ("Trainable params | " if with_params else "")
               + " | ".join(langs) + " | **Avg CER (%)** | Avg WER (%) |")
    out.append("| --- | " + ("---: | " if with_params else "")
               + " | ".join("---:" for _ in langs) + " | ---: | ---: |")
    for r, d in data:
        cells = []
        for lang in langs:
            s = d["languages"].get(lang)
            cells.append(f"{s['cer']:.2f}" if s else "-")
        avg = d["macro_average"]
        if with_params:
            n = r.trainable_params
            cells.insert(0, "-" if n is None else f"{n:,}")
        out.append(f"| {md_cell(r.label)} | " + " | ".join(cells)
                   + f" | **{avg['cer']:.2f}** | {avg['wer']:.2f} |")
    out.append("")
    out.append("Per-language cells are CER (%); averages are unweighted over languages.")
    if note:
        out += ["", note]
    if command:
        out += ["", f"- **command**: `{command}`"]
    if plot:
        out += ["", f"![comparison]({plot})"]
    if paper:
        source, vals = paper
        out += ["", "### Paper reference (real data; not comparable with the numbers above)", "",
                f"| Source | Setting | {paper_metric} (%) |", "| --- | --- | ---: |"]
        out += [f"| {md_cell(source)} | {md_cell(lbl)} | {v:g} |" for lbl, v in vals]
    return "\n".join(out) + "\n"


def plot_comparison(rows: Sequence[Row], png_path: str, title: str,
                    standin: Optional[bool] = None) -> None:
    """Bar chart of each row's average CER, written atomically.

    Args:
        rows: Experiments, one bar each (labelled by ``Row.label``, wrapped).
        png_path: Output PNG.
        title: Figure title.
        standin: Whether the numbers come from the synthetic stand-in (said in the title
            and under the axes); None: stand-in when the title says so.
    """
    import io
    import textwrap

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    vals = [_load(r.scores_path)["macro_average"]["cer"] for r in rows]
    stand = is_standin(title, standin)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.8 + 1.8 * len(rows)), 4.2))
    bars = ax.bar(range(len(rows)), vals, color="tab:blue", label="average CER over languages")
    for b, v in zip(bars, vals):
        ax.text(b.get_x() + b.get_width() / 2, v, f"{v:.1f}", ha="center", va="bottom", fontsize=9)
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels([textwrap.fill(r.label, 22) for r in rows], fontsize=8)
    ax.set_ylabel("average CER (%)")
    ax.set_ylim(0, max(vals + [1.0]) * 1.25)  # room for the value labels and the legend
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="upper right")
    ax.set_title(plot_title(title, stand, width=int(fig.get_figwidth() * 11)), fontsize=9)
    fig.tight_layout(rect=(0, 0.05 if stand else 0, 1, 1))
    annotate_standin(fig, stand)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    os.makedirs(os.path.dirname(os.path.abspath(png_path)), exist_ok=True)
    atomic_write_bytes(png_path, buf.getvalue())
