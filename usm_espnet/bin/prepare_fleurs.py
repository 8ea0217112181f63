"""Prepare Kaldi data directories from a FLEURS corpus (real or stand-in).

Usage::

    python -m usm_espnet.bin.prepare_fleurs --corpus_dir /data/fleurs --out_dir data \\
        [--langs en_us,hi_in] [--splits train,dev,test] [--audio_dir DIR] \\
        [--text_column transcription] [--max_utts_per_lang N] [--check_audio]

Writes ``<out_dir>/<split>/`` (wav.scp, text, utt2spk, spk2utt, utt2lang, utt2dur,
utt2gender, utt2raw) and prints one summary line per split. A malformed corpus is
reported as a single line ``ERROR: <message>`` with exit status 1.
"""

import argparse
import sys
from typing import List, Optional

from usm_espnet.bin._cli import run
from usm_espnet.corpora.fleurs import FLEURS_SPLITS, TEXT_COLUMNS, prepare_fleurs


def _csv(value: str) -> List[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def get_parser() -> argparse.ArgumentParser:
    """Return the command-line parser."""
    parser = argparse.ArgumentParser(
        prog="python -m usm_espnet.bin.prepare_fleurs",
        description="Write one Kaldi data directory per FLEURS split from "
        "<corpus_dir>/<lang>/{train,dev,test}.tsv and audio/<split>.tar.gz (or audio/<split>/).",
    )
    parser.add_argument("--corpus_dir", required=True,
                        help="FLEURS root holding <lang>/ directories (or its parent with data/)")
    parser.add_argument("--out_dir", required=True, help="output: <out_dir>/<split>/ data dirs")
    parser.add_argument("--langs", type=_csv, default=None,
                        help="comma-separated FLEURS codes, e.g. en_us,hi_in "
                        "(default: all present)")
    parser.add_argument("--splits", type=_csv, default=list(FLEURS_SPLITS),
                        help="comma-separated splits (default: train,dev,test)")
    parser.add_argument("--audio_dir", default=None,
                        help="where archives are extracted (default: <out_dir>/audio)")
    parser.add_argument("--text_column", choices=TEXT_COLUMNS, default="transcription",
                        help="tsv column used as the transcript (default: transcription)")
    parser.add_argument("--max_utts_per_lang", type=int, default=None,
                        help="keep at most N utterances per language and split")
    parser.add_argument("--check_audio", action="store_true",
                        help="read every wav header (16 kHz check; durations from headers)")
    parser.add_argument("--quiet", action="store_true", help="log warnings only")
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Run data preparation; 0, or 1 after ``ERROR: <message>`` (bad input)."""
    args = get_parser().parse_args(argv)
    return run(lambda: prepare_fleurs(
        args.corpus_dir, args.out_dir, langs=args.langs, splits=args.splits,
        audio_dir=args.audio_dir, text_column=args.text_column,
        max_utts_per_lang=args.max_utts_per_lang, check_audio=args.check_audio,
    ), _print_summary, quiet=args.quiet)


def _print_summary(results) -> None:
    for st in results.values():
        print(f"{st.data_dir}: {st.num_utts} utterances, {st.num_skipped} skipped, "
              f"{st.hours:.3f} hours, {len(st.per_lang)} languages")


if __name__ == "__main__":
    sys.exit(main())
