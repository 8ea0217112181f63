"""Prepare Kaldi data directories from CoVoST 2 X -> En (real corpus or stand-in).

Usage::

    python -m usm_espnet.bin.prepare_covost2 --covost_dir /data/covost2 \\
        --cv_root /data/cv-corpus-4 --out_dir data [--langs fr,de,zh-CN] \\
        [--splits train,dev,test] [--max_utts_per_lang N] [--check_audio header] \\
        [--on_empty skip] [--nj 2]

Reads ``<covost_dir>/covost_v2.<lang>_en.tsv`` (or ``.tsv.tar.gz``) and the clips under
``<cv_root>/<lang>/clips/`` (with ``validated.tsv``), writes ``<out_dir>/<split>/``
(wav.scp, text = English translation, utt2spk, spk2utt, utt2lang = source language,
utt2dur, utt2src = source transcript) and prints one summary line per split. Skipped
rows are logged with their ``file:line``; a malformed corpus is reported as a single
line ``ERROR: <message>`` with exit status 1.
"""

import argparse
import sys
from typing import List, Optional

from usm_espnet.bin._cli import run
from usm_espnet.corpora.covost2 import CHECK_AUDIO_MODES, COVOST2_SPLITS, ON_EMPTY_MODES, prepare_covost2


def _csv(value: str) -> List[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def get_parser() -> argparse.ArgumentParser:
    """Return the command-line parser."""
    p = argparse.ArgumentParser(
        prog="python -m usm_espnet.bin.prepare_covost2",
        description="Write one Kaldi data directory per CoVoST 2 split (text: the English "
        "translation; utt2lang: the source language).")
    p.add_argument("--covost_dir", required=True,
                   help="directory with covost_v2.<lang>_en.tsv (or .tsv.tar.gz)")
    p.add_argument("--cv_root", required=True,
                   help="Common Voice root with <lang>/clips/ and <lang>/validated.tsv")
    p.add_argument("--out_dir", required=True, help="output: <out_dir>/<split>/ data dirs")
    p.add_argument("--langs", type=_csv, default=None,
                   help="comma-separated Common Voice codes, e.g. fr,de,zh-CN (default: all found)")
    p.add_argument("--splits", type=_csv, default=list(COVOST2_SPLITS),
                   help="comma-separated splits (default: train,dev,test)")
    p.add_argument("--max_utts_per_lang", type=int, default=None,
                   help="keep at most N utterances per language and split")
    p.add_argument("--check_audio", choices=CHECK_AUDIO_MODES, default="header",
                   help="header: read clip headers (durations; unreadable clips skipped); "
                   "decode: decode every clip; none: existence only")
    p.add_argument("--on_empty", choices=ON_EMPTY_MODES, default="skip",
                   help="rows with an empty translation: skip (counted, logged) or error")
    p.add_argument("--nj", type=int, default=2, help="threads reading clip headers")
    p.add_argument("--quiet", action="store_true", help="log warnings only")
    return p


def main(argv: Optional[List[str]] = None) -> int:
    """Run data preparation; 0, or 1 after ``ERROR: <message>`` (bad input)."""
    args = get_parser().parse_args(argv)
    return run(lambda: prepare_covost2(
        args.covost_dir, args.cv_root, args.out_dir, langs=args.langs, splits=args.splits,
        max_utts_per_lang=args.max_utts_per_lang, check_audio=args.check_audio,
        on_empty=args.on_empty, nj=args.nj,
    ), _print_summary, quiet=args.quiet)


def _print_summary(results) -> None:
    for st in results.values():
        reasons = ", ".join(f"{k}: {v}" for k, v in st.reasons.items())
        print(f"{st.data_dir}: {st.num_utts} utterances of {st.num_rows} rows, "
              f"{st.num_skipped} skipped{f' ({reasons})' if reasons else ''}, "
              f"{st.num_capped} over the cap, {st.hours:.3f} hours, "
              + ", ".join(f"{k} {v}" for k, v in st.per_lang.items()))


if __name__ == "__main__":
    sys.exit(main())
