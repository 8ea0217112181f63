"""Training throughput of the USM-0.6B chunk-wise Conformer beside ESPnet's Conformer, on one GPU.

    python bench/gpu_train.py [--cases 8x60,30x16,120x4,300x2,600x1,3600x1] [--models ours,espnet]
                              [--compile] [--json PATH] [--tiny]
    python bench/gpu_train.py --longform 10,60 [--lf-windows 8,64]   # stream decoding RTFx
    python bench/gpu_train.py --profile 30x16 [--profile-trace t.json]  # where a step's time goes

Training step = forward + backward + AdamW step (``fused=True`` on CUDA) under bf16
autocast (float32 weights), loss = mean square of the encoder output. Input: random
80-dim features at 10 ms frames, (B, T, 80) -- the frontend (STFT + mel) is *not*
part of the step. Models (the USM 0.6B shape, conf/model/chunk_conformer_0.6b.yaml:
24 blocks, d 1024, 8 heads, feed-forward 4096, depthwise kernel 5, conv2d 4x
subsampling, dropout 0.1):

* ``ours``: ``usm_espnet.nets.chunk_conformer.ChunkConformerEncoder``, chunk attention,
  8 s chunks (200 encoder frames). For the 60-min case (and any case that runs out of
  memory without it) with ``activation_checkpointing`` -- marked ``+ckpt``;
* ``espnet``: ``espnet2.asr.encoder.conformer_encoder.ConformerEncoder``, global
  ``rel_selfattn`` / ``rel_pos`` (``latest``), macaron, swish, kernel 5; skipped at the
  lengths after the first one that runs out of memory.

Per case: ``warm-up`` steps, then timed steps (CUDA events); audio-s/s = B x seconds /
step time. Model FLOPs per step are counted analytically (``model_flops``):

    forward = 2 x (P x B x T' + subsampling-conv MACs) + L x 4 x d x B x sum(span^2)

with P the weights of every matmul applied per encoder frame (linear layers,
pointwise and depthwise convolutions, the subsampling's output projection; not the
relative-position projections, which act on the offset table, not on frames), T'
the encoder frames, the two 3x3 stride-2 convolutions counted per output position,
and attention scores + weighted values (QK^T and AV) over the span each query
actually attends to: its 8 s chunk for ours (a shorter last chunk counts as its own
length), all T' frames for ESPnet. Training = 3 x forward. The relative-position
score term and recomputation (activation checkpointing) are not counted (MFU in
the PaLM sense: useful model FLOPs). MFU = model FLOP/s / a bf16 matmul ceiling
measured at start (8192^3 matmuls, mean of 10 after 3 warm-ups). Peak memory is
``torch.cuda.max_memory_allocated`` over the case, weights, gradients and AdamW state
included.

``--longform M1,M2`` measures stream-mode long-form decoding (``usm_espnet.longform``:
window-by-window frontend, the blocks chunk by chunk, greedy CTC) of M-minute random
recordings with a random-initialised 0.6B model (ESPnet's default frontend when it
imports, else a torchaudio stand-in of the same shape; a CTC linear layer over 5000
tokens), bf16 autocast: RTFx = audio seconds / wall seconds, and peak memory; for each
window in ``--lf-windows`` and batch in ``--lf-batch`` (B recordings of M minutes
decoded together by ``LongFormEncoder.encode_batch``; RTFx counts all B).

The last two lines are ``gpu_mfu_30s=`` (ours at 30 s x 16) and ``gpu_speedup_300s=``
(ours / ESPnet audio-s/s at 300 s x 2); with ``--longform``, ``gpu_longform_rtfx_60min=``
(the best window, one recording) is printed last, after ``gpu_longform_rtfx_60min_batchB=``
(the best batch above 1) when ``--lf-batch`` has one. ``--profile SECSxB`` runs one
training step of ours under ``torch.profiler`` (after two warm-up steps) and lists the ops
by self device time (CPU time without a GPU), then the shares of matmul, attention,
convolution, normalisation, optimizer and the rest; last line ``gpu_profile_matmul_share=``
(the time in matmuls is what MFU can use). ``--tiny`` runs a 2-block d-64 model
in float32 on the CPU with every length and the chunk 10x shorter (0.8 s chunks; the cases keep their names), in seconds
-- a smoke test of this script, not a benchmark.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import sys
import time
import traceback

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

FULL = dict(d=1024, heads=8, ffn=4096, blocks=24, kernel=5)
TINY = dict(d=64, heads=4, ffn=256, blocks=2, kernel=5, time_scale=0.1)
FULL_CASES = "8x60,30x16,120x4,300x2,600x1,3600x1"
TINY_CASES = "8x2,30x2,300x1"
TINY_TIME_SCALE = 0.1  # --tiny: every length and the chunk are 10x shorter (same case names)
IDIM = 80


def log(*a):
    print(*a, flush=True)


# ----------------------------------------------------------------------------- models
def build(name: str, shape: dict, ckpt: bool = False):
    scale = shape.get("time_scale", 1.0)
    if name == "ours":
        from usm_espnet.nets.chunk_conformer import ChunkConformerEncoder

        return ChunkConformerEncoder(
            IDIM, output_size=shape["d"], attention_heads=shape["heads"], linear_units=shape["ffn"],
            num_blocks=shape["blocks"], cnn_module_kernel=shape["kernel"], attention_type="chunk",
            chunk_seconds=8.0 * scale, input_frame_shift_ms=10.0, dropout_rate=0.1,
            attention_dropout_rate=0.0, activation_checkpointing=ckpt)
    from espnet2.asr.encoder.conformer_encoder import ConformerEncoder

    return ConformerEncoder(
        IDIM, output_size=shape["d"], attention_heads=shape["heads"], linear_units=shape["ffn"],
        num_blocks=shape["blocks"], dropout_rate=0.1, positional_dropout_rate=0.1,
        attention_dropout_rate=0.0, input_layer="conv2d", normalize_before=True,
        macaron_style=True, rel_pos_type="latest", pos_enc_layer_type="rel_pos",
        selfattention_layer_type="rel_selfattn", activation_type="swish", use_cnn_module=True,
        cnn_module_kernel=shape["kernel"])


def per_frame_macs(model: torch.nn.Module) -> int:
    """Weights of the matmuls applied once per encoder frame (see the module docstring)."""
    n = 0
    for name, m in model.named_modules():
        leaf = name.rsplit(".", 1)[-1]
        if "pos" in leaf:  # relative-position projections (ours: att.pos, ESPnet: linear_pos)
            continue
        if isinstance(m, (torch.nn.Linear, torch.nn.Conv1d)):
            n += m.weight.numel()
    return n


def model_flops(model, kind: str, shape: dict, B: int, T: int) -> float:
    """Training FLOPs (3 x forward) of one step on (B, T, 80) features."""
    d, L = shape["d"], shape["blocks"]
    t1, f1 = (T - 1) // 2, (IDIM - 1) // 2
    t2, f2 = (t1 - 1) // 2, (f1 - 1) // 2
    conv_macs = B * (t1 * f1 * d * 9 + t2 * f2 * d * d * 9)
    if kind == "ours":
        C = model.chunk_frames
        spans = (t2 // C) * C * C + (t2 % C) ** 2
    else:
        spans = t2 * t2
    fwd = 2.0 * (per_frame_macs(model) * B * t2 + conv_macs) + L * 4.0 * d * B * spans
    return 3.0 * fwd


# ----------------------------------------------------------------------------- timing
class Timer:
    def __init__(self, dev):
        self.cuda = dev.type == "cuda"

    def start(self):
        if self.cuda:
            self.a = torch.cuda.Event(enable_timing=True)
            self.b = torch.cuda.Event(enable_timing=True)
            self.a.record()
        else:
            self.t = time.perf_counter()

    def stop(self) -> float:
        if self.cuda:
            self.b.record()
            torch.cuda.synchronize()
            return self.a.elapsed_time(self.b) / 1000.0
        return time.perf_counter() - self.t


def matmul_ceiling(dev, tiny: bool) -> float:
    """FLOP/s of large square matmuls (bf16 on CUDA, float32 on CPU)."""
    n, dt, reps = (1024, torch.float32, 3) if tiny else (8192, torch.bfloat16, 10)
    a = torch.randn(n, n, device=dev, dtype=dt)
    b = torch.randn(n, n, device=dev, dtype=dt)
    for _ in range(3):
        a @ b
    tm = Timer(dev)
    tm.start()
    for _ in range(reps):
        a @ b
    dt_s = tm.stop()
    return 2.0 * n ** 3 * reps / dt_s


def sdpa_backends(dev):
    """Which fused SDPA kernels accept our call (bf16, additive bias with grad)."""
    if dev.type != "cuda":
        return {}
    from torch.nn.attention import SDPBackend, sdpa_kernel

    out = {}
    for be in (SDPBackend.CUDNN_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH):
        q = torch.randn(8, 8, 200, 128, device=dev, dtype=torch.bfloat16, requires_grad=True)
        bias = torch.randn(8, 8, 200, 200, device=dev, dtype=torch.bfloat16, requires_grad=True)
        try:
            with sdpa_kernel([be]):
                torch.nn.functional.scaled_dot_product_attention(q, q, q, attn_mask=bias).sum().backward()
            out[be.name] = "ok"
        except Exception as e:  # noqa: BLE001 - report whatever the kernel says
            out[be.name] = f"no ({type(e).__name__})"
    return out


def _free(dev):
    gc.collect()
    if dev.type == "cuda":
        torch.cuda.empty_cache()


def run_case(model, opt, kind, shape, dev, B, secs, warmup, steps, amp):
    secs = secs * shape.get("time_scale", 1.0)
    T = int(round(secs * 100))
    x = torch.randn(B, T, IDIM, device=dev)
    lens = torch.full((B,), T, dtype=torch.long, device=dev)
    if dev.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    tm = Timer(dev)
    first = None
    t0 = time.perf_counter()
    for i in range(warmup + steps):
        if i == warmup:
            tm.start()
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=amp):
            out, _, _ = model(x, lens)
        loss = out.float().square().mean()
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        if i == 0:
            if dev.type == "cuda":
                torch.cuda.synchronize()
            first = time.perf_counter() - t0
    dt = tm.stop() / steps
    peak = torch.cuda.max_memory_allocated() / 2 ** 30 if dev.type == "cuda" else float("nan")
    flops = model_flops(model, kind, shape, B, T)
    return dict(step_s=dt, audio_s_per_s=B * secs / dt, model_tflop=flops / 1e12,
                tflops=flops / dt / 1e12, peak_gib=peak, first_step_s=first)


def parse_cases(s):
    out = []
    for c in s.split(","):
        secs, b = c.lower().split("x")
        out.append((float(secs), int(b)))
    return out


def steps_for(secs, tiny):
    if tiny:
        return 1, 1
    if secs <= 120:
        return 2, 3
    if secs <= 600:
        return 1, 2
    return 1, 1


def train_bench(args, dev, shape, ceiling, results):
    amp = dev.type == "cuda"
    cases = parse_cases(args.cases or (TINY_CASES if args.tiny else FULL_CASES))
    models = args.models.split(",")
    for kind in models:
        label = kind + ("+compile" if args.compile and kind == "ours" else "")
        ckpt_mode = False
        model = opt = None
        oom_seen = False
        for secs, B in cases:
            if kind == "espnet" and oom_seen:
                log(f"{label:16s} {secs:7.0f}s x{B:<3d} skipped (ran out of memory at a shorter length)")
                results.append(dict(model=label, secs=secs, batch=B, status="skipped"))
                continue
            want_ckpt = kind == "ours" and not args.tiny and secs >= 1800
            for attempt in range(2):
                if model is None or want_ckpt != ckpt_mode:
                    model = opt = None
                    _free(dev)
                    torch.manual_seed(0)
                    t_build = time.perf_counter()
                    if kind == "ours":
                        with torch.device(dev):
                            model = build(kind, shape, ckpt=want_ckpt)
                    else:  # ESPnet's modules as ESPnet builds them: on the CPU, then moved
                        model = build(kind, shape, ckpt=want_ckpt).to(dev)
                    model.train()
                    ckpt_mode = want_ckpt
                    nparam = sum(p.numel() for p in model.parameters())
                    log(f"# built {kind}{' (activation checkpointing)' if want_ckpt else ''}: "
                        f"{nparam / 1e6:.1f} M parameters in {time.perf_counter() - t_build:.1f} s")
                    run_model = model
                    if args.compile and kind == "ours":
                        run_model = torch.compile(model)
                    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=dev.type == "cuda")
                warmup, steps = steps_for(secs, args.tiny)
                name = label + ("+ckpt" if ckpt_mode else "")
                try:
                    r = run_case(run_model, opt, kind, shape, dev, B, secs, warmup, steps, amp)
                    status = "ok"
                except torch.cuda.OutOfMemoryError:
                    status = "OOM"
                    r = None
                except Exception as e:  # noqa: BLE001 - record it, go on with the next case
                    traceback.print_exc(limit=-4)
                    status = f"ERROR {type(e).__name__}: {str(e).splitlines()[0][:300] if str(e) else ''}"
                    r = None
                if status.startswith("ERROR"):
                    opt.zero_grad(set_to_none=True)
                    _free(dev)
                    log(f"{name:16s} {secs:7.0f}s x{B:<3d} {status}")
                    results.append(dict(model=name, secs=secs, batch=B, status=status))
                    break
                if status == "OOM":
                    opt.zero_grad(set_to_none=True)
                    _free(dev)
                    if kind == "ours" and not ckpt_mode and attempt == 0:
                        log(f"{name:16s} {secs:7.0f}s x{B:<3d} OOM -- retrying with activation checkpointing")
                        want_ckpt = True
                        continue
                    log(f"{name:16s} {secs:7.0f}s x{B:<3d} OOM")
                    results.append(dict(model=name, secs=secs, batch=B, status="OOM"))
                    oom_seen = True
                    break
                mfu = r["tflops"] * 1e12 / ceiling
                r.update(model=name, secs=secs, batch=B, status=status, mfu=mfu, warmup=warmup,
                         steps=steps)
                results.append(r)
                extra = f"  first step {r['first_step_s']:.1f} s" if args.compile else ""
                log(f"{name:16s} {secs:7.0f}s x{B:<3d} {r['audio_s_per_s']:10.1f} {r['step_s']:8.3f} "
                    f"{r['tflops']:8.1f} {100 * mfu:6.1f}% {r['peak_gib']:8.2f}{extra}")
                break
        model = opt = run_model = None
        _free(dev)


def pick(results, model_prefix, secs):
    for r in results:
        if r["model"].startswith(model_prefix) and r["secs"] == secs and r.get("status") == "ok":
            return r
    return None


# ----------------------------------------------------------------------------- long-form
class _StandInFrontend(torch.nn.Module):
    """ESPnet DefaultFrontend's shape (STFT 512 / hop 160 / centred, 80 log-mels) with torchaudio."""

    def __init__(self, n_mels=80):
        super().__init__()
        import types

        import torchaudio

        self.stft = types.SimpleNamespace(n_fft=512, hop_length=160, center=True)
        self.logmel = types.SimpleNamespace(mel_options={"sr": 16000})
        self.mel = torchaudio.transforms.MelSpectrogram(16000, n_fft=512, win_length=400, hop_length=160,
                                                        n_mels=n_mels, center=True, power=2.0)

    def forward(self, wav, lens):
        with torch.autocast(wav.device.type, enabled=False):
            feats = (self.mel(wav.float()) + 1e-10).log().transpose(1, 2)
        return feats, torch.full((wav.size(0),), feats.size(1), device=wav.device)


