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
"""


if __name__ == "__main__":  # --help from a cached text, without importing ESPnet (8-20 s)
    from usm_espnet.bin._help import exit_if_help

    exit_if_help("most_train")

from usm_espnet.tasks.guarded_trainer import GuardedTrainer  # noqa: E402
from usm_espnet.tasks.most import MOSTTask  # noqa: E402 (registers our classes at import)

MOSTTask.trainer = GuardedTrainer


def get_parser():
    """MOSTTask's argument parser."""
    return MOSTTask.get_parser()


def main(cmd=None):
    """Run MOSTTask (collect_stats or training).

    Args:
        cmd: Command-line arguments (None: ``sys.argv``).
    """
    MOSTTask.main(cmd=cmd)


if __name__ == "__main__":
    main()
