"""Long-form scoring and reports: WER per recording against its length, per model.

USM's Table 7 compares local self-attention (LSA-128) with chunk-wise attention
(CW-8s) on YouTube long-form test sets; the numbers below are the paper's as
quoted in this project's issue 5 (not re-checked against the paper offline).
"""

from __future__ import annotations

import io
import json
import os
from typing import Dict, List, Optional, Sequence, Tuple

from usm_espnet.report.results import _md_cell
from usm_espnet.scoring.asr import ErrorCounts, score_utterance
from usm_espnet.utils import atomic_write_bytes, atomic_write_text

STANDIN_LABEL = (
    "**Synthetic stand-in corpus:** these recordings were generated for this project (synthesised "
    "sentences never seen in training, unseen voices, pauses, background noise), and the model "
    "was trained on the synthetic FLEURS stand-in. The numbers are NOT comparable with the "
    "paper's on real YouTube audio."
)

PAPER_TABLE7 = {
    "source": "USM paper (arXiv 2303.01037) Table 7, 0.6B model, YouTube long-form WER (%), "
              "as quoted in issue 5",
    "rows": [("LSA-128", {"en": 16.2, "ru": 16.6, "ko": 26.2, "uk": 15.5}),
             ("CW-8s", {"en": 12.5, "ru": 14.7, "ko": 19.5, "uk": 15.3})],
}


def score_recordings(refs: Dict[str, str], hyps: Dict[str, str], utt2lang: Dict[str, str],
                     utt2dur: Dict[str, float]) -> Dict[str, Dict]:
    """WER and CER of each recording (missing hypothesis = empty output).

    Returns:
        ``{rec: {"lang", "seconds", "wer", "cer", "wer_counts", "cer_counts"}}``.
    """
    out = {}
    for rec in sorted(refs):
        lang = utt2lang.get(rec)
        w, c, _, _ = score_utterance(refs[rec], hyps.get(rec, ""), lang)
        out[rec] = {"lang": lang, "seconds": float(utt2dur.get(rec, 0.0)),
                    "wer": 100.0 * w.errors / max(w.ref_len, 1),
                    "cer": 100.0 * c.errors / max(c.ref_len, 1),
                    "wer_counts": [w.errors, w.ref_len], "cer_counts": [c.errors, c.ref_len],
                    "missing_hyp": rec not in hyps}
    return out


def _minutes(sec: float) -> str:
    m = sec / 60.0
    return f"{m:.1f}" if m < 10 else f"{m:.0f}"


def recordings_markdown(scores: Dict[str, Dict], title: str, standin: bool,
                        command: str = "", plot: str = "") -> str:
    """One model's table: a row per recording, sorted by language then length."""
    lines = [f"## {title}", ""]
    if standin:
        lines += [f"> {STANDIN_LABEL}", ""]
    lines += ["| Recording | Lang | Minutes | WER (%) | CER (%) |", "| --- | --- | ---: | ---: | ---: |"]
    for rec, s in sorted(scores.items(), key=lambda kv: (kv[1]["lang"] or "", kv[1]["seconds"])):
        if s.get("missing_hyp"):
            lines.append(f"| {_md_cell(rec)} | {s['lang']} | {_minutes(s['seconds'])} | not decoded | - |")
            continue
        lines.append(f"| {_md_cell(rec)} | {s['lang']} | {_minutes(s['seconds'])} | "
                     f"{s['wer']:.2f} | {s['cer']:.2f} |")
    if command:
        lines += ["", f"- **command**: `{command}`"]
    if plot:
        lines += ["", f"![WER against recording length]({plot})"]
    return "\n".join(lines) + "\n"


def plot_wer_vs_length(models: Sequence[Tuple[str, Dict[str, Dict]]], png_path: str,
                       title: str) -> None:
    """WER against recording length, one line per (model, language)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, key in zip(axes, ("wer", "cer")):
        for label, scores in models:
            langs = sorted({s["lang"] or "" for s in scores.values()})
            for lang in langs:
                pts = sorted((s["seconds"] / 60.0, s[key]) for s in scores.values()
                             if (s["lang"] or "") == lang and not s.get("missing_hyp"))
                if pts:
                    ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o",
                            label=f"{label} {lang}".strip())
        ax.set_xscale("log")
        ax.set_xlabel("recording length (minutes, log scale)")
        ax.set_ylabel(f"{key.upper()} (%)")
        ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    os.makedirs(os.path.dirname(os.path.abspath(png_path)), exist_ok=True)
    atomic_write_bytes(png_path, buf.getvalue())


def comparison_markdown(models: Sequence[Tuple[str, Dict[str, Dict]]], title: str,
                        standin: bool, command: str = "", plot: str = "",
                        paper: Optional[Dict] = PAPER_TABLE7) -> str:
    """Models side by side: a row per recording, a WER column per model."""
    recs = sorted({r for _, s in models for r in s},
                  key=lambda r: next(((s[r]["lang"] or "", s[r]["seconds"]) for _, s in models if r in s)))
    lines = [f"## {title}", ""]
    if standin:
        lines += [f"> {STANDIN_LABEL}", ""]
    lines.append("| Recording | Lang | Minutes | " + " | ".join(f"WER (%) {_md_cell(m)}" for m, _ in models)
                 + " | " + " | ".join(f"CER (%) {_md_cell(m)}" for m, _ in models) + " |")
    lines.append("| --- | --- | ---: | " + " | ".join("---:" for _ in 2 * list(models)) + " |")
    for r in recs:
        first = next(s[r] for _, s in models if r in s)
        cells = [("not decoded" if s[r].get("missing_hyp") else f"{s[r][key]:.2f}") if r in s else "-"
                 for key in ("wer", "cer") for _, s in models]
        lines.append(f"| {_md_cell(r)} | {first['lang']} | {_minutes(first['seconds'])} | " + " | ".join(cells) + " |")
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
