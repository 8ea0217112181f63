"""ESPnet ASR training with usm-espnet's classes registered.

    python -m usm_espnet.bin.asr_train --config conf/train.yaml \
        --train_data_path_and_name_and_type dump/train/wav.scp,speech,sound ...

Every option is ESPnet's (``ASRTask``): checkpointing, ``--resume``,
``--ngpu``, ``--multiprocessing_distributed``, model averaging. Registration
runs at import so that processes spawned for multi-GPU training see it too.
"""

from usm_espnet.registry import register

register(["espnet2.tasks.asr"])

from espnet2.tasks.asr import ASRTask  # noqa: E402


def get_parser():
    return ASRTask.get_parser()


def main(cmd=None):
    ASRTask.main(cmd=cmd)


if __name__ == "__main__":
    main()
