"""Print the BEST-RQ health line of a pre-training experiment.

    python -m usm_espnet.bin.pretrain_health exp/ssl_best_rq_tiny [--min_ratio 1.5]

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
    args = p.parse_args(argv)
    from usm_espnet.ssl.health import HEALTH_FILE_NAME, health_line

    path = args.exp_dir / HEALTH_FILE_NAME
    if not path.is_file():
        print(f"ERROR: {path}: no such file (has a validation epoch of the pre-training finished?)",
              file=sys.stderr)
        return 1
    for line in health_line(path, args.min_ratio):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
