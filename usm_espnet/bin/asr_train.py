"""ESPnet ASR training with usm-espnet's classes registered.

    python -m usm_espnet.bin.asr_train --config conf/train.yaml \
        --train_data_path_and_name_and_type dump/train/wav.scp,speech,sound ...

Every option is ESPnet's (``ASRTask``): checkpointing, ``--resume``,
``--ngpu``, ``--multiprocessing_distributed``, model averaging. Registration
runs at import so that processes spawned for multi-GPU training see it too.

Before ESPnet starts, :mod:`usm_espnet.bin.preflight` checks the yaml (syntax,
unknown or repeated keys, value types, ``*_conf`` keys against the classes) and
the data (every wav readable, complete, finite, mono at the frontend's rate;
transcripts non-empty, without control characters, not longer than their audio
can carry): a problem is one ``ERROR: file:line: ...`` line and exit status 1.
Training runs with :class:`usm_espnet.tasks.guarded_trainer.GuardedTrainer`
(counted non-finite steps, atomic checkpoints, repaired resume).
"""

import sys

if __name__ == "__main__":  # --help from a cached text, without importing ESPnet (8-20 s)
    from usm_espnet.bin._help import exit_if_help

    exit_if_help("asr_train")

from usm_espnet.registry import register  # noqa: E402

register(["espnet2.tasks.asr"])

from espnet2.tasks.asr import ASRTask  # noqa: E402

from usm_espnet.tasks.distributed import install as install_distributed  # noqa: E402
from usm_espnet.tasks.guarded_trainer import GuardedTrainer  # noqa: E402

ASRTask.trainer = GuardedTrainer
install_distributed(ASRTask)  # collective timeout; shard skips (--multiple_iterator)
_espnet_build_optimizers = ASRTask.build_optimizers.__func__


def _build_optimizers(cls, args, model):
    """ESPnet's optimizer, with the parameter groups of ``model: usm``'s ``encoder_lr_scale``."""
    groups = getattr(model, "optimizer_param_groups", None)
    groups = groups(float(args.optim_conf.get("lr", 1e-3))) if groups is not None else None
    if groups is None or args.sharded_ddp or args.exclude_weight_decay:
        return _espnet_build_optimizers(cls, args, model)
    from espnet2.tasks.abs_task import optim_classes

    return [optim_classes[args.optim](groups, **args.optim_conf)]


ASRTask.build_optimizers = classmethod(_build_optimizers)


def get_parser():
    return ASRTask.get_parser()


def main(cmd=None) -> int:
    """Check the command (see the module docstring), then run ESPnet's ``ASRTask.main``.

    Args:
        cmd: Command-line arguments (default: ``sys.argv[1:]``).

    Returns:
        0 after training, 1 when a check failed.
    """
    from usm_espnet.bin import preflight

    return preflight.run_training(ASRTask, "asr", cmd)


if __name__ == "__main__":
    sys.exit(main())
