#!/usr/bin/env python3
"""Where the whole-interview errors are: test rows cut by a chunk boundary vs the rest.

Each word of the long-form CTM (``<exp_dir>/decode_test_longform/words.ctm``) outside the
unscored spans goes to the test row whose time holds its midpoint (else the nearest row).
Rows are split by whether a multiple of ``--chunk_seconds`` (the chunk-wise encoder's chunk
boundaries, counted from the start of the recording) falls inside them, and each group is
scored twice: the row's words from the whole-interview decoding, and the row decoded alone
(stage 8, ``decode_test``). Prints one line per group and decoding.

    local/chunk_boundary_rows.py --exp_dir exp_demo/asr_demo --data_dir data_demo
"""

import argparse
import math
import os
import sys
from typing import Dict, List, Tuple

from usm_espnet.data.kaldi import read_kaldi_map
from usm_espnet.scoring.asr import ErrorCounts, score_utterance


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--exp_dir", required=True)
    p.add_argument("--data_dir", required=True)
    p.add_argument("--chunk_seconds", type=float, default=8.0)
    a = p.parse_args()
    ref = dict(read_kaldi_map(os.path.join(a.data_dir, "test", "text"), allow_empty_value=True).items())
    seg_hyp = dict(read_kaldi_map(os.path.join(a.exp_dir, "decode_test", "1best_recog", "text"),
                                  allow_empty_value=True).items())
    rows: Dict[str, List[Tuple[float, float, str]]] = {}
    with open(os.path.join(a.data_dir, "test", "segments"), encoding="utf-8") as f:
        for line in f:
            utt, rec, st, en = line.split()
            rows.setdefault(rec, []).append((float(st), float(en), utt))
    unscored: Dict[str, List[Tuple[float, float]]] = {}
    with open(os.path.join(a.data_dir, "test_longform", "unscored_spans"), encoding="utf-8") as f:
        for line in f:
            rec, st, en = line.split()
            unscored.setdefault(rec, []).append((float(st), float(en)))
    lf_words: Dict[str, List[str]] = {utt: [] for utt in ref}
    with open(os.path.join(a.exp_dir, "decode_test_longform", "words.ctm"), encoding="utf-8") as f:
        for line in f:
            rec, _, st, dur, word = line.split()
            mid = float(st) + float(dur) / 2
            if any(s <= mid < e for s, e in unscored.get(rec, ())):
                continue
            row = min(rows[rec], key=lambda r: 0.0 if r[0] <= mid < r[1] else min(abs(mid - r[0]), abs(mid - r[1])))
            lf_words[row[2]].append(word)
    counts: Dict[Tuple[bool, str], ErrorCounts] = {}
    for rec_rows in rows.values():
        for st, en, utt in rec_rows:
            cut = math.floor(st / a.chunk_seconds) != math.floor(en / a.chunk_seconds)
            for kind, hyp in (("whole interview", " ".join(lf_words[utt])), ("row alone", seg_hyp.get(utt, ""))):
                counts.setdefault((cut, kind), ErrorCounts()).add(score_utterance(ref[utt], hyp, "en_us")[0])
    for (cut, kind), c in sorted(counts.items()):
        d = c.to_dict()
        print(f"{'rows cut by a chunk boundary' if cut else 'rows inside one chunk':<29} {kind:<16} "
              f"rows {d['num_utts']:>3}  words {d['ref_len']:>4}  WER {d['rate']:6.2f}  S/D/I "
              f"{d['substitutions']}/{d['deletions']}/{d['insertions']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
