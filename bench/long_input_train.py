"""One training step of a whole ESPnet ASR model on one long utterance: memory against length.

    python bench/long_input_train.py [--minutes 1,5] [--long_minutes 30] [--chars_per_second 12]
                                     [--config conf/asr/conformer_0.6b_ctc.yaml] [--tiny] [--device cuda]

``bench/gpu_train.py`` times the encoder alone on random features; this runs what a
recipe trains: ``ESPnetASRModel`` built by ESPnet's ``ASRTask`` from a config (frontend
STFT + log-mel, SpecAugment, the chunk-wise Conformer, CTC), forward + backward + an AdamW
step on one utterance of M minutes of noise with a random transcript
(``--chars_per_second``, default 12). CTC's forward-backward holds a table of encoder
frames x (2 x transcript length + 1), which grows with the square of the length whatever
the rest does (60 minutes at 12 characters per second: 90,000 x 86,401 floats, 31 GB --
the size ESPnet asked for when the CPU ran out); ``--chars_per_second`` lowers it. Each
run is a fresh process; it reports the step's wall time and its peak memory growth (CPU:
peak RSS over the RSS before the step; CUDA: ``max_memory_allocated`` over the memory
before the step). ``--frontend_only`` runs the model's frontend alone instead (eval mode,
no gradients), as one-pass decoding does.

Each length in ``--minutes`` runs twice: with usm-espnet's linear-time pad mask
(``usm_espnet.espnet_fixes``, what our entry points use) and with ESPnet's own (the
baseline, ``(T + 1)^2`` per mask). ``--long_minutes`` adds lengths run only with the fix.
``--tiny`` (the default on a CPU) shrinks the encoder to 2 blocks of d 64 (subsampling
channels 8) so the frontend and the pipeline, not the encoder, dominate.

Last lines: ``long_input_baseline_over_fixed_<M>min=`` (ESPnet's mask / ours, peak growth
at the longest of ``--minutes``) and ``long_input_growth_per_minute_ratio=`` (ours: growth
per minute at the longest length / at the shortest; 1.0 is linear in length).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from longform_scaling import _rss_mb  # noqa: E402 - the current RSS, as that bench reads it

CHARS = list("abcdefghijklmnopqrstuvwxyz")


def worker(config: str, minutes: float, fixed: bool, tiny: bool, device: str, cps: float,
           frontend_only: bool = False) -> dict:
    import numpy as np
    import torch
    import yaml

    from usm_espnet import espnet_fixes
    from usm_espnet.registry import register

    if not fixed:  # ESPnet's own mask: keep register() from replacing it
        espnet_fixes._applied = True
    register(["espnet2.tasks.asr"])
    from espnet2.tasks.asr import ASRTask

    tmp = tempfile.mkdtemp()
    cfg = yaml.safe_load(Path(config).read_text())
    if tiny:
        cfg["encoder_conf"].update(output_size=64, attention_heads=4, linear_units=256, num_blocks=2,
                                   subsampling_channels=8)
    cfg["normalize"] = None
    Path(tmp, "c.yaml").write_text(yaml.safe_dump(cfg))
    Path(tmp, "t.txt").write_text("\n".join(["<blank>", "<unk>", "<space>", *CHARS, "<sos/eos>"]) + "\n")
    args = ASRTask.get_parser().parse_args(["--config", f"{tmp}/c.yaml", "--token_list", f"{tmp}/t.txt",
                                            "--token_type", "char", "--output_dir", tmp])
    torch.manual_seed(0)
    dev = torch.device(device)
    model = ASRTask.build_model(args).to(dev).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    rng = np.random.default_rng(0)
    n = int(minutes * 60 * 16000)
    speech = torch.from_numpy((0.1 * rng.standard_normal(n)).astype(np.float32))[None].to(dev)
    text = torch.from_numpy(rng.integers(3, 3 + len(CHARS), max(1, int(minutes * 60 * cps))))[None].to(dev)
    cuda = dev.type == "cuda"
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated() / 2 ** 20
    else:
        base = _rss_mb()
    t0 = time.perf_counter()
    if frontend_only:  # ESPnet's frontend alone, eval mode (as at inference)
        model.eval()
        with torch.no_grad():
            feats, _ = model.frontend(speech, torch.tensor([n], device=dev))
        loss = feats.float().mean()
    else:
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=cuda):
            loss, stats, _ = model(speech, torch.tensor([n], device=dev), text,
                                   torch.tensor([text.size(1)], device=dev))
        loss.backward()
        opt.step()
    if cuda:
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated() / 2 ** 20
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return {"minutes": minutes, "fixed": fixed, "seconds": time.perf_counter() - t0,
            "growth_mb": peak - base, "loss": float(loss)}


def run(config, minutes, fixed, tiny, device, cps, frontend_only) -> dict:
    cmd = [sys.executable, __file__, "--worker",
           json.dumps([config, minutes, fixed, tiny, device, cps, frontend_only])]
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        tail = (out.stderr.strip().splitlines() or ["?"])[-1]
        return {"minutes": minutes, "fixed": fixed, "error": tail}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", default=str(ROOT / "conf/asr/conformer_0.6b_ctc.yaml"))
    p.add_argument("--minutes", default="1,5", help="lengths run with our mask and with ESPnet's")
    p.add_argument("--long_minutes", default="", help="lengths run with our mask only")
    p.add_argument("--tiny", action="store_true", help="2-block d-64 encoder (default on a CPU)")
    p.add_argument("--chars_per_second", type=float, default=12.0,
                   help="transcript length (CTC's memory is frames x transcript length)")
    p.add_argument("--frontend_only", action="store_true",
                   help="only the model's frontend (eval mode, no gradients) instead of a training step")
    p.add_argument("--device", default="cpu")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.worker:
        print(json.dumps(worker(*json.loads(a.worker))))
        return 0
    tiny = a.tiny or a.device == "cpu"
    mins = [float(m) for m in a.minutes.split(",") if m]
    longs = [float(m) for m in a.long_minutes.split(",") if m]
    unit = "peak RSS growth" if a.device == "cpu" else "peak CUDA memory growth"
    what = ("the frontend alone (eval mode)" if a.frontend_only else
            f"one training step (frontend, SpecAugment, encoder, CTC, AdamW), {a.chars_per_second:g} "
            f"characters per second")
    print(f"# {Path(a.config).name}{' (tiny encoder)' if tiny else ''} on {a.device}: {what}, "
          f"one utterance; {unit}", flush=True)
    res = {}
    for m in mins + longs:
        for fixed in ((True, False) if m in mins else (True,)):
            r = run(a.config, m, fixed, tiny, a.device, a.chars_per_second, a.frontend_only)
            res[m, fixed] = r
            name = "usm pad mask" if fixed else "espnet pad mask"
            if "error" in r:
                print(f"{m:6g} min  {name:16s} failed: {r['error']}", flush=True)
            else:
                print(f"{m:6g} min  {name:16s} {r['seconds']:8.2f} s  {r['growth_mb']:9.0f} MB  "
                      f"({r['growth_mb'] / m:7.0f} MB per minute)", flush=True)
    ok = {k: r for k, r in res.items() if "error" not in r}
    top = max(mins)
    if (top, True) in ok and (top, False) in ok:
        print(f"long_input_baseline_over_fixed_{top:g}min="
              f"{ok[top, False]['growth_mb'] / ok[top, True]['growth_mb']:.2f}")
    fixed_lengths = sorted(m for (m, f) in ok if f)
    if len(fixed_lengths) >= 2:
        lo, hi = ok[fixed_lengths[0], True], ok[fixed_lengths[-1], True]
        print(f"long_input_growth_per_minute_ratio="
              f"{(hi['growth_mb'] / hi['minutes']) / (lo['growth_mb'] / lo['minutes']):.3f}")
    return 0 if len(ok) == len(res) else 1


if __name__ == "__main__":
    sys.exit(main())
