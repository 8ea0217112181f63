"""Write a synthetic stand-in for FLEURS, in the real corpus's layout.

Usage::

    python -m usm_espnet.bin.make_standin_fleurs --out_root DIR \\
        [--langs en_us,fr_fr,hi_in] [--num_sentences 60] [--utts_per_sentence 1] \\
        [--num_train_speakers 8] [--num_test_speakers 4] [--seed 0] [--nj 2] \\
        [--snr_db 20 | --snr_db 10,30] [--no_archive] [--extra_untranscribed 0] [--extra_text 0] [--force]

espeak-ng reads a seeded parallel text (sentence ids shared across languages); dev and
test sentences and speakers are never in train. The result is read by
``python -m usm_espnet.bin.prepare_fleurs --corpus_dir DIR``. A rerun with the same
options does nothing. Bad options are reported as ``ERROR: <message>``, exit status 1.
"""

import argparse
import sys
from typing import List, Optional, Tuple, Union

from usm_espnet.bin._cli import run
from usm_espnet.standin.fleurs import make_standin_fleurs


def _csv(value: str) -> List[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _snr(value: str) -> Union[float, Tuple[float, float]]:
    parts = _csv(value)
    try:
        nums = [float(p) for p in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or LOW,HIGH, got {value!r}") from None
    if len(nums) == 1:
        return nums[0]
    if len(nums) == 2:
        return (nums[0], nums[1])
    raise argparse.ArgumentTypeError(f"expected a number or LOW,HIGH, got {value!r}")


def get_parser() -> argparse.ArgumentParser:
    """Return the command-line parser."""
    p = argparse.ArgumentParser(
        prog="python -m usm_espnet.bin.make_standin_fleurs",
        description="Synthesise a small FLEURS-layout corpus "
        "(<out_root>/<lang>/{train,dev,test}.tsv, "
        "audio/<split>.tar.gz) with espeak-ng.",
    )
    p.add_argument("--out_root", required=True, help="corpus root to write")
    p.add_argument("--langs", type=_csv, default=None,
                   help="comma-separated FLEURS codes (default: parallel_text.DEFAULT_LANGS)")
    p.add_argument("--num_sentences", type=int, default=60,
                   help="sentences per language (default 60)")
    p.add_argument("--utts_per_sentence", type=int, default=1,
                   help="readings per sentence by distinct speakers (default 1)")
    p.add_argument("--num_train_speakers", type=int, default=8,
                   help="train speaker pool (default 8)")
    p.add_argument("--num_test_speakers", type=int, default=4,
                   help="dev/test speaker pool, disjoint from train (default 4)")
    p.add_argument("--seed", type=int, default=0, help="seed of text, split, speakers, noise")
    p.add_argument("--nj", type=int, default=2, help="synthesis worker processes (default 2)")
    p.add_argument("--snr_db", type=_snr, default=None,
                   help="additive white noise: SNR in dB, or LOW,HIGH drawn per utterance "
                   "(default clean)")
    p.add_argument("--acoustics", default="clean", choices=["clean", "varied"],
                   help="recording conditions: clean (espeak-ng's output) or varied (noise floor, "
                        "background noise at several SNRs, pauses, rate and pitch per utterance)")
    p.add_argument("--no_archive", action="store_true",
                   help="leave audio extracted in audio/<split>/ instead of audio/<split>.tar.gz")
    p.add_argument("--extra_untranscribed", type=int, default=0,
                   help="untranscribed utterances per language under <out_root>/untranscribed/ "
                   "(for BEST-RQ pretraining; default 0)")
    p.add_argument("--extra_text", type=int, default=0,
                   help="unspoken-text sentences per language under <out_root>/unspoken_text/ "
                   "(text without audio, for MOST pretraining; default 0)")
    p.add_argument("--force", action="store_true", help="rebuild even if already built")
    p.add_argument("--no_progress", action="store_true", help="no progress bar")
    return p


def main(argv: Optional[List[str]] = None) -> int:
    """Build the stand-in corpus and print its summary; 0, or 1 after ``ERROR: <message>``."""
    args = get_parser().parse_args(argv)
    return run(lambda: make_standin_fleurs(
        args.out_root, langs=args.langs, num_sentences=args.num_sentences,
        utts_per_sentence=args.utts_per_sentence, num_train_speakers=args.num_train_speakers,
        num_test_speakers=args.num_test_speakers, seed=args.seed, nj=args.nj,
        snr_db=args.snr_db, acoustics=args.acoustics, archive=not args.no_archive,
        extra_untranscribed=args.extra_untranscribed, extra_text=args.extra_text,
        progress=not args.no_progress, force=args.force,
    ), lambda stats: print(stats.summary()))


if __name__ == "__main__":
    sys.exit(main())
