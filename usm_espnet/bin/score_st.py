"""Score speech-translation hypotheses: sacrebleu BLEU and chrF per source language.

Example::

    python -m usm_espnet.bin.score_st --ref dump/raw/test/text \\
        --hyp exp/x/decode_test/1best_recog/text --utt2lang dump/raw/test/utt2lang \\
        --out_dir exp/x/decode_test/score --paper covost2 --standin true \\
        --recipe_results RESULTS.md --section_id x

Writes ``scores.json``, ``per_utt.tsv``, ``hyp.<lang>.txt``/``ref.<lang>.txt`` and
``RESULTS.md`` into ``--out_dir``, optionally inserts/replaces the section in the
recipe-level RESULTS.md, and prints a plain-text table. Takes the options of
``usm_espnet.bin.score_asr`` that the stage template passes, so stage 9 calls either.
Bad input is reported as one line ``ERROR: <message>`` with exit status 1.
"""

import argparse
import re
import shlex
import sys
from pathlib import Path
from typing import Dict, List, Optional

from usm_espnet.bin._cli import run, setup_logging
from usm_espnet.utils import atomic_write_text, str2bool


def get_parser() -> argparse.ArgumentParser:
    """Build the command-line parser."""
    from usm_espnet.report.results import PAPER_RESULTS
    from usm_espnet.scoring.st import TOKENIZERS

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--ref", required=True, help="reference translations (Kaldi 'utt text')")
    p.add_argument("--hyp", required=True, help="hypotheses (Kaldi 'utt text'; may be empty)")
    p.add_argument("--utt2lang", default=None, help="utt -> source language")
    p.add_argument("--lang", default=None, help="source language of all utterances without --utt2lang")
    p.add_argument("--out_dir", required=True, help="directory for the score files")
    p.add_argument("--paper", default=None,
                   choices=sorted(k for k, v in PAPER_RESULTS.items() if "systems" in v),
                   help="quote this paper's averages under the table")
    p.add_argument("--standin", type=str2bool, default=False,
                   help="label the numbers as measured on the synthetic stand-in corpus")
    p.add_argument("--title", default="Speech translation results", help="section title")
    p.add_argument("--missing", default="error", choices=["error", "empty"],
                   help="references without a hypothesis: fail or score as empty")
    p.add_argument("--tokenize", default="13a", choices=TOKENIZERS, help="sacrebleu BLEU tokeniser")
    p.add_argument("--lowercase", type=str2bool, default=False, help="case-insensitive scores")
    p.add_argument("--strip_tags", type=str2bool, default=False,
                   help="remove tag tokens such as language ids (<fr>) from both texts")
    p.add_argument("--recipe_results", default=None,
                   help="recipe-level RESULTS.md to insert/replace a section in")
    p.add_argument("--section_id", default=None,
                   help="section id in --recipe_results (default: from the out_dir path)")
    p.add_argument("--info", action="append", default=[], metavar="KEY=VALUE",
                   help="extra line under the table; repeatable")
    return p


def _lang_names(langs: List[str]) -> Dict[str, str]:
    from usm_espnet.corpora.covost2 import COVOST2_TO_FLEURS
    from usm_espnet.data.languages import FLEURS_LANGUAGES

    out = {}
    for lang in langs:
        code = COVOST2_TO_FLEURS.get(lang, lang)
        if code in FLEURS_LANGUAGES:
            out[lang] = FLEURS_LANGUAGES[code][0]
    return out


def print_table(scores) -> str:
    """Plain-text table of BLEU/chrF per language with the macro average."""
    from usm_espnet.scoring.st import average

    rows = [("lang", "#utts", "BLEU", "chrF")]
    for lang, s in scores.languages.items():
        rows.append((lang, str(s.num_utts), f"{s.bleu:.2f}", f"{s.chrf:.2f}"))
    mean_bleu, mean_chrf = average(scores)
    total = sum(s.num_utts for s in scores.languages.values())
    foot = (f"average ({len(scores.languages)} langs)", str(total), f"{mean_bleu:.2f}", f"{mean_chrf:.2f}")
    widths = [max(len(r[i]) for r in rows + [foot]) for i in range(4)]
    fmt = lambda r: "  ".join([r[0].ljust(widths[0])] + [r[i].rjust(widths[i]) for i in (1, 2, 3)])  # noqa: E731
    rule = "-" * (sum(widths) + 6)
    return "\n".join([fmt(rows[0]), rule] + [fmt(r) for r in rows[1:]] + [rule, fmt(foot)]) + "\n"


def main(argv: Optional[List[str]] = None) -> int:
    """Run the scorer.

    Args:
        argv: Command-line arguments (``sys.argv[1:]`` when None).

    Returns:
        0 on success, 1 on bad input.
    """
    from usm_espnet.report.results import PAPER_RESULTS, update_recipe_results
    from usm_espnet.scoring.asr import describe_error, scoring_inputs
    from usm_espnet.scoring.st import read_text_map, score_st, st_results_markdown, write_st_scores

    setup_logging()
    args = get_parser().parse_args(argv)
    if args.utt2lang is None and args.lang is None:
        print("ERROR: give --utt2lang or --lang", file=sys.stderr)
        return 1
    info: Dict[str, str] = {}
    for item in args.info:
        if "=" not in item:
            print(f"ERROR: --info expects KEY=VALUE, got {item!r}", file=sys.stderr)
            return 1
        key, value = item.split("=", 1)
        info[key.strip()] = value.strip()

    def body():
        refs, hyps, utt2lang = scoring_inputs(
            read_text_map(args.ref, allow_empty=False), read_text_map(args.hyp), args.ref, args.hyp,
            args.utt2lang, args.lang, args.missing, args.strip_tags)
        return refs, hyps, score_st(refs, hyps, utt2lang, missing=args.missing,
                                    tokenize=args.tokenize, lowercase=args.lowercase)

    def report(result) -> None:
        refs, hyps, scores = result
        out_dir = Path(args.out_dir)
        write_st_scores(out_dir, scores, refs, hyps, tokenize=args.tokenize, lowercase=args.lowercase)
        info.setdefault("command", "python -m usm_espnet.bin.score_st " + " ".join(
            shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv)))
        paper = PAPER_RESULTS[args.paper] if args.paper else None
        md = st_results_markdown(scores, args.title, paper, args.standin,
                                 _lang_names(list(scores.languages)), info)
        atomic_write_text(out_dir / "RESULTS.md", md)
        if args.recipe_results:
            section = args.section_id or re.sub(r"[^A-Za-z0-9_.:/+-]", "_", str(out_dir).strip("/"))
            update_recipe_results(args.recipe_results, section, md)
        sys.stdout.write(print_table(scores))
        sys.stdout.flush()

    return run(body, report, log_format=None, describe=describe_error)


if __name__ == "__main__":
    sys.exit(main())
