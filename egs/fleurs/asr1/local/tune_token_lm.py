#!/usr/bin/env python3
"""Choose the token n-gram LM options of the CTC prefix beam search on a dev set.

    local/tune_token_lm.py --exp exp/asr_demo --data dump/raw/dev \
        --grid 6:0.5:1.0:8 6:0.8:2.0:8 8:1.0:2.0:8

Runs the encoder over the set once (language mask as stage 8 applies it), then decodes the
cached CTC scores with each ``order:weight:bonus:beam`` of the grid, the LMs trained on
``--train_text`` (and the utt2lang beside it) as stage 8 trains them. Prints the greedy CER
first, then one line per grid point: macro-average CER over languages and per language
(jiwer on the unnormalised transcripts: a tuning proxy; stage 9 scores the test set).
"""

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[4]))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--exp", required=True, help="ASR experiment dir (config.yaml + model)")
    p.add_argument("--model", default="valid.loss.ave.pth")
    p.add_argument("--data", default="dump/raw/dev", help="formatted data dir to tune on")
    p.add_argument("--train_text", default="dump/raw/train/text")
    p.add_argument("--lang_token_sets", default="data/token_list/char/lang_token_sets.json")
    p.add_argument("--grid", nargs="+", required=True, help="order:weight:bonus:beam ...")
    args = p.parse_args(argv)

    import jiwer
    import torch

    from usm_espnet.data.kaldi import read_kaldi_map
    from usm_espnet.decode.ctc_greedy import build_loader, ctc_log_probs, greedy_ids, load_lang_masks, load_model
    from usm_espnet.decode.ctc_prefix_beam import prefix_beam_search
    from usm_espnet.decode.ngram_lm import train_lms
    from usm_espnet.registry import register

    grid = []
    for g in args.grid:
        try:
            o, w, b, k = g.split(":")
            grid.append((int(o), float(w), float(b), int(k)))
        except ValueError:
            p.error(f"--grid {g!r}: expected order:weight:bonus:beam, e.g. 6:0.8:2.0:8")
    register(["espnet2.tasks.asr"])
    model, train_args, conv, tok = load_model(f"{args.exp}/config.yaml", f"{args.exp}/{args.model}")
    tokens = list(train_args.token_list)
    u2l_file = f"{args.data}/utt2lang"
    masks, u2l = load_lang_masks(args.lang_token_sets, u2l_file, len(tokens))
    loader = build_loader(train_args, [(f"{args.data}/wav.scp", "speech", "sound")], batch_size=16)
    scores = {}
    t0 = time.time()
    for keys, lp, lens in ctc_log_probs(model, loader, masks=masks, u2l=u2l, utt2lang=u2l_file):
        for i, k in enumerate(keys):
            scores[k] = lp[i, : int(lens[i])].numpy()
    print(f"# {len(scores)} utterances of {args.data} encoded in {time.time() - t0:.1f} s", flush=True)
    refs = dict(read_kaldi_map(f"{args.data}/text").items())

    def text_of(ids):
        return tok.tokens2text(conv.ids2tokens(ids))

    def cer(hyps):
        by = defaultdict(lambda: ([], []))
        for k, h in hyps.items():
            by[u2l[k]][0].append(refs[k])
            by[u2l[k]][1].append(h)
        per = {lang: 100 * jiwer.cer(r, h) for lang, (r, h) in sorted(by.items())}
        return sum(per.values()) / len(per), per

    blank = getattr(model, "blank_id", 0)
    greedy = {k: text_of(greedy_ids(torch.from_numpy(v)[None], torch.tensor([len(v)]), blank)[0])
              for k, v in scores.items()}
    print(f"greedy: CER {cer(greedy)[0]:.2f}", flush=True)
    train_u2l = dict(read_kaldi_map(str(Path(args.train_text).parent / "utt2lang")).items())
    lms_by_order = {}
    for order, weight, bonus, beam in grid:
        if order not in lms_by_order:
            lms_by_order[order] = train_lms(args.train_text,
                                            lambda s: conv.tokens2ids(tok.text2tokens(s)),
                                            order, len(tokens), train_u2l)
        lms = lms_by_order[order]
        t0 = time.time()
        hyps = {k: text_of(prefix_beam_search(v, beam, blank, lms[u2l[k]], weight, bonus)[0])
                for k, v in scores.items()}
        avg, per = cer(hyps)
        print(f"order={order} weight={weight} bonus={bonus} beam={beam}: CER {avg:.2f} "
              f"({time.time() - t0:.1f} s) " + " ".join(f"{lang}:{c:.1f}" for lang, c in per.items()),
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
