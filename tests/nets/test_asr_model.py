"""model: usm (usm_espnet.nets.asr_model): RNN-T loss without warp-transducer, adapters, freezing."""

import itertools
import math
import sys
from pathlib import Path

import pytest
import torch

from usm_espnet.nets.rnnt_loss import TransducerLoss
from usm_espnet.registry import register

ROOT = Path(__file__).resolve().parents[2]
TUNING = ROOT / "egs" / "fleurs" / "asr1" / "conf" / "tuning"


def _brute_force_nll(logits, target, blank=0):
    """-log P(target) by summing over every alignment of one utterance's (T, U+1, V) lattice.

    An alignment is a sequence of T blanks and U labels ending with a blank: a label
    at (t, u) moves to (t, u+1) with P(y_{u+1} | t, u); a blank moves to (t+1, u).
    """
    T, U1, _ = logits.shape
    U = U1 - 1
    logp = torch.log_softmax(logits, dim=-1)
    total = []
    for label_slots in itertools.combinations(range(T + U - 1), U):
        t = u = 0
        s = logits.new_zeros(())
        for k in range(T + U - 1):
            if k in label_slots:
                s = s + logp[t, u, target[u]]
                u += 1
            else:
                s = s + logp[t, u, blank]
                t += 1
        s = s + logp[T - 1, U, blank]  # the final blank
        total.append(s)
    return -torch.logsumexp(torch.stack(total), dim=0)


@pytest.mark.parametrize("T,U", [(1, 1), (3, 2), (4, 3), (5, 1)])
def test_rnnt_loss_equals_brute_force_with_gradients(T, U):
    torch.manual_seed(T * 10 + U)
    V = 5
    # batch of two: the second utterance is shorter in both time and labels (padded)
    logits = torch.randn(2, T + 1, U + 2, V, dtype=torch.float32, requires_grad=True)
    targets = torch.randint(1, V, (2, U + 1))
    t_len, u_len = torch.tensor([T + 1, T]), torch.tensor([U + 1, U])
    ref = torch.stack([
        _brute_force_nll(logits[b, : t_len[b], : u_len[b] + 1], targets[b, : u_len[b]])
        for b in range(2)])
    per_utt = TransducerLoss(blank=0, reduction="none")(logits, targets, t_len, u_len)
    assert torch.allclose(per_utt, ref, atol=1e-4), (per_utt, ref)
    mean = TransducerLoss(blank=0)(logits, targets, t_len, u_len)
    assert math.isclose(float(mean), float(ref.mean()), abs_tol=1e-4)
    g, = torch.autograd.grad(mean, logits)
    g_ref, = torch.autograd.grad(ref.mean(), logits)
    assert torch.allclose(g, g_ref, atol=1e-5)
    # padding beyond each utterance's lattice gets no gradient
    assert float(g[1, T:].abs().sum()) == 0.0 and float(g[1, :, U + 1:].abs().sum()) == 0.0


def test_rnnt_loss_rejects_bad_shape():
    with pytest.raises(ValueError, match="B, T, U\\+1, V"):
        TransducerLoss()(torch.randn(2, 3, 4), torch.ones(2, 1), torch.ones(2), torch.ones(2))


def _build(config, tmp_path, extra=()):
    register(["espnet2.tasks.asr"])
    from espnet2.tasks.asr import ASRTask

    tok = tmp_path / "tokens.txt"
    tok.write_text("\n".join(["<blank>", "<unk>", "<space>", "a", "b", "c", "<sos/eos>"]) + "\n")
    args = ASRTask.get_parser().parse_args(
        ["--config", str(config), "--token_list", str(tok), "--token_type", "char",
         "--output_dir", str(tmp_path / "exp"), *extra])
    torch.manual_seed(0)
    return ASRTask.build_model(args)


def _batch():
    speech = torch.randn(2, 16000)
    return (speech, torch.tensor([16000, 12000]), torch.tensor([[3, 4, 2, 5], [4, 3, -1, -1]]),
            torch.tensor([4, 2]))


def test_rnnt_head_trains_with_torchaudio_loss(tmp_path):
    model = _build(TUNING / "train_asr_rnnt_debug.yaml", tmp_path)
    assert model.use_transducer_decoder
    assert isinstance(model.criterion_transducer, TransducerLoss)
    assert "warprnnt_pytorch" not in sys.modules
    model.train()
    loss, stats, _ = model(*_batch())
    assert torch.isfinite(loss) and stats["loss_transducer"] is not None
    loss.backward()
    assert model.joint_network.lin_out.weight.grad is not None
    assert model.decoder.embed.weight.grad is not None


def test_las_head_is_hybrid(tmp_path):
    model = _build(TUNING / "train_asr_las_debug.yaml", tmp_path)
    assert not model.use_transducer_decoder and model.decoder is not None
    assert model.ctc_weight == pytest.approx(0.3)
    model.train()
    loss, stats, _ = model(*_batch())
    assert torch.isfinite(loss) and stats["loss_att"] is not None and stats["loss_ctc"] is not None