class _LongFormModel(torch.nn.Module):
    def __init__(self, shape, vocab=5000):
        super().__init__()
        try:
            from espnet2.asr.frontend.default import DefaultFrontend

            self.frontend = DefaultFrontend(fs=16000, n_fft=512, win_length=400, hop_length=160, n_mels=IDIM)
            self.frontend_name = "espnet DefaultFrontend"
        except ImportError:
            self.frontend = _StandInFrontend(IDIM)
            self.frontend_name = "torchaudio stand-in (espnet frontend needs librosa)"
        self.normalize = None
        self.encoder = build("ours", shape)
        self.ctc_lo = torch.nn.Linear(shape["d"], vocab)


def longform_bench(args, dev, shape, results):
    from usm_espnet.longform.ctc import StreamingGreedy
    from usm_espnet.longform.encode import AudioReader, LongFormEncoder

    torch.manual_seed(0)
    with torch.device(dev):
        model = _LongFormModel(shape)
    model.eval()
    log(f"# long-form: frontend = {model.frontend_name}, bf16 autocast = {dev.type == 'cuda'}")
    minutes = [float(m) for m in args.longform.split(",")]
    windows = [float(w) for w in args.lf_windows.split(",")]
    batches = [int(b) for b in args.lf_batch.split(",")]
    rng = np.random.default_rng(0)
    # one noise signal; batch member j starts j minutes into it (different audio, same length)
    audio = (0.1 * rng.standard_normal(int(16000 * 60 * (max(minutes) + max(batches) - 1)))
             ).astype(np.float32)

    def decode(n_samples, window, batch):
        lf = LongFormEncoder(model, window_seconds=window, mode="stream")
        readers = [AudioReader(samples=audio[16000 * 60 * j: 16000 * 60 * j + n_samples])
                   for j in range(batch)]
        decs = [StreamingGreedy(blank=0) for _ in readers]
        frames = 0
        with torch.no_grad(), torch.autocast(dev.type, dtype=torch.bfloat16, enabled=dev.type == "cuda"):
            for offset, enc, n in lf.encode_batch(readers):
                logp = torch.log_softmax(model.ctc_lo(enc).float(), -1)
                for dec, lp, k in zip(decs, logp, n):
                    if k:
                        dec.feed(lp[:k], offset)
                frames += sum(n)
        return frames, sum(len(d.result()) for d in decs)

    decode(16000 * 20, windows[0], 1)  # warm-up (kernels, allocator)
    for batch in batches:
        for window in windows:
            for m in minutes:
                n = int(16000 * 60 * m)
                if dev.type == "cuda":
                    torch.cuda.synchronize()
                    torch.cuda.reset_peak_memory_stats()
                t0 = time.perf_counter()
                frames, ntok = decode(n, window, batch)
                if dev.type == "cuda":
                    torch.cuda.synchronize()
                wall = time.perf_counter() - t0
                peak = torch.cuda.max_memory_allocated() / 2 ** 30 if dev.type == "cuda" else float("nan")
                rtfx = batch * n / 16000 / wall
                results.append(dict(model="ours-longform-stream", minutes=m, window_s=window, batch=batch,
                                    wall_s=wall, rtfx=rtfx, peak_gib=peak, frames=frames, tokens=ntok))
                log(f"longform stream  {m:5g} min x{batch:<2d} window {window:5.0f} s  {wall:8.2f} s wall  "
                    f"RTFx {rtfx:9.1f}  peak {peak:6.2f} GiB  ({frames} frames)")

    def best(batch_ok):
        rows = [r for r in results if r.get("model") == "ours-longform-stream"
                and r["minutes"] == max(minutes) and batch_ok(r["batch"])]
        return max(rows, key=lambda r: r["rtfx"]) if rows else None

    return best(lambda b: b == 1), best(lambda b: b > 1)


