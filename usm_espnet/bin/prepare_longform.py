"""Prepare a Kaldi data directory from a long-form corpus in Earnings-21/22's layout.

Usage::

    python -m usm_espnet.bin.prepare_longform --root /data/earnings22 --out_dir data/longform \\
        [--lang en_us]

``--root`` holds ``media/<id>.{wav,flac,mp3}``, ``transcripts/nlp_references/<id>.nlp``
and optionally ``metadata.tsv`` (``id lang ...``; see :mod:`usm_espnet.corpora.earnings`).
Writes ``--out_dir`` (wav.scp, text, utt2spk, spk2utt, utt2lang, utt2dur), one utterance
per recording, and prints one summary line. A malformed corpus is reported as a single
line ``ERROR: <message>`` with exit status 1.
"""

import argparse
import sys
from typing import List, Optional

from usm_espnet.bin._cli import run
from usm_espnet.corpora.earnings import prepare_longform


def get_parser() -> argparse.ArgumentParser:
    """Return the command-line parser."""
    p = argparse.ArgumentParser(
        prog="python -m usm_espnet.bin.prepare_longform",
        description="Write a Kaldi data directory (one utterance per recording) from "
        "<root>/media/<id>.{wav,flac,mp3} and <root>/transcripts/nlp_references/<id>.nlp.",
    )
    p.add_argument("--root", required=True, help="corpus root (Earnings-21/22 layout)")
    p.add_argument("--out_dir", required=True, help="output Kaldi data directory")
    p.add_argument("--lang", default="en_us",
                   help="FLEURS code of recordings not listed in <root>/metadata.tsv "
                   "(default en_us)")
    p.add_argument("--quiet", action="store_true", help="log warnings only")
    return p


def main(argv: Optional[List[str]] = None) -> int:
    """Run data preparation; 0, or 1 after ``ERROR: <message>`` (bad input)."""
    args = get_parser().parse_args(argv)
    return run(lambda: prepare_longform(args.root, args.out_dir, lang=args.lang),
               lambda st: print(f"{st['out_dir']}: {st['num_recordings']} recordings, "
                                f"{st['hours']:.3f} hours, {st['num_words']} words, "
                                f"{len(st['per_lang'])} languages"),
               quiet=args.quiet)


if __name__ == "__main__":
    sys.exit(main())
