"""Kaldi data dir (no text) from untranscribed audio laid out as <root>/<lang>/wav.lst.

    python -m usm_espnet.bin.prepare_untranscribed --root standin/fleurs/untranscribed \
        --out_dir data/untranscribed [--langs en_us,hi_in] [--num_shards 2000 --fs 16000]

With ``--num_shards N`` it also writes ``<out_dir>/shards/``: ESPnet's split-scp
shards (``wav.scp/split.<i>``, ``speech_shape/split.<i>``) for training with
``--multiple_iterator true``, where each rank reads its slice of every shard and an
epoch reads every utterance once (:mod:`usm_espnet.data.shards` says why this
layout and not tar shards). Files whose header is unreadable, not mono or not at
``--fs`` are counted, logged skips there.
"""

import argparse
import sys
from typing import List, Optional

from usm_espnet.bin._cli import run


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m usm_espnet.bin.prepare_untranscribed",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--root", required=True, help="directory holding <lang>/wav.lst")
    p.add_argument("--out_dir", required=True, help="output Kaldi data dir")
    p.add_argument("--langs", default="", help="comma-separated codes (default: all present)")
    p.add_argument("--num_shards", type=int, default=0,
                   help="also write <out_dir>/shards/ with this many ESPnet split-scp shards "
                        "(for --multiple_iterator true; 0: none)")
    p.add_argument("--fs", type=int, default=16000,
                   help="sample rate the shards must have (with --num_shards)")
    a = p.parse_args(argv)
    if a.num_shards == 1 or a.num_shards < 0:
        print(f"ERROR: --num_shards {a.num_shards}: 0 (no shards) or at least 2", file=sys.stderr)
        return 1
    from usm_espnet.data.kaldi import DataDirError

    def body():
        from usm_espnet.corpora.untranscribed import prepare_untranscribed

        langs = [x.strip() for x in a.langs.split(",") if x.strip()] or None
        counts = prepare_untranscribed(a.root, a.out_dir, langs)
        shards = None
        if a.num_shards:
            from usm_espnet.data.shards import write_shards

            shards = write_shards(a.out_dir, a.num_shards, a.fs)
        return counts, shards

    def report(out):
        counts, shards = out
        print(f"{a.out_dir}: {sum(counts.values())} untranscribed utterances in {len(counts)} languages")
        if shards is not None:
            print(f"{a.out_dir}/shards: {shards.utterances} utterances ({shards.seconds / 3600:.2f} h) "
                  f"in {shards.num_shards} shards, {len(shards.skipped)} files skipped")

    # only DataDirError is bad input here, as before this runner: another error keeps its traceback
    return run(body, report, errors=DataDirError)


if __name__ == "__main__":
    sys.exit(main())
