"""BEST-RQ overhead against the encoder it trains, measured in one run on CPU.

    python bench/bestrq_overhead.py [--sizes tiny,mid] [--batch 4] [--seconds 8] [--repeats 5]

For each encoder size, on the same batch of log-mel features:

* encoder: forward + backward of the Conformer alone (loss = sum of outputs);
* BEST-RQ: everything BEST-RQ adds around it -- the random-projection
  quantizer (all N = 16 quantizers, 8192 codes), span masking and noise, the
  encoder-rate mask, and the N softmax heads' forward + backward at masked
  frames (the paper's defaults throughout).

Each is timed ``--repeats`` times after a warm-up; medians are compared.
One line per size, then, as the last line, ``bestrq_overhead=<x>`` for the
largest size run (the target is <= 0.05). The heads cost N x codes x d per
masked frame whatever the encoder, so the ratio falls as the encoder grows.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from usm_espnet.nets.usm_conformer import USMConformerEncoder  # noqa: E402
from usm_espnet.ssl.best_rq import (  # noqa: E402
    BestRQConfig,
    BestRQLoss,
    RandomProjectionQuantizer,
    apply_mask,
    compute_mask,
    mask_to_encoder_rate,
    subsampling_factor,
)

#: Encoder sizes: (output_size, attention heads, blocks). tiny = the demo's encoder;
#: 0.6b = conf/pretrain/best_rq_0.6b.yaml (slow on CPU: minutes).
SIZES = {
    "tiny": (144, 4, 4),
    "mid": (512, 8, 12),
    "0.6b": (1024, 8, 24),
}
N_MELS = 80


def _median_time(fn, repeats: int) -> float:
    fn()  # warm-up
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def measure(size: str, batch: int, seconds: float, repeats: int) -> dict:
    d, heads, blocks = SIZES[size]
    torch.manual_seed(0)
    enc = USMConformerEncoder(input_size=N_MELS, output_size=d, attention_heads=heads,
                              linear_units=4 * d, num_blocks=blocks, input_layer="conv2d")
    enc.train()
    cfg = BestRQConfig()
    stack = subsampling_factor(enc, N_MELS)
    quant = RandomProjectionQuantizer(N_MELS, stack, cfg.num_quantizers, cfg.codebook_size,
                                      cfg.codebook_dim, cfg.seed)
    loss_fn = BestRQLoss(d, cfg.num_quantizers, cfg.codebook_size)
    T = int(seconds * 100)  # 10 ms frames
    feats = torch.randn(batch, T, N_MELS)
    lens = torch.full((batch,), T)

    def encoder_step():
        enc.zero_grad(set_to_none=True)
        out, olens, _ = enc(feats, lens)
        out.sum().backward()

    with torch.no_grad():
        out0, olens0, _ = enc(feats, lens)
    enc_out = out0.detach()

    def bestrq_step():
        loss_fn.zero_grad(set_to_none=True)
        labels, _ = quant(feats, lens)
        mask = compute_mask(lens, T, cfg.mask_prob, cfg.mask_span)
        apply_mask(feats, mask, cfg.noise_std)
        h = enc_out.requires_grad_(True)
        loss, _ = loss_fn(h, olens0, labels, mask_to_encoder_rate(mask, stack))
        loss.backward()

    t_enc = _median_time(encoder_step, repeats)
    t_rq = _median_time(bestrq_step, repeats)
    n = sum(p.numel() for p in enc.parameters())
    return {"size": size, "params_m": n / 1e6, "t_enc": t_enc, "t_bestrq": t_rq,
            "ratio": t_rq / t_enc}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="tiny,mid", help=f"comma-separated of {','.join(SIZES)}")
    p.add_argument("--batch", type=int, default=4, help="utterances per batch")
    p.add_argument("--seconds", type=float, default=8.0, help="seconds per utterance")
    p.add_argument("--repeats", type=int, default=5)
    a = p.parse_args(argv)
    sizes = [s.strip() for s in a.sizes.split(",") if s.strip()]
    bad = [s for s in sizes if s not in SIZES]
    if bad:
        print(f"ERROR: unknown size(s) {', '.join(bad)}; choose from {', '.join(SIZES)}",
              file=sys.stderr)
        return 2
    print(f"# BEST-RQ (N=16 x 8192 codes) vs encoder fwd+bwd; batch {a.batch} x {a.seconds:g} s, "
          f"torch threads {torch.get_num_threads()}, median of {a.repeats}")
    last = None
    for s in sizes:
        r = measure(s, a.batch, a.seconds, a.repeats)
        print(f"{r['size']:>5}: encoder {r['params_m']:.1f}M params, encoder fwd+bwd "
              f"{r['t_enc'] * 1000:.0f} ms, BEST-RQ {r['t_bestrq'] * 1000:.0f} ms, "
              f"ratio {r['ratio']:.3f}", flush=True)
        last = r
    print(f"bestrq_overhead={last['ratio']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
