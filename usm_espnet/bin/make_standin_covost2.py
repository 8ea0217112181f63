"""Write a synthetic stand-in for CoVoST 2 X -> En, in the real corpus's layout.

Usage::

    python -m usm_espnet.bin.make_standin_covost2 --out_root DIR [--langs fr,de,es] \\
        [--num_sentences 60] [--utts_per_sentence 1] [--num_train_speakers 8] \\
        [--num_test_speakers 3] [--seed 0] [--nj 2] [--sample_rate 48000] [--force]

espeak-ng reads a seeded parallel text in the source languages (48 kHz mp3 clips under
``DIR/cv/<lang>/clips/`` with ``validated.tsv``); its English text is the translation
(``DIR/covost/covost_v2.<lang>_en.tsv``). Dev and test sentences and speakers are never
in train. The result is read by ``python -m usm_espnet.bin.prepare_covost2 --covost_dir
DIR/covost --cv_root DIR/cv``. A rerun with the same options does nothing. Bad options
are reported as ``ERROR: <message>``, exit status 1.
"""

import argparse
import sys
from typing import List, Optional

from usm_espnet.bin._cli import run
from usm_espnet.corpora.covost2 import CV_SAMPLE_RATE
from usm_espnet.standin.covost2 import STANDIN_DEFAULT_LANGS, make_standin_covost2, standin_languages


def _csv(value: str) -> List[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def get_parser() -> argparse.ArgumentParser:
    """Return the command-line parser."""
    p = argparse.ArgumentParser(
        prog="python -m usm_espnet.bin.make_standin_covost2",
        description="Synthesise a small CoVoST 2 + Common Voice layout corpus with espeak-ng.")
    p.add_argument("--out_root", required=True, help="stand-in root to write")
    p.add_argument("--langs", type=_csv, default=list(STANDIN_DEFAULT_LANGS),
                   help=f"comma-separated Common Voice codes (default {','.join(STANDIN_DEFAULT_LANGS)})")
    p.add_argument("--num_sentences", type=int, default=60, help="parallel sentences (default 60)")
    p.add_argument("--utts_per_sentence", type=int, default=1,
                   help="readings per sentence and language by distinct speakers (default 1)")
    p.add_argument("--num_train_speakers", type=int, default=8, help="train speaker pool (default 8)")
    p.add_argument("--num_test_speakers", type=int, default=3,
                   help="dev/test speaker pool, disjoint from train (default 3)")
    p.add_argument("--seed", type=int, default=0, help="seed of text, split, speakers, clip names")
    p.add_argument("--nj", type=int, default=2, help="synthesis worker processes (default 2)")
    p.add_argument("--sample_rate", type=int, default=CV_SAMPLE_RATE,
                   help=f"sample rate of the mp3 clips (default {CV_SAMPLE_RATE}, as Common Voice)")
    p.add_argument("--force", action="store_true", help="rebuild even if already built")
    p.add_argument("--no_progress", action="store_true", help="no progress bar")
    p.add_argument("--list_langs", action="store_true",
                   help="print the source languages the stand-in can synthesise and exit")
    return p


def main(argv: Optional[List[str]] = None) -> int:
    """Build the stand-in and print its summary; 0, or 1 after ``ERROR: <message>``."""
    args = get_parser().parse_args(argv)
    if args.list_langs:
        print(",".join(standin_languages()))
        return 0
    return run(lambda: make_standin_covost2(
        args.out_root, langs=args.langs, num_sentences=args.num_sentences,
        utts_per_sentence=args.utts_per_sentence, num_train_speakers=args.num_train_speakers,
        num_test_speakers=args.num_test_speakers, seed=args.seed, nj=args.nj,
        sample_rate=args.sample_rate, progress=not args.no_progress, force=args.force,
    ), lambda stats: print(stats.summary()))


if __name__ == "__main__":
    sys.exit(main())
