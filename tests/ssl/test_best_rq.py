"""Tests for usm_espnet.ssl.best_rq (tiny dimensions, CPU only)."""

from __future__ import annotations

from typing import Optional, Tuple

import pytest
import torch
from torch import nn

from usm_espnet.ssl.best_rq import (
    BestRQ,
    BestRQConfig,
    BestRQLoss,
    RandomProjectionQuantizer,
    apply_mask,
    compute_mask,
    mask_to_encoder_rate,
    stack_frames,
)

FDIM = 8
K = 32
CDIM = 4
STACK = 4


class TinyEncoder(nn.Module):
    """Stack frames then a small MLP (ESPnet encoder interface).

    Args:
        feature_dim: Input dim.
        stack: Subsampling factor.
        dim: Output dim.
    """

    def __init__(self, feature_dim: int, stack: int, dim: int = 16) -> None:
        super().__init__()
        self.stack = stack
        self.dim = dim
        self.net = nn.Sequential(
            nn.Linear(feature_dim * stack, dim), nn.Tanh(), nn.Linear(dim, dim)
        )

    def output_size(self) -> int:
        return self.dim

    def forward(
        self, xs: torch.Tensor, lens: torch.Tensor
    ) -> Tuple[torch.Tensor, torch.Tensor, Optional[torch.Tensor]]:
        x, out_lens = stack_frames(xs, lens, self.stack)
        return self.net(x), out_lens, None


