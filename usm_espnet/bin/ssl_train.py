"""BEST-RQ pre-training with ESPnet's trainer.

    python -m usm_espnet.bin.ssl_train --config conf/pretrain/best_rq_tiny.yaml \
        --train_data_path_and_name_and_type dump/raw/untranscribed/wav.scp,speech,sound \
        --valid_data_path_and_name_and_type dump/raw/dev/wav.scp,speech,sound ...

Every option is ESPnet's (``AbsTask``): ``--collect_stats``, ``--resume``,
``--ngpu``, ``--multiprocessing_distributed``, model averaging. BEST-RQ's own
options go in ``model_conf`` (see :class:`usm_espnet.ssl.best_rq_espnet_model.ESPnetBestRQModel`).
The encoder is saved as ``encoder.*``; fine-tune with
``--init_param <exp>/<checkpoint>.pth:encoder:encoder``.

As ``usm_espnet.bin.asr_train``: :mod:`usm_espnet.bin.preflight` checks the yaml
and the audio first (one ``ERROR: file:line: ...`` line and exit status 1), and
training runs with :class:`usm_espnet.tasks.guarded_trainer.GuardedTrainer`.
"""

import sys

if __name__ == "__main__":  # --help from a cached text, without importing ESPnet (8-20 s)
    from usm_espnet.bin._help import exit_if_help

    exit_if_help("ssl_train")

from usm_espnet.tasks.best_rq import BestRQTask  # noqa: E402
from usm_espnet.tasks.distributed import install as install_distributed  # noqa: E402
from usm_espnet.tasks.guarded_trainer import GuardedTrainer  # noqa: E402

BestRQTask.trainer = GuardedTrainer
install_distributed(BestRQTask)  # collective timeout; shard skips (--multiple_iterator)


def get_parser():
    return BestRQTask.get_parser()


def main(cmd=None) -> int:
    """Check the command, then run ESPnet's ``main`` for the BEST-RQ task.

    Args:
        cmd: Command-line arguments (default: ``sys.argv[1:]``).

    Returns:
        0 after training, 1 when a check failed.
    """
    from usm_espnet.bin import preflight

    return preflight.run_training(BestRQTask, "ssl", cmd)


if __name__ == "__main__":
    sys.exit(main())
