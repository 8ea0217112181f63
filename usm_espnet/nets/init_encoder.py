"""A recipe's training config, fine-tuning from an imported encoder (``--init_encoder DIR``).

``python -m usm_espnet.bin.import_encoder`` writes ``DIR/encoder.pth`` (the encoder's
weights) and ``DIR/encoder.yaml`` (frontend, normalisation, encoder class and options).
:func:`finetune_config` merges that into a recipe's ASR yaml, which keeps everything
else (token list, CTC / attention / transducer head, SpecAugment, optimiser, batches):

* ``frontend``/``frontend_conf``, ``normalize`` (w2v-BERT: ``null``, its frontend
  normalises per utterance) and ``encoder``/``encoder_conf`` come from ``DIR``;
  ``input_size`` is left to ESPnet (the frontend's output size);
* options of the recipe's ``encoder_conf`` that change no parameter carry over: the
  attention pattern (``attention_type``, ``chunk_seconds``; with the same encoder class
  also ``left_context``/``right_context``, which are in its frames), dropout and
  activation checkpointing. Any other option the recipe's yaml gives for the same
  encoder class must equal the imported one (else :class:`InitEncoderError` naming it);
  a yaml for another encoder class is replaced;
* ``init_param: [DIR/encoder.pth::encoder]``;
* ``model: usm`` with the fine-tuning recipe for a pre-trained encoder
  (:mod:`usm_espnet.nets.asr_model`): ``encoder_lr_scale`` and ``head_warmup_steps``,
  unless the yaml sets them (defaults 0.5 and 50, as
  ``egs/fleurs/asr1/conf/tuning/finetune_lowres.yaml``).

:func:`check_weights` then builds the encoder of the merged config (with the run's
``--encoder_conf k=v`` overrides) on the meta device and compares every parameter's
shape with ``encoder.pth`` (memory-mapped, not read), because ESPnet's ``init_param``
would keep a missing parameter's random initialisation without a word.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any, Dict, List, Tuple

import yaml

#: encoder_conf keys that change no parameter and mean the same for any encoder class
FREE_ANY_CLASS = ("attention_type", "chunk_seconds", "dropout_rate", "attention_dropout_rate",
                  "activation_checkpointing")
#: ... and those that mean the same only within one encoder class (frames at its rate)
FREE_SAME_CLASS = ("left_context", "right_context")
#: the fine-tuning recipe of model: usm when the yaml does not set it
DEFAULT_ENCODER_LR_SCALE = 0.5
DEFAULT_HEAD_WARMUP_STEPS = 50
IMPORT_FILES = ("encoder.yaml", "encoder.pth", "import_info.json")


class InitEncoderError(ValueError):
    """An --init_encoder directory or a config that does not fit it; the message says which."""


def read_import_dir(path: str) -> Tuple[Path, Dict[str, Any]]:
    """The import directory (absolute) and its ``encoder.yaml`` fragment, checked."""
    d = Path(path).expanduser()
    if not d.exists():
        raise InitEncoderError(f"--init_encoder {path}: no such directory")
    if not d.is_dir():
        raise InitEncoderError(f"--init_encoder {path}: is a file; pass the directory that "
                               "python -m usm_espnet.bin.import_encoder wrote")
    missing = [f for f in IMPORT_FILES if not (d / f).is_file()]
    if missing:
        raise InitEncoderError(f"--init_encoder {path}: not a directory written by python -m "
                               f"usm_espnet.bin.import_encoder (no {', '.join(missing)})")
    try:
        frag = yaml.safe_load((d / "encoder.yaml").read_text(encoding="utf-8"))
        json.loads((d / "import_info.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError) as e:
        raise InitEncoderError(f"--init_encoder {path}: unreadable import files "
                               f"({type(e).__name__}: {str(e).splitlines()[0][:160]})") from None
    if not (isinstance(frag, dict) and isinstance(frag.get("encoder"), str)
            and isinstance(frag.get("encoder_conf"), dict) and isinstance(frag.get("frontend"), str)):
        raise InitEncoderError(f"{d / 'encoder.yaml'}: expected frontend, encoder and encoder_conf")
    return d.absolute(), frag


def _choices():
    """ESPnet's ASR encoder and frontend ClassChoices, with our classes registered."""
    from usm_espnet.registry import register

    register(["espnet2.tasks.asr"])
    from espnet2.tasks.asr import encoder_choices, frontend_choices

    return encoder_choices, frontend_choices


