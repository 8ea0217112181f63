"""Check that a training yaml's encoder can load a pre-trained model's encoder.

    python -m usm_espnet.bin.check_encoder_compat --pretrained exp/ssl_x/config.yaml \
        --config conf/train_asr.yaml

ESPnet's ``--init_param`` skips parameters whose names or shapes differ with only
a warning, so a fine-tuning run with a mismatched encoder would silently start
from scratch. This compares what decides the encoder's parameters: ``encoder``,
``encoder_conf``, the feature dimension (``frontend_conf.n_mels`` /
``input_size``) and the subsampling (``input_layer``). Exit 1 with every
difference listed, 0 when they agree.
"""

import argparse
import sys
from typing import Any, Dict, List, Optional

import yaml


def _load(path: str) -> Dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as f:
            cfg = yaml.safe_load(f)
    except OSError as e:
        raise SystemExit(f"ERROR: {path}: {e.strerror}")
    except yaml.YAMLError as e:
        raise SystemExit(f"ERROR: {path}: not valid yaml ({e})")
    if not isinstance(cfg, dict):
        raise SystemExit(f"ERROR: {path}: expected a mapping at the top level")
    return cfg


def _encoder_view(cfg: Dict[str, Any]) -> Dict[str, Any]:
    enc_conf = dict(cfg.get("encoder_conf") or {})
    # dropout does not change parameters; fine-tuning may use other rates
    for k in list(enc_conf):
        if "dropout" in k:
            enc_conf.pop(k)
    fconf = cfg.get("frontend_conf") or {}
    return {
        "encoder": cfg.get("encoder"),
        "encoder_conf": enc_conf,
        "n_mels": fconf.get("n_mels", 80) if cfg.get("frontend", "default") else None,
        "input_size": cfg.get("input_size"),
    }


def differences(pretrained: Dict[str, Any], config: Dict[str, Any]) -> List[str]:
    """Human-readable differences between two configs' encoders (empty: compatible)."""
    a, b = _encoder_view(pretrained), _encoder_view(config)
    out = []
    for key in ("encoder", "n_mels", "input_size"):
        if a[key] != b[key]:
            out.append(f"{key}: pre-trained {a[key]!r}, fine-tuning {b[key]!r}")
    for k in sorted(set(a["encoder_conf"]) | set(b["encoder_conf"])):
        va, vb = a["encoder_conf"].get(k), b["encoder_conf"].get(k)
        if va != vb:
            out.append(f"encoder_conf.{k}: pre-trained {va!r}, fine-tuning {vb!r}")
    return out


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m usm_espnet.bin.check_encoder_compat",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--pretrained", required=True, help="config.yaml of the pre-trained model")
    p.add_argument("--config", required=True, help="fine-tuning training yaml")
    a = p.parse_args(argv)
    diff = differences(_load(a.pretrained), _load(a.config))
    if diff:
        print(f"ERROR: the encoder of {a.config} differs from {a.pretrained}'s:", file=sys.stderr)
        for d in diff:
            print(f"  {d}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
