"""Long-form scoring and reports: WER per recording against its length, per model.

USM's Table 7 compares local self-attention (LSA-128) with chunk-wise attention
(CW-8s) on YouTube long-form test sets; :data:`PAPER_TABLE7` holds its numbers, read from
the one table of the paper's numbers (``report/paper_numbers.tsv``).
"""

from __future__ import annotations

import io
import json
import math
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
                    "wer_sdi_counts": [w.substitutions, w.deletions, w.insertions],
                    "missing_hyp": rec not in hyps}
    return out


def _sdi_cells(s: Dict) -> str:
    sdi = s.get("wer_sdi")  # absent in scores.json written before the split existed
    return " | ".join(f"{v:.2f}" for v in sdi) if sdi else "- | - | -"


def _minutes(sec: float) -> str:
    m = sec / 60.0
    return f"{m:.1f}" if m < 10 else f"{m:.0f}"


def _counts(s: Dict) -> Tuple[int, int, int, int]:
    """(substitutions, deletions, insertions, reference words) of one recording's scores."""
    ref = int(s["wer_counts"][1])
    if s.get("wer_sdi_counts"):
        sub, dele, ins = (int(v) for v in s["wer_sdi_counts"])
    elif s.get("wer_sdi"):  # scores.json written before the counts were kept
        sub, dele, ins = (int(round(v * ref / 100.0)) for v in s["wer_sdi"])
    else:
        sub, dele, ins = int(s["wer_counts"][0]), 0, 0
    return sub, dele, ins, ref


def pooled_wer(scores: Dict[str, Dict], recs: Optional[Sequence[str]] = None) -> Optional[Dict]:
    """WER over several recordings, pooled (errors / reference words), with its S/D/I split.

    Args:
        scores: As :func:`score_recordings` returns them.
        recs: The recordings to pool (default all); those not decoded are left out.

    Returns:
        ``{"wer", "sub", "del", "ins"}`` (% of the reference words) with ``"words"`` and
        ``"recordings"`` (those pooled), or None when none of them was decoded.
    """
    sub = dele = ins = ref = n = 0
    for rec in (sorted(scores) if recs is None else recs):
        s = scores.get(rec)
        if s is None or s.get("missing_hyp"):
            continue
        a, b, c, r = _counts(s)
        sub, dele, ins, ref, n = sub + a, dele + b, ins + c, ref + r, n + 1
    if n == 0:
        return None
    pct = 100.0 / max(ref, 1)
    return {"wer": (sub + dele + ins) * pct, "sub": sub * pct, "del": dele * pct, "ins": ins * pct,
            "words": ref, "recordings": n}


def length_groups(scores: Dict[str, Dict], tolerance: float = 0.15) -> List[Tuple[str, List[str]]]:
    """Recordings grouped by length, shortest first, labelled with the shortest one's minutes.

    A recording joins the current group while it is at most ``tolerance`` (relative) longer
    than the group's shortest: the stand-in's recordings of one target length (one per
    language) end with the sentence that crosses it, so they differ by a few seconds.
    """
    groups: List[Tuple[str, List[str]]] = []
    first = 0.0
    for rec in sorted(scores, key=lambda r: (scores[r]["seconds"], r)):
        sec = scores[rec]["seconds"]
        if not groups or sec > first * (1 + tolerance):
            first = sec
            groups.append((_minutes(sec), []))
        groups[-1][1].append(rec)
    return [(label, sorted(recs)) for label, recs in groups]


def recordings_of_length(scores: Dict[str, Dict], minutes: float, at_least: bool = False,
                         tolerance: float = 0.05) -> List[str]:
    """Recordings ``minutes`` long (within ``tolerance``, relative) or, ``at_least``, longer.

    The stand-in's recordings end with the sentence that crosses their target length, so a
    "60 min" recording is a little longer than 60 minutes; ``tolerance`` allows for that.
    """
    lo, hi = minutes * (1 - tolerance), minutes * (1 + tolerance)
    out = []
    for rec, s in sorted(scores.items()):
        m = s["seconds"] / 60.0
        if m >= lo and (at_least or m <= hi):
            out.append(rec)
    return out


