"""Import an open pre-trained encoder (w2v-BERT 2.0, Gemma 3n's audio encoder) into our ESPnet classes.

    python -m usm_espnet.bin.import_encoder --source DIR_OR_NAME --out_dir OUT [--verify] [--force]

``--source``: a transformers ``save_pretrained`` directory of ``Wav2Vec2BertModel``
(w2v-BERT 2.0), of ``Gemma3nAudioEncoder`` or of a whole Gemma 3n (its audio tower is
taken), or a hub name (``facebook/w2v-bert-2.0``, ``google/gemma-3n-E2B``; needs
network, or the local Hugging Face cache). ``OUT`` gets ``encoder.pth`` (for ESPnet's
``init_param: OUT/encoder.pth::encoder``), ``encoder.yaml`` (frontend, normalisation,
encoder and its options) and ``import_info.json``. ``--verify`` runs the source model
(transformers) and ours on the same random padded batch and prints
``max_abs_diff=<x>`` as the last line. Bad input: one ``ERROR:`` line, exit 1, nothing
written. The work is in :mod:`usm_espnet.nets.import_encoder`.
"""

import argparse
import sys
from typing import List, Optional


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m usm_espnet.bin.import_encoder",
        description="Import w2v-BERT 2.0 (transformers Wav2Vec2BertModel) into usm-espnet's "
                    "w2v_bert_fbank frontend + w2v_bert_conformer encoder, or Gemma 3n's audio "
                    "encoder (Gemma3nAudioEncoder) into gemma3n_mel + gemma3n_conformer, exactly.")
    p.add_argument("--source", required=True,
                   help="save_pretrained directory (config.json + model.safetensors), or a hub name")
    p.add_argument("--out_dir", required=True, help="output directory (written atomically)")
    p.add_argument("--verify", action="store_true",
                   help="compare with the source model on a random padded batch (needs "
                        "transformers); last line: max_abs_diff=<x>")
    p.add_argument("--tolerance", type=float, default=1e-3,
                   help="--verify fails (exit 1, nothing written) above this difference")
    p.add_argument("--force", action="store_true", help="replace an existing --out_dir")
    return p


def main(argv: Optional[List[str]] = None) -> int:
    args = get_parser().parse_args(argv)
    from usm_espnet.nets.import_encoder import run

    return run(args)


if __name__ == "__main__":
    sys.exit(main())
