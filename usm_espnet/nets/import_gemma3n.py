"""Gemma 3n's audio encoder (transformers checkpoint) -> our ``gemma3n_mel`` + ``gemma3n_conformer``.

The Gemma 3n half of :mod:`usm_espnet.nets.import_encoder` (which dispatches on
``config.json``'s ``model_type`` and does the reading, checking and writing). Two
layouts are read:

* ``model_type: gemma3n_audio``: a ``Gemma3nAudioEncoder`` saved on its own
  (``save_pretrained``; tensors ``subsample_conv_projection.*``, ``conformer.N.*``);
* ``model_type: gemma3n``: a full Gemma 3n checkpoint (``google/gemma-3n-E2B``,
  ``-E4B``, ``-it``): the audio encoder's config is ``audio_config`` and its tensors are
  ``model.audio_tower.*`` (only those are read, from the shards that hold them).

The front end's options come from ``preprocessor_config.json`` (the
``Gemma3nAudioFeatureExtractor`` fields; nested under ``feature_extractor`` in a
processor's file), else transformers' defaults.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Dict, List, Tuple

FRONTEND = "gemma3n_mel"
ENCODER = "gemma3n_conformer"
#: prefixes of the audio encoder's tensors, by layout
PREFIXES = ("model.audio_tower.", "audio_tower.", "")

#: ours (inside blocks.N) -> the source's (inside conformer.N)
BLOCK_KEYS = {
    "norm_att.weight": "attention.pre_attn_norm.weight",
    "att.out.weight": "attention.post.weight",
    "att.pos_proj.weight": "attention.attn.relative_position_embedding.pos_proj.weight",
    "att.per_dim_scale": "attention.attn.per_dim_scale",
    "norm_att_post.weight": "attention.post_norm.weight",
    "conv.pre_norm.weight": "lconv1d.pre_layer_norm.weight",
    "conv.pw1.weight": "lconv1d.linear_start.weight",
    "conv.dw.weight": "lconv1d.depthwise_conv1d.weight",
    "conv.norm.weight": "lconv1d.conv_norm.weight",
    "conv.pw2.weight": "lconv1d.linear_end.weight",
    "norm_out.weight": "norm.weight",
}
for _ours, _theirs in (("ff1", "ffw_layer_start"), ("ff2", "ffw_layer_end")):
    BLOCK_KEYS.update({f"{_ours}.pre_norm.weight": f"{_theirs}.pre_layer_norm.weight",
                       f"{_ours}.w1.weight": f"{_theirs}.ffw_layer_1.weight",
                       f"{_ours}.w2.weight": f"{_theirs}.ffw_layer_2.weight",
                       f"{_ours}.post_norm.weight": f"{_theirs}.post_layer_norm.weight"})

#: Gemma3nAudioFeatureExtractor's options and our frontend's names for them
FRONTEND_KEYS = {"sampling_rate": "fs", "feature_size": "n_mels", "frame_length_ms": "frame_length_ms",
                 "hop_length_ms": "hop_length_ms", "min_frequency": "min_frequency",
                 "max_frequency": "max_frequency", "preemphasis": "preemphasis",
                 "preemphasis_htk_flavor": "preemphasis_htk_flavor", "fft_overdrive": "fft_overdrive",
                 "input_scale_factor": "input_scale_factor", "mel_floor": "mel_floor",
                 "per_bin_mean": "per_bin_mean", "per_bin_stddev": "per_bin_stddev"}


def _error(msg: str):
    from usm_espnet.nets.import_encoder import ImportEncoderError

    return ImportEncoderError(msg)


def audio_config(cfg: Dict[str, Any]) -> Dict[str, Any]:
    """The audio encoder's config of a ``gemma3n_audio`` or full ``gemma3n`` config.json."""
    if cfg.get("model_type") == "gemma3n":
        audio = cfg.get("audio_config")
        if not isinstance(audio, dict):
            raise _error("config.json: a gemma3n model without an audio_config")
        return audio
    return cfg


def _feature_extractor_config(pre: Dict[str, Any]) -> Dict[str, Any]:
    nested = pre.get("feature_extractor")
    return nested if isinstance(nested, dict) else pre


