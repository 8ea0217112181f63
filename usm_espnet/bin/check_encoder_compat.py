"""Check that a training yaml's encoder can load a pre-trained model's encoder.

    python -m usm_espnet.bin.check_encoder_compat --pretrained exp/ssl_x/config.yaml \
        --config conf/train_asr.yaml

ESPnet's ``--init_param`` skips parameters whose names or shapes differ with only
a warning, so a fine-tuning run with a mismatched encoder would silently start
from scratch. This compares what decides the encoder's parameters -- ``encoder``,
``encoder_conf`` (except options that change no parameter: dropout rates and
the attention pattern, so pre-training with local attention and fine-tuning
with chunk attention is allowed) and the feature dimension -- and the
frontend, since fine-tuning reuses the pre-training feature statistics.
``--args`` takes the fine-tuning run's extra options (``--encoder_conf k=v``
overrides count). Exit 1 with every difference listed, 0 when they agree.
"""

import argparse
import shlex
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


#: encoder_conf keys that change no parameter (fine-tuning may set them differently)
NO_PARAMETERS = ("attention_type", "chunk_seconds", "left_context", "right_context",
                 "input_frame_shift_ms")


def apply_args(cfg: Dict[str, Any], args: str) -> Dict[str, Any]:
    """``cfg`` with ``--encoder_conf k=v`` / ``--frontend_conf k=v`` overrides from an option string."""
    cfg = dict(cfg)
    words = shlex.split(args or "")
    for i, w in enumerate(words[:-1]):
        if w in ("--encoder_conf", "--frontend_conf") and "=" in words[i + 1]:
            key, _, value = words[i + 1].partition("=")
            section = dict(cfg.get(w[2:]) or {})
            section[key] = yaml.safe_load(value)
            cfg[w[2:]] = section
        elif w in ("--encoder", "--frontend"):
            cfg[w[2:]] = words[i + 1]
    return cfg


def _encoder_view(cfg: Dict[str, Any]) -> Dict[str, Any]:
    enc_conf = {k: v for k, v in (cfg.get("encoder_conf") or {}).items()
                if "dropout" not in k and k not in NO_PARAMETERS}
    fconf = cfg.get("frontend_conf") or {}
    return {
        "encoder": cfg.get("encoder"),
        "encoder_conf": enc_conf,
        "frontend": cfg.get("frontend", "default"),
        "frontend_conf": {k: fconf.get(k) for k in ("fs", "n_fft", "win_length", "hop_length", "n_mels")},
        "input_size": cfg.get("input_size"),
    }


def differences(pretrained: Dict[str, Any], config: Dict[str, Any]) -> List[str]:
    """Human-readable differences between two configs' encoders (empty: compatible)."""
    a, b = _encoder_view(pretrained), _encoder_view(config)
    out = []
    for key in ("encoder", "frontend", "input_size"):
        if a[key] != b[key]:
            out.append(f"{key}: pre-trained {a[key]!r}, fine-tuning {b[key]!r}")
    for k in sorted(a["frontend_conf"]):
        va, vb = a["frontend_conf"][k], b["frontend_conf"][k]
        if va != vb:
            out.append(f"frontend_conf.{k}: pre-trained {va!r}, fine-tuning {vb!r}")
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
    p.add_argument("--args", default="", help="the fine-tuning run's extra options (asr_args)")
    a = p.parse_args(argv)
    diff = differences(_load(a.pretrained), apply_args(_load(a.config), a.args))
    if diff:
        print(f"ERROR: the encoder of {a.config} differs from {a.pretrained}'s:", file=sys.stderr)
        for d in diff:
            print(f"  {d}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
