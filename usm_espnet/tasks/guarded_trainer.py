"""ESPnet's ``Trainer`` with counted non-finite steps, atomic checkpoints and resume repair.

What ESPnet's trainer already does (``espnet2/train/trainer.py``, verified in
``tests/test_training_guards.py``): gradients are clipped to ``--grad_clip`` (L2
norm by default) every update and the step's ``grad_norm`` and ``clip`` (100 when
clipped, else 0; its mean is the percentage of clipped updates) are reported; a
step whose gradient norm is NaN or infinite (which a NaN or infinite loss causes)
logs ``The grad norm is nan. Skipping updating the model.`` and does not call the
optimizer; non-finite values are left out of the averaged ``loss``.

What it does not do, and :class:`GuardedTrainer` adds:

* **count** the skipped steps: every training step reports ``nonfinite_loss``
  (1 for a NaN/infinite loss, else 0; its mean in the epoch summary is the
  fraction of such steps) and each epoch ends with one log line counting steps,
  non-finite losses, skipped updates and clipped updates;
* **undo the forward pass of a skipped step**: a NaN batch has already updated the
  BatchNorm running statistics (the Conformer's convolution module has one) when
  ESPnet decides to skip the update, which would leave the model producing NaN
  at evaluation; they are restored to their values before that batch;
* **write checkpoints atomically**: ESPnet writes ``checkpoint.pth`` with ``torch.save``
  in place, so a SIGKILL during the write leaves a truncated file that ``--resume``
  cannot load. During :meth:`GuardedTrainer.run` every ``torch.save`` to a path
  goes to a temporary file in the same directory that is then renamed;
* **repair on resume** what a kill between ESPnet's writes leaves behind: the
  ``<N>epoch.pth`` of the checkpoint's epoch (written after ``checkpoint.pth``),
  the ``latest.pth`` and ``<phase>.<metric>.best.pth`` links, and temporary files
  (under DDP rank 0 repairs while the other ranks wait at a barrier);
* **pre-training health over the whole validation set** (models with BEST-RQ heads,
  :class:`usm_espnet.ssl.best_rq.BestRQLoss`): masked accuracy, the accuracy of always
  guessing the most frequent code (the prior baseline) and the label perplexity, from
  counts summed over every validation batch (and rank), reported as ``valid.masked_acc``,
  ``valid.prior_acc_all``, ``valid.label_ppl`` and appended to
  ``<output_dir>/bestrq_health.jsonl`` (one line per epoch; read by
  ``python -m usm_espnet.bin.pretrain_health``).

``usm_espnet.bin.asr_train`` and ``usm_espnet.bin.ssl_train`` install it as their
task's ``trainer``.
"""

from __future__ import annotations

import contextlib
import glob
import json
import logging
import math
import os
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import torch
from espnet2.train.reporter import Reporter
from espnet2.train.trainer import Trainer

from usm_espnet.ssl.health import HEALTH_FILE_NAME as HEALTH_FILE

logger = logging.getLogger(__name__)

#: Name of the per-step statistic (1: the step's loss was NaN or infinite).
NONFINITE_KEY = "nonfinite_loss"
#: Per-epoch BEST-RQ health over the validation set, one JSON object per line.
_TMP_INFIX = ".tmp-atomic-"


@contextlib.contextmanager
def atomic_torch_save() -> Iterator[None]:
    """Within the block, ``torch.save(obj, path)`` writes ``path`` atomically.

    The object is saved to ``<path>.tmp-atomic-<pid>`` and renamed over ``path``;
    saving to a file object is unchanged.
    """
    original = torch.save

    def save(obj: Any, f: Any, *args: Any, **kwargs: Any) -> None:
        if not isinstance(f, (str, os.PathLike)):
            return original(obj, f, *args, **kwargs)
        path = os.fspath(f)
        tmp = f"{path}{_TMP_INFIX}{os.getpid()}"
        try:
            original(obj, tmp, *args, **kwargs)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)

    torch.save = save
    try:
        yield
    finally:
        torch.save = original


def _relink(link: Path, target: str) -> None:
    if link.is_symlink() and os.readlink(link) == target:
        return
    tmp = link.with_name(f"{link.name}{_TMP_INFIX}{os.getpid()}")
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(target)
    os.replace(tmp, link)


