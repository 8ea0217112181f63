"""Tests for usm_espnet.ssl.most (MOST core; tiny dimensions, CPU only)."""

from __future__ import annotations

import math

import pytest
import torch

from usm_espnet.nets.chunk_conformer import ChunkConformerEncoder
from usm_espnet.nets.usm_conformer import USMConformerEncoder
from usm_espnet.ssl.best_rq import BestRQConfig
from usm_espnet.ssl.most import (
    DurationModel,
    MOSTConfig,
    MOSTModel,
    TextEncoder,
    alignment_to_durations,
    ctc_durations,
    fixed_durations,
    random_durations,
    upsample,
)

FEAT = 20
D = 16
VOCAB = 12
KINDS = ("espnet", "chunk")


def _encoder(kind: str = "espnet", blocks: int = 2):
    """A tiny ASR encoder of the given family (no dropout)."""
    if kind == "chunk":
        return ChunkConformerEncoder(FEAT, D, attention_heads=2, linear_units=32,
                                     num_blocks=blocks, attention_type="global",
                                     dropout_rate=0.0)
    return USMConformerEncoder(FEAT, D, attention_heads=2, linear_units=32, num_blocks=blocks,
                               dropout_rate=0.0, positional_dropout_rate=0.0,
                               attention_dropout_rate=0.0)


def _cfg(**kw) -> MOSTConfig:
    base = dict(bestrq=BestRQConfig(num_quantizers=2, codebook_size=16, codebook_dim=4,
                                    mask_prob=0.1, mask_span_ms=40),
                text_dropout_rate=0.0, text_start_step=0)
    base.update(kw)
    return MOSTConfig(**base)


def _model(kind: str = "espnet", seed: int = 0, **kw) -> MOSTModel:
    torch.manual_seed(seed)
    return MOSTModel(_encoder(kind), FEAT, VOCAB, _cfg(**kw))


