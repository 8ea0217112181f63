"""Training guards: a non-finite loss is skipped and counted, exploding gradients are clipped.

ESPnet's own epoch loop (``Trainer.train_one_epoch``) runs in this process on a tiny
model with a BatchNorm layer; one batch is poisoned with NaN, one scaled to make its
gradient explode. What ESPnet does by itself is checked on the plain ``Trainer``
(update skipped, but BatchNorm statistics poisoned); what
``usm_espnet.tasks.guarded_trainer.GuardedTrainer`` adds is checked against a run that
never saw the bad batch.
"""

import logging
import math

import pytest
import torch

from usm_espnet.registry import register

register(["espnet2.tasks.asr"])

from espnet2.tasks.asr import ASRTask  # noqa: E402
from espnet2.train.abs_espnet_model import AbsESPnetModel  # noqa: E402
from espnet2.train.distributed_utils import DistributedOption  # noqa: E402
from espnet2.train.reporter import Reporter  # noqa: E402
from espnet2.train.trainer import Trainer  # noqa: E402

from usm_espnet.tasks.guarded_trainer import NONFINITE_KEY, GuardedTrainer  # noqa: E402

GRAD_CLIP = 1.0


class TinyModel(AbsESPnetModel):
    """Linear -> BatchNorm -> Linear regression; ``poison`` puts NaN into the input."""

    def __init__(self) -> None:
        super().__init__()
        self.inp = torch.nn.Linear(4, 8)
        self.bn = torch.nn.BatchNorm1d(8)
        self.out = torch.nn.Linear(8, 1)

    def forward(self, x, y, poison, scale, **kwargs):
        if bool(poison.any()):
            x = x.clone()
            x[0, 0] = float("nan")
        pred = self.out(self.bn(self.inp(x))).squeeze(-1)
        loss = ((pred - y) ** 2).mean() * scale[0]
        return loss, {"loss": loss.detach()}, torch.tensor(float(x.size(0)))

    def collect_feats(self, **kwargs):
        return {}


def _batch(i, poison=False, scale=1.0):
    g = torch.Generator().manual_seed(i)
    x = torch.randn(6, 4, generator=g)
    return ([f"b{i}u{j}" for j in range(6)],
            {"x": x, "y": x.sum(-1), "poison": torch.tensor([poison] * 6),
             "scale": torch.full((6,), scale)})


def _epoch(trainer, batches, lr=0.1):
    torch.manual_seed(0)
    model = TinyModel()
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    args = ASRTask.get_parser().parse_args(
        ["--output_dir", "unused", "--grad_clip", str(GRAD_CLIP), "--log_interval", "1"])
    options = trainer.build_options(args)
    reporter = Reporter()
    reporter.set_epoch(1)
    lines = []
    with reporter.observe("train") as sub:
        trainer.train_one_epoch(model=model, iterator=batches, optimizers=[opt],
                                schedulers=[None], scaler=None, reporter=sub,
                                summary_writer=None, options=options,
                                distributed_option=DistributedOption())
        lines.append(sub.log_message())
    lines.append(reporter.log_message())
    return model, reporter, "\n".join(lines)


def _same_state(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_espnet_skips_the_update_of_a_nan_step_but_keeps_its_batchnorm_statistics(caplog):
    caplog.set_level(logging.INFO)
    model, _, _ = _epoch(Trainer, [_batch(0), _batch(1, poison=True)])
    assert "The grad norm is nan. Skipping updating the model." in caplog.text
    assert all(torch.isfinite(p).all() for p in model.parameters())  # no update from NaN
    assert torch.isnan(model.bn.running_mean).any()  # ... but the forward pass poisoned BN


def test_guarded_nan_step_is_skipped_counted_undone_and_logged(caplog):
    caplog.set_level(logging.INFO)
    batches = [_batch(0), _batch(1, poison=True), _batch(2)]
    model, reporter, log = _epoch(GuardedTrainer, batches)
    clean, _, _ = _epoch(GuardedTrainer, [batches[0], batches[2]])
    # exactly as if the NaN batch had never been seen: weights and BN statistics
    assert _same_state(model, clean)
    assert "The grad norm is nan. Skipping updating the model." in caplog.text
    assert ("3 training steps, 1 with a non-finite loss (BatchNorm statistics restored); "
            "1 of 3 updates skipped for a non-finite gradient norm") in caplog.text
    stats = reporter.get_value("train", NONFINITE_KEY)
    assert math.isclose(stats, 1 / 3)
    assert math.isfinite(reporter.get_value("train", "loss"))  # NaN left out of the mean
    assert f"{NONFINITE_KEY}=" in log  # in ESPnet's per-interval and epoch lines
    # a NaN batch at the very end of the epoch is undone too
    last, _, _ = _epoch(GuardedTrainer, [batches[0], batches[1]])
    first, _, _ = _epoch(GuardedTrainer, [batches[0]])
    assert _same_state(last, first)


def test_exploding_gradient_is_clipped_and_logged(caplog):
    caplog.set_level(logging.INFO)
    lr = 0.1
    torch.manual_seed(0)
    before = {k: v.clone() for k, v in TinyModel().state_dict().items()}
    model, reporter, log = _epoch(GuardedTrainer, [_batch(0, scale=1e6)], lr=lr)
    with torch.no_grad():
        delta = torch.sqrt(sum(((p - before[n]) ** 2).sum() for n, p in model.named_parameters()))
    # SGD moves by lr * clipped gradient: its norm is grad_clip, not ~1e6
    assert float(delta) == pytest.approx(lr * GRAD_CLIP, rel=1e-4)
    assert reporter.get_value("train", "grad_norm") > 1e3 * GRAD_CLIP
    assert reporter.get_value("train", "clip") == 100.0  # ESPnet: % of clipped updates
    assert "1 updates clipped to grad norm 1" in caplog.text
    assert "clip=100.000" in log and "grad_norm=" in log