def repair_output_dir(output_dir: Path, best_model_criterion: Optional[List] = None) -> None:
    """Make ``output_dir`` consistent with its ``checkpoint.pth`` before resuming.

    Removes temporary files of interrupted atomic saves, writes the checkpoint
    epoch's ``<N>epoch.pth`` from the checkpoint if it is missing, and points
    ``latest.pth`` and the ``<phase>.<metric>.best.pth`` links at the right epochs.

    Args:
        output_dir: The experiment directory.
        best_model_criterion: ESPnet's ``[[phase, metric, min|max], ...]``.

    Raises:
        RuntimeError: ``checkpoint.pth`` cannot be loaded (written by an
            interrupted run without atomic saves); the message says what to do.
    """
    for tmp in glob.glob(os.path.join(glob.escape(str(output_dir)), f"*{_TMP_INFIX}*")):
        logger.warning("removing %s, left by an interrupted save", tmp)
        os.remove(tmp)
    ckpt = output_dir / "checkpoint.pth"
    if not ckpt.exists():
        return
    try:
        states = torch.load(ckpt, map_location="cpu", mmap=True, weights_only=False)
    except Exception as e:  # noqa: BLE001 - torch raises many types for a broken zip
        raise RuntimeError(
            f"{ckpt}: cannot be loaded ({type(e).__name__}: {e}); it was probably cut off "
            f"by an interrupted write. Remove it to restart training from scratch, or copy "
            f"the last complete <N>epoch.pth elsewhere first") from None
    reporter = Reporter()
    reporter.load_state_dict(states["reporter"])
    epoch = reporter.get_epoch()
    if epoch < 1:
        return
    model_file = output_dir / f"{epoch}epoch.pth"
    if not model_file.exists():
        logger.warning("%s is missing (interrupted after checkpoint.pth was saved); "
                       "writing it from %s", model_file, ckpt)
        with atomic_torch_save():
            torch.save(states["model"], model_file)
    _relink(output_dir / "latest.pth", f"{epoch}epoch.pth")
    for phase, key, mode in best_model_criterion or []:
        if reporter.has(phase, key):
            best = reporter.get_best_epoch(phase, key, mode)
            if (output_dir / f"{best}epoch.pth").exists():
                _relink(output_dir / f"{phase}.{key}.best.pth", f"{best}epoch.pth")


