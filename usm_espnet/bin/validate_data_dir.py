"""Validate a Kaldi-style data directory and print a one-line summary.

Usage: ``python -m usm_espnet.bin.validate_data_dir DIR [--no-text] [--check-audio]``

Prints ``DIR: N utterances, M speakers, L languages[, H hours]`` and exits 0, or
prints the first problem (``file:line: message``) to stderr and exits 1.
"""

import argparse
import sys
from typing import List, Optional

from usm_espnet.data.kaldi import DataDirError, read_datadir


def get_parser() -> argparse.ArgumentParser:
    """Return the command-line parser."""
    parser = argparse.ArgumentParser(
        prog="python -m usm_espnet.bin.validate_data_dir",
        description="Validate a Kaldi-style data directory.",
    )
    parser.add_argument("dir", help="data directory (wav.scp, text, utt2spk, ...)")
    parser.add_argument("--no-text", action="store_true", help="do not require a text file")
    parser.add_argument(
        "--check-audio",
        action="store_true",
        help="open every recording: must be readable and 16 kHz",
    )
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Run the validator.

    Args:
        argv: Command-line arguments (default: ``sys.argv[1:]``).

    Returns:
        0 if the directory is valid, 1 otherwise.
    """
    args = get_parser().parse_args(argv)
    try:
        data = read_datadir(
            args.dir, validate=True, require_text=not args.no_text, check_audio=args.check_audio
        )
    except DataDirError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    utts = data.utt_ids()
    parts = [
        f"{len(utts)} utterances",
        f"{len(data.spk2utt())} speakers",
        f"{len(set(data.utt2lang.values()))} languages",
    ]
    if data.utt2dur:
        parts.append(f"{sum(data.utt2dur.values()) / 3600:.2f} hours")
    print(f"{args.dir}: " + ", ".join(parts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
