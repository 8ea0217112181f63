"""Validation curves of ESPnet training runs: a Markdown table and one plot.

ESPnet's trainer logs one line per epoch in ``<exp>/train.log``::

    ... INFO: 3epoch results: [train] iter_time=..., loss=41.2, ... [valid] loss=52.1, cer_ctc=0.61, ...

This module reads the ``[valid]`` value of a metric (``cer_ctc`` by default) from
each of those lines and places it at the optimizer step the epoch ended on
(``epoch x num_iters_per_epoch`` from the run's ``config.yaml``), so runs with the
same schedule share an x axis. Used by ``egs/fleurs/asr1/local/pretrain_ablation.sh``
for its "dev CER against fine-tuning step" figure::

    python -m usm_espnet.report.curves --run "from scratch=exp/asr_a" \\
        --run "BEST-RQ=exp/asr_b" --plot results/curves.png --markdown curves.md
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from typing import Dict, List, Optional, Sequence, Tuple

Curve = List[Tuple[int, float]]

_EPOCH = re.compile(r"(\d+)epoch results: (.*)$")


def read_valid_curve(exp_dir: str, metric: str = "cer_ctc") -> Curve:
    """``[(step, value), ...]`` of the ``[valid]`` ``metric`` per epoch of ``exp_dir``.

    A resumed run logs an epoch once per run that finished it; the last line wins.

    Raises:
        ValueError: No train.log / config.yaml, or the metric is in no epoch line
            (the message names the file).
    """
    import yaml

    log = os.path.join(exp_dir, "train.log")
    cfg = os.path.join(exp_dir, "config.yaml")
    for path in (log, cfg):
        if not os.path.isfile(path):
            raise ValueError(f"{path}: not found (is {exp_dir} an ESPnet training directory?)")
    with open(cfg, encoding="utf-8") as f:
        iters = (yaml.safe_load(f) or {}).get("num_iters_per_epoch")
    if not iters:
        raise ValueError(f"{cfg}: no num_iters_per_epoch; steps per epoch are unknown")
    values: Dict[int, float] = {}
    with open(log, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = _EPOCH.search(line.rstrip("\n"))
            if not m or "[valid]" not in m.group(2):
                continue
            valid = m.group(2).split("[valid]", 1)[1]
            v = re.search(rf"(?:^|[\s,]){re.escape(metric)}=([-+0-9.eE]+|nan|inf)", valid)
            if v:
                values[int(m.group(1))] = float(v.group(1))
    if not values:
        raise ValueError(f"{log}: no epoch line with a [valid] {metric}=")
    return [(epoch * int(iters), values[epoch]) for epoch in sorted(values)]


def default_scale(metric: str) -> float:
    """100 (a percentage) for error rates and accuracies, 1 for anything else (losses)."""
    return 100.0 if any(k in metric.lower() for k in ("cer", "wer", "acc")) else 1.0


def curves_markdown(curves: Dict[str, Curve], metric: str = "cer_ctc", scale: float = 100.0) -> str:
    """A table: one row per run, one column per step (values x ``scale``: 100 reads as %)."""
    steps = sorted({s for c in curves.values() for s, _ in c})
    out = ["| Run \\ step | " + " | ".join(str(s) for s in steps) + " |",
           "| --- | " + " | ".join("---:" for _ in steps) + " |"]
    for label, curve in curves.items():
        d = dict(curve)
        out.append(f"| {label.replace('|', '/')} | "
                   + " | ".join(f"{d[s] * scale:.1f}" if s in d else "-" for s in steps) + " |")
    unit = "%" if scale == 100.0 else "" if scale == 1.0 else f"x {scale:g}"
    shown = f"{metric} ({unit})" if unit else metric
    return "\n".join(out) + f"\n\nCells: dev {shown} after that many steps.\n"


def plot_curves(curves: Dict[str, Curve], png_path: str, title: str, ylabel: str,
                scale: float = 100.0, standin: Optional[bool] = None,
                xlabel: str = "fine-tuning step") -> None:
    """One line per run (marker at each validation), written atomically."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from usm_espnet.report.results import annotate_standin, is_standin, plot_title
    from usm_espnet.utils import atomic_write_bytes

    stand = is_standin(title, standin)
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    for label, curve in curves.items():
        ax.plot([s for s, _ in curve], [v * scale for _, v in curve], marker="o", ms=4,
                label=label)
    steps = sorted({s for c in curves.values() for s, _ in c})
    ax.set_xticks(steps)
    ax.tick_params(axis="x", labelsize=8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(plot_title(title, stand, width=80), fontsize=9)
    fig.tight_layout(rect=(0, 0.05 if stand else 0, 1, 1))
    annotate_standin(fig, stand)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    atomic_write_bytes(png_path, buf.getvalue())


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", action="append", required=True, help="label=exp_dir (repeatable)")
    p.add_argument("--metric", default="cer_ctc", help="[valid] key in train.log (cer_ctc)")
    p.add_argument("--title", default="dev CER against fine-tuning step")
    p.add_argument("--ylabel", default="dev CER (%)")
    p.add_argument("--xlabel", default="fine-tuning step")
    p.add_argument("--plot", default="", help="png to write")
    p.add_argument("--markdown", default="", help="write the table here (default: stdout)")
    p.add_argument("--standin", choices=["true", "false", "auto"], default="auto")
    p.add_argument("--scale", type=float, default=None,
                   help="multiply values by this (default: 100, in %%, for a metric named like "
                        "cer/wer/acc; 1 for others, e.g. loss)")
    args = p.parse_args(argv)
    scale = args.scale if args.scale is not None else default_scale(args.metric)
    curves: Dict[str, Curve] = {}
    try:
        for item in args.run:
            label, sep, exp = item.partition("=")
            if not sep or not label or not exp:
                raise ValueError(f"--run {item!r}: expected label=exp_dir")
            curves[label] = read_valid_curve(exp, args.metric)
    except ValueError as e:
        print(f"ERROR: {e}", file=sys.stderr)
        return 1
    table = curves_markdown(curves, args.metric, scale)
    if args.markdown:
        from usm_espnet.utils import atomic_write_text

        atomic_write_text(args.markdown, table)
    else:
        sys.stdout.write(table)
    if args.plot:
        standin = None if args.standin == "auto" else args.standin == "true"
        plot_curves(curves, args.plot, args.title, args.ylabel, scale=scale, standin=standin,
                    xlabel=args.xlabel)
    return 0


if __name__ == "__main__":
    sys.exit(main())