def finetune_config(init_encoder: str, config: Dict[str, Any], config_name: str = "asr_config",
                    encoder_lr_scale: float = DEFAULT_ENCODER_LR_SCALE,
                    head_warmup_steps: int = DEFAULT_HEAD_WARMUP_STEPS
                    ) -> Tuple[Dict[str, Any], List[str]]:
    """``config`` (a recipe's ASR yaml, parsed) fine-tuning from the import dir ``init_encoder``.

    Returns:
        The merged config and notes on what was carried over or set (for the log).

    Raises:
        InitEncoderError: Not an import dir; the yaml's encoder options contradict the
            imported ones; a model type without the fine-tuning options.
    """
    d, frag = read_import_dir(init_encoder)
    cfg = dict(config)
    notes: List[str] = []
    enc_name = frag["encoder"]
    theirs = dict(frag["encoder_conf"])
    theirs.pop("input_size", None)  # ESPnet passes the frontend's output size
    ours = dict(cfg.get("encoder_conf") or {})
    same = str(cfg.get("encoder", "")).lower() == enc_name.lower()
    free = FREE_ANY_CLASS + (FREE_SAME_CLASS if same else ())
    carried = {k: v for k, v in ours.items() if k in free}
    if same:
        clash = [f"encoder_conf.{k} is {ours[k]!r} in {config_name}, {theirs.get(k)!r} in "
                 f"{d / 'encoder.yaml'}" for k in sorted(ours)
                 if k not in free and k != "input_size" and ours[k] != theirs.get(k)]
        if clash:
            raise InitEncoderError(f"--init_encoder {init_encoder} does not match {config_name}: "
                                   + "; ".join(clash[:3])
                                   + " (the imported weights have the import's shape)")
    enc_conf = dict(theirs, **carried)
    if carried:
        notes.append("kept from " + config_name + ": "
                     + ", ".join(f"{k}={v}" for k, v in carried.items()))
    if not same and cfg.get("encoder"):
        notes.append(f"encoder {cfg['encoder']} of {config_name} replaced by the imported {enc_name}")
    cfg["frontend"], cfg["frontend_conf"] = frag["frontend"], dict(frag.get("frontend_conf") or {})
    cfg["normalize"] = frag.get("normalize")
    cfg.pop("normalize_conf", None)
    if cfg["normalize"] is not None and frag.get("normalize_conf") is not None:
        cfg["normalize_conf"] = frag["normalize_conf"]
    cfg["encoder"], cfg["encoder_conf"] = enc_name, enc_conf
    if cfg.get("init_param"):
        notes.append(f"init_param {cfg['init_param']} of {config_name} replaced")
    cfg["init_param"] = [f"{d / 'encoder.pth'}::encoder"]
    model = cfg.get("model", "espnet")
    if model not in ("espnet", "usm"):
        raise InitEncoderError(f"{config_name}: model {model!r}: fine-tuning an imported encoder "
                               "needs model: usm (encoder_lr_scale, head_warmup_steps) or espnet")
    cfg["model"] = "usm"
    model_conf = dict(cfg.get("model_conf") or {})
    model_conf.setdefault("encoder_lr_scale", encoder_lr_scale)
    model_conf.setdefault("head_warmup_steps", head_warmup_steps)
    cfg["model_conf"] = model_conf
    notes.append(f"model: usm, encoder_lr_scale {model_conf['encoder_lr_scale']}, "
                 f"head_warmup_steps {model_conf['head_warmup_steps']}")
    return cfg, notes


