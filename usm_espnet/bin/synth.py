"""Synthesise a multilingual Kaldi data directory with espeak-ng (offline).

Example::

    python -m usm_espnet.bin.synth --langs en_us,fr_fr,hi_in --num_utts 300 \\
        --num_speakers 4 --snr_db 20 --nj 2 --out_dir data/synth_train

Writes ``OUT_DIR/wav/*.wav`` (16 kHz, 16-bit PCM mono) and ``wav.scp``, ``text``,
``utt2spk``, ``spk2utt``, ``utt2lang``, ``utt2dur`` in ``OUT_DIR``.
"""

import argparse
import sys
from typing import List, Optional

from usm_espnet.bin._cli import run, setup_logging

DEFAULT_LANGS = "en_us,fr_fr,hi_in"


def get_parser() -> argparse.ArgumentParser:
    """Build the command-line parser.

    Returns:
        The argument parser.
    """
    parser = argparse.ArgumentParser(
        prog="python -m usm_espnet.bin.synth",
        description=(
            "Offline multilingual speech synthesis with espeak-ng into a Kaldi data "
            "directory: OUT_DIR/wav/<utt>.wav (16 kHz 16-bit mono) plus wav.scp, text, "
            "utt2spk, spk2utt, utt2lang, utt2dur. Utterance ids are "
            "'<lang>-<speaker>-<sentence>', speaker ids '<lang>-<speaker>' (speakers are "
            "per language: an espeak-ng voice variant with its own rate, pitch and "
            "pitch range). Output is deterministic for a given --seed."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--langs", default=DEFAULT_LANGS,
                        help="comma-separated FLEURS language codes; see --list_langs")
    parser.add_argument("--num_utts", type=int, default=30,
                        help="total number of utterances, split evenly across languages")
    parser.add_argument("--out_dir", default=None,
                        help="output directory (required unless --list_langs)")
    parser.add_argument("--num_speakers", type=int, default=4,
                        help="synthetic speakers per language; utterances are dealt "
                             "round-robin over them")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed for sentences, speakers and noise")
    parser.add_argument("--snr_db", type=float, default=None,
                        help="add white Gaussian noise at this signal-to-noise ratio in dB "
                             "(signal power over the whole clip); not given: clean speech")
    parser.add_argument("--nj", type=int, default=2, help="number of worker processes")
    parser.add_argument("--text_file", default=None,
                        help="optional UTF-8 file of 'lang<TAB>text' lines to read; default: "
                             "sentences from usm_espnet.standin.parallel_text")
    parser.add_argument("--no_progress", action="store_true", help="hide the progress bar")
    parser.add_argument("--list_langs", action="store_true",
                        help="print the supported FLEURS codes with their espeak-ng voices "
                             "and exit")
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Run the command line.

    Args:
        argv: Arguments (default: ``sys.argv[1:]``).

    Returns:
        Process exit status.
    """
    args = get_parser().parse_args(argv)
    setup_logging()

    from usm_espnet.data.languages import FLEURS_LANGUAGES
    from usm_espnet.standin.espeak import ESPEAK_VOICES, supported_languages
    from usm_espnet.standin.synth import synth_datadir

    if args.list_langs:
        for code in supported_languages():
            name, script = FLEURS_LANGUAGES[code]
            print(f"{code}\t{ESPEAK_VOICES[code]}\t{name}\t{script}")
        return 0
    if not args.out_dir:
        get_parser().error("--out_dir is required")
    from usm_espnet.standin.espeak import SynthesisError

    langs = [x.strip() for x in args.langs.split(",") if x.strip()]

    def report(stats) -> int:
        print(f"utterances:  {stats.num_ok}")
        print(f"skipped:     {stats.num_skipped}"
              + (f" ({', '.join(stats.skipped_ids[:10])}{' ...' if stats.num_skipped > 10 else ''})"
                 if stats.num_skipped else ""))
        print(f"audio:       {stats.audio_seconds / 3600:.3f} h ({stats.audio_seconds:.1f} s)")
        print(f"wall time:   {stats.wall_seconds:.1f} s")
        print(f"throughput:  {stats.throughput:.1f} s of audio per CPU second "
              f"({stats.wall_throughput:.1f} per wall second)")
        print(f"data dir:    {args.out_dir}")
        return 0 if stats.num_ok > 0 else 1

    # bad languages, counts or text file (path:line), unwritable output
    return run(lambda: synth_datadir(
        args.out_dir, langs, args.num_utts, num_speakers=args.num_speakers, seed=args.seed,
        snr_db=args.snr_db, nj=args.nj, text_file=args.text_file, progress=not args.no_progress,
    ), report, log_format=None, errors=(ValueError, OSError, SynthesisError))


if __name__ == "__main__":
    sys.exit(main())
