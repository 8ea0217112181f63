"""BEST-RQ health: the prior baseline, masked accuracy and label perplexity over a whole set."""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from usm_espnet.ssl.best_rq import BestRQLoss
from usm_espnet.ssl.health import health_line

ROOT = Path(__file__).resolve().parents[2]


def _batch(labels_per_head, dim=4):
    T = len(labels_per_head[0])
    labels = torch.tensor(labels_per_head).T[None]  # (1, T, N)
    enc = torch.randn(1, T, dim)
    return enc, torch.tensor([T]), labels, torch.ones(1, T, dtype=torch.bool)


def test_eval_summary_counts_every_batch_of_the_set():
    torch.manual_seed(0)
    loss = BestRQLoss(4, num_quantizers=2, codebook_size=5).eval()
    # head 0 over both batches: code 2 is 4 of 8 (batch A alone: code 1, 3 of 4); head 1: 3 of 8
    a = _batch([[1, 1, 1, 2], [0, 0, 3, 3]])
    b = _batch([[2, 2, 2, 4], [0, 1, 2, 3]])
    with torch.no_grad():
        _, sa = loss(*a)
        _, sb = loss(*b)
    assert sa["prior_acc"].item() == pytest.approx((3 / 4 + 2 / 4) / 2)
    s = loss.eval_summary()
    assert s["masked_frames"] == 8
    assert s["heads"]["prior_acc"] == pytest.approx([4 / 8, 3 / 8])
    p0 = torch.tensor([0, 3, 4, 0, 1], dtype=torch.float64) / 8
    ent0 = -(p0[p0 > 0] * p0[p0 > 0].log()).sum().item()
    assert s["heads"]["label_perplexity"][0] == pytest.approx(math.exp(ent0))
    # masked accuracy is the fraction of hits over both batches
    with torch.no_grad():
        hits = sum(int((loss.heads[0](x[0][0]).argmax(-1) == x[2][0, :, 0]).sum()) for x in (a, b))
    assert s["heads"]["masked_acc"][0] == pytest.approx(hits / 8)
    loss.reset_eval_summary()
    assert loss.eval_summary() is None


def test_training_mode_does_not_accumulate():
    loss = BestRQLoss(4, num_quantizers=1, codebook_size=5).train()
    loss(*_batch([[1, 2, 3]]))
    assert loss.eval_summary() is None


def _write(path, acc, prior):
    rec = {"epoch": 3, "masked_frames": 100, "masked_acc": acc, "prior_acc": prior, "label_perplexity": 42.0}
    path.write_text(json.dumps(rec) + "\n" + '{"epoch": 4, "mask')  # a cut-off last line is ignored
    return path


def test_health_line_warns_below_ratio(tmp_path):
    lines = health_line(_write(tmp_path / "h.jsonl", 0.09, 0.08))
    assert len(lines) == 2 and "1.12x the prior baseline" in lines[0] and "epoch 3" in lines[0]
    assert lines[1].startswith("WARNING: pre-training learned nothing beyond the label prior")
    assert health_line(_write(tmp_path / "g.jsonl", 0.2, 0.08)) == [health_line(tmp_path / "g.jsonl")[0]]


def test_pretrain_health_cli(tmp_path):
    _write(tmp_path / "bestrq_health.jsonl", 0.2, 0.05)
    r = subprocess.run([sys.executable, "-m", "usm_espnet.bin.pretrain_health", str(tmp_path)],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0 and "4.00x the prior baseline" in r.stdout, r.stderr
    r = subprocess.run([sys.executable, "-m", "usm_espnet.bin.pretrain_health", str(tmp_path / "nope")],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 1 and r.stderr.startswith("ERROR: ") and r.stderr.count("\n") == 1


def test_quantizer_labels_only_selected_frames_in_bounded_chunks():
    from usm_espnet.ssl.best_rq import IGNORE_LABEL, RandomProjectionQuantizer

    torch.manual_seed(1)
    q = RandomProjectionQuantizer(6, 2, num_quantizers=3, codebook_size=11, codebook_dim=4, seed=5)
    feats, lens = torch.randn(2, 21, 6), torch.tensor([21, 13])
    full, _ = q(feats, lens)
    select = torch.rand(2, 10) < 0.5
    q.chunk_rows = 3  # several chunks per quantizer
    part, label_lens = q(feats, lens, select=select)
    assert label_lens.tolist() == [10, 6]
    want = select & (torch.arange(10)[None] < label_lens[:, None])
    assert torch.equal(part[want], full[want])
    assert (part[~want] == IGNORE_LABEL).all()


def test_time_warp_is_refused_in_pretraining():
    from espnet2.asr.specaug.specaug import SpecAug

    from usm_espnet.nets.usm_conformer import USMConformerEncoder
    from usm_espnet.ssl.best_rq_espnet_model import ESPnetBestRQModel

    enc = USMConformerEncoder(input_size=20, output_size=16, attention_heads=2, linear_units=32,
                              num_blocks=1, input_layer="conv2d")
    with pytest.raises(ValueError, match="time warp"):
        ESPnetBestRQModel(20, None, SpecAug(apply_time_warp=True, apply_time_mask=False), None, enc,
                          num_quantizers=2, codebook_size=8)
    ESPnetBestRQModel(20, None, SpecAug(apply_time_warp=False, apply_time_mask=False), None, enc,
                      num_quantizers=2, codebook_size=8)
