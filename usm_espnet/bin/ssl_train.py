"""BEST-RQ pre-training with ESPnet's trainer.

    python -m usm_espnet.bin.ssl_train --config conf/pretrain/best_rq_tiny.yaml \
        --train_data_path_and_name_and_type dump/raw/untranscribed/wav.scp,speech,sound \
        --valid_data_path_and_name_and_type dump/raw/dev/wav.scp,speech,sound ...

Every option is ESPnet's (``AbsTask``): ``--collect_stats``, ``--resume``,
``--ngpu``, ``--multiprocessing_distributed``, model averaging. BEST-RQ's own
options go in ``model_conf`` (see :class:`usm_espnet.ssl.espnet_model.ESPnetBestRQModel`).
The encoder is saved as ``encoder.*``; fine-tune with
``--init_param <exp>/<checkpoint>.pth:encoder:encoder``.
"""

from usm_espnet.tasks.best_rq import BestRQTask


def get_parser():
    return BestRQTask.get_parser()


def main(cmd=None):
    BestRQTask.main(cmd=cmd)


if __name__ == "__main__":
    main()