def confs(cfg: Dict[str, Any], pre: Dict[str, Any]) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """(frontend_conf, encoder_conf) for a Gemma 3n config.json and its preprocessor config."""
    a = audio_config(cfg)
    fe = _feature_extractor_config(pre)
    dither = float(fe.get("dither", 0.0) or 0.0)
    if dither:
        raise _error(f"preprocessor_config.json: dither {dither} is not supported (random noise "
                     "on every call; Gemma 3n's default is 0)")
    frontend_conf = {ours: fe[theirs] for theirs, ours in FRONTEND_KEYS.items()
                     if fe.get(theirs) is not None}
    frontend_conf.setdefault("n_mels", 128)
    for k in ("per_bin_mean", "per_bin_stddev"):  # saved as a (1, 1, n) array
        if k in frontend_conf:
            frontend_conf[k] = _flat(frontend_conf[k])
    fs = float(frontend_conf.get("fs", 16000))
    for samples, ms in (("frame_length", "frame_length_ms"), ("hop_length", "hop_length_ms")):
        if fe.get(samples) is not None:  # save_pretrained stores them in samples
            frontend_conf[ms] = int(fe[samples]) * 1000.0 / fs
    frontend_conf["pad_to_multiple_of"] = 128  # the extractor's __call__ default
    idim = int(a.get("input_feat_size", 128))
    if int(frontend_conf["n_mels"]) != idim:
        raise _error(f"config.json: input_feat_size {idim} is not the feature extractor's "
                     f"feature_size {frontend_conf['n_mels']}")
    d = int(a.get("hidden_size", 1536))
    left = max(0, int(a.get("conf_attention_context_left", 13)) - 1)
    right = int(a.get("conf_attention_context_right", 0))
    if left + right == 0:
        raise _error("config.json: conf_attention_context_left <= 1 and context_right 0 leave "
                     "no attention context")
    kernels = [list(map(int, k)) for k in a.get("sscp_conv_kernel_size", ((3, 3), (3, 3)))]
    strides = [list(map(int, s)) for s in a.get("sscp_conv_stride_size", ((2, 2), (2, 2)))]
    channels = [int(c) for c in a.get("sscp_conv_channel_size", (128, 32))]
    if not len(kernels) == len(strides) == len(channels) == 2:
        raise _error("config.json: Gemma3nAudioEncoder has exactly 2 sub-sampling convolutions "
                     f"(sscp_conv_*: {channels}, {kernels}, {strides})")
    encoder_conf = {
        "input_size": idim,
        "output_size": d,
        "attention_heads": int(a.get("conf_num_attention_heads", 8)),
        "linear_units": 4 * d,
        "num_blocks": int(a.get("conf_num_hidden_layers", 12)),
        "cnn_module_kernel": int(a.get("conf_conv_kernel_size", 5)),
        "subsample_channels": channels,
        "subsample_kernels": kernels,
        "subsample_strides": strides,
        "group_norm_eps": float(a.get("sscp_conv_group_norm_eps", 1e-3)),
        "attention_type": "local",
        "left_context": left,
        "right_context": right,
        "left_max_position": left,
        "right_max_position": right,
        "input_frame_shift_ms": float(frontend_conf.get("hop_length_ms", 10.0)),
        "logit_cap": float(a.get("conf_attention_logit_cap", 50.0)),
        "reduction_factor": int(a.get("conf_reduction_factor", 4)),
        "residual_weight": float(a.get("conf_residual_weight", 0.5)),
        "clip_value": float(a.get("gradient_clipping", 1e10)),
        "norm_eps": 1e-6,  # transformers' Gemma3nRMSNorm default, used whatever the config says
        "conv_norm_eps": float(a.get("rms_norm_eps", 1e-6)),
        # the padding the source's sub-sampling reads: the features of silence
        "feature_pad_value": _pad_value(frontend_conf),
    }
    return frontend_conf, encoder_conf


def _pad_value(frontend_conf: Dict[str, Any]):
    """The features of a frame of zeros: one value, or one per bin with per-bin normalisation."""
    floor = math.log(float(frontend_conf.get("mel_floor", 1e-5)))
    mean, std = frontend_conf.get("per_bin_mean"), frontend_conf.get("per_bin_stddev")
    if mean is None and std is None:
        return floor
    n = int(frontend_conf["n_mels"])
    for name, v in (("per_bin_mean", mean), ("per_bin_stddev", std)):
        if v is not None and len(v) != n:
            raise _error(f"preprocessor_config.json: {name} has {len(v)} values, feature_size is {n}")
    mean = [0.0] * n if mean is None else [float(x) for x in mean]
    std = [1.0] * n if std is None else [float(x) for x in std]
    return [(floor - m) / s for m, s in zip(mean, std)]


def _flat(v) -> List[float]:
    return [x for item in v for x in _flat(item)] if isinstance(v, (list, tuple)) else [float(v)]