def short_wer(short: Dict, langs: Optional[Sequence[str]] = None) -> Optional[float]:
    """Pooled WER (%) of a short-utterance ``scores.json`` (``score_asr``), over ``langs``."""
    err = ref = 0
    for lang, v in short.get("languages", {}).items():
        if langs is not None and lang not in langs:
            continue
        err += int(v["wer_counts"]["errors"])
        ref += int(v["wer_counts"]["ref_len"])
    return 100.0 * err / ref if ref else None


def longform_metrics(models: Sequence[Tuple[str, Dict[str, Dict]]], short: Dict[str, Dict],
                     chunk_label: str = "chunk", local_label: str = "local",
                     ratio_minutes: float = 60.0, cw_min_minutes: float = 15.0) -> Dict[str, Dict]:
    """The long-form recipe's two summary numbers, with what they are made of.

    * ``longform_wer_ratio_<M>min``: the chunk model's pooled WER on the recordings of
      ``ratio_minutes`` over its pooled WER on the short test utterances of the same
      languages (``short[chunk_label]``, a ``score_asr`` ``scores.json``).
    * ``cw_over_lsa_<M>min_plus``: the chunk model's pooled WER over the local model's on
      the recordings of ``cw_min_minutes`` and longer that both decoded.

    Returns:
        ``{name: {"value": float or None, "num", "den", "why"}}`` (None with ``why`` when
        a model, its short-utterance scores or the recordings are missing).
    """
    by_label = dict(models)
    out: Dict[str, Dict] = {}
    name = f"longform_wer_ratio_{minutes_name(ratio_minutes)}min"
    chunk = by_label.get(chunk_label)
    entry: Dict = {"value": None, "num": None, "den": None, "why": ""}
    if chunk is None:
        entry["why"] = f"no model {chunk_label!r}"
    else:
        recs = recordings_of_length(chunk, ratio_minutes)
        pooled = pooled_wer(chunk, recs)
        langs = sorted({chunk[r]["lang"] for r in recs})
        den = short_wer(short[chunk_label], langs) if chunk_label in short else None
        entry.update(num=pooled["wer"] if pooled else None, den=den)
        if not recs or pooled is None:
            entry["why"] = f"no decoded recording of {ratio_minutes:g} min"
        elif den is None:
            entry["why"] = f"no short-utterance WER of {chunk_label!r} in {', '.join(langs)}"
        elif den > 0:
            entry["value"] = pooled["wer"] / den
    out[name] = entry
    name = f"cw_over_lsa_{minutes_name(cw_min_minutes)}min_plus"
    local = by_label.get(local_label)
    entry = {"value": None, "num": None, "den": None, "why": ""}
    if chunk is None or local is None:
        entry["why"] = f"needs models {chunk_label!r} and {local_label!r}"
    else:
        recs = [r for r in recordings_of_length(chunk, cw_min_minutes, at_least=True)
                if r in local and not chunk[r].get("missing_hyp") and not local[r].get("missing_hyp")]
        c, lo = pooled_wer(chunk, recs), pooled_wer(local, recs)
        if c is None or lo is None:
            entry["why"] = f"no recording of {cw_min_minutes:g} min or longer decoded by both"
        else:
            entry.update(num=c["wer"], den=lo["wer"])
            if lo["wer"] > 0:
                entry["value"] = c["wer"] / lo["wer"]
    out[name] = entry
    return out


