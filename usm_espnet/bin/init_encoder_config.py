"""A recipe's training yaml that fine-tunes from an imported encoder (the stage template's --init_encoder).

    python -m usm_espnet.bin.init_encoder_config --init_encoder exp/w2v_bert2 \
        --config conf/train.yaml [--args "--encoder_conf attention_type=chunk"] --out OUT.yaml

``--init_encoder``: a directory written by ``python -m usm_espnet.bin.import_encoder``.
``OUT.yaml`` is ``--config`` with the frontend, normalisation and encoder of the import,
``init_param: DIR/encoder.pth::encoder`` and ``model: usm`` with ``encoder_lr_scale`` /
``head_warmup_steps`` (unless the yaml sets them); the encoder it builds (with the
``--encoder_conf`` overrides in ``--args``) is checked parameter by parameter against
``encoder.pth``. Bad input: one ``ERROR:`` line, exit 1, nothing written. The work is
in :mod:`usm_espnet.nets.init_encoder`.
"""

import argparse
import sys
from typing import List, Optional

from usm_espnet.bin._cli import run
from usm_espnet.nets.init_encoder import DEFAULT_ENCODER_LR_SCALE, DEFAULT_HEAD_WARMUP_STEPS


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m usm_espnet.bin.init_encoder_config",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--init_encoder", required=True, help="directory written by usm_espnet.bin.import_encoder")
    p.add_argument("--config", required=True, help="the recipe's ASR training yaml")
    p.add_argument("--args", default="", help="the run's extra training options (asr_args): "
                   "--encoder_conf k=v overrides are applied before the shape check")
    p.add_argument("--out", required=True, help="merged training yaml (written atomically)")
    p.add_argument("--encoder_lr_scale", type=float, default=DEFAULT_ENCODER_LR_SCALE,
                   help="model_conf.encoder_lr_scale unless the yaml sets it")
    p.add_argument("--head_warmup_steps", type=int, default=DEFAULT_HEAD_WARMUP_STEPS,
                   help="model_conf.head_warmup_steps unless the yaml sets it")
    return p


def main(argv: Optional[List[str]] = None) -> int:
    a = get_parser().parse_args(argv)
    from usm_espnet.nets.init_encoder import InitEncoderError, write_finetune_config


    def report(notes) -> None:
        for line in notes:
            print(line, file=sys.stderr)

    return run(lambda: write_finetune_config(a.init_encoder, a.config, a.out, a.args,
                                             a.encoder_lr_scale, a.head_warmup_steps),
               report, log_format=None, errors=InitEncoderError)


if __name__ == "__main__":
    sys.exit(main())