def config_desc(cfg: Dict[str, Any]) -> str:
    a = audio_config(cfg)
    keys = ("hidden_size", "conf_num_attention_heads", "conf_num_hidden_layers", "conf_conv_kernel_size",
            "input_feat_size", "sscp_conv_channel_size")
    return ", ".join(f"{k}={a.get(k)}" for k in keys if k in a) or "defaults"


def _prefix(cfg: Dict[str, Any]) -> str:
    return "model.audio_tower." if cfg.get("model_type") == "gemma3n" else ""


def keep_key(cfg: Dict[str, Any]):
    """Which source tensors to read (a full Gemma 3n holds billions of others)."""
    p = _prefix(cfg)
    return (lambda k: k.startswith(p)) if p else None


def state(src_state: Dict[str, Any], cfg: Dict[str, Any], encoder_conf: Dict[str, Any]
          ) -> Tuple[Dict[str, Any], List[str]]:
    """Our encoder's state dict from the source's tensors, and the source keys left unused."""
    import torch

    p = _prefix(cfg)
    sd = {k[len(p):]: v for k, v in src_state.items() if k.startswith(p)}
    if not sd:
        raise _error(f"the weights hold no {p or 'Gemma3nAudioEncoder '}tensors (not a Gemma 3n "
                     "audio encoder's weights)")
    used = set()

    def take(key):
        if key not in sd:
            raise _error(f"the weights lack {p}{key} (a truncated checkpoint, or not a "
                         "Gemma3nAudioEncoder's weights)")
        used.add(key)
        return sd[key]

    out: Dict[str, Any] = {}
    sub = "subsample_conv_projection"
    for i in range(len(encoder_conf["subsample_channels"])):
        out[f"embed.convs.{i}.weight"] = take(f"{sub}.conv_{i}.conv.weight")
        out[f"embed.norms.{i}.weight"] = take(f"{sub}.conv_{i}.norm.weight")
    out["embed.out.weight"] = take(f"{sub}.input_proj_linear.weight")
    n = encoder_conf["num_blocks"]
    for i in range(n):
        for ours, theirs in BLOCK_KEYS.items():
            out[f"blocks.{i}.{ours}"] = take(f"conformer.{i}.{theirs}")
        a = f"conformer.{i}.attention.attn"
        out[f"blocks.{i}.att.qkv.weight"] = torch.cat([take(f"{a}.{x}_proj.weight") for x in "qkv"], 0)
    extra = sorted({int(m.group(1)) for k in sd
                    if (m := re.match(r"conformer\.(\d+)\.", k)) and int(m.group(1)) >= n})
    if extra:
        raise _error(f"config.json does not match the weights: conf_num_hidden_layers is {n}, "
                     f"the weights hold layer(s) {extra[:5]}")
    return out, sorted(p + k for k in sd if k not in used)


def source_key(ours: str, cfg: Dict[str, Any]) -> str:
    """The source tensor an encoder parameter came from (for error messages)."""
    p = _prefix(cfg)
    m = re.match(r"blocks\.(\d+)\.(.*)", ours)
    if m:
        i, rest = m.groups()
        if rest == "att.qkv.weight":
            return f"{p}conformer.{i}.attention.attn.q/k/v_proj.weight"
        return f"{p}conformer.{i}.{BLOCK_KEYS.get(rest, rest)}"
    m = re.match(r"embed\.(convs|norms)\.(\d+)\.weight", ours)
    if m:
        return f"{p}subsample_conv_projection.conv_{m.group(2)}.{'conv' if m.group(1) == 'convs' else 'norm'}.weight"
    if ours == "embed.out.weight":
        return f"{p}subsample_conv_projection.input_proj_linear.weight"
    return ours


def reference(src: Path, cfg: Dict[str, Any], src_state: Dict[str, Any], pre: Dict[str, Any],
              wav, lens):
    """The source's last hidden state and valid lengths for a waveform batch (transformers)."""
    import torch
    from transformers import Gemma3nAudioConfig, Gemma3nAudioEncoder, Gemma3nAudioFeatureExtractor

    config = Gemma3nAudioConfig.from_dict(audio_config(cfg))
    model = Gemma3nAudioEncoder(config)
    p = _prefix(cfg)
    sd = {k[len(p):]: v for k, v in src_state.items() if k.startswith(p)}
    model.load_state_dict(sd, strict=True)
    model.eval()
    fe = Gemma3nAudioFeatureExtractor.from_dict(_feature_extractor_config(pre))  # as from_pretrained
    inputs = fe([wav[b, :n].numpy() for b, n in enumerate(lens.tolist())], return_tensors="pt")
    with torch.no_grad():
        out = model(inputs["input_features"], ~inputs["input_features_mask"].bool())
    return out.last_hidden_state, (~out.audio_mel_mask).sum(-1)