# ----------------------------------------------------------------------------- profile
#: (category, pattern on the lower-cased op / kernel name), first match wins; the rest is
#: "other (elementwise, copies)". On a GPU the names are CUDA kernels' (cuBLAS GEMMs on Hopper
#: are ``nvjet_*``, memory-efficient attention ``fmha_*``, cuDNN convolutions ``*fprop*``, fused
#: AdamW ``*FusedAdamMathFunctor*``, LayerNorm backward ``*GammaBetaBackward*``): optimizer and
#: normalisation come before matmul, whose short names must stand as words ("gamma" holds "mm").
PROFILE_CATEGORIES = (
    ("attention", r"attention|sdpa|flash|_efficient|fmha"),
    ("convolution", r"conv|fprop|dgrad|wgrad"),
    ("optimizer", r"adam|_foreach|multi_tensor|optim"),
    ("normalisation", r"norm|gammabeta"),
    ("matmul", r"(?<![a-z])(mm|addmm|bmm|matmul|linear|gemm)(?![a-z])|gemm|nvjet|xmma"),
)


def profile_bench(args, dev, shape, results):
    """One profiled training step of ours (after two warm-up steps): where the time goes."""
    from torch.profiler import ProfilerActivity, profile

    secs, B = parse_cases(args.profile)[0]
    torch.manual_seed(0)
    with torch.device(dev):
        model = build("ours", shape).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=dev.type == "cuda")
    amp = dev.type == "cuda"
    run_case(model, opt, "ours", shape, dev, B, secs, 2, 1, amp)  # warm-up, not profiled
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if dev.type == "cuda" else [])
    with profile(activities=acts) as prof:
        r = run_case(model, opt, "ours", shape, dev, B, secs, 0, 1, amp)
    if args.profile_trace:
        prof.export_chrome_trace(args.profile_trace)
    if dev.type == "cuda":  # the kernels themselves (an op's row would count them again)
        attr = "self_device_time_total"
        events = [e for e in prof.key_averages()
                  if e.device_type == torch.autograd.DeviceType.CUDA and getattr(e, attr, 0) > 0]
    else:
        attr = "self_cpu_time_total"
        events = [e for e in prof.key_averages() if getattr(e, attr, 0) > 0]
    total = sum(getattr(e, attr) for e in events) or 1.0
    shares = {}
    for e in events:
        name = e.key.lower()
        cat = next((c for c, pattern in PROFILE_CATEGORIES if re.search(pattern, name)),
                   "other (elementwise, copies)")
        shares[cat] = shares.get(cat, 0.0) + getattr(e, attr) / total
    where = "device" if dev.type == "cuda" else "CPU"
    log(f"# profile: ours, {secs:g} s x {B}, one step ({r['step_s']:.3f} s, {r['audio_s_per_s']:.1f} audio-s/s); "
        f"self {where} time by op:")
    for e in sorted(events, key=lambda e: -getattr(e, attr))[: args.profile_top]:
        log(f"# profile   {100 * getattr(e, attr) / total:5.1f} %  {getattr(e, attr) / 1e3:9.2f} ms  "
            f"x{e.count:<5d} {e.key[:90]}")
    log("# profile by category: " + ", ".join(f"{c} {100 * v:.1f} %"
                                             for c, v in sorted(shares.items(), key=lambda kv: -kv[1])))
    results.append(dict(model="ours-profile", secs=secs, batch=B, step_s=r["step_s"],
                        shares=shares, top=[dict(op=e.key, share=getattr(e, attr) / total, count=e.count)
                                            for e in sorted(events, key=lambda e: -getattr(e, attr))[:40]]))
    return shares


