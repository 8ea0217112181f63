"""Parameter counts of a trained ASR model, and its per-language adapters as small files.

    python -m usm_espnet.bin.model_info --asr_train_config exp/a/config.yaml \
        [--asr_model_file exp/a/latest.pth] [--save_adapters exp/adapters] [--out_json exp/a/params.json]

Prints (and with ``--out_json`` writes) ``{"total", "trainable", "encoder",
"adapters"}``: trainable is what got gradients in training (an encoder frozen
with ``freeze_encoder: true`` does not count). With ``--save_adapters DIR`` and a
model trained with ``adapter_language: <lang>`` the adapters are written to
``DIR/<lang>.pth`` (``Adapters.save_language``), the file ``asr_inference
--adapters_dir DIR`` and ``Adapters.load_language`` read.
"""

import argparse
import json
import os
import sys
from typing import List, Optional

from usm_espnet.registry import register


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m usm_espnet.bin.model_info",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--asr_train_config", required=True)
    p.add_argument("--asr_model_file", default=None, help="weights (needed for --save_adapters)")
    p.add_argument("--save_adapters", default=None, help="directory for <lang>.pth")
    p.add_argument("--out_json", default=None)
    a = p.parse_args(argv)
    if a.save_adapters and not a.asr_model_file:
        p.error("--save_adapters needs --asr_model_file")
    for f in (a.asr_train_config, a.asr_model_file):
        if f and not os.path.isfile(f):
            print(f"ERROR: {f}: not found", file=sys.stderr)
            return 1
    register(["espnet2.tasks.asr"])
    from espnet2.tasks.asr import ASRTask

    model, _ = ASRTask.build_model_from_file(a.asr_train_config, a.asr_model_file, "cpu")
    adapters = getattr(model, "adapters", None)
    # build_model_from_file leaves requires_grad as the model set it (freeze_encoder)
    info = {
        "total": sum(p.numel() for p in model.parameters()),
        "trainable": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "encoder": sum(p.numel() for p in model.encoder.parameters()),
        "adapters": sum(p.numel() for p in adapters.parameters()) if adapters is not None else 0,
        "adapter_language": getattr(model, "adapter_language", None),
    }
    if a.save_adapters:
        if adapters is None:
            print(f"ERROR: {a.asr_train_config}: the model has no adapters "
                  "(train it with model: usm, model_conf adapter_language=<lang>)", file=sys.stderr)
            return 1
        for lang in adapters.bank:
            out = os.path.join(a.save_adapters, f"{lang}.pth")
            adapters.save_language(lang, out)
            info.setdefault("adapter_files", []).append(out)
    text = json.dumps(info, indent=1)
    if a.out_json:
        os.makedirs(os.path.dirname(os.path.abspath(a.out_json)), exist_ok=True)
        with open(a.out_json, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
