"""Kaldi data dirs {train,dev,test} from Kaldi's yesno recordings (OpenSLR 1).

    python -m usm_espnet.bin.prepare_yesno --corpus_dir waves_yesno --out_dir data

Train: the 31 recordings whose first word is "no"; test: the 29 whose first word is
"yes" (Kaldi's egs/yesno split), plus --num_crops copies of each that start before word
2, 3, ... (so that utterances start with "yes" too); dev: the first --num_dev train
recordings.
"""

import argparse
import sys

from usm_espnet.bin._cli import run


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m usm_espnet.bin.prepare_yesno",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--corpus_dir", required=True, help="directory of <0|1>_..._<0|1>.wav files")
    p.add_argument("--out_dir", required=True)
    p.add_argument("--num_dev", type=int, default=4)
    p.add_argument("--num_crops", type=int, default=7,
                   help="cropped copies per train recording, starting before word 2, 3, ... "
                        "(0: none)")
    a = p.parse_args(argv)

    def body():
        from usm_espnet.corpora.yesno import prepare_yesno

        prepare_yesno(a.corpus_dir, a.out_dir, a.num_dev, a.num_crops)

    # (ValueError, OSError): DataDirError is a ValueError
    return run(body)


if __name__ == "__main__":
    sys.exit(main())
