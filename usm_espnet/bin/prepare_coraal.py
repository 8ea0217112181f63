"""Prepare Kaldi data directories from CORAAL (or its stand-in).

Usage::

    python -m usm_espnet.bin.prepare_coraal --corpus_dir /data/coraal --out_dir data \\
        [--components ATL,DCB] [--fractions 0.8,0.1,0.1] [--seed 0] \\
        [--speakers all|interviewee] [--max_unintelligible 0.5] [--drop_overlap] \\
        [--on_error skip|raise] [--extract_dir DIR]

``--corpus_dir`` holds the extracted ``<C>_audio_*/``, ``<C>_textfiles_*/`` directories
(or their archives) and ``<C>_metadata_*.txt`` files. Writes ``<out_dir>/{train,dev,test}``
(segments), ``<out_dir>/test_longform`` (whole test interviews), ``coraal_prep.json`` and
``coraal_skipped.tsv``; prints a summary. Rules: :mod:`usm_espnet.corpora.coraal`. A bad
corpus is reported as one line ``ERROR: <file>:<line>: <message>``, exit status 1.
"""

import argparse
import sys
from typing import List, Optional

from usm_espnet.bin._cli import run
from usm_espnet.corpora.coraal import prepare_coraal


def _fractions(value: str):
    parts = [p for p in value.split(",") if p.strip()]
    try:
        nums = [float(p) for p in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected TRAIN,DEV,TEST fractions, got {value!r}") from None
    if len(nums) != 3:
        raise argparse.ArgumentTypeError(f"expected three fractions TRAIN,DEV,TEST, got {value!r}")
    return dict(zip(("train", "dev", "test"), nums))


def get_parser() -> argparse.ArgumentParser:
    """Return the command-line parser."""
    p = argparse.ArgumentParser(prog="python -m usm_espnet.bin.prepare_coraal",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--corpus_dir", required=True, help="CORAAL release (or stand-in) root")
    p.add_argument("--out_dir", required=True, help="where the data dirs are written")
    p.add_argument("--components", default="", help="comma-separated components (default: all found)")
    p.add_argument("--fractions", type=_fractions, default=None,
                   help="interviewee fractions TRAIN,DEV,TEST per component (default 0.8,0.1,0.1)")
    p.add_argument("--seed", type=int, default=0, help="seed of the interview split")
    p.add_argument("--speakers", default="all", choices=["all", "interviewee"],
                   help="segments of every speaker, or of the interviewee only")
    p.add_argument("--max_unintelligible", type=float, default=0.5,
                   help="drop a row whose masked spans exceed this fraction of its units")
    p.add_argument("--drop_overlap", action="store_true", help="drop rows with [overlapped] speech")
    p.add_argument("--on_error", default="skip", choices=["skip", "raise"],
                   help="bad rows/files: count, log and skip, or stop at the first")
    p.add_argument("--extract_dir", default=None,
                   help="where archives are extracted (default <out_dir>/coraal_extracted)")
    p.add_argument("--longform_set", default="test_longform", help="name of the whole-interview dir")
    p.add_argument("--train_context_seconds", type=float, default=0.0,
                   help="> 0: the train split also gets one segment per row spanning it, the rows "
                   "after it up to this many seconds and the pauses around them (context_segments)")
    p.add_argument("--quiet", action="store_true", help="log warnings only")
    return p


def main(argv: Optional[List[str]] = None) -> int:
    """Run data preparation; 0, or 1 after ``ERROR: <message>`` (bad input)."""
    args = get_parser().parse_args(argv)
    comps = [c.strip() for c in args.components.split(",") if c.strip()] or None
    return run(lambda: prepare_coraal(
        args.corpus_dir, args.out_dir, components=comps, fractions=args.fractions,
        seed=args.seed, speakers=args.speakers, max_unintelligible=args.max_unintelligible,
        drop_overlap=args.drop_overlap, on_error=args.on_error, extract_dir=args.extract_dir,
        longform_set=args.longform_set, train_context_seconds=args.train_context_seconds,
    ), lambda stats: print(stats.summary()), quiet=args.quiet)


if __name__ == "__main__":
    sys.exit(main())
