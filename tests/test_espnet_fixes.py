"""usm_espnet.espnet_fixes: ESPnet's pad mask in linear time, identical to ESPnet's own."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from usm_espnet import espnet_fixes
from usm_espnet.registry import register

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def patched():
    register(["espnet2.tasks.asr"])
    assert espnet_fixes.apply() and espnet_fixes.original_pad_mask is not None
    return espnet_fixes.original_pad_mask


CASES = [  # (lengths, xs shape or None, length_dim, maxlen)
    ([5, 3, 0], None, -1, None),
    ([5, 3, 0], None, -1, 7),
    ([4], None, -1, None),
    ([6, 2], (2, 6), -1, None),
    ([6, 2], (2, 6), 1, None),
    ([9, 2, 7], (3, 9, 4), 1, None),  # frontend layout (B, T, F), length along dim 1
    ([9, 2, 7], (3, 4, 9), 2, None),
    ([9, 2, 7], (3, 4, 9), -1, None),
    ([12, 2, 7], (3, 4, 9), -1, None),  # a length beyond the tensor is clipped
]


@pytest.mark.parametrize("lengths,shape,length_dim,maxlen", CASES)
def test_linear_pad_mask_equals_espnets(patched, lengths, shape, length_dim, maxlen):
    lens = torch.tensor(lengths)
    xs = None if shape is None else torch.zeros(shape)
    want = patched(lens, xs, length_dim, maxlen)
    got = espnet_fixes.linear_pad_mask(lens, xs, length_dim, maxlen)
    assert got.dtype == want.dtype == torch.bool
    assert got.shape == want.shape and torch.equal(got, want)
    # make_pad_mask, the public function every ESPnet module calls, now gives the same
    from espnet2.legacy.nets.pytorch_backend.nets_utils import make_pad_mask

    if maxlen is None:
        assert torch.equal(make_pad_mask(lens, xs, length_dim), want)


def test_default_frontend_on_ten_minutes_stays_small():
    """ESPnet's DefaultFrontend on one 600 s waveform: ESPnet's quadratic mask needed about 10 GB
    (measured); with the fix the process grows by a few hundred MB. A fresh process, so the
    peak RSS is this call's."""
    code = (
        "import resource, torch\n"
        "from usm_espnet.registry import register\n"
        "register(['espnet2.tasks.asr'])\n"
        "from espnet2.asr.frontend.default import DefaultFrontend\n"
        "fe = DefaultFrontend(fs=16000, n_fft=512, win_length=400, hop_length=160, n_mels=80).eval()\n"
        "x = torch.randn(1, 16000 * 600)\n"
        "r0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "with torch.no_grad():\n"
        "    f, n = fe(x, torch.tensor([x.size(1)]))\n"
        "print(f.shape[1], int(n[0]), (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - r0) // 1024)\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    frames, n, grow_mb = map(int, out.stdout.split()[-3:])
    assert frames == n == 60001
    assert grow_mb < 1500, grow_mb
