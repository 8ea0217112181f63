"""Print the BEST-RQ health line of a pre-training experiment.

    python -m usm_espnet.bin.pretrain_health exp/ssl_best_rq_tiny [--min_ratio 1.5] [--ratio_only]

Reads ``<exp_dir>/bestrq_health.jsonl`` (written after every validation epoch) and prints
the masked accuracy against the prior baseline, plus a warning when it is below
``--min_ratio`` times the baseline. Exit status 0 either way; 1 when there is no file.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("exp_dir", type=Path, help="pre-training experiment directory")
    p.add_argument("--min_ratio", type=float, default=1.5,
                   help="masked accuracy / prior baseline below which a warning is printed")
    p.add_argument("--ratio_only", action="store_true",
                   help="print only masked_acc_over_prior=<masked accuracy / prior baseline>")
    args = p.parse_args(argv)
    from usm_espnet.ssl.health import HEALTH_FILE_NAME, health_line, health_ratio

    path = args.exp_dir / HEALTH_FILE_NAME
    if not path.is_file():
        print(f"ERROR: {path}: no such file (has a validation epoch of the pre-training finished?)",
              file=sys.stderr)
        return 1
    if args.ratio_only:
        ratio = health_ratio(path)
        if ratio is None:
            print(f"ERROR: {path}: no complete health record", file=sys.stderr)
            return 1
        print(f"masked_acc_over_prior={ratio:.3f}")
        return 0
    for line in health_line(path, args.min_ratio):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