# ----------------------------------------------------------------------------- main
def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tiny", action="store_true", help="2-block d-64 model, float32, on the CPU")
    p.add_argument("--compile", action="store_true", help="torch.compile ours (compile time reported)")
    p.add_argument("--cases", default=None, help=f"SECONDSxBATCH,... (default {FULL_CASES})")
    p.add_argument("--models", default="ours,espnet")
    p.add_argument("--longform", default=None, help="MIN,MIN: stream-decoding RTFx instead of training")
    p.add_argument("--lf-windows", default="8,64", help="stream window seconds to try (--longform)")
    p.add_argument("--lf-batch", default="1", help="recordings per batch to try (--longform): RTFx "
                   "counts every recording's audio")
    p.add_argument("--profile", default=None, metavar="SECSxB",
                   help="profile one training step of ours at this case instead (torch.profiler)")
    p.add_argument("--profile-top", type=int, default=25, help="ops listed (--profile)")
    p.add_argument("--profile-trace", default=None, help="write a Chrome trace here (--profile)")
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)

    dev = torch.device("cuda" if torch.cuda.is_available() and not args.tiny else "cpu")
    shape = TINY if args.tiny else FULL
    if dev.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        log(f"# device: {torch.cuda.get_device_name()}  torch {torch.__version__}")
    else:
        torch.set_num_threads(min(4, os.cpu_count() or 1))
        log(f"# device: cpu ({torch.get_num_threads()} threads)  torch {torch.__version__}"
            + ("" if args.tiny else "  (no GPU: numbers are not meaningful)"))
    results = []
    info = dict(device=str(torch.cuda.get_device_name()) if dev.type == "cuda" else "cpu",
                torch=torch.__version__, shape=shape, tiny=args.tiny, compile=args.compile)

    if args.profile:
        shares = profile_bench(args, dev, shape, results)
        info["results"] = results
        if args.json:
            with open(args.json, "w") as f:
                json.dump(info, f, indent=1)
        log(f"gpu_profile_matmul_share={shares.get('matmul', 0.0):.3f}")
        return 0

    if args.longform:
        single, batched = longform_bench(args, dev, shape, results)
        info["results"] = results
        if args.json:
            with open(args.json, "w") as f:
                json.dump(info, f, indent=1)
        m = max(float(m) for m in args.longform.split(","))
        if batched is not None:
            log(f"gpu_longform_rtfx_{m:g}min_batch{batched['batch']}={batched['rtfx']:.1f}")
        if single is not None:
            log(f"gpu_longform_rtfx_{m:g}min={single['rtfx']:.1f}")
        return 0

    ceiling = matmul_ceiling(dev, args.tiny)
    info["ceiling_tflops"] = ceiling / 1e12
    log(f"# matmul ceiling ({'float32 1024^3' if args.tiny else 'bf16 8192^3'}): {ceiling / 1e12:.1f} TFLOP/s")
    be = sdpa_backends(dev)
    if be:
        log("# SDPA kernels for bf16 + additive bias with grad: " + ", ".join(f"{k}={v}" for k, v in be.items()))
        info["sdpa_backends"] = be
    log("# frontend excluded: input is random (B, T, 80) features; step = fwd + bwd + AdamW")
    log(f"{'model':16s} {'case':>12s} {'audio-s/s':>10s} {'step s':>8s} {'TFLOP/s':>8s} {'MFU':>7s} {'peak GiB':>8s}")
    train_bench(args, dev, shape, ceiling, results)
    info["results"] = results
    if args.json:
        with open(args.json, "w") as f:
            json.dump(info, f, indent=1)
    r30 = pick(results, "ours", 30.0)
    o300, e300 = pick(results, "ours", 300.0), pick(results, "espnet", 300.0)
    mfu30 = r30["mfu"] if r30 else float("nan")
    speed = o300["audio_s_per_s"] / e300["audio_s_per_s"] if (o300 and e300) else float("nan")
    log(f"gpu_mfu_30s={mfu30:.4f}")
    log(f"gpu_speedup_300s={speed:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
