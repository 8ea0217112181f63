"""Long-form scoring and reports: WER per recording against its length, per model.

USM's Table 7 compares local self-attention (LSA-128) with chunk-wise attention
(CW-8s) on YouTube long-form test sets; :data:`PAPER_TABLE7` holds its numbers, read from
the one table of the paper's numbers (``report/paper_numbers.tsv``).
"""

from __future__ import annotations

import io
import json
import os
from typing import Dict, List, Optional, Sequence, Tuple

from usm_espnet.report.paper import paper_source, paper_value
from usm_espnet.report.results import annotate_standin, is_standin, md_cell, plot_title
from usm_espnet.scoring.asr import score_utterance
from usm_espnet.utils import atomic_write_bytes, atomic_write_text

STANDIN_LABEL = (
    "**Synthetic stand-in corpus:** these recordings were generated for this project (synthesised "
    "sentences never seen in training, unseen voices, pauses, background noise), and the model "
    "was trained on the synthetic FLEURS stand-in. The numbers are NOT comparable with the "
    "paper's on real YouTube audio."
)

#: Table 7 as the long-form report prints it, from report/paper_numbers.tsv.
PAPER_TABLE7 = {
    "source": paper_source("table7"),
    "rows": [(row, {lang: paper_value("table7", row, f"WER {lang}") for lang in ("en", "ru", "ko", "uk")})
             for row in ("LSA-128", "CW-8s")],
}


def score_recordings(refs: Dict[str, str], hyps: Dict[str, str], utt2lang: Dict[str, str],
                     utt2dur: Dict[str, float]) -> Dict[str, Dict]:
    """WER and CER of each recording (missing hypothesis = empty output).

    Returns:
        ``{rec: {"lang", "seconds", "wer", "cer", "wer_counts", "cer_counts", "wer_sdi"}}``;
        ``wer_sdi``: substitutions, deletions and insertions, each in % of the reference
        words (they add up to the WER).
    """
    out = {}
    for rec in sorted(refs):
        lang = utt2lang.get(rec)
        w, c, _, _ = score_utterance(refs[rec], hyps.get(rec, ""), lang)
        out[rec] = {"lang": lang, "seconds": float(utt2dur.get(rec, 0.0)),
                    "wer": 100.0 * w.errors / max(w.ref_len, 1),
                    "cer": 100.0 * c.errors / max(c.ref_len, 1),
                    "wer_counts": [w.errors, w.ref_len], "cer_counts": [c.errors, c.ref_len],
                    "wer_sdi": [100.0 * n / max(w.ref_len, 1)
                                for n in (w.substitutions, w.deletions, w.insertions)],
                    "missing_hyp": rec not in hyps}
    return out


def _sdi_cells(s: Dict) -> str:
    sdi = s.get("wer_sdi")  # absent in scores.json written before the split existed
    return " | ".join(f"{v:.2f}" for v in sdi) if sdi else "- | - | -"


def _minutes(sec: float) -> str:
    m = sec / 60.0
    return f"{m:.1f}" if m < 10 else f"{m:.0f}"