def test_adapters_on_frozen_encoder(tmp_path):
    base = _build(TUNING / "train_asr_debug.yaml", tmp_path)
    model = _build(TUNING / "train_asr_debug.yaml", tmp_path, [
        "--model", "usm", "--model_conf", "ctc_weight=1.0", "--model_conf", "adapter_language=sw_ke",
        "--model_conf", "freeze_encoder=true", "--model_conf", "adapter_bottleneck=3"])
    # the encoder's parameter names are unchanged, so a checkpoint without adapters loads
    enc_keys = {k for k in model.state_dict() if k.startswith("encoder.")}
    assert enc_keys == {k for k in base.state_dict() if k.startswith("encoder.")}
    assert any(k.startswith("adapters.bank.sw_ke.") for k in model.state_dict())
    model.train()
    before = {k: v.clone() for k, v in model.encoder.state_dict().items()}
    loss, _, _ = model(*_batch())
    loss.backward()
    assert all(p.grad is None and not p.requires_grad for p in model.encoder.parameters())
    # BatchNorm statistics (the convolution module's) do not move either
    after = model.encoder.state_dict()
    assert any("running_mean" in k for k in after)
    changed = [k for k in after if not torch.equal(before[k], after[k])]
    assert not changed, changed
    assert model.adapters.training and model.ctc.training
    assert all(p.grad is not None for p in model.adapters.parameters())
    assert model.ctc.ctc_lo.weight.grad is not None
    n_adapt = model.adapters.num_parameters("sw_ke")
    n_ctc = sum(p.numel() for p in model.ctc.parameters())
    assert model.trainable_parameters() == n_adapt + n_ctc


def test_finetune_recipe_head_warmup_then_lower_encoder_lr(tmp_path):
    """finetune_debug.yaml: 2 steps with only the head learning, then encoder at lr x 0.5."""
    sys.path.insert(0, str(ROOT))
    from espnet2.tasks.asr import ASRTask

    import usm_espnet.bin.asr_train  # noqa: F401  (its build_optimizers)

    model = _build(TUNING / "finetune_debug.yaml", tmp_path)
    assert model.encoder_lr_scale == 0.5 and model.head_warmup_steps == 2
    args = ASRTask.get_parser().parse_args(
        ["--config", str(TUNING / "finetune_debug.yaml"), "--token_list", str(tmp_path / "tokens.txt"),
         "--token_type", "char", "--output_dir", str(tmp_path / "exp")])
    (opt,) = ASRTask.build_optimizers(args, model)
    lrs = sorted(g["lr"] for g in opt.param_groups)
    assert lrs == pytest.approx([0.001, 0.002])
    enc_group = min(opt.param_groups, key=lambda g: g["lr"])
    enc_ids = {id(p) for p in model.encoder.parameters()}
    assert enc_ids <= {id(p) for p in enc_group["params"]}
    assert id(model.ctc.ctc_lo.weight) not in {id(p) for p in enc_group["params"]}
    model.train()
    enc_before = {k: v.clone() for k, v in model.encoder.named_parameters()}
    for step in range(3):
        opt.zero_grad()
        loss, _, _ = model(*_batch())
        loss.backward()
        enc_grads = [p.grad for p in model.encoder.parameters()]
        if step < 2:  # warm-up: the encoder gets no gradient, Adam leaves it alone
            assert all(g is None for g in enc_grads), step
            assert model.ctc.ctc_lo.weight.grad is not None
        else:
            assert all(g is not None for g in enc_grads)
        opt.step()
        moved = any(not torch.equal(enc_before[k], v) for k, v in model.encoder.named_parameters())
        assert moved == (step >= 2), step
    assert int(model.num_train_forwards) == 3
    # the count is in the checkpoint (a resumed run continues it); an older checkpoint loads
    state = model.state_dict()
    assert int(state["num_train_forwards"]) == 3
    fresh = _build(TUNING / "finetune_debug.yaml", tmp_path)
    del state["num_train_forwards"]
    fresh.load_state_dict(state)
    assert int(fresh.num_train_forwards) == 0
    fresh.eval()
    assert not fresh.in_head_warmup()  # decoding is never "warm-up"
    fresh.train()
    assert fresh.in_head_warmup()
    with pytest.raises(ValueError, match="encoder_lr_scale"):
        _build(TUNING / "finetune_debug.yaml", tmp_path, ["--model_conf", "encoder_lr_scale=-1"])
    # scale 1.0 is ESPnet's own optimizer: one group
    plain = _build(TUNING / "finetune_debug.yaml", tmp_path, ["--model_conf", "encoder_lr_scale=1.0"])
    (opt,) = ASRTask.build_optimizers(args, plain)
    assert len(opt.param_groups) == 1
