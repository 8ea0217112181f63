"""Write a synthetic stand-in for long-form ASR data, in Earnings-21/22's layout.

Usage::

    python -m usm_espnet.bin.make_standin_longform --out_root DIR \\
        [--langs en_us,ru_ru] [--minutes 1,5,15,30,60] [--exclude_text data/train/text] \\
        [--seed 0] [--nj 2] [--snr_db 20 | --snr_db none] [--pause_s 0.3,1.5] \\
        [--num_train_speakers 12] [--num_test_speakers 4] [--force] [--no_progress]

Writes ``DIR/media/<lang>_<minutes>min.wav``, ``DIR/transcripts/nlp_references/*.nlp``
and ``DIR/metadata.tsv``: held-out sentences read by the FLEURS stand-in's test voices,
with pauses and background noise (see
:func:`usm_espnet.standin.longform.make_standin_longform`). The result is read by
``python -m usm_espnet.bin.prepare_longform --root DIR``. A rerun with the same
options does nothing. Prints one summary line; bad options are reported as
``ERROR: <message>``, exit status 1.
"""

import argparse
import sys
from typing import List, Optional, Tuple

from usm_espnet.bin._cli import run
from usm_espnet.corpora.earnings import DEFAULT_MINUTES
from usm_espnet.standin.longform import make_standin_longform, minutes_label


def _csv(value: str) -> List[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _floats(value: str, what: str) -> List[float]:
    try:
        return [float(v) for v in _csv(value)]
    except ValueError:
        raise ValueError(f"--{what}: expected comma-separated numbers, got {value!r}") from None


def _pause(value: str) -> Tuple[float, float]:
    nums = _floats(value, "pause_s")
    if len(nums) != 2:
        raise ValueError(f"--pause_s: expected LOW,HIGH in seconds, got {value!r}")
    return nums[0], nums[1]


def _snr(value: str) -> Optional[float]:
    if value.strip().lower() in ("none", "clean", "inf"):
        return None
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"--snr_db: expected a number or 'none', got {value!r}") from None


def get_parser() -> argparse.ArgumentParser:
    """Return the command-line parser."""
    p = argparse.ArgumentParser(
        prog="python -m usm_espnet.bin.make_standin_longform",
        description="Synthesise long-form recordings in the Earnings-21/22 layout "
        "(<out_root>/media/<id>.wav, transcripts/nlp_references/<id>.nlp, metadata.tsv).",
    )
    p.add_argument("--out_root", required=True, help="corpus root to write")
    p.add_argument("--langs", default="en_us",
                   help="comma-separated FLEURS codes (default en_us)")
    p.add_argument("--minutes", default=",".join(minutes_label(m) for m in DEFAULT_MINUTES),
                   help="comma-separated recording lengths in minutes, one recording per "
                   "language and length (default 1,5,15,30,60)")
    p.add_argument("--exclude_text", action="append", default=[], metavar="PATH",
                   help="Kaldi text file whose transcripts must not be spoken, e.g. the FLEURS "
                   "stand-in's data/train/text (may be repeated)")
    p.add_argument("--seed", type=int, default=0, help="seed of text, voices, pauses, noise")
    p.add_argument("--nj", type=int, default=2, help="synthesis worker processes (default 2)")
    p.add_argument("--snr_db", default="20",
                   help="SNR of the stationary background noise in dB, or 'none' (default 20)")
    p.add_argument("--pause_s", default="0.3,1.5",
                   help="LOW,HIGH range of the pause before each sentence (default 0.3,1.5)")
    p.add_argument("--num_train_speakers", type=int, default=12,
                   help="train speaker pool of the FLEURS stand-in (default 12)")
    p.add_argument("--num_test_speakers", type=int, default=4,
                   help="dev/test speaker pool of the FLEURS stand-in: the voices used (default 4)")
    p.add_argument("--force", action="store_true", help="rebuild even if already built")
    p.add_argument("--no_progress", action="store_true", help="no progress bars")
    return p


def main(argv: Optional[List[str]] = None) -> int:
    """Build the stand-in corpus and print its one-line summary; 0, or 1 after ``ERROR: <message>``."""
    args = get_parser().parse_args(argv)
    return run(lambda: make_standin_longform(
        args.out_root, langs=_csv(args.langs), minutes=_floats(args.minutes, "minutes"),
        exclude_text=args.exclude_text or None, seed=args.seed, nj=args.nj,
        snr_db=_snr(args.snr_db), pause_s=_pause(args.pause_s),
        num_train_speakers=args.num_train_speakers, num_test_speakers=args.num_test_speakers,
        progress=not args.no_progress, force=args.force,
    ), lambda stats: print(stats.summary()))


if __name__ == "__main__":
    sys.exit(main())
