"""BEST-RQ as an ESPnet model (usm_espnet.ssl.best_rq_espnet_model) and task (usm_espnet.tasks.best_rq)."""

import pytest
import torch

from usm_espnet.registry import register
from usm_espnet.ssl.best_rq import subsampling_factor

register(["espnet2.tasks.asr"])

from espnet2.tasks.asr import encoder_choices  # noqa: E402

from usm_espnet.ssl.best_rq_espnet_model import ESPnetBestRQModel  # noqa: E402

FEAT = 20


def _encoder(input_layer="conv2d", blocks=1):
    return encoder_choices.get_class("usm_conformer")(
        input_size=FEAT, output_size=16, attention_heads=2, linear_units=32,
        num_blocks=blocks, input_layer=input_layer)


def _model(seed=0, n=16, K=64, input_layer="conv2d", **kw):
    torch.manual_seed(seed)
    return ESPnetBestRQModel(input_size=FEAT, frontend=None, specaug=None, normalize=None,
                             encoder=_encoder(input_layer), num_quantizers=n,
                             codebook_size=K, quantizer_seed=kw.pop("quantizer_seed", 0), **kw)


@pytest.mark.parametrize("layer,factor", [("conv2d", 4), ("conv2d6", 6), ("conv2d8", 8),
                                          ("linear", 1)])
def test_stack_factor_is_measured_from_the_encoder(layer, factor):
    enc = _encoder(layer)
    assert subsampling_factor(enc, FEAT) == factor
    m = _model(input_layer=layer)
    assert m.stack == factor and m.quantizer.stack == factor
    feats = torch.randn(2, 240, FEAT)
    labels, lens = m.quantizer(feats, torch.tensor([240, 100]))
    assert labels.shape == (2, 240 // factor, 16)
    assert lens.tolist() == [240 // factor, 100 // factor]


def test_subsampling_factor_without_embed_runs_the_encoder():
    class Pool(torch.nn.Module):
        def output_size(self):
            return FEAT

        def forward(self, x, lens):
            return x[:, ::3], (lens + 2) // 3, None

    assert subsampling_factor(Pool(), FEAT) == 3


@pytest.mark.parametrize("n", [1, 16])
def test_forward_shapes_stats_and_frozen_quantizer(n):
    m = _model(n=n)
    m.train()
    feats = torch.randn(3, 300, FEAT)
    lens = torch.tensor([300, 250, 120])
    loss, stats, weight = m(feats, lens)
    assert loss.numel() == 1 and torch.isfinite(loss).all() and int(weight) == 3
    assert len([k for k in stats if k.startswith("acc_head")]) == n
    assert 0 < float(stats["masked_fraction"]) < 1
    loss.sum().backward()
    assert all(p.grad is not None for p in m.encoder.parameters())
    assert all(p.grad is not None for p in m.loss_fn.parameters())
    names = {name for name, _ in m.named_parameters()}
    assert not any(name.startswith("quantizer.") for name in names)
    assert {"quantizer.projections", "quantizer.codebooks"} <= set(m.state_dict())


def test_random_input_uses_many_codes():
    m = _model(n=16, K=8192)
    m.eval()
    feats = torch.randn(4, 800, FEAT)
    _, stats, _ = m(feats, torch.full((4,), 800))
    assert float(stats["codebook_perplexity"]) > 50


def test_checkpoint_round_trip_keeps_labels(tmp_path):
    a = _model(seed=0, quantizer_seed=0)
    torch.save(a.state_dict(), tmp_path / "m.pth")
    b = _model(seed=123, quantizer_seed=7)  # different draw before loading
    feats, lens = torch.randn(2, 200, FEAT), torch.tensor([200, 160])
    assert not torch.equal(a.quantizer(feats, lens)[0], b.quantizer(feats, lens)[0])
    b.load_state_dict(torch.load(tmp_path / "m.pth"))
    assert torch.equal(a.quantizer(feats, lens)[0], b.quantizer(feats, lens)[0])


def test_validation_mask_is_fixed_and_training_mask_varies():
    m = _model()
    feats, lens = torch.randn(2, 400, FEAT), torch.tensor([400, 300])
    m.eval()
    with torch.no_grad():
        v1, v2 = m(feats, lens)[0], m(feats, lens)[0]
    assert torch.equal(v1, v2)
    m.train()
    torch.manual_seed(0)
    t1 = m(feats, lens)[1]["masked_fraction"]
    fr = {float(m(feats, lens)[1]["masked_fraction"]) for _ in range(5)} | {float(t1)}
    assert len(fr) > 1


def test_utterance_shorter_than_one_span():
    m = _model()  # span 400 ms = 40 frames at 10 ms
    assert m.config.mask_span == 40
    feats = torch.randn(2, 30, FEAT)
    loss, stats, _ = m(feats, torch.tensor([30, 20]))
    assert torch.isfinite(loss).all()
    loss.sum().backward()


def test_frame_shift_from_frontend():
    from espnet2.asr.frontend.default import DefaultFrontend

    fe = DefaultFrontend(n_fft=256, hop_length=128, n_mels=FEAT)
    m = ESPnetBestRQModel(input_size=FEAT, frontend=fe, specaug=None, normalize=None,
                          encoder=_encoder(), codebook_size=64)
    assert m.config.frame_shift_ms == 8.0 and m.config.mask_span == 50
    loss, _, _ = m(torch.randn(2, 16000), torch.tensor([16000, 9000]))
    assert torch.isfinite(loss).all()


def test_overfits_a_tiny_batch():
    m = _model(n=16, K=64, mask_prob=0.05)
    m.train()
    feats, lens = torch.randn(2, 400, FEAT), torch.tensor([400, 400])
    opt = torch.optim.Adam([p for p in m.parameters() if p.requires_grad], lr=1e-2)
    losses = []
    for _ in range(80):
        torch.manual_seed(0)  # same mask each step: a fixed tiny batch
        loss, _, _ = m(feats, lens)
        opt.zero_grad()
        loss.sum().backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses[::10]


def test_task_builds_from_yaml_and_shares_asr_encoders(tmp_path):
    from usm_espnet.tasks.best_rq import BestRQTask
    from usm_espnet.tasks.best_rq import encoder_choices as ssl_encoders

    assert ssl_encoders.classes is encoder_choices.classes
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "frontend: default\nfrontend_conf: {n_fft: 256, hop_length: 160, n_mels: 20}\n"
        "encoder: usm_conformer\nencoder_conf: {output_size: 16, attention_heads: 2, "
        "linear_units: 32, num_blocks: 1, input_layer: conv2d6}\n"
        "model_conf: {num_quantizers: 2, codebook_size: 32}\n")
    args = BestRQTask.get_parser().parse_args(
        ["--config", str(cfg), "--output_dir", str(tmp_path), "--model_conf", "num_quantizers=1"])
    m = BestRQTask.build_model(args)
    assert m.stack == 6 and m.config.num_quantizers == 1 and m.config.codebook_size == 32
