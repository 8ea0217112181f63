"""Kaldi data dir (no text) from untranscribed audio laid out as <root>/<lang>/wav.lst.

    python -m usm_espnet.bin.prepare_untranscribed --root standin/fleurs/untranscribed \
        --out_dir data/untranscribed [--langs en_us,hi_in]
"""

import argparse
import logging
import sys
from typing import List, Optional


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m usm_espnet.bin.prepare_untranscribed",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--root", required=True, help="directory holding <lang>/wav.lst")
    p.add_argument("--out_dir", required=True, help="output Kaldi data dir")
    p.add_argument("--langs", default="", help="comma-separated codes (default: all present)")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from usm_espnet.data.kaldi import DataDirError
    from usm_espnet.data.untranscribed import prepare_untranscribed
    langs = [x.strip() for x in a.langs.split(",") if x.strip()] or None
    try:
        counts = prepare_untranscribed(a.root, a.out_dir, langs)
    except DataDirError as e:
        print(f"ERROR: {e}", file=sys.stderr)
        return 1
    print(f"{a.out_dir}: {sum(counts.values())} untranscribed utterances in {len(counts)} languages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
