"""Score ASR hypotheses per language and write the results report.

Example::

    python -m usm_espnet.bin.score_asr --ref data/test/text \\
        --hyp exp/x/decode/text --utt2lang data/test/utt2lang \\
        --out_dir exp/x/decode/score --paper fleurs --standin true \\
        --recipe_results RESULTS.md --section_id x

Writes ``scores.json``, ``per_utt.tsv``, ``alignments.txt``, ``RESULTS.md``
and ``per_language.png`` into ``--out_dir``, optionally inserts/replaces the
section in the recipe-level RESULTS.md, and prints a plain-text table.
"""

import argparse
import logging
import os
import re
import shlex
import sys
from pathlib import Path
from typing import Dict, List, Optional

from usm_espnet.bin._cli import run, setup_logging
from usm_espnet.report.results import (
    PAPER_RESULTS,
    plot_per_language,
    print_table,
    results_markdown,
    update_recipe_results,
)
from usm_espnet.scoring.asr import describe_error, read_trn, score_asr, scoring_inputs, write_scores
from usm_espnet.utils import atomic_write_bytes, atomic_write_text, str2bool


def get_parser() -> argparse.ArgumentParser:
    """Build the command-line parser.

    Returns:
        The parser.
    """
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--ref", required=True, help="reference text (Kaldi 'utt text' or trn)")
    p.add_argument("--hyp", required=True, help="hypothesis text (Kaldi 'utt text' or trn)")
    p.add_argument("--utt2lang", default=None,
                   help="utt2lang file; without it every utterance gets --lang")
    p.add_argument("--lang", default=None,
                   help="language of all utterances when --utt2lang is not given")
    p.add_argument("--out_dir", required=True, help="directory for the score files")
    p.add_argument("--paper", default=None, choices=sorted(PAPER_RESULTS),
                   help="quote this paper result under the table")
    p.add_argument("--standin", type=str2bool, default=False,
                   help="label the numbers as measured on the synthetic stand-in corpus")
    p.add_argument("--title", default="ASR results", help="section title")
    p.add_argument("--missing", default="error", choices=["error", "empty"],
                   help="hypotheses missing for some references: fail or score as empty")
    p.add_argument("--recipe_results", default=None,
                   help="recipe-level RESULTS.md to insert/replace a section in")
    p.add_argument("--section_id", default=None,
                   help="section id in --recipe_results (default: the out_dir path)")
    p.add_argument("--info", action="append", default=[], metavar="KEY=VALUE",
                   help="extra line under the table (model, training time, ...); repeatable")
    p.add_argument("--strip_tags", type=str2bool, default=False,
                   help="remove tag tokens such as language ids (<en_us>) from both texts")
    p.add_argument("--num_examples", type=int, default=3,
                   help="alignment examples per language in alignments.txt")
    return p


def _parse_info(items: List[str]) -> Dict[str, str]:
    """Parse ``KEY=VALUE`` strings.

    Args:
        items: The ``--info`` values.

    Returns:
        An ordered dict of keys to values.

    Raises:
        ValueError: An item without ``=``.
    """
    out: Dict[str, str] = {}
    for item in items:
        if "=" not in item:
            raise ValueError(f"--info expects KEY=VALUE, got {item!r}")
        key, value = item.split("=", 1)
        out[key.strip()] = value.strip()
    return out


def main(argv: Optional[List[str]] = None) -> int:
    """Run the scorer.

    Args:
        argv: Command-line arguments (``sys.argv[1:]`` when None).

    Returns:
        0 on success, 1 on bad input (one ``ERROR:`` line naming the file, and
        the line where one applies, on stderr).
    """
    setup_logging()
    logging.getLogger("matplotlib").setLevel(logging.WARNING)
    args = get_parser().parse_args(argv)
    if args.utt2lang is None and args.lang is None:
        print("ERROR: give --utt2lang or --lang", file=sys.stderr)
        return 1

    def body():
        extra = _parse_info(args.info)
        refs, hyps, utt2lang = scoring_inputs(read_trn(args.ref), read_trn(args.hyp), args.ref, args.hyp,
                                              args.utt2lang, args.lang, args.missing, args.strip_tags)
        return extra, refs, hyps, score_asr(refs, hyps, utt2lang, missing=args.missing)

    return run(body, lambda result: _report(args, argv, *result), log_format=None,
               describe=describe_error)


def _report(args, argv, extra, refs, hyps, scores) -> None:
    """Write the scores, RESULTS.md and the chart; print the table."""
    out_dir = Path(args.out_dir)
    write_scores(out_dir, scores, refs, hyps, num_examples=args.num_examples)
    png = out_dir / "per_language.png"
    plot_per_language(scores, png, args.title, standin=args.standin)

    command = "python -m usm_espnet.bin.score_asr " + " ".join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))
    extra.setdefault("command", command)
    atomic_write_text(out_dir / "RESULTS.md",
                      results_markdown(scores, args.title, args.paper, args.standin,
                                       extra, image=png.name))
    if args.recipe_results:
        recipe = Path(args.recipe_results)
        section_id = args.section_id or re.sub(r"[^A-Za-z0-9_.:/+-]", "_",
                                                     str(out_dir).strip("/"))
        # keep the chart beside the recipe's RESULTS.md (exp/ is not committed)
        figure = recipe.resolve().parent / "results" / f"{section_id.replace('/', '_')}.png"
        figure.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(figure, png.read_bytes())
        image = os.path.relpath(figure, recipe.resolve().parent)
        update_recipe_results(recipe, section_id,
                              results_markdown(scores, args.title, args.paper,
                                               args.standin, extra, image=image))
    sys.stdout.write(print_table(scores))
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
