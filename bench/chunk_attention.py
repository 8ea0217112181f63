"""Chunk-wise attention vs ESPnet's global attention on long inputs, measured on CPU.

    python bench/chunk_attention.py [--lengths 30,120,300] [--repeats N] [--long-repeats N]
                                    [--dim 144] [--heads 4] [--blocks 4] [--kernel 15]

Two Conformer encoders of the same shape (output size, heads, feed-forward
units, blocks, depthwise kernel; macaron FFNs, relative positions, swish,
convolution module, conv2d 4x subsampling) are compared:

* ESPnet: ``espnet2.asr.encoder.conformer_encoder.ConformerEncoder`` with
  global relative-position self-attention (``rel_pos`` / ``rel_selfattn``,
  ``rel_pos_type=latest``) -- time and memory quadratic in length;
* ours: ``usm_espnet.nets.chunk_conformer.ChunkConformerEncoder`` with
  ``attention_type=chunk``, ``chunk_seconds=8`` (USM Sec. 3.5) -- linear.

The default size is the project's tiny model (conf/model/chunk_conformer_tiny.yaml:
144 dims, 4 heads, 576 units, 4 blocks, kernel 15), which is feasible on a few
CPU cores; both parameter counts are printed (they must agree within 5 %).

For each input length (seconds of 80-dim features at 10 ms frames, batch 1)
and each model, one training step -- forward, ``loss = output.sum()``,
backward, in train mode -- is run once as a warm-up and then ``--repeats``
times (``--long-repeats`` times from ``--long-from`` seconds on); the median
is reported. Every (model, length) pair runs in a fresh Python process (this
script re-invoked with a hidden ``--worker`` flag), so that its peak memory is
its own: peak RSS growth = ``ru_maxrss`` after the steps minus the RSS right
before the measured forward. That baseline is taken after the model and the
input are built and after one short (2 s) step, which loads the code torch
maps in lazily on a first call (tens of MB of shared-library pages, the same
for both models), so the figure is the memory the step itself needs.
The parent process never imports torch: a child started by vfork + exec
inherits its parent's ``ru_maxrss``, which would otherwise leak into the
child's peak.

Timing uses one torch thread by default (``--threads``): with the cores shared
with other jobs, OpenMP threads that wait on each other at every barrier make
multi-threaded timings swing by an order of magnitude; single-threaded ones
are stable and compare the two models fairly.

A worker that runs out of memory or time is reported as such instead of
stopping the benchmark. To fail cleanly rather than wake the kernel's OOM
killer, each worker caps its address space (``RLIMIT_AS``) at what it holds
before the forward plus ``--mem-limit-gb`` (default: 60 % of the memory
available at start), so an oversized allocation raises a catchable error.
Once ESPnet fails at one length, longer lengths are skipped for it.

Output: the parameter counts, a table (length, ESPnet time, ours time, speedup
= ESPnet / ours, both peak-memory growths), one line per model on how its
memory scales from the shortest to the longest length (1.0 = linear), and, as
the last line, ``chunk_speedup_300s=<x>`` (``nan`` when ESPnet could not be
measured at 300 s).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

N_MELS = 80
FRAMES_PER_SECOND = 100  # 10 ms feature frames
CHUNK_SECONDS = 8.0
MODELS = ("espnet", "ours")
RESULT_TAG = "RESULT "  # prefix of the worker's one-line JSON answer on stdout


# --------------------------------------------------------------------------- models


def build_encoder(model: str, dim: int, heads: int, units: int, blocks: int, kernel: int,
                  espnet_sdpa: bool = False):
    """One of the two encoders, with the same shape and dropout settings."""
    common = dict(input_size=N_MELS, output_size=dim, attention_heads=heads,
                  linear_units=units, num_blocks=blocks, cnn_module_kernel=kernel,
                  dropout_rate=0.1, attention_dropout_rate=0.0)
    if model == "espnet":
        from espnet2.asr.encoder.conformer_encoder import ConformerEncoder

        return ConformerEncoder(
            **common, positional_dropout_rate=0.1, input_layer="conv2d",
            normalize_before=True, macaron_style=True, pos_enc_layer_type="rel_pos",
            selfattention_layer_type="rel_selfattn", rel_pos_type="latest",
            use_cnn_module=True, activation_type="swish", use_sdpa=espnet_sdpa)
    if model == "ours":
        from usm_espnet.nets.chunk_conformer import ChunkConformerEncoder

        return ChunkConformerEncoder(**common, attention_type="chunk",
                                     chunk_seconds=CHUNK_SECONDS, input_frame_shift_ms=10.0)
    raise ValueError(f"unknown model {model!r}")


def n_params(module) -> int:
    return sum(p.numel() for p in module.parameters())


# --------------------------------------------------------------------------- worker


def _rss_kb() -> int:
    """Current resident set size of this process, in KiB."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def _vm_size_bytes() -> int:
    """Current virtual address-space size of this process, in bytes."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _is_oom(exc: BaseException) -> bool:
    msg = str(exc).lower()
    return isinstance(exc, MemoryError) or "can't allocate memory" in msg \
        or "cannot allocate memory" in msg or "not enough memory" in msg


def worker(spec: dict) -> dict:
    """Measure one (model, length) pair in this (fresh) process; returns a JSON-able dict."""
    import torch

    if spec["threads"] > 0:
        torch.set_num_threads(spec["threads"])
    torch.manual_seed(0)
    enc = build_encoder(spec["model"], spec["dim"], spec["heads"], spec["units"],
                        spec["blocks"], spec["kernel"], spec["espnet_sdpa"])
    res = {"model": spec["model"], "seconds": spec["seconds"], "status": "ok",
           "params": n_params(enc), "torch": torch.__version__,
           "threads": torch.get_num_threads()}
    if spec.get("params_only"):
        return res
    enc.train()

    def step(feats):
        enc.zero_grad(set_to_none=True)
        out = enc(feats, torch.tensor([feats.size(1)]))[0]
        out.sum().backward()

    # A 2 s step first, so that code loaded lazily on the first call (tens of MB
    # of shared-library pages) and one-time buffers are not counted as growth.
    step(torch.randn(1, 2 * FRAMES_PER_SECOND, N_MELS))
    feats = torch.randn(1, int(round(spec["seconds"] * FRAMES_PER_SECOND)), N_MELS)

    # Baseline: everything that exists before the measured forward (interpreter,
    # libraries, model, input). The cap leaves --mem-limit-gb on top of it.
    rss0_kb = _rss_kb()
    res["floor_mb"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0_kb) / 1024
    limit = _vm_size_bytes() + int(spec["mem_limit_gb"] * 2 ** 30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        step(feats)  # warm-up; its peak counts in ru_maxrss too
        times = []
        for _ in range(spec["repeats"]):
            t = time.perf_counter()
            step(feats)
            times.append(time.perf_counter() - t)
        res["time_s"] = statistics.median(times)
    except (RuntimeError, MemoryError) as exc:
        if not _is_oom(exc):
            raise
        res["status"] = "oom"
        asked = re.search(r"allocate (\d+) bytes", str(exc))
        res["error"] = (f"an allocation of {int(asked.group(1)) / 2 ** 20:.0f} MB failed"
                        if asked else str(exc).strip().splitlines()[-1][:200])
        res["error"] += f" (memory cap +{spec['mem_limit_gb']:.1f} GiB)"
    # ru_maxrss is in KiB on Linux: the process's peak, minus the pre-forward RSS.
    # (floor_mb: the same difference before the forward, i.e. the lowest value
    # this could report; it stays small because the parent process is small --
    # a child started by vfork + exec inherits its parent's ru_maxrss.)
    res["peak_mb"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0_kb) / 1024
    return res


def run_worker(spec: dict, timeout: float) -> dict:
    """Run ``worker(spec)`` in a fresh interpreter; failures become a status, not an exception."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(spec)]
    base = {"model": spec["model"], "seconds": spec["seconds"]}
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:  # the child is killed by subprocess.run
        return {**base, "status": "timeout", "error": f"over {timeout:g} s"}
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_TAG):
            return json.loads(line[len(RESULT_TAG):])
    # No answer: a crash, or killed by a signal (-9 is usually the kernel's OOM killer).
    status = "oom" if proc.returncode == -9 else "crash"
    tail = (proc.stderr.strip().splitlines() or [""])[-1][:200]
    return {**base, "status": status, "error": f"exit {proc.returncode}: {tail}"}


