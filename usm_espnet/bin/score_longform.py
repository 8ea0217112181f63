"""Score long-form decoding per recording (WER against length), or compare several models.

    # one model
    python -m usm_espnet.bin.score_longform --ref data/longform/text --hyp exp/a/decode_longform/text \
        --utt2lang data/longform/utt2lang --utt2dur data/longform/utt2dur \
        --out_dir exp/a/decode_longform/score --title "..." [--standin true] \
        [--recipe_results RESULTS.md --section_id a_longform]
    # several models side by side, with the paper's Table 7 and a WER-vs-length plot
    python -m usm_espnet.bin.score_longform --compare "chunk 8 s=exp/c/decode_longform/score/scores.json" \
        --compare "local 128=..." --title "..." --recipe_results RESULTS.md --section_id longform \
        --plot results/longform_wer_vs_length.png \
        --short chunk=exp/c/decode_test/score/scores.json --short local=... \
        --metrics_out exp/longform_metrics.txt
    # several runs of each model (e.g. training seeds): give a label once per run, with its
    # --short in the same order; the runs are pooled (a WER is their mean) and a table gives
    # each run's numbers
    python -m usm_espnet.bin.score_longform --compare chunk=exp_s0/c/... --compare chunk=exp_s1/c/... \
        --compare local=exp_s0/l/... --compare local=exp_s1/l/... --short chunk=... (x2) ...
    # the summary numbers (written to --metrics_out and into the markdown):
    #   longform_wer_ratio_60min=<chunk WER on the 60 min recordings / its WER on the short
    #     test utterances of the same languages>
    #   cw_over_lsa_15min_plus=<chunk WER / local WER, recordings of 15 min and longer>
"""

import argparse
import json
import os
import shlex
import sys
from typing import Dict, List, Optional

from usm_espnet.bin._cli import run
from usm_espnet.utils import atomic_write_text, split_label_value, str2bool


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m usm_espnet.bin.score_longform",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--ref")
    p.add_argument("--hyp")
    p.add_argument("--utt2lang")
    p.add_argument("--utt2dur")
    p.add_argument("--out_dir")
    p.add_argument("--compare", action="append", default=[],
                   help="label=scores.json; a label given again is another run of that model "
                        "(e.g. another seed): its runs are pooled, and each run is also shown")
    p.add_argument("--title", required=True)
    p.add_argument("--standin", type=str2bool, default=False)
    p.add_argument("--recipe_results", default="")
    p.add_argument("--section_id", default="")
    p.add_argument("--plot", default="", help="png path relative to the RESULTS.md directory")
    p.add_argument("--short", action="append", default=[],
                   help="label=scores.json of that model on the short test utterances (score_asr); "
                        "once per --compare of the label, in the same order")
    p.add_argument("--chunk_label", default="chunk", help="--compare label of the chunk-wise model")
    p.add_argument("--local_label", default="local", help="--compare label of the local-attention model")
    p.add_argument("--ratio_minutes", type=float, default=60.0,
                   help="recording length of longform_wer_ratio_<M>min")
    p.add_argument("--cw_min_minutes", type=float, default=15.0,
                   help="shortest recording of cw_over_lsa_<M>min_plus")
    p.add_argument("--metrics_out", default="", help="write the summary numbers here (name=value lines)")
    a = p.parse_args(argv)
    from usm_espnet.data.kaldi import DataDirError, read_kaldi_map
    from usm_espnet.report import longform as lfr
    from usm_espnet.report.results import update_recipe_results

    cmd = "python -m usm_espnet.bin.score_longform " + " ".join(
        shlex.quote(x) for x in (argv if argv is not None else sys.argv[1:]))
    base = os.path.dirname(os.path.abspath(a.recipe_results)) if a.recipe_results else "."

    def body() -> str:
        if a.compare:
            # a label given several times: runs of one model (e.g. seeds), pooled
            runs: Dict[str, List[Dict]] = {}
            for item in a.compare:
                label, path = split_label_value(item, "--compare")
                runs.setdefault(label, []).append(lfr.load_scores(path))
            shorts: Dict[str, List[Dict]] = {}
            for item in a.short:
                label, path = split_label_value(item, "--short")
                with open(path, encoding="utf-8") as f:
                    shorts.setdefault(label, []).append(json.load(f))
            for label, sh in shorts.items():
                if label in runs and len(sh) != len(runs[label]):
                    raise ValueError(f"--short {label}=... is given {len(sh)} times and --compare "
                                     f"{label}=... {len(runs[label])} times: one of each per run")
            models = [(label, lfr.merge_runs(sc)) for label, sc in runs.items()]
            short = {label: lfr.merge_short_runs(sh) for label, sh in shorts.items()}
            metrics = lfr.longform_metrics(models, short, a.chunk_label, a.local_label,
                                           a.ratio_minutes, a.cw_min_minutes)
            many = max(len(sc) for sc in runs.values()) > 1
            table = (lfr.runs_markdown(runs, shorts, a.chunk_label, a.local_label, a.ratio_minutes,
                                       a.cw_min_minutes) if many else None)
            if a.plot:
                lfr.plot_wer_vs_length(models, os.path.join(base, a.plot), a.title, standin=a.standin)
            md = lfr.comparison_markdown(models, a.title, a.standin, cmd, a.plot, short=short,
                                         metrics=metrics, runs={k: len(v) for k, v in runs.items()},
                                         runs_table=table)
            if a.metrics_out:
                atomic_write_text(a.metrics_out, "".join(f"{line}\n" for line in lfr.metrics_lines(metrics)))
        else:
            for opt in ("ref", "hyp", "utt2dur", "out_dir"):
                if not getattr(a, opt):
                    raise ValueError(f"--{opt} is required unless --compare is given")
            refs = dict(read_kaldi_map(a.ref, allow_empty_value=True).items())
            hyps = dict(read_kaldi_map(a.hyp, allow_empty_value=True).items()) if os.path.exists(a.hyp) else {}
            u2l = dict(read_kaldi_map(a.utt2lang).items()) if a.utt2lang else {}
            u2d = {k: float(v) for k, v in read_kaldi_map(a.utt2dur).items()}
            scores = lfr.score_recordings(refs, hyps, u2l, u2d)
            os.makedirs(a.out_dir, exist_ok=True)
            lfr.save_scores(os.path.join(a.out_dir, "scores.json"), scores)
            plot = a.plot
            if plot:
                lfr.plot_wer_vs_length([("", scores)], os.path.join(base, plot), a.title, standin=a.standin)
            md = lfr.recordings_markdown(scores, a.title, a.standin, cmd, plot)
            with open(os.path.join(a.out_dir, "RESULTS.md"), "w", encoding="utf-8") as f:
                f.write(md)
        if a.recipe_results and a.section_id:
            update_recipe_results(a.recipe_results, a.section_id, md)
        return md

    return run(body, print, log_format=None,
               errors=(argparse.ArgumentTypeError, DataDirError, FileNotFoundError, ValueError))


if __name__ == "__main__":
    sys.exit(main())