def recordings_markdown(scores: Dict[str, Dict], title: str, standin: bool,
                        command: str = "", plot: str = "") -> str:
    """One model's table: a row per recording, sorted by language then length."""
    lines = [f"## {title}", ""]
    if standin:
        lines += [f"> {STANDIN_LABEL}", ""]
    lines += ["| Recording | Lang | Minutes | WER (%) | Sub (%) | Del (%) | Ins (%) | CER (%) |",
              "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for rec, s in sorted(scores.items(), key=lambda kv: (kv[1]["lang"] or "", kv[1]["seconds"])):
        if s.get("missing_hyp"):
            lines.append(f"| {md_cell(rec)} | {s['lang']} | {_minutes(s['seconds'])} | "
                         "not decoded | - | - | - | - |")
            continue
        lines.append(f"| {md_cell(rec)} | {s['lang']} | {_minutes(s['seconds'])} | "
                     f"{s['wer']:.2f} | {_sdi_cells(s)} | {s['cer']:.2f} |")
    lines += ["", "Sub, Del and Ins: substituted, deleted and inserted words in % of the "
              "reference words (they add up to the WER)."]
    if command:
        lines += ["", f"- **command**: `{command}`"]
    if plot:
        lines += ["", f"![WER against recording length]({plot})"]
    return "\n".join(lines) + "\n"


def plot_wer_vs_length(models: Sequence[Tuple[str, Dict[str, Dict]]], png_path: str,
                       title: str, standin: Optional[bool] = None) -> List[str]:
    """WER and CER against recording length, one line per (model, language).

    The x axis has a tick at each recording length. A recording a model could not decode
    (``missing_hyp``) is not dropped: it is drawn as a cross above the curves, on the
    "not decoded" line, in its series' colour, with its own legend entry.

    Args:
        models: ``[(label, scores)]``; scores as :func:`score_recordings` returns them.
        png_path: Output PNG (written atomically, its directory created).
        title: Figure title.
        standin: Whether the data are the synthetic stand-in (said in the title and under
            the axes); None: stand-in when the title says so.

    Returns:
        The legend's entries (a "<model> <lang>: not decoded" entry per series with
        recordings it could not decode).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter, NullLocator

    stand = is_standin(title, standin)
    lengths = sorted({s["seconds"] / 60.0 for _, sc in models for s in sc.values()})
    log_x = bool(lengths) and lengths[0] > 0 and lengths[-1] / lengths[0] >= 4
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
    any_missing = False
    for ax, key in zip(axes, ("wer", "cer")):
        decoded = [s[key] for _, sc in models for s in sc.values() if not s.get("missing_hyp")]
        top = max(decoded + [1.0])
        y_missing = top * 1.15
        n = 0
        for label, scores in models:
            for lang in sorted({s["lang"] or "" for s in scores.values()}):
                pts = sorted((s["seconds"] / 60.0, s[key], bool(s.get("missing_hyp")))
                             for s in scores.values() if (s["lang"] or "") == lang)
                name = f"{label} {lang}".strip() or "model"
                color = colors[n % len(colors)]
                n += 1
                ok = [(x, y) for x, y, missing in pts if not missing]
                if ok:
                    ax.plot([p[0] for p in ok], [p[1] for p in ok], marker="o", color=color,
                            label=name)
                missing = [x for x, _, m in pts if m]
                if missing:
                    any_missing = True
                    ax.scatter(missing, [y_missing] * len(missing), marker="x", s=70, color=color,
                               zorder=3, label=f"{name}: not decoded")
        if any_missing:
            ax.axhline(y_missing, color="grey", linestyle=":", linewidth=1)
            ax.text(0.01, y_missing, " not decoded", transform=ax.get_yaxis_transform(),
                    va="bottom", ha="left", fontsize=8, color="grey")
            ax.set_ylim(0, y_missing * 1.12)
        else:
            ax.set_ylim(0, top * 1.1)
        if log_x:
            ax.set_xscale("log")
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xticks(lengths)
        ax.set_xticklabels([f"{m:.3g}" for m in lengths], fontsize=8,
                           rotation=45 if len(lengths) > 6 else 0)
        ax.set_xlabel("recording length (minutes" + (", log scale" if log_x else "")
                      + "; a tick per recording length)", fontsize=9)
        ax.set_ylabel(f"{key.upper()} (%)")
        ax.grid(alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="center right", fontsize=8,
                   title="model, language" + ("\n(x: could not decode)" if any_missing else ""),
                   title_fontsize=8)
    fig.suptitle(plot_title(title, stand, width=110), fontsize=10)
    fig.tight_layout(rect=(0, 0.05 if stand else 0, 0.8 if handles else 1, 1))
    annotate_standin(fig, stand)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    os.makedirs(os.path.dirname(os.path.abspath(png_path)), exist_ok=True)
    atomic_write_bytes(png_path, buf.getvalue())
    return labels


def comparison_markdown(models: Sequence[Tuple[str, Dict[str, Dict]]], title: str,
                        standin: bool, command: str = "", plot: str = "",
                        paper: Optional[Dict] = PAPER_TABLE7) -> str:
    """Models side by side: a row per recording, a WER column per model."""
    recs = sorted({r for _, s in models for r in s},
                  key=lambda r: next(((s[r]["lang"] or "", s[r]["seconds"]) for _, s in models if r in s)))
    lines = [f"## {title}", ""]
    if standin:
        lines += [f"> {STANDIN_LABEL}", ""]
    lines.append("| Recording | Lang | Minutes | " + " | ".join(f"WER (%) {md_cell(m)}" for m, _ in models)
                 + " | " + " | ".join(f"S/D/I (%) {md_cell(m)}" for m, _ in models)
                 + " | " + " | ".join(f"CER (%) {md_cell(m)}" for m, _ in models) + " |")
    lines.append("| --- | --- | ---: | " + " | ".join("---:" for _ in 3 * list(models)) + " |")

    def cell(sc: Dict, key: str) -> str:
        if sc.get("missing_hyp"):
            return "not decoded"
        if key == "sdi":
            return "/".join(f"{v:.1f}" for v in sc["wer_sdi"]) if sc.get("wer_sdi") else "-"
        return f"{sc[key]:.2f}"

    for r in recs:
        first = next(s[r] for _, s in models if r in s)
        cells = [cell(s[r], key) if r in s else "-" for key in ("wer", "sdi", "cer")
                 for _, s in models]
        lines.append(f"| {md_cell(r)} | {first['lang']} | {_minutes(first['seconds'])} | " + " | ".join(cells) + " |")
    lines += ["", "S/D/I: substituted / deleted / inserted words in % of the reference words "
              "(they add up to the WER); \"not decoded\": the model could not decode that "
              "recording (e.g. global attention beyond its memory)."]
    if command:
        lines += ["", f"- **command**: `{command}`"]
    if plot:
        lines += ["", f"![WER against recording length]({plot})"]
    if paper:
        langs = sorted({k for _, row in paper["rows"] for k in row})
        lines += ["", "### Paper reference (real YouTube data; not comparable with the numbers above)", "",
                  f"{paper['source']}", "",
                  "| Model | " + " | ".join(langs) + " |", "| --- | " + " | ".join("---:" for _ in langs) + " |"]
        for name, row in paper["rows"]:
            lines.append(f"| {name} | " + " | ".join(f"{row.get(k, '-')}" for k in langs) + " |")
    return "\n".join(lines) + "\n"


def save_scores(path: str, scores: Dict[str, Dict]) -> None:
    atomic_write_text(path, json.dumps(scores, indent=1, ensure_ascii=False) + "\n")


def load_scores(path: str) -> Dict[str, Dict]:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: not found (has the long-form scoring stage run?)") from None