# --------------------------------------------------------------------------- report


def _available_gb() -> float:
    """MemAvailable from /proc/meminfo in GiB (nan when unknown)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 2 ** 20
    except OSError:
        pass
    return math.nan


def _fmt_time(r: dict) -> str:
    return f"{r['time_s']:.2f} s" if r["status"] == "ok" else r["status"].upper()


def _fmt_mem(r: dict) -> str:
    return f"{r['peak_mb']:.0f}" if r["status"] == "ok" else "-"


def _scaling(results: dict, model: str, lengths: list) -> str:
    """Peak-memory growth from the shortest to the longest length, per unit of length."""
    ok = [L for L in lengths if results[(model, L)]["status"] == "ok"]
    if len(ok) < 2:
        return "n/a (fewer than two lengths measured)"
    lo, hi = ok[0], ok[-1]
    ratio = results[(model, hi)]["peak_mb"] / results[(model, lo)]["peak_mb"]
    note = "" if hi == lengths[-1] else f"; {lengths[-1]:g} s not measured"
    return (f"peak {hi:g} s / {lo:g} s = {ratio:.2f}, / {hi / lo:g} = "
            f"{ratio / (hi / lo):.2f} (1.0 = linear{note})")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--worker", help=argparse.SUPPRESS)  # internal: one measurement, as JSON
    p.add_argument("--lengths", default="30,120,300",
                   help="input lengths in seconds, comma-separated")
    p.add_argument("--repeats", type=int, default=5, help="timed steps per measurement")
    p.add_argument("--long-repeats", type=int, default=3,
                   help="timed steps from --long-from seconds on")
    p.add_argument("--long-from", type=float, default=120.0)
    p.add_argument("--dim", type=int, default=144, help="output_size")
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--blocks", type=int, default=4)
    p.add_argument("--units", type=int, default=0, help="linear_units (default 4 x dim)")
    p.add_argument("--kernel", type=int, default=15, help="cnn_module_kernel")
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads per measurement (0: torch's default; see the docstring)")
    p.add_argument("--timeout", type=float, default=600.0,
                   help="seconds per (model, length) measurement before it is given up")
    p.add_argument("--mem-limit-gb", type=float, default=0.0,
                   help="memory a measurement may add (default: 60%% of MemAvailable)")
    p.add_argument("--espnet-sdpa", action="store_true",
                   help="ESPnet with use_sdpa=True (default: ESPnet's default, False)")
    a = p.parse_args(argv)

    if a.worker:
        print(RESULT_TAG + json.dumps(worker(json.loads(a.worker))), flush=True)
        return 0

    lengths = sorted({float(s) for s in a.lengths.split(",") if s.strip()})
    if not lengths or min(lengths) <= 0:
        p.error("--lengths must be positive seconds")
    units = a.units or 4 * a.dim
    mem_gb = a.mem_limit_gb or 0.6 * _available_gb()
    if math.isnan(mem_gb):
        mem_gb = 8.0

    # Everything model-related, parameter counts included, happens in workers:
    # this process must stay small, because a child started by vfork + exec
    # starts with its parent's ru_maxrss and would report that as its own peak.
    spec0 = dict(dim=a.dim, heads=a.heads, units=units, blocks=a.blocks, kernel=a.kernel,
                 threads=a.threads, mem_limit_gb=mem_gb, espnet_sdpa=a.espnet_sdpa)
    info = {m: run_worker(dict(spec0, model=m, seconds=0.0, params_only=True), a.timeout)
            for m in MODELS}
    for m, r in info.items():
        if r["status"] != "ok":
            print(f"ERROR: cannot build the {m} encoder: {r.get('error', '')}", file=sys.stderr)
            return 1
    counts = {m: info[m]["params"] for m in MODELS}
    diff = abs(counts["ours"] - counts["espnet"]) / counts["espnet"]
    print(f"# Conformer d={a.dim} heads={a.heads} units={units} blocks={a.blocks} "
          f"kernel={a.kernel}; batch 1, {N_MELS}-dim features at 10 ms; "
          f"fwd + bwd of output.sum(), train mode")
    print(f"# params: ESPnet ConformerEncoder (global rel-pos attention) "
          f"{counts['espnet']:,}; ours ChunkConformerEncoder (chunk {CHUNK_SECONDS:g} s) "
          f"{counts['ours']:,}; differ by {100 * diff:.2f} %"
          + ("" if diff <= 0.05 else "  WARNING: more than 5 %"))
    print(f"# torch {info['ours']['torch']}, {info['ours']['threads']} thread(s); median of "
          f"{a.repeats} ({a.long_repeats} from {a.long_from:g} s) after 1 warm-up; fresh process "
          f"per measurement; memory = peak RSS growth over the pre-forward RSS, capped at "
          f"{mem_gb:.2f} GiB; timeout {a.timeout:g} s", flush=True)

    results = {}
    failed_at = {}  # model -> shortest length where it failed
    for L in lengths:
        for m in MODELS:
            if m in failed_at:
                results[(m, L)] = {"model": m, "seconds": L, "status": "skipped",
                                   "error": f"{failed_at[m]:g} s already failed"}
            else:
                spec = dict(spec0, model=m, seconds=L,
                            repeats=a.repeats if L < a.long_from else a.long_repeats)
                results[(m, L)] = run_worker(spec, a.timeout)
            r = results[(m, L)]
            if r["status"] != "ok":
                failed_at.setdefault(m, L)
            detail = (f"{r['time_s']:.2f} s, peak +{r['peak_mb']:.0f} MB "
                      f"(ru_maxrss was +{max(0.0, r['floor_mb']):.0f} MB before the forward)"
                      if r["status"] == "ok"
                      else f"{r['status']}: {r.get('error', '')}")
            print(f"#   {m:>6} {L:>5g} s: {detail}", flush=True)

    print()
    print(f"{'length':>8} {'ESPnet time':>12} {'ours time':>10} {'speedup':>8} "
          f"{'ESPnet MB':>10} {'ours MB':>8}")
    for L in lengths:
        e, o = results[("espnet", L)], results[("ours", L)]
        ok = e["status"] == "ok" and o["status"] == "ok"
        speed = f"{e['time_s'] / o['time_s']:.2f}x" if ok else "-"
        print(f"{L:>7g}s {_fmt_time(e):>12} {_fmt_time(o):>10} {speed:>8} "
              f"{_fmt_mem(e):>10} {_fmt_mem(o):>8}")
    for m, name in (("ours", "ours (chunk)"), ("espnet", "ESPnet (global)")):
        print(f"memory scaling, {name}: {_scaling(results, m, lengths)}")
    for L in lengths:
        for m in MODELS:
            r = results[(m, L)]
            if r["status"] not in ("ok", "skipped"):
                print(f"note: {m} at {L:g} s: {r['status']} ({r.get('error', '')})")

    e, o = results.get(("espnet", 300.0)), results.get(("ours", 300.0))
    speedup = (e["time_s"] / o["time_s"]
               if e and o and e["status"] == "ok" and o["status"] == "ok" else math.nan)
    print(f"chunk_speedup_300s={speedup:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
