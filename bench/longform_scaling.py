"""Long-form decoding cost against recording length: 1 minute vs 60 minutes, on CPU.

    python bench/longform_scaling.py [--minutes 1,60] [--window_seconds S] [--mode auto]

A randomly initialised chunk-wise Conformer (the long-form recipe's 2.6M-parameter
model, 8 s chunks) with a CTC head decodes a noise recording of each length from
a wav file on disk through the same code as ``usm_espnet.bin.longform_inference``
(incremental reading, exact chunk-by-chunk streaming encoding -- mode ``auto`` --
or another ``--mode``, streaming greedy CTC).
Each length runs in a fresh process, which reports its decoding time per audio
second and its peak RSS growth over the RSS it had before decoding (model built,
file not read). Prints a line per length, then, as the last line,
``longform_scaling=<time ratio>,<memory ratio>``: 60-minute over 1-minute time per
audio second, and 60-minute over 1-minute peak RSS growth (target: both <= 1.2).
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


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def _write_noise(path: str, minutes: float) -> None:
    """A noise recording written block by block (never all in memory)."""
    import numpy as np
    import soundfile as sf

    rng = np.random.default_rng(0)
    n = int(minutes * 60 * 16000)
    with sf.SoundFile(path, "w", 16000, 1, subtype="PCM_16") as f:
        for a in range(0, n, 16000 * 60):
            f.write((0.1 * rng.standard_normal(min(16000 * 60, n - a))).astype("float32"))


def worker(wav: str, window: float, mode: str) -> dict:
    import torch

    from usm_espnet.longform.ctc import StreamingGreedy
    from usm_espnet.longform.encode import AudioReader, LongFormEncoder
    from usm_espnet.registry import register

    register(["espnet2.tasks.asr"])
    import yaml
    from espnet2.tasks.asr import ASRTask

    tmp = tempfile.mkdtemp()
    cfg = yaml.safe_load((ROOT / "egs/youtube_longform/asr1/conf/train_asr_chunk_conformer.yaml").read_text())
    cfg["normalize"] = "none"
    Path(tmp, "c.yaml").write_text(yaml.safe_dump(cfg))
    Path(tmp, "t.txt").write_text("\n".join(["<blank>", "<unk>", "<space>"] + list("abcdefghij") + ["<sos/eos>"]))
    args = ASRTask.get_parser().parse_args(["--config", f"{tmp}/c.yaml", "--token_list", f"{tmp}/t.txt",
                                            "--token_type", "char", "--output_dir", tmp])
    torch.manual_seed(0)
    model = ASRTask.build_model(args).eval()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    lf = LongFormEncoder(model, window, mode)
    reader = AudioReader(wav)
    base = _rss_mb()
    dec = StreamingGreedy()
    t0 = time.perf_counter()
    with torch.no_grad():
        for off, enc in lf.encode(reader):
            dec.feed(model.ctc.log_softmax(enc[None])[0], off)
    dt = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return {"audio_s": reader.num_samples / 16000, "seconds": dt, "base_mb": base,
            "peak_mb": peak, "growth_mb": peak - base, "tokens": len(dec.result())}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", default="1,60")
    p.add_argument("--window_seconds", type=float, default=None,
                   help="default: LongFormEncoder's (one chunk when streaming)")
    p.add_argument("--mode", choices=["auto", "stream", "exact", "fast"], default="auto")
    p.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.worker:
        print(json.dumps(worker(a.worker[0], float(a.worker[1]) or None, a.worker[2])))
        return 0
    mins = [float(m) for m in a.minutes.split(",")]
    res = {}
    with tempfile.TemporaryDirectory() as d:
        for m in mins:
            wav = os.path.join(d, f"{m:g}min.wav")
            _write_noise(wav, m)
            out = subprocess.run([sys.executable, __file__, "--worker", wav, str(a.window_seconds or 0), a.mode],
                                 capture_output=True, text=True)
            if out.returncode != 0:
                print(out.stderr[-3000:], file=sys.stderr)
                return 1
            r = json.loads(out.stdout.strip().splitlines()[-1])
            res[m] = r
            print(f"{m:g} min: {r['seconds']:.1f} s to decode ({r['seconds'] / r['audio_s'] * 1000:.2f} ms per "
                  f"audio second), peak RSS {r['peak_mb']:.0f} MB ({r['growth_mb']:.0f} MB over the "
                  f"{r['base_mb']:.0f} MB before decoding)", flush=True)
            os.remove(wav)
    lo, hi = res[mins[0]], res[mins[-1]]
    t_ratio = (hi["seconds"] / hi["audio_s"]) / (lo["seconds"] / lo["audio_s"])
    m_ratio = hi["growth_mb"] / max(lo["growth_mb"], 1e-9)
    print(f"longform_scaling={t_ratio:.3f},{m_ratio:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
