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
import logging
import sys
from typing import List, Optional

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
    """Run data preparation.

    Args:
        argv: Command-line arguments (default: ``sys.argv[1:]``).

    Returns:
        0 on success, 1 on bad input (printed as ``ERROR: <message>``).
    """
    args = get_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        st = prepare_longform(args.root, args.out_dir, lang=args.lang)
    except (ValueError, OSError) as e:
        print(f"ERROR: {e}", file=sys.stderr)
        return 1
    print(f"{st['out_dir']}: {st['num_recordings']} recordings, {st['hours']:.3f} hours, "
          f"{st['num_words']} words, {len(st['per_lang'])} languages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
