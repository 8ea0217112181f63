"""Synthetic noise clips for additive-noise augmentation (noisy-student training).

Colored Gaussian noise: the power spectrum falls as ``1 / f**exponent`` (0 white,
1 pink, 2 brown), with slow loudness modulation so that clips are not stationary.
Written as 16 kHz PCM files with a ``noise.scp`` (``<id> <path>``), the list
ESPnet's ``--noise_scp`` reads; real recipes can point ``--noise_scp`` at MUSAN
or any other noise collection instead.
"""

from __future__ import annotations

import os
from typing import List

import numpy as np

SR = 16000


def colored_noise(num_samples: int, exponent: float, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS noise whose power spectrum is proportional to ``1 / f**exponent``."""
    if num_samples <= 0:
        raise ValueError(f"num_samples must be positive, got {num_samples}")
    spec = rng.standard_normal(num_samples // 2 + 1) + 1j * rng.standard_normal(num_samples // 2 + 1)
    f = np.fft.rfftfreq(num_samples, d=1.0 / SR)
    f[0] = f[1] if len(f) > 1 else 1.0
    spec *= f ** (-exponent / 2.0)
    x = np.fft.irfft(spec, n=num_samples)
    env = 1.0 + 0.5 * np.sin(2 * np.pi * rng.uniform(0.1, 0.5) * np.arange(num_samples) / SR
                             + rng.uniform(0, 2 * np.pi))
    x = x * env
    return (x / max(float(np.sqrt(np.mean(x ** 2))), 1e-12)).astype(np.float32)


def write_noise_set(out_dir: str, num_clips: int = 20, seconds: float = 5.0,
                    seed: int = 0) -> List[str]:
    """Write ``num_clips`` clips (white, pink, brown in turn) and ``noise.scp``; return the paths."""
    import soundfile as sf

    from usm_espnet.utils import staged_dir

    if num_clips <= 0:
        raise ValueError(f"num_clips must be positive, got {num_clips}")
    rng = np.random.default_rng(seed)
    names = []
    final = os.path.abspath(out_dir)
    with staged_dir(out_dir) as tmp:
        for i in range(num_clips):
            exponent = (0.0, 1.0, 2.0)[i % 3]
            x = 0.1 * colored_noise(int(seconds * SR), exponent, rng)
            name = f"noise{i:03d}_{('white', 'pink', 'brown')[i % 3]}"
            sf.write(os.path.join(tmp, f"{name}.wav"), x, SR, subtype="PCM_16")
            names.append(name)
        with open(os.path.join(tmp, "noise.scp"), "w", encoding="utf-8") as f:
            f.writelines(f"{n} {os.path.join(final, n + '.wav')}\n" for n in names)
    return [os.path.join(final, n + ".wav") for n in names]


def main(argv=None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="python -m usm_espnet.data.noise",
                                description="Write synthetic noise clips and noise.scp.")
    p.add_argument("--out_dir", required=True)
    p.add_argument("--num_clips", type=int, default=20)
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    paths = write_noise_set(a.out_dir, a.num_clips, a.seconds, a.seed)
    print(f"{len(paths)} noise clips and noise.scp in {a.out_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