class _StepGuard:
    """Forward hooks that report ``nonfinite_loss`` and undo BatchNorm updates of bad steps."""

    def __init__(self, model: torch.nn.Module, reporter: Any) -> None:
        self.reporter = reporter
        self.count = 0
        self.bn = [m for m in model.modules()
                   if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
        self.saved: List[Dict[str, torch.Tensor]] = []
        self.pending: List[Dict[str, torch.Tensor]] = []  # to restore before the next forward
        self.handles = [model.register_forward_pre_hook(self._before),
                        model.register_forward_hook(self._after)]

    def _restore(self) -> None:
        # Not from the forward hook itself: autograd has saved these buffers' versions
        # for the step's backward pass, which runs after the hook.
        with torch.no_grad():
            for m, saved in zip(self.bn, self.pending):
                for k, b in m.named_buffers(recurse=False):
                    if k in saved:
                        b.copy_(saved[k])
        self.pending = []

    def _before(self, module: torch.nn.Module, inputs: Any) -> None:
        if module.training:
            if self.pending:
                self._restore()
            self.saved = [{k: b.detach().clone() for k, b in m.named_buffers(recurse=False)
                           if b is not None} for m in self.bn]

    def _after(self, module: torch.nn.Module, inputs: Any, output: Any) -> None:
        if not module.training:
            return
        loss = output.get("loss") if isinstance(output, dict) else output[0]
        bad = loss is not None and not bool(torch.isfinite(loss.detach()).all())
        if bad:
            self.count += 1
            self.pending = self.saved
        self.reporter.register({NONFINITE_KEY: 1.0 if bad else 0.0})

    def remove(self) -> None:
        """Remove the hooks, restoring statistics a last bad step changed."""
        for h in self.handles:
            h.remove()
        if self.pending:
            self._restore()


def _health_modules(model: torch.nn.Module) -> List[torch.nn.Module]:
    return [m for m in model.modules() if hasattr(m, "eval_summary") and hasattr(m, "reset_eval_summary")]


def _values(reporter: Any, key: str) -> List[float]:
    return [float(v.value) for v in getattr(reporter, "stats", {}).get(key, [])]


class GuardedTrainer(Trainer):
    """ESPnet's ``Trainer`` plus the guards described in the module docstring."""

    @classmethod
    def run(cls, *args: Any, **kwargs: Any) -> None:
        """ESPnet's ``Trainer.run`` with atomic saves and, on resume, a repaired output dir."""
        options = kwargs.get("trainer_options")
        dist_opt = kwargs.get("distributed_option")
        distributed = (bool(getattr(dist_opt, "distributed", False))
                       and torch.distributed.is_available() and torch.distributed.is_initialized())
        if options is not None and getattr(options, "resume", False):
            # under DDP rank 0 repairs and the others wait: concurrent repairs would remove
            # each other's temporary files mid-rename
            if not distributed or torch.distributed.get_rank() == 0:
                repair_output_dir(Path(options.output_dir),
                                  list(getattr(options, "best_model_criterion", []) or []))
            if distributed:
                torch.distributed.barrier()
        elif options is not None:
            # a new run: no stale records (every DDP rank runs this: missing_ok)
            (Path(options.output_dir) / HEALTH_FILE).unlink(missing_ok=True)
        with atomic_torch_save():
            super().run(*args, **kwargs)
        if options is not None:
            health = Path(options.output_dir) / HEALTH_FILE
            if health.is_file():
                from usm_espnet.ssl.health import health_line

                for line in health_line(health):
                    (logging.warning if line.startswith("WARNING") else logging.info)(line)

    @classmethod
    def validate_one_epoch(cls, model, iterator, reporter, options, distributed_option) -> None:
        """ESPnet's validation, plus BEST-RQ health summed over the whole validation set."""
        mods = _health_modules(getattr(model, "module", model))
        for m in mods:
            m.reset_eval_summary()
        super().validate_one_epoch(model=model, iterator=iterator, reporter=reporter,
                                   options=options, distributed_option=distributed_option)
        for m in mods:
            summary = m.eval_summary(all_reduce=bool(getattr(distributed_option, "distributed", False)))
            m.reset_eval_summary()
            if summary is None:
                continue
            reporter.register({"masked_acc": summary["masked_acc"], "prior_acc_all": summary["prior_acc"],
                               "label_ppl": summary["label_perplexity"]})
            if getattr(distributed_option, "dist_rank", 0) in (0, None):
                record = dict(epoch=reporter.get_epoch(), **summary)
                path = Path(options.output_dir) / HEALTH_FILE
                with open(path, "a", encoding="utf-8") as f:
                    f.write(json.dumps(record) + "\n")
            break  # one set of BEST-RQ heads per model

    @classmethod
    def train_one_epoch(cls, model, iterator, optimizers, schedulers, scaler, reporter,
                        summary_writer, options, distributed_option) -> bool:
        """ESPnet's epoch loop with non-finite steps counted and their forward pass undone."""
        net = getattr(model, "module", model)
        guard = _StepGuard(net, reporter)
        try:
            all_invalid = super().train_one_epoch(
                model=model, iterator=iterator, optimizers=optimizers, schedulers=schedulers,
                scaler=scaler, reporter=reporter, summary_writer=summary_writer,
                options=options, distributed_option=distributed_option)
        finally:
            guard.remove()
        steps = int(getattr(reporter, "count", 0))
        accum = max(1, int(getattr(options, "accum_grad", 1) or 1))
        norms = _values(reporter, "grad_norm")
        norms += [math.nan] * (steps - len(norms))
        updates = [i for i in range(steps) if (i + 1) % accum == 0]
        skipped = sum(1 for i in updates if not math.isfinite(norms[i]))
        clipped = sum(1 for v in _values(reporter, "clip") if v > 0)
        msg = (f"epoch {reporter.get_epoch()}: {steps} training steps, {guard.count} with a "
               f"non-finite loss (BatchNorm statistics restored); {skipped} of {len(updates)} "
               f"updates skipped for a non-finite gradient norm; {clipped} updates clipped to "
               f"grad norm {options.grad_clip:g}")
        if guard.count or skipped:
            logging.warning(msg)
        else:
            logging.info(msg)
        return all_invalid
