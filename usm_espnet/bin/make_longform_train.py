"""Make long-form training data: short utterances packed into chunks with pauses and noise.

    python -m usm_espnet.bin.make_longform_train --in_dir data/train --out_dir data/train_longform \
        [--chunk_seconds 8] [--copies 2] [--snr_db 5,10,15,20,30] [--clean_prob 0.1]

See usm_espnet.standin.longform_train for what a segment holds.
"""

import argparse
import sys
from typing import List, Optional, Tuple

from usm_espnet.bin._cli import run
from usm_espnet.utils import str2bool


def _floats(value: str) -> List[float]:
    try:
        return [float(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {value!r}") from None


def _pair(value: str) -> Tuple[float, float]:
    nums = _floats(value)
    if len(nums) != 2:
        raise argparse.ArgumentTypeError(f"expected LOW,HIGH, got {value!r}")
    return nums[0], nums[1]


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m usm_espnet.bin.make_longform_train",
                                description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--in_dir", required=True, help="Kaldi data dir of short utterances")
    p.add_argument("--out_dir", required=True, help="data dir to write (audio in <out_dir>/wav)")
    p.add_argument("--chunk_seconds", type=float, default=8.0,
                   help="longest segment of several utterances (USM's chunk: 8 s)")
    p.add_argument("--copies", type=int, default=2, help="packing passes over the input")
    p.add_argument("--snr_db", type=_floats, default=[5.0, 10.0, 15.0, 20.0, 30.0],
                   help="SNRs (dB) drawn per segment, comma-separated")
    p.add_argument("--clean_prob", type=float, default=0.1, help="share of segments without noise")
    p.add_argument("--pause_s", type=_pair, default=(0.2, 1.2), help="pause between utterances LOW,HIGH (s)")
    p.add_argument("--edge_s", type=_pair, default=(0.1, 1.0), help="leading/trailing silence LOW,HIGH (s)")
    p.add_argument("--internal_pause_prob", type=float, default=0.3,
                   help="probability of a pause inside an utterance (between words)")
    p.add_argument("--internal_pause_s", type=_pair, default=(0.3, 1.2), help="its length LOW,HIGH (s)")
    p.add_argument("--keep_original", type=str2bool, default=True, help="also keep the short utterances")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--force", action="store_true", help="rebuild even if already built")
    return p


def main(argv: Optional[List[str]] = None) -> int:
    a = get_parser().parse_args(argv)

    def body():
        from usm_espnet.standin.longform_train import make_longform_train

        return make_longform_train(
            a.in_dir, a.out_dir, chunk_seconds=a.chunk_seconds, copies=a.copies, snr_db=a.snr_db,
            clean_prob=a.clean_prob, pause_s=a.pause_s, edge_s=a.edge_s,
            internal_pause_prob=a.internal_pause_prob, internal_pause_s=a.internal_pause_s,
            keep_original=a.keep_original, seed=a.seed, force=a.force)

    return run(body, lambda stats: print(stats.summary()))


if __name__ == "__main__":
    sys.exit(main())