def _batch(B: int = 3, T: int = 50, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    feats = torch.randn(B, T, FDIM, generator=g)
    lens = torch.tensor([T, T - 7, T - 20][:B])
    return feats, lens


def _quant(n: int, seed: int = 0) -> RandomProjectionQuantizer:
    return RandomProjectionQuantizer(FDIM, STACK, n, K, CDIM, seed=seed)


def _cfg(n: int, **kw) -> BestRQConfig:
    base = dict(num_quantizers=n, codebook_size=K, codebook_dim=CDIM)
    base.update(kw)
    return BestRQConfig(**base)


def test_config_defaults():
    c = BestRQConfig()
    assert (c.num_quantizers, c.codebook_size, c.codebook_dim) == (16, 8192, 16)
    assert (c.mask_prob, c.mask_span_ms, c.noise_std) == (0.01, 400, 0.1)
    assert c.frame_shift_ms == 10 and c.seed == 0 and c.mask_span == 40
    with pytest.raises(Exception):
        c.seed = 1  # frozen


def test_stack_frames():
    x = torch.arange(2 * 10 * 2, dtype=torch.float).view(2, 10, 2)
    y, lens = stack_frames(x, torch.tensor([10, 7]), 3)
    assert y.shape == (2, 3, 6)
    assert torch.equal(y[0, 1], x[0, 3:6].reshape(-1))
    assert lens.tolist() == [3, 2]


@pytest.mark.parametrize("n", [1, 16])
def test_label_shapes_dtype_range(n):
    feats, lens = _batch()
    labels, llens = _quant(n)(feats, lens)
    assert labels.shape == (3, 50 // STACK, n) and labels.dtype == torch.long
    assert llens.tolist() == (lens // STACK).tolist()
    for b in range(3):
        valid = labels[b, : llens[b]]
        assert valid.min() >= 0 and valid.max() < K
        assert (labels[b, llens[b] :] == -1).all()


@pytest.mark.parametrize("n", [1, 16])
def test_labels_deterministic_per_seed(n):
    feats, lens = _batch()
    a, _ = _quant(n, seed=0)(feats, lens)
    b, _ = _quant(n, seed=0)(feats, lens)
    c, _ = _quant(n, seed=1)(feats, lens)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


@pytest.mark.parametrize("n", [1, 16])
def test_state_dict_round_trip(n):
    q0, q1 = _quant(n, seed=0), _quant(n, seed=123)
    sd = q0.state_dict()
    assert set(sd) == {"projections", "codebooks"}
    assert not torch.equal(q1.projections, q0.projections)
    q1.load_state_dict(sd)
    assert torch.equal(q1.projections, q0.projections)
    assert torch.equal(q1.codebooks, q0.codebooks)
    feats, lens = _batch()
    assert torch.equal(q0(feats, lens)[0], q1(feats, lens)[0])
    # Whole BEST-RQ model round trip, too.
    m0 = BestRQ(TinyEncoder(FDIM, STACK), FDIM, STACK, _cfg(n, seed=0))
    m1 = BestRQ(TinyEncoder(FDIM, STACK), FDIM, STACK, _cfg(n, seed=7))
    m1.load_state_dict(m0.state_dict())
    assert torch.equal(m1.quantizer.codebooks, m0.quantizer.codebooks)


@pytest.mark.parametrize("n", [1, 16])
def test_codebooks_normalised_and_frozen(n):
    q = _quant(n)
    assert q.projections.shape == (n, FDIM * STACK, CDIM)
    assert q.codebooks.shape == (n, K, CDIM)
    assert torch.allclose(q.codebooks.norm(dim=-1), torch.ones(n, K), atol=1e-5)
    assert list(q.parameters()) == []
    feats, lens = _batch()
    feats.requires_grad_(True)
    labels, _ = q(feats, lens)
    assert not labels.requires_grad
    assert not q.projections.requires_grad and not q.codebooks.requires_grad


@pytest.mark.parametrize("n", [1, 16])
def test_labels_match_brute_force(n):
    q = _quant(n)
    feats, lens = _batch(B=2, T=13)
    labels, llens = q(feats, lens)
    for b in range(2):
        for t in range(int(llens[b])):
            x = feats[b, t * STACK : (t + 1) * STACK].reshape(-1)
            x = (x - x.mean()) / torch.sqrt(x.var(unbiased=False) + 1e-5)
            for i in range(n):
                p = x @ q.projections[i]
                p = p / p.norm()
                best, best_sim = -1, -float("inf")
                for k in range(K):
                    c = q.codebooks[i, k]
                    sim = float((p * c).sum() / c.norm())
                    if sim > best_sim:
                        best, best_sim = k, sim
                assert labels[b, t, i].item() == best


def _runs(row: torch.Tensor):
    """(start, length) of True runs in a 1-D bool tensor."""
    out, start = [], None
    for t, v in enumerate(row.tolist() + [False]):
        if v and start is None:
            start = t
        elif not v and start is not None:
            out.append((start, t - start))
            start = None
    return out


def test_mask_padding_and_spans():
    g = torch.Generator().manual_seed(0)
    lens = torch.tensor([200, 150, 90, 5])
    for _ in range(20):
        m = compute_mask(lens, 200, 0.02, 10, g)
        assert m.dtype == torch.bool and m.shape == (4, 200)
        for b, L in enumerate(lens.tolist()):
            assert not m[b, L:].any()
            for s, length in _runs(m[b, :L]):
                assert length >= 10 or s + length == L  # merged or clipped
        assert m[:3].any(dim=1).all()  # >= 1 masked frame when len >= span


def test_mask_forced_single_span():
    lens = torch.tensor([30, 12, 10, 9])
    m = compute_mask(lens, 30, 0.0, 10, torch.Generator().manual_seed(3))
    for b in range(3):
        runs = _runs(m[b])
        assert len(runs) == 1 and runs[0][1] == 10
        assert runs[0][0] + 10 <= lens[b]
    assert not m[3].any()  # shorter than the span: may stay unmasked


def test_mask_fraction_matches_expectation():
    p, span = 0.01, 10
    lens = torch.full((4,), 20000)
    m = compute_mask(lens, 20000, p, span, torch.Generator().manual_seed(1))
    expected = 1 - (1 - p) ** span
    assert abs(m.float().mean().item() - expected) < 0.02


def test_apply_mask_only_changes_masked():
    feats, lens = _batch()
    m = compute_mask(lens, 50, 0.05, 5, torch.Generator().manual_seed(0))
    out = apply_mask(feats, m, 0.1, torch.Generator().manual_seed(0))
    assert torch.equal(out[~m], feats[~m])
    assert not torch.equal(out[m], feats[m])
    assert out[m].std() < 0.3


def test_mask_to_encoder_rate():
    m = torch.zeros(1, 10, dtype=torch.bool)
    m[0, 5] = True
    r = mask_to_encoder_rate(m, 4)
    assert r.tolist() == [[False, True]]


@pytest.mark.parametrize("n", [1, 16])
def test_loss_only_masked_positions(n):
    torch.manual_seed(0)
    loss_fn = BestRQLoss(16, n, K)
    B, T = 2, 12
    enc = torch.randn(B, T, 16)
    lens = torch.tensor([12, 9])
    labels = torch.randint(0, K, (B, T, n))
    labels[1, 9:] = -1
    mask = torch.zeros(B, T, dtype=torch.bool)
    mask[0, 2:5] = True
    mask[1, 6:11] = True  # 9, 10 are padding: ignored
    loss, stats = loss_fn(enc, lens, labels, mask)
    enc2 = enc.clone()
    enc2[~mask] = torch.randn(int((~mask).sum()), 16)
    enc2[1, 9:] = 100.0
    loss2, _ = loss_fn(enc2, lens, labels, mask)
    assert torch.allclose(loss, loss2)
    enc3 = enc.clone()
    enc3[0, 3] += 1.0
    assert not torch.allclose(loss, loss_fn(enc3, lens, labels, mask)[0])
    keys = {f"acc_head{i}" for i in range(n)} | {
        "acc", "codebook_perplexity", "masked_fraction"
    }
    assert keys <= set(stats)
    assert stats["masked_fraction"].item() == pytest.approx(6 / 21)
    assert 1.0 <= stats["codebook_perplexity"].item() <= K


def test_loss_truncates_length_mismatch():
    loss_fn = BestRQLoss(16, 2, K)
    enc = torch.randn(1, 10, 16)
    labels = torch.randint(0, K, (1, 12, 2))
    mask = torch.ones(1, 12, dtype=torch.bool)
    loss, stats = loss_fn(enc, torch.tensor([10]), labels, mask)
    assert torch.isfinite(loss)
    assert stats["masked_fraction"].item() == 1.0


@pytest.mark.parametrize("n", [1, 16])
def test_gradients_flow(n):
    model = BestRQ(
        TinyEncoder(FDIM, STACK), FDIM, STACK, _cfg(n, mask_prob=0.1, mask_span_ms=50)
    )
    feats, lens = _batch()
    loss, stats = model(feats, lens)
    loss.backward()
    assert all(p.grad is not None for p in model.loss_fn.parameters())
    assert all(p.grad is not None for p in model.encoder.parameters())
    assert list(model.quantizer.parameters()) == []
    assert model.quantizer.projections.grad is None
    assert model.quantizer.codebooks.grad is None
    assert {"acc", "codebook_perplexity", "masked_fraction"} <= set(stats)
    assert len([k for k in stats if k.startswith("acc_head")]) == n


@pytest.mark.parametrize("n", [1, 16])
def test_loss_decreases(n):
    torch.manual_seed(0)
    cfg = _cfg(n, mask_prob=0.1, mask_span_ms=40)
    model = BestRQ(TinyEncoder(FDIM, STACK, dim=32), FDIM, STACK, cfg)
    feats, lens = _batch(B=3, T=64)
    opt = torch.optim.Adam(
        [p for p in model.parameters() if p.requires_grad], lr=1e-2
    )
    losses = []
    for _ in range(30):
        opt.zero_grad()
        loss, _ = model(feats, lens, generator=torch.Generator().manual_seed(5))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.8 * losses[0]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(codebook_size=1), "codebook_size.*>= 2"),
        (dict(num_quantizers=0), "num_quantizers.*>= 1"),
        (dict(stack=0), "stack.*>= 1"),
    ],
)
def test_bad_options(kwargs, match):
    args = dict(feature_dim=FDIM, stack=STACK, num_quantizers=1, codebook_size=K)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        RandomProjectionQuantizer(**args)
    if "stack" not in kwargs:
        with pytest.raises(ValueError, match=match):
            BestRQConfig(**{k: v for k, v in kwargs.items()})
    else:
        with pytest.raises(ValueError, match=match):
            stack_frames(torch.zeros(1, 4, 2), torch.tensor([4]), 0)
        with pytest.raises(ValueError, match=match):
            BestRQ(TinyEncoder(FDIM, 1), FDIM, 0, _cfg(1))