def merge_runs(runs: Sequence[Dict[str, Dict]]) -> Dict[str, Dict]:
    """Several runs of one model (e.g. training seeds) on the same recordings, as one.

    Per recording the counts are summed over the runs, so a WER is the runs' mean WER
    (the reference is the same in every run) and a pooled WER is pooled over the runs too.
    A recording that some run did not decode (or lacks) is "not decoded" in the result: an
    average over the runs that did would not be comparable.

    Returns:
        Scores as :func:`score_recordings` returns them, with ``"runs"`` (how many) in each.
    """
    if len(runs) == 1:
        return runs[0]
    out: Dict[str, Dict] = {}
    for rec in sorted({r for sc in runs for r in sc}):
        have = [sc[rec] for sc in runs if rec in sc]
        first = have[0]
        if len(have) < len(runs) or any(s.get("missing_hyp") for s in have):
            out[rec] = {"lang": first["lang"], "seconds": first["seconds"], "missing_hyp": True,
                        "wer_counts": first["wer_counts"], "runs": len(runs)}
            continue
        sub = dele = ins = ref = cerr = cref = 0
        for s in have:
            a, b, c, r = _counts(s)
            sub, dele, ins, ref = sub + a, dele + b, ins + c, ref + r
            cerr, cref = cerr + int(s["cer_counts"][0]), cref + int(s["cer_counts"][1])
        pct = 100.0 / max(ref, 1)
        out[rec] = {"lang": first["lang"], "seconds": first["seconds"],
                    "wer": (sub + dele + ins) * pct, "cer": 100.0 * cerr / max(cref, 1),
                    "wer_counts": [sub + dele + ins, ref], "cer_counts": [cerr, cref],
                    "wer_sdi": [n * pct for n in (sub, dele, ins)],
                    "wer_sdi_counts": [sub, dele, ins], "missing_hyp": False, "runs": len(runs)}
    return out


def merge_short_runs(runs: Sequence[Dict]) -> Dict:
    """Several runs' short-utterance ``scores.json`` (``score_asr``) as one: counts summed per language."""
    if len(runs) == 1:
        return runs[0]
    langs: Dict[str, Dict] = {}
    for doc in runs:
        for lang, v in doc.get("languages", {}).items():
            acc = langs.setdefault(lang, {"wer_counts": {}, "cer_counts": {}})
            for key in ("wer_counts", "cer_counts"):
                for k, n in v.get(key, {}).items():
                    if k != "rate":
                        acc[key][k] = acc[key].get(k, 0) + n
    return {"languages": langs, "runs": len(runs)}


