"""Noisy-student data: filter a teacher's hypotheses and join them with labelled data.

    python -m usm_espnet.bin.make_pseudo_labels --audio_dir dump/raw/adapt_sw_ke/untranscribed \
        --decode_dir exp/teacher/decode_untranscribed --labelled_dir dump/raw/adapt_sw_ke/train \
        --out_dir dump/raw/adapt_sw_ke/student1 --min_confidence 0.5

One step of a noisy-student round on its own (stage 12 runs whole rounds:
``usm_espnet.bin.noisy_student``); the work is
:func:`usm_espnet.noisy_student.make_pseudo_labels`, which documents the output dir
(``pseudo_labels.tsv``: every hypothesis, kept or why dropped; ``pseudo_labels.json``:
the counts).
"""

import argparse
import json
import sys
from typing import List, Optional

from usm_espnet.bin._cli import run
from usm_espnet.noisy_student import make_pseudo_labels

__all__ = ["make_pseudo_labels", "main"]


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m usm_espnet.bin.make_pseudo_labels",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--audio_dir", required=True, help="formatted untranscribed data dir")
    p.add_argument("--decode_dir", required=True, help="the teacher's greedy CTC output dir")
    p.add_argument("--out_dir", required=True)
    p.add_argument("--labelled_dir", default=None, help="labelled data dir joined with the pseudo-labels")
    p.add_argument("--min_confidence", type=float, default=0.5)
    p.add_argument("--min_chars_per_second", type=float, default=2.0)
    p.add_argument("--max_chars_per_second", type=float, default=40.0)
    a = p.parse_args(argv)
    return run(lambda: make_pseudo_labels(
        a.audio_dir, a.decode_dir, a.out_dir, a.labelled_dir, a.min_confidence,
        a.min_chars_per_second, a.max_chars_per_second,
    ), lambda counts: print(json.dumps(counts)),
        errors=ValueError)  # DataDirError is a ValueError


if __name__ == "__main__":
    sys.exit(main())
