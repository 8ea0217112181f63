"""MOST pre-training (USM stage 3) with ESPnet's trainer.

    python -m usm_espnet.bin.most_train --config conf/pretrain/most_tiny.yaml \
        --token_list data/token_list/char/tokens.txt --token_type char \
        --speech_data dump/raw/untranscribed --paired_data dump/raw/train \
        --text_data dump/raw/unspoken_text \
        --valid_data_path_and_name_and_type dump/raw/dev/wav.scp,speech,sound \
        --valid_data_path_and_name_and_type dump/raw/dev/text,text,text \
        --valid_shape_file exp/most_stats/valid/speech_shape \
        --normalize global_mvn --normalize_conf stats_file=exp/most_stats/train/feats_stats.npz \
        --init_param exp/best_rq/valid.loss.best.pth --output_dir exp/most

The three streams (``--speech_data``, ``--paired_data``, ``--text_data``) and their
per-step batch sizes (``most_conf``) are described in :mod:`usm_espnet.tasks.most`.
Every other option is ESPnet's (``AbsTask``): ``--collect_stats`` (on
``--train_data_path_and_name_and_type <untranscribed>/wav.scp,speech,sound``),
``--resume``, ``--ngpu``, ``--multiprocessing_distributed``, model averaging.
The encoder is saved as ``encoder.*``; fine-tune with
``--init_param <exp>/<checkpoint>.pth:encoder:encoder``.
Training runs with :class:`usm_espnet.tasks.guarded_trainer.GuardedTrainer`
(counted non-finite steps, atomic checkpoints, repaired resume), as ``asr_train``
and ``ssl_train`` do.

The distributed launch is checked first and collective failures end the rank with
one line (:mod:`usm_espnet.tasks.distributed`), as for ``asr_train`` and ``ssl_train``.
"""

import sys

if __name__ == "__main__":  # --help from a cached text, without importing ESPnet (8-20 s)
    from usm_espnet.bin._help import exit_if_help

    exit_if_help("most_train")

from usm_espnet.tasks.distributed import install as install_distributed  # noqa: E402
from usm_espnet.tasks.guarded_trainer import GuardedTrainer  # noqa: E402
from usm_espnet.tasks.most import MOSTTask  # noqa: E402 (registers our classes at import)

MOSTTask.trainer = GuardedTrainer
install_distributed(MOSTTask)  # collective timeout; shard skips (--multiple_iterator)


def get_parser():
    """MOSTTask's argument parser."""
    return MOSTTask.get_parser()


def main(cmd=None) -> int:
    """Check the distributed launch, then run MOSTTask (collect_stats or training).

    Args:
        cmd: Command-line arguments (None: ``sys.argv``).

    Returns:
        0 after training, 1 when the launch check failed (one ``ERROR:`` line).
    """
    from usm_espnet.tasks import distributed

    argv = list(sys.argv[1:] if cmd is None else cmd)
    try:
        distributed.prepare(argv)
    except distributed.LaunchError as e:
        print(f"ERROR: {e}", file=sys.stderr)
        return 1
    return distributed.run_main(MOSTTask, argv)


if __name__ == "__main__":
    sys.exit(main())