def runs_markdown(runs: Dict[str, List[Dict[str, Dict]]], shorts: Dict[str, List[Dict]],
                  chunk_label: str = "chunk", local_label: str = "local",
                  ratio_minutes: float = 60.0, cw_min_minutes: float = 15.0) -> List[str]:
    """A row per run (run i of every model: the i-th ``--compare`` of its label, e.g. seed i).

    The chunk and local models' WER on the short test utterances and on the recordings of
    ``cw_min_minutes`` and longer, and the two summary numbers of that run alone: how far
    runs that differ only in their seed lie apart.
    """
    n = max(len(v) for v in runs.values())
    cw = f"cw_over_lsa_{minutes_name(cw_min_minutes)}min_plus"
    ratio = f"longform_wer_ratio_{minutes_name(ratio_minutes)}min"
    lines = [f"| Run | WER (%) short, {md_cell(chunk_label)} | WER (%) short, {md_cell(local_label)} "
             f"| WER (%) >= {cw_min_minutes:g} min, {md_cell(chunk_label)} "
             f"| WER (%) >= {cw_min_minutes:g} min, {md_cell(local_label)} | {cw} | {ratio} |",
             "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]

    def num(v: Optional[float], fmt: str = ".2f") -> str:
        return "-" if v is None else format(v, fmt)

    for i in range(n):
        models = [(label, sc[i]) for label, sc in runs.items() if i < len(sc)]
        short = {label: sh[i] for label, sh in shorts.items() if i < len(sh)}
        m = longform_metrics(models, short, chunk_label, local_label, ratio_minutes, cw_min_minutes)
        by_label = dict(models)
        langs = {label: sorted({s["lang"] for s in sc.values() if s.get("lang")}) or None
                 for label, sc in models}
        sw = [short_wer(short[lb], langs[lb]) if lb in short and lb in by_label else None
              for lb in (chunk_label, local_label)]
        lines.append(f"| {i + 1} | {num(sw[0])} | {num(sw[1])} | {num(m[cw]['num'])} | "
                     f"{num(m[cw]['den'])} | {num(m[cw]['value'], '.4f')} | {num(m[ratio]['value'], '.4f')} |")
    return lines


def minutes_name(minutes: float) -> str:
    """``60`` -> ``"60"``, ``0.5`` -> ``"0.5"`` (for metric names)."""
    return f"{float(minutes):g}"


def metrics_lines(metrics: Dict[str, Dict]) -> List[str]:
    """``name=value`` lines (4 decimals; ``nan`` when it could not be computed)."""
    return [f"{k}={v['value']:.4f}" if v["value"] is not None else f"{k}=nan"
            for k, v in metrics.items()]


def length_markdown(models: Sequence[Tuple[str, Dict[str, Dict]]],
                    short: Optional[Dict[str, Dict]] = None) -> List[str]:
    """Per recording length, pooled over languages: WER and its S/D/I split for each model.

    A length a model could not decode at all says "not decoded"; one it decoded only
    partly says how many of its recordings it decoded. With ``short``, a first row gives
    each model's WER on the short test utterances of the same languages.
    """
    union: Dict[str, Dict] = {}
    for _, sc in models:
        for rec, sv in sc.items():
            union.setdefault(rec, sv)
    groups = length_groups(union)
    lines = ["| Minutes | " + " | ".join(f"{'WER (%) ' + md_cell(m) if m else 'WER (%)'} | Sub | Del | Ins"
                                     for m, _ in models)
             + " |",
             "| ---: | " + " | ".join("---: | ---: | ---: | ---:" for _ in models) + " |"]
    if short:
        cells = []
        for label, sc in models:
            langs = sorted({s["lang"] for s in sc.values() if s.get("lang")}) or None
            w = short_wer(short[label], langs) if label in short else None
            sdi = _short_sdi(short[label], langs) if label in short else None
            cells.append(f"{w:.2f} | " + " | ".join(f"{v:.2f}" for v in sdi)
                         if w is not None and sdi else "- | - | - | -")
        lines.append("| short test utterances | " + " | ".join(cells) + " |")
    for label, members in groups:
        cells = []
        for _, sc in models:
            recs = [r for r in members if r in sc]
            p = pooled_wer(sc, recs)
            if not recs:
                cells.append("- | - | - | -")
            elif p is None:
                cells.append("not decoded | - | - | -")
            else:
                part = "" if p["recordings"] == len(recs) else f" ({p['recordings']}/{len(recs)} decoded)"
                cells.append(f"{p['wer']:.2f}{part} | {p['sub']:.2f} | {p['del']:.2f} | {p['ins']:.2f}")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def _short_sdi(short: Dict, langs: Optional[Sequence[str]]) -> Optional[List[float]]:
    s = d = i = ref = 0
    for lang, v in short.get("languages", {}).items():
        if langs is not None and lang not in langs:
            continue
        c = v["wer_counts"]
        s, d, i, ref = s + c["substitutions"], d + c["deletions"], i + c["insertions"], ref + c["ref_len"]
    return [100.0 * n / ref for n in (s, d, i)] if ref else None


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
              "reference words (they add up to the WER).", "", "Per recording length, pooled over "
              "languages:", ""]
    lines += length_markdown([("", scores)])
    if command:
        lines += ["", f"- **command**: `{command}`"]
    if plot:
        lines += ["", f"![WER against recording length]({plot})"]
    return "\n".join(lines) + "\n"