def check_weights(cfg: Dict[str, Any], args: str = "") -> int:
    """Every parameter of the encoder ``cfg`` (plus ``--encoder_conf`` overrides in ``args``)
    builds has its shape in ``init_param``'s ``encoder.pth``; returns the parameter count.

    Raises:
        InitEncoderError: A parameter missing from the weights, one the encoder lacks, or
            a shape mismatch -- naming the parameter.
    """
    import torch

    from usm_espnet.bin.check_encoder_compat import apply_args

    eff = apply_args(cfg, args)
    (init_param,) = cfg["init_param"]
    pth = init_param.split("::", 1)[0]
    encoder_choices, frontend_choices = _choices()
    try:
        frontend = frontend_choices.get_class(eff["frontend"])(**(eff.get("frontend_conf") or {}))
        enc_cls = encoder_choices.get_class(eff["encoder"])
        enc_conf = dict(eff.get("encoder_conf") or {})
        enc_conf.pop("input_size", None)
        with torch.device("meta"):
            encoder = enc_cls(input_size=frontend.output_size(), **enc_conf)
    except (TypeError, ValueError) as e:
        raise InitEncoderError(f"the merged config does not build its encoder: "
                               f"{str(e).splitlines()[0][:200]}") from None
    try:
        weights = torch.load(pth, map_location="cpu", mmap=True, weights_only=True)
    except Exception as e:  # noqa: BLE001 - torch.load raises many kinds
        raise InitEncoderError(f"{pth}: unreadable or truncated ({type(e).__name__}: "
                               f"{str(e).splitlines()[0][:160]}); import it again") from None
    want = encoder.state_dict()
    sig = set(inspect.signature(enc_cls).parameters)
    hint = ", ".join(f"{k}={v}" for k, v in enc_conf.items()
                     if k in sig and k not in FREE_ANY_CLASS + FREE_SAME_CLASS)
    for k, v in want.items():
        if k not in weights:
            raise InitEncoderError(f"{pth} has no encoder parameter {k} that the config's encoder "
                                   f"({eff['encoder']}: {hint}) has; its options do not match the import")
        if tuple(weights[k].shape) != tuple(v.shape):
            raise InitEncoderError(f"{pth}: parameter {k} has shape {tuple(weights[k].shape)}, the "
                                   f"config's encoder ({eff['encoder']}: {hint}) has {tuple(v.shape)}")
    extra = sorted(k for k in weights if k not in want)
    if extra:
        raise InitEncoderError(f"{pth}: parameter {extra[0]} is not in the config's encoder "
                               f"({eff['encoder']}: {hint}); its options do not match the import")
    return sum(v.numel() for v in want.values())


def write_finetune_config(init_encoder: str, config_path: str, out: str, args: str = "",
                          encoder_lr_scale: float = DEFAULT_ENCODER_LR_SCALE,
                          head_warmup_steps: int = DEFAULT_HEAD_WARMUP_STEPS) -> List[str]:
    """Merge, check the weights' shapes, write ``out`` (temporary file, then rename); notes."""
    import os
    import tempfile

    try:
        config = yaml.safe_load(Path(config_path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise InitEncoderError(f"{config_path}: unreadable ({str(e).splitlines()[0][:160]})") from None
    if not isinstance(config, dict):
        raise InitEncoderError(f"{config_path}: expected a mapping at the top level")
    cfg, notes = finetune_config(init_encoder, config, config_path, encoder_lr_scale,
                                 head_warmup_steps)
    n = check_weights(cfg, args)
    notes.insert(0, f"fine-tuning from {init_encoder}: {cfg['frontend']} + {cfg['encoder']} "
                    f"({n / 1e6:.2f}M parameters, shapes checked against encoder.pth)")
    head = (f"# {config_path} fine-tuning from the imported encoder {init_encoder}\n"
            "# (written by python -m usm_espnet.bin.init_encoder_config)\n"
            + "".join(f"#   {line}\n" for line in notes))
    out_p = Path(out)
    out_p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out_p.parent, prefix=f".{out_p.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(head + yaml.safe_dump(cfg, sort_keys=False, default_flow_style=False))
        os.replace(tmp, out_p)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return notes