def _speech(B: int = 2, T: int = 64, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    feats = torch.randn(B, T, FEAT, generator=g)
    lens = torch.tensor([T, T - 12, T - 20][:B])
    return feats, lens


def _text(B: int = 2, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    lens = torch.tensor([5, 3, 4][:B])
    text = torch.randint(1, VOCAB, (B, 5), generator=g)
    text[torch.arange(5)[None, :] >= lens[:, None]] = -1  # ESPnet's padding
    return text, lens


def _batch(streams=("speech", "paired", "text")):
    out = {}
    if "speech" in streams:
        f, fl = _speech(seed=1)
        out["speech"] = {"feats": f, "feat_lens": fl}
    if "paired" in streams:
        f, fl = _speech(seed=2)
        t, tl = _text(seed=3)
        out["paired"] = {"feats": f, "feat_lens": fl, "text": t, "text_lens": tl}
    if "text" in streams:
        t, tl = _text(B=3, seed=4)
        out["text"] = {"text": t, "text_lens": tl}
    return out


# ----------------------------------------------------------------------- config


def test_config_defaults_and_schedule():
    c = MOSTConfig()
    assert c.batch_sizes() == {"speech": 4096, "paired": 1024, "text": 8192}
    assert c.batch_sizes(1 / 64) == {"speech": 64, "paired": 16, "text": 128}
    assert c.text_start_step == 20000 and c.start_steps()["text"] == 20000
    assert not c.text_stream_enabled(19999) and c.text_stream_enabled(20000)
    assert c.duration_mode == "learned" and c.consistency_distance == "mse"
    assert c.speech_encoder_layers == 1 and c.blank_id == 0
    assert c.bestrq == BestRQConfig()
    with pytest.raises(Exception):
        c.asr_weight = 2.0  # frozen
    for bad in (dict(duration_mode="tts"), dict(asr_weight=-1.0), dict(random_duration=(3, 2)),
                dict(text_mask_prob=1.5), dict(consistency_distance="kl")):
        with pytest.raises(ValueError):
            MOSTConfig(**bad)


# -------------------------------------------------------------------- durations


def test_upsample_lengths_content_and_gradient():
    x = torch.arange(2 * 3 * 2, dtype=torch.float).view(2, 3, 2).requires_grad_(True)
    d = torch.tensor([[2, 0, 3], [1, 1, 7]])  # the 7 is padding (token_lens = 2)
    out, lens = upsample(x, d, torch.tensor([3, 2]))
    assert lens.tolist() == [5, 2] and out.shape == (2, 5, 2)
    assert torch.equal(out[0], x[0, [0, 0, 2, 2, 2]])
    assert torch.equal(out[1, :2], x[1, [0, 1]]) and (out[1, 2:] == 0).all()
    out.sum().backward()
    assert x.grad[0, :, 0].tolist() == [2, 0, 3]
    # Without token_lens every duration counts.
    assert upsample(x, d)[1].tolist() == [5, 9]


def test_upsample_bad_input():
    x = torch.zeros(1, 3, 2)
    with pytest.raises(ValueError, match=">= 0"):
        upsample(x, torch.tensor([[1, -1, 2]]))
    with pytest.raises(ValueError, match="do not match"):
        upsample(x, torch.tensor([[1, 2]]))
    with pytest.raises(ValueError, match="integer"):
        upsample(x, torch.tensor([[1.0, 2.0, 3.0]]))


def test_fixed_and_random_durations():
    lens = torch.tensor([3, 1])
    f = fixed_durations(lens, 4, 3)
    assert f.tolist() == [[3, 3, 3, 0], [3, 0, 0, 0]]
    r1 = random_durations(lens, 4, 2, 5, torch.Generator().manual_seed(0))
    r2 = random_durations(lens, 4, 2, 5, torch.Generator().manual_seed(0))
    assert torch.equal(r1, r2)
    valid = torch.arange(4)[None] < lens[:, None]
    assert (r1[valid] >= 2).all() and (r1[valid] <= 5).all() and (r1[~valid] == 0).all()


def test_alignment_to_durations_rule():
    # _ a a _ b _ _ b : leading blank -> a; 1 blank between a|b -> right; 2 -> 1 + 1.
    assert alignment_to_durations([0, 1, 1, 0, 2, 0, 0, 2], 3) == [3, 3, 2]
    # trailing blanks -> last token; an odd gap gives the extra frame to the right.
    assert alignment_to_durations([1, 0, 0, 0, 2, 0, 0], 2) == [2, 5]
    # repeated label without blank is one token; with a blank, two.
    assert alignment_to_durations([3, 3, 3], 1) == [3]
    assert alignment_to_durations([3, 0, 3], 2) == [1, 2]
    with pytest.raises(ValueError, match="holds 2 tokens"):
        alignment_to_durations([1, 0, 2], 3)


def _peaked(path, V):
    """Log-probs whose best CTC path is ``path``."""
    return torch.log_softmax(10.0 * torch.nn.functional.one_hot(torch.tensor(path), V).float(), -1)


def test_ctc_durations_hand_made_alignment():
    V = 5
    lp = torch.full((2, 8, V), -30.0)
    lp[0] = _peaked([0, 1, 1, 0, 2, 0, 0, 2], V)  # tokens 1 2 2
    lp[1, :5] = _peaked([4, 4, 0, 3, 3], V)  # tokens 4 3, 5 valid frames
    tokens = torch.tensor([[1, 2, 2], [4, 3, -1]])
    d = ctc_durations(lp, torch.tensor([8, 5]), tokens, torch.tensor([3, 2]))
    assert d.tolist() == [[3, 3, 2], [2, 3, 0]]
    assert d.sum(1).tolist() == [8, 5]


def test_ctc_durations_sum_to_frames_on_random_posteriors():
    g = torch.Generator().manual_seed(0)
    B, T, V = 4, 30, 40
    lp = torch.randn(B, T, V, generator=g).log_softmax(-1)
    lens = torch.tensor([30, 22, 9, 17])
    tok_lens = torch.tensor([6, 1, 4, 8])
    tokens = torch.randint(1, V, (B, 8), generator=g)
    tokens[1, :2] = torch.tensor([7, 7])  # padding may hold anything
    d = ctc_durations(lp, lens, tokens, tok_lens)
    assert d.sum(1).tolist() == lens.tolist()
    for b in range(B):
        assert (d[b, : tok_lens[b]] >= 1).all() and (d[b, tok_lens[b]:] == 0).all()


def test_ctc_durations_bad_input_and_fallback():
    lp = torch.randn(1, 4, 6).log_softmax(-1)
    with pytest.raises(ValueError, match="empty"):
        ctc_durations(lp, torch.tensor([4]), torch.tensor([[1, 2]]), torch.tensor([0]))
    with pytest.raises(ValueError, match="blank"):
        ctc_durations(lp, torch.tensor([4]), torch.tensor([[1, 0]]), torch.tensor([2]))
    with pytest.raises(ValueError, match="shape"):
        ctc_durations(lp, torch.tensor([4, 4]), torch.tensor([[1, 2]]), torch.tensor([2]))
    too_long = torch.tensor([[1, 1, 1, 2]])  # needs 4 + 2 frames
    with pytest.raises(ValueError, match="cannot align"):
        ctc_durations(lp, torch.tensor([4]), too_long, torch.tensor([4]))
    d = ctc_durations(lp, torch.tensor([4]), too_long, torch.tensor([4]), uniform_fallback=True)
    assert d.tolist() == [[1, 1, 1, 1]]


def test_duration_model_loss_and_rounding():
    torch.manual_seed(0)
    m = DurationModel(D, 8, 3, 2, 0.0)
    x, lens = torch.randn(2, 4, D), torch.tensor([4, 2])
    log_d = m(x, lens)
    assert log_d.shape == (2, 4) and (log_d[1, 2:] == 0).all()
    target = torch.tensor([[2, 3, 1, 4], [5, 2, 0, 0]])
    loss = DurationModel.loss(log_d, target, lens)
    ref = ((log_d[[0, 0, 0, 0, 1, 1], [0, 1, 2, 3, 0, 1]]
            - torch.tensor([2, 3, 1, 4, 5, 2.0]).log()) ** 2).mean()
    assert torch.allclose(loss, ref)
    d = DurationModel.to_durations(torch.tensor([[0.0, math.log(7.4), 9.0]]),
                                   torch.tensor([2]), min_duration=2, max_duration=6)
    assert d.tolist() == [[2, 6, 0]]


def test_text_encoder_shapes_and_bad_input():
    torch.manual_seed(0)
    te = TextEncoder(VOCAB, D, attention_heads=2, dropout_rate=0.0)
    text, lens = _text()
    d = fixed_durations(lens, text.size(1), 3)
    out, flens = te(text, lens, d)
    assert flens.tolist() == (3 * lens).tolist() and out.shape == (2, 15, D)
    assert (out[1, 9:] == 0).all()
    with pytest.raises(ValueError, match="empty"):
        te(text, torch.tensor([5, 0]), d)
    with pytest.raises(ValueError, match=">= 0"):
        te(text, lens, -d)
    with pytest.raises(ValueError, match="shape"):
        te(text, torch.tensor([5, 3, 1]), d)
    with pytest.raises(ValueError, match="vocab"):
        te(torch.full_like(text, VOCAB), lens, d)


# ---------------------------------------------------------------- encoder split


@pytest.mark.parametrize("kind", KINDS)
def test_split_equals_the_asr_encoder_forward(kind):
    m = _model(kind).eval()
    feats, lens = _speech(B=3)
    with torch.no_grad():
        ref, ref_lens, _ = m.encoder(feats, lens)
        out, out_lens = m.shared_encode(m.speech_encode(feats, lens))
    assert torch.equal(out_lens, ref_lens)
    assert torch.allclose(out, ref, atol=1e-6)


@pytest.mark.parametrize("kind", KINDS)
def test_shared_encoder_loads_strictly_into_a_fresh_asr_encoder(kind):
    m = _model(kind, seed=0)
    with torch.no_grad():
        for p in m.encoder.parameters():
            p.add_(0.01)
    torch.manual_seed(123)
    asr = _encoder(kind)
    # what ESPnet's --init_param most.pth:encoder:encoder does, but strict
    sd = {k[len("encoder."):]: v for k, v in m.state_dict().items() if k.startswith("encoder.")}
    asr.load_state_dict(sd, strict=True)
    asr.load_state_dict(m.encoder.state_dict(), strict=True)
    feats, lens = _speech()
    m.eval(), asr.eval()
    with torch.no_grad():
        assert torch.allclose(asr(feats, lens)[0], m.encoder(feats, lens)[0])
    groups = m.parameter_groups()
    n_enc = sum(p.numel() for p in m.encoder.parameters())
    assert sum(p.numel() for g in ("speech_encoder", "shared_encoder") for p in groups[g]) == n_enc


def test_espnet_init_param_loads_the_whole_encoder(tmp_path):
    from espnet2.torch_utils.load_pretrained_model import load_pretrained_model

    m = _model(seed=0)
    path = tmp_path / "most.pth"
    torch.save(m.state_dict(), path)
    torch.manual_seed(99)
    asr = torch.nn.Module()
    asr.encoder = _encoder()
    load_pretrained_model(f"{path}:encoder:encoder", asr, "cpu")
    a, b = asr.encoder.state_dict(), m.encoder.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_load_best_rq_checkpoint():
    from usm_espnet.ssl.best_rq_espnet_model import ESPnetBestRQModel

    torch.manual_seed(7)
    bq = ESPnetBestRQModel(input_size=FEAT, frontend=None, specaug=None, normalize=None,
                           encoder=_encoder(), num_quantizers=2, codebook_size=16,
                           codebook_dim=4)
    m = _model()
    assert not torch.equal(m.loss_fn.heads[0].weight, bq.loss_fn.heads[0].weight)
    m.load_best_rq(bq.state_dict())
    for part in ("encoder", "quantizer", "loss_fn"):
        a, b = getattr(m, part).state_dict(), getattr(bq, part).state_dict()
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(ValueError, match="loss_fn"):
        m.load_best_rq({k: v for k, v in bq.state_dict().items() if not k.startswith("loss_fn")})


# -------------------------------------------------------------- gradient routing


def _reached(model) -> dict:
    """Group -> whether any of its parameters got a non-zero gradient."""
    out = {}
    for name, params in model.parameter_groups().items():
        out[name] = any(p.grad is not None and bool(p.grad.abs().sum() > 0) for p in params)
    return out


def _loss(model, which):
    b = _batch()
    g = torch.Generator().manual_seed(0)
    if which == "bestrq":
        return model.bestrq_loss(b["speech"]["feats"], b["speech"]["feat_lens"], g)[0]
    if which == "text_recon":
        return model.text_reconstruction_loss(b["text"]["text"], b["text"]["text_lens"], g)[0]
    p = b["paired"]
    return model.paired_losses(p["feats"], p["feat_lens"], p["text"], p["text_lens"])[which]


ROUTES = {
    # loss: groups it must reach (all others must get no gradient)
    "bestrq": {"speech_encoder", "shared_encoder", "bestrq_heads"},
    "asr": {"speech_encoder", "shared_encoder", "ctc"},
    "consistency": {"text_encoder"},
    "duration": {"duration_model"},
    "text_recon": {"text_encoder", "shared_encoder", "ctc"},
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("which", sorted(ROUTES))
def test_each_loss_reaches_only_its_parts(kind, which):
    m = _model(kind)
    loss = _loss(m, which)
    assert torch.isfinite(loss) and loss.item() > 0
    loss.backward()
    reached = _reached(m)
    assert {g for g, r in reached.items() if r} == ROUTES[which]
    assert list(m.quantizer.parameters()) == []
    assert not m.quantizer.projections.requires_grad and m.quantizer.codebooks.grad is None
    if which == "text_recon":
        assert m.text_encoder.mask_embedding.grad.abs().sum() > 0


def test_consistency_target_is_the_speech_encoder_output():
    m = _model()
    p = _batch(("paired",))["paired"]
    d = torch.tensor([[3, 3, 3, 3, 3], [2, 3, 7, 0, 0]])  # 15 and 12 encoder frames
    losses = m.paired_losses(p["feats"], p["feat_lens"], p["text"], p["text_lens"], d)
    h = m.speech_encode(p["feats"], p["feat_lens"])
    t, tl = m.text_encoder(p["text"], p["text_lens"], d)
    assert tl.tolist() == h.lens.tolist() == [15, 12]
    valid = torch.arange(15)[None] < tl[:, None]
    ref = ((t - h.x[:, :15]) ** 2)[valid].mean()
    assert torch.allclose(losses["consistency"], ref, atol=1e-6)
    with pytest.raises(ValueError, match="sum to"):
        m.paired_losses(p["feats"], p["feat_lens"], p["text"], p["text_lens"], d + 1)


# ------------------------------------------------------------------ model forward


def test_forward_computes_only_present_streams_and_follows_the_schedule():
    m = _model(text_start_step=10)
    _, st = m(_batch(("speech",)))
    assert {k for k in st if k.startswith("loss_")} == {"loss_bestrq"}
    _, st = m(_batch(("paired",)))
    assert {k for k in st if k.startswith("loss_")} == {"loss_asr", "loss_consistency",
                                                        "loss_duration"}
    _, st = m(_batch(), step=9)
    assert "loss_text_recon" not in st and "loss_bestrq" in st
    total, st = m(_batch(), step=10)
    assert "loss_text_recon" in st and not m.text_stream_enabled(9)
    parts = sum(st[f"loss_{k}"] for k in ("bestrq", "asr", "consistency", "duration",
                                          "text_recon"))
    assert torch.allclose(total.detach(), parts) and torch.allclose(st["loss"], parts)
    with pytest.raises(ValueError, match="no stream"):
        m({})
    with pytest.raises(ValueError, match="unknown"):
        m({"video": {}})


@pytest.mark.parametrize("mode", ["fixed", "random", "learned"])
def test_text_duration_modes(mode):
    m = _model(duration_mode=mode, fixed_duration=3, random_duration=(2, 4))
    text, lens = _text()
    d = m.text_durations(text, lens, torch.Generator().manual_seed(0))
    valid = torch.arange(5)[None] < lens[:, None]
    assert (d[~valid] == 0).all()
    if mode == "fixed":
        assert (d[valid] == 3).all()
    elif mode == "random":
        assert ((d[valid] >= 2) & (d[valid] <= 4)).all()
    else:
        assert ((d[valid] >= 2) & (d[valid] <= 30)).all()


def test_bad_model_inputs():
    m = _model()
    f, fl = _speech()
    t, tl = _text()
    with pytest.raises(ValueError, match="feat_lens"):
        m.paired_losses(f, torch.tensor([64, 60, 50]), t, tl)
    with pytest.raises(ValueError, match="exceed"):
        m.paired_losses(f, torch.tensor([65, 60]), t, tl)
    with pytest.raises(ValueError, match="transcripts"):
        m.paired_losses(f, fl, t[:1], tl[:1])
    with pytest.raises(ValueError, match="empty"):
        m({"text": {"text": t, "text_lens": torch.tensor([5, 0])}})
    with pytest.raises(ValueError, match="blank"):
        m({"text": {"text": torch.zeros_like(t), "text_lens": tl}})
    with pytest.raises(ValueError, match="speech_encoder_layers"):
        MOSTModel(_encoder(blocks=1), FEAT, VOCAB, _cfg())
    with pytest.raises(TypeError):
        MOSTModel(torch.nn.Linear(2, 2), FEAT, VOCAB, _cfg())


def test_total_loss_decreases():
    m = _model(seed=0, duration_mode="fixed", fixed_duration=3)
    batch = _batch()
    opt = torch.optim.Adam(m.parameters(), lr=3e-3)
    losses = []
    for step in range(30):
        opt.zero_grad()
        loss, _ = m(batch, step=step, generator=torch.Generator().manual_seed(5))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert all(math.isfinite(v) for v in losses)
    assert losses[-1] < 0.7 * losses[0], losses