def plot_wer_vs_length(models: Sequence[Tuple[str, Dict[str, Dict]]], png_path: str,
                       title: str, standin: Optional[bool] = None) -> List[str]:
    """WER, insertion rate and CER against recording length, one line per (model, language).

    The x axis has a tick at each recording length (recordings of nearly the same length,
    e.g. of several languages, share one tick, labelled as in the tables). A recording a model could not decode
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
    # one tick per recording length (recordings of several languages with nearly the same
    # length share the tick of their group, labelled as in the tables)
    union: Dict[str, Dict] = {}
    for _, sc in models:
        for rec, sv in sc.items():
            union.setdefault(rec, sv)
    ticks = [(sum(union[r]["seconds"] for r in recs) / 60.0 / len(recs), label)
             for label, recs in length_groups(union)]
    lengths = [t for t, _ in ticks]
    log_x = bool(lengths) and lengths[0] > 0 and lengths[-1] / lengths[0] >= 4
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8))
    any_missing = False

    def value(s: Dict, key: str) -> float:
        if key == "ins":
            return float(s["wer_sdi"][2]) if s.get("wer_sdi") else float("nan")
        return float(s[key])

    names = {"wer": "WER (%)", "ins": "insertions (% of reference words)", "cer": "CER (%)"}
    for ax, key in zip(axes, ("wer", "ins", "cer")):
        decoded = [value(s, key) for _, sc in models for s in sc.values()
                   if not s.get("missing_hyp") and not math.isnan(value(s, key))]
        top = max(decoded + [1.0])
        y_missing = top * 1.15
        n = 0
        for label, scores in models:
            for lang in sorted({s["lang"] or "" for s in scores.values()}):
                pts = sorted((s["seconds"] / 60.0, value(s, key), bool(s.get("missing_hyp")))
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
        ax.set_xticklabels([k for _, k in ticks], fontsize=8,
                           rotation=45 if len(lengths) > 6 else 0)
        ax.set_xlabel("recording length (min" + (", log scale" if log_x else "") + ")", fontsize=9)
        ax.set_ylabel(names[key])
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
                        paper: Optional[Dict] = PAPER_TABLE7,
                        short: Optional[Dict[str, Dict]] = None,
                        metrics: Optional[Dict[str, Dict]] = None,
                        runs: Optional[Dict[str, int]] = None,
                        runs_table: Optional[List[str]] = None) -> str:
    """Models side by side: per length (pooled, S/D/I), then a row per recording.

    Args:
        short: Label -> the model's short-test ``scores.json`` (``score_asr``), for a first
            row of the per-length table.
        metrics: :func:`longform_metrics`' result, printed under the tables.
        runs: Label -> how many runs (seeds) its scores pool (:func:`merge_runs`); said
            when any model has more than one.
        runs_table: :func:`runs_markdown`'s rows, printed under the metrics.
    """
    recs = sorted({r for _, s in models for r in s},
                  key=lambda r: next(((s[r]["lang"] or "", s[r]["seconds"]) for _, s in models if r in s)))
    lines = [f"## {title}", ""]
    if standin:
        lines += [f"> {STANDIN_LABEL}", ""]
    lines += ["Per recording length, pooled over languages (errors / reference words); Sub, Del, "
              "Ins: substituted, deleted and inserted words in % of the reference words (they "
              "add up to the WER; Ins is the insertion rate):", ""]
    if runs and max(runs.values()) > 1:
        lines += ["Each model's numbers pool its runs (" + ", ".join(
            f"{md_cell(label)}: {n}" for label, n in runs.items())
            + "; runs that differ only in the training seed): errors and reference words are "
            "summed over the runs, so a WER is the mean of the runs' WERs. A recording some "
            "run did not decode is \"not decoded\".", ""]
    lines += length_markdown(models, short)
    if metrics:
        lines += [""]
        for (k, v), line in zip(metrics.items(), metrics_lines(metrics)):
            made = (f" ({v['num']:.2f} / {v['den']:.2f})" if v["num"] is not None and v["den"] is not None
                    else "")
            lines.append(f"- `{line}`{made}{' ' + v['why'] if v['why'] else ''}")
    if runs_table:
        lines += ["", "Each run on its own (run i: the i-th `--compare` of each label):", ""] + runs_table
    lines += ["", "Per recording:", ""]
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
