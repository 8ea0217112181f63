"""Write a comparison of several scored experiments into a recipe's RESULTS.md.

    python -m usm_espnet.bin.compare_results --recipe_results RESULTS.md \
        --section_id pretrain_test --title "..." --standin true \
        --row "from scratch=exp/asr_a/decode_test/score/scores.json" \
        --row "BEST-RQ N=16=exp/asr_b/decode_test/score/scores.json" \
        [--paper_source "USM paper" --paper_row "N=1=table5/BEST-RQ, 1 softmax/FLEURS CER" \
         --paper_row "N=16=6.9"] [--plot results/pretrain_test.png] [--note "..."]

A row is ``label=path``; the label is everything before the last ``=``. A paper row is
``label=TABLE/ROW/METRIC``, a key of the paper's numbers (``usm_espnet/report/paper_numbers.tsv``,
read by :mod:`usm_espnet.report.paper`), or ``label=number``.
"""

import argparse
import json
import shlex
import sys
from typing import List, Optional

from usm_espnet.bin._cli import run
from usm_espnet.utils import split_label_value, str2bool


def _paper_number(value: str) -> float:
    """A ``--paper_row`` value: a number, or a ``TABLE/ROW/METRIC`` key of the paper's numbers.

    Raises:
        KeyError: A key that is not in the table.
    """
    from usm_espnet.report.paper import KEY_SEP, value_for_key

    if KEY_SEP in value:
        return value_for_key(value)
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"--paper_row value {value!r} is neither a number nor a "
                         f"TABLE{KEY_SEP}ROW{KEY_SEP}METRIC key of the paper's numbers") from None


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m usm_espnet.bin.compare_results",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--row", action="append", required=True, help="label=path/to/scores.json")
    p.add_argument("--title", required=True)
    p.add_argument("--recipe_results", required=True, help="RESULTS.md to update")
    p.add_argument("--section_id", required=True)
    p.add_argument("--standin", type=str2bool, default=False)
    p.add_argument("--note", default="")
    p.add_argument("--plot", default="", help="png path, relative to RESULTS.md's directory")
    p.add_argument("--paper_source", default="")
    p.add_argument("--paper_row", action="append", default=[],
                   help="label=TABLE/ROW/METRIC (a key of usm_espnet/report/paper_numbers.tsv) "
                        "or label=number")
    p.add_argument("--paper_metric", default="CER", choices=["CER", "WER"])
    p.add_argument("--row_params", action="append", default=[],
                   help="label=params.json (usm_espnet.bin.model_info): a trainable-parameter column")
    a = p.parse_args(argv)
    import os

    from usm_espnet.report.compare import Row, comparison_markdown, plot_comparison
    from usm_espnet.report.results import update_recipe_results

    def body() -> str:
        rows = [Row(*split_label_value(r, "--row")) for r in a.row]
        for item in a.row_params:
            label, path = split_label_value(item, "--row_params")
            match = [r for r in rows if r.label == label]
            if not match:
                raise ValueError(f"--row_params {item!r}: no --row labelled {label!r}")
            try:
                with open(path, encoding="utf-8") as f:
                    match[0].trainable_params = int(json.load(f)["trainable"])
            except (OSError, KeyError, json.JSONDecodeError) as e:
                raise ValueError(f"{path}: no trainable-parameter count ({e})") from None
        paper = None
        if a.paper_row:
            paper = (a.paper_source or "paper",
                     [(lbl, _paper_number(v)) for lbl, v in
                      (split_label_value(x, "--paper_row") for x in a.paper_row)])
        if a.plot:
            base = os.path.dirname(os.path.abspath(a.recipe_results))
            plot_comparison(rows, os.path.join(base, a.plot), a.title, standin=a.standin)
        cmd = "python -m usm_espnet.bin.compare_results " + " ".join(
            shlex.quote(x) for x in (argv if argv is not None else sys.argv[1:]))
        md = comparison_markdown(rows, a.title, a.standin, paper, a.note, cmd, a.plot,
                                 a.paper_metric)
        update_recipe_results(a.recipe_results, a.section_id, md)
        return md

    return run(body, print, log_format=None,
               errors=(argparse.ArgumentTypeError, FileNotFoundError, ValueError, KeyError),
               describe=_describe)


def _describe(e: BaseException) -> str:
    if isinstance(e, KeyError):  # a --paper_row key that is not in the table (message lists them)
        return f"--paper_row: {e.args[0]}"
    return str(e)


if __name__ == "__main__":
    sys.exit(main())
