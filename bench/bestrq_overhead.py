"""BEST-RQ overhead against the encoder it trains, measured in one run on CPU.

    python bench/bestrq_overhead.py [--sizes tiny,mid] [--batch 4] [--seconds 8] [--repeats 5]

For each encoder size, on the same batch of log-mel features:

* encoder: forward + backward of the Conformer alone (loss = sum of outputs);
* BEST-RQ: everything BEST-RQ adds around it -- the random-projection
  quantizer (all N = 16 quantizers, 8192 codes), span masking and noise, the
  encoder-rate mask, and the N softmax heads' forward + backward at masked
  frames (the paper's defaults throughout).

Each is timed ``--repeats`` times after a warm-up; medians are compared.
One line per size; then the quantizer's peak extra memory at the 0.6B pre-training
config's batch (``conf/pretrain/best_rq_0.6b.yaml``: 16M samples = 1000 s of audio,
128 mels, measured in a child process as the largest growth of its resident memory
during the call, sampled every 0.5 ms, ``quantizer_peak_extra_mb=``; ``--no-mem`` skips it); then, as the last line,
``bestrq_overhead=<x>`` for the largest size run (the target is <= 0.10). The heads cost N x codes x d per
masked frame whatever the encoder, so the ratio falls as the encoder grows. Each size's line
also gives the FLOP ratio (torch's ``FlopCounterMode`` over one call of each): the time ratio
cannot fall below it unless the heads' matmuls run at more FLOP/s than the encoder's.
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
        mask = compute_mask(lens, T, cfg.mask_prob, cfg.mask_span)
        enc_mask = mask_to_encoder_rate(mask, stack)
        labels, _ = quant(feats, lens, select=enc_mask)  # as the models do: masked frames only
        apply_mask(feats, mask, cfg.noise_std)
        h = enc_out.requires_grad_(True)
        loss, _ = loss_fn(h, olens0, labels, enc_mask)
        loss.backward()

    t_enc = _median_time(encoder_step, repeats)
    t_rq = _median_time(bestrq_step, repeats)
    n = sum(p.numel() for p in enc.parameters())
    return {"size": size, "params_m": n / 1e6, "t_enc": t_enc, "t_bestrq": t_rq,
            "ratio": t_rq / t_enc, "flop_ratio": _flops(bestrq_step) / _flops(encoder_step)}


def _flops(fn) -> float:
    """FLOPs of one call as torch's FlopCounterMode counts them (matmuls, convolutions)."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        fn()
    return float(counter.get_total_flops())


MEM_BATCH, MEM_SECONDS, MEM_MELS = 32, 31.25, 128  # 1000 s: the 0.6B config's 16M-sample batch

_MEM_CHILD = """
import sys, torch
sys.path.insert(0, {root!r})
from usm_espnet.ssl.best_rq import RandomProjectionQuantizer, compute_mask, mask_to_encoder_rate
torch.set_num_threads(1)
B, T, F = {b}, int({s} * 100), {f}
q = RandomProjectionQuantizer(F, 4)
feats = torch.randn(B, T, F)
lens = torch.full((B,), T)
mask = mask_to_encoder_rate(compute_mask(lens, T, 0.01, 40), 4)
q(feats[:1, :400], lens[:1].clamp(max=400))  # warm-up (allocator, kernels)
import os, threading, time
page_kb = os.sysconf("SC_PAGE_SIZE") / 1024.0
def rss_kb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * page_kb
before = rss_kb()
peak, done = [before], threading.Event()
def sample():  # the quantizer's matmuls release the GIL, so this runs during the call
    while not done.is_set():
        peak[0] = max(peak[0], rss_kb())
        time.sleep(0.0005)
t = threading.Thread(target=sample); t.start()
labels, _ = q(feats, lens, select=mask)
done.set(); t.join()
peak[0] = max(peak[0], rss_kb())
assert int((labels[..., 0] >= 0).sum()) == int(mask.sum())
print((peak[0] - before) / 1024.0)
"""


def quantizer_peak_extra_mb() -> float:
    """Peak RSS growth (MB) of one quantizer call on the 0.6B batch, in a fresh process."""
    import subprocess

    code = _MEM_CHILD.format(root=str(Path(__file__).resolve().parents[1]), b=MEM_BATCH,
                             s=MEM_SECONDS, f=MEM_MELS)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(r.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="tiny,mid", help=f"comma-separated of {','.join(SIZES)}")
    p.add_argument("--batch", type=int, default=4, help="utterances per batch")
    p.add_argument("--seconds", type=float, default=8.0, help="seconds per utterance")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--no-mem", dest="mem", action="store_false",
                   help="skip the quantizer memory measurement at the 0.6B batch")
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
              f"ratio {r['ratio']:.3f} (FLOP ratio {r['flop_ratio']:.3f}: the time ratio's floor "
              f"if both ran at the same FLOP/s)", flush=True)
        last = r
    if a.mem:
        print(f"quantizer_peak_extra_mb={quantizer_peak_extra_mb():.0f}  # 0.6B config batch: "
              f"{MEM_BATCH} x {MEM_SECONDS:g} s, {MEM_MELS} mels, N=16 x 8192 codes", flush=True)
    print(f"bestrq_overhead={last['ratio']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
