"""Write a synthetic stand-in for CORAAL, in the real release's layout.

Usage::

    python -m usm_espnet.bin.make_standin_coraal --out_root DIR [--components ATL,DCB] \\
        [--interviews_per_component 3] [--turns_per_interview 8] [--version 2023.06] \\
        [--seed 0] [--nj 2] [--archive] [--force]

Two-speaker interviews (an interviewer and an interviewee, espeak-ng voices) as 44.1 kHz
wavs with tab-separated transcripts carrying CORAAL's markup (pauses, ``<laugh>``,
``/unintelligible/``, ``/RD-NAME-1/`` redactions, ``[overlap]``, ``((uncertain))``) and a
metadata file per component; read by ``python -m usm_espnet.bin.prepare_coraal``. A rerun
with the same options does nothing. Bad options: ``ERROR: <message>``, exit status 1.
"""

import argparse
import sys
from typing import List, Optional

from usm_espnet.bin._cli import run
from usm_espnet.standin.coraal import make_standin_coraal


def get_parser() -> argparse.ArgumentParser:
    """Return the command-line parser."""
    p = argparse.ArgumentParser(prog="python -m usm_espnet.bin.make_standin_coraal",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--out_root", required=True, help="corpus root to write")
    p.add_argument("--components", default="ATL,DCB", help="comma-separated component codes")
    p.add_argument("--interviews_per_component", type=int, default=3)
    p.add_argument("--turns_per_interview", type=int, default=8)
    p.add_argument("--version", default="2023.06", help="version suffix of directory names")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--nj", type=int, default=2, help="synthesis worker processes")
    p.add_argument("--archive", action="store_true", help="ship the directories as .tar.gz")
    p.add_argument("--force", action="store_true", help="rebuild even if already built")
    p.add_argument("--no_progress", action="store_true", help="no progress bar")
    return p


def main(argv: Optional[List[str]] = None) -> int:
    """Build the stand-in and print its summary; 0, or 1 after ``ERROR: <message>``."""
    args = get_parser().parse_args(argv)
    comps = [c.strip() for c in args.components.split(",") if c.strip()]
    return run(lambda: make_standin_coraal(
        args.out_root, components=comps, interviews_per_component=args.interviews_per_component,
        turns_per_interview=args.turns_per_interview, version=args.version, seed=args.seed,
        nj=args.nj, archive=args.archive, progress=not args.no_progress, force=args.force,
    ), lambda stats: print(stats.summary()))


if __name__ == "__main__":
    sys.exit(main())
