"""Text-only data dir for MOST from <root>/<lang>.txt (or stage 2's copy with language tokens).

    python -m usm_espnet.bin.prepare_unspoken_text --root standin/fleurs/unspoken_text \
        --out_dir data/unspoken_text --exclude data/train data/dev data/test [--langs en_us,hi_in]
    python -m usm_espnet.bin.prepare_unspoken_text --in_dir data/unspoken_text \
        --out_dir dump/raw/unspoken_text --lang_token true

See :mod:`usm_espnet.corpora.unspoken_text` for the layout, normalisation and skip reasons.
"""

import argparse
import sys
from typing import List, Optional

from usm_espnet.bin._cli import run
from usm_espnet.utils import str2bool


def main(argv: Optional[List[str]] = None) -> int:
    """Run either mode; 0 on success, 1 with ``ERROR: <file>:<line>: ...`` on bad input."""
    p = argparse.ArgumentParser(prog="python -m usm_espnet.bin.prepare_unspoken_text",
                                description=__doc__.split("\n\n")[0])
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--root", help="directory holding <lang>.txt (one sentence per line)")
    src.add_argument("--in_dir", help="a prepared text-only dir to format (stage 2)")
    p.add_argument("--out_dir", required=True, help="output text-only dir (text, utt2lang)")
    p.add_argument("--langs", default="", help="comma-separated codes (default: all present)")
    p.add_argument("--exclude", nargs="*", default=[],
                   help="data dirs whose transcripts are left out (train, dev, test)")
    p.add_argument("--max_per_lang", type=int, default=None, help="cap per language")
    p.add_argument("--lang_token", type=str2bool, default=False,
                   help="with --in_dir: prefix each sentence with <lang>")
    a = p.parse_args(argv)

    def body():
        from usm_espnet.corpora.unspoken_text import format_unspoken_text, prepare_unspoken_text

        if a.root:
            langs = [x.strip() for x in a.langs.split(",") if x.strip()] or None
            stats = prepare_unspoken_text(a.root, a.out_dir, langs, a.exclude,
                                          max_per_lang=a.max_per_lang)["langs"]
            kept = sum(s["kept"] for s in stats.values())
            lines = sum(s["lines"] for s in stats.values())
            print(f"{a.out_dir}: {kept} sentences in {len(stats)} languages "
                  f"({lines - kept} of {lines} lines skipped; counts in {a.out_dir}/stats.json)")
        else:
            n = format_unspoken_text(a.in_dir, a.out_dir, a.lang_token)
            print(f"{a.out_dir}: {n} sentences")

    return run(body)  # DataDirError is a ValueError; a missing input file an OSError


if __name__ == "__main__":
    sys.exit(main())
