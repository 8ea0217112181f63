"""Import an open pre-trained speech encoder (transformers checkpoint) into our ESPnet classes.

    python -m usm_espnet.bin.import_encoder --source DIR_OR_NAME --out_dir OUT [--verify] [--force]

Supported (dispatched on ``config.json``'s ``model_type``):

* w2v-BERT 2.0 (``Wav2Vec2BertModel``, ``model_type: wav2vec2-bert``) ->
  ``frontend: w2v_bert_fbank`` + ``encoder: w2v_bert_conformer``
  (:mod:`usm_espnet.nets.w2v_bert`);
* Gemma 3n's audio encoder (``Gemma3nAudioEncoder``, ``model_type: gemma3n_audio``, or
  the ``audio_tower`` of a full ``gemma3n`` checkpoint) -> ``frontend: gemma3n_mel`` +
  ``encoder: gemma3n_conformer`` (:mod:`usm_espnet.nets.gemma3n_audio`; the
  conversion is :mod:`usm_espnet.nets.import_gemma3n`).

``OUT`` receives

* ``encoder.pth``: the encoder's state dict (our parameter names), for ESPnet's
  ``init_param: OUT/encoder.pth::encoder``;
* ``encoder.yaml``: the config fragment (frontend, normalisation, encoder and its
  options, ``init_param``) that reproduces the source model;
* ``import_info.json``: where it came from (source, model type, parameter count,
  transformers version, sha256 of ``encoder.pth``, the verification result).

The source is read directly (``config.json`` and ``model.safetensors``, sharded
safetensors or ``pytorch_model.bin``), so a missing, truncated or mismatching weight
file is an error, never a randomly initialised parameter. Everything is written to a
temporary directory beside ``OUT`` and renamed when complete. transformers is imported
only here (and only when a hub name is downloaded, or for ``--verify``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Tuple

from usm_espnet.utils import current_umask

#: model_type in config.json -> what we call it
SUPPORTED = {"wav2vec2-bert": "w2v-BERT 2.0 (Wav2Vec2BertModel)",
             "gemma3n_audio": "Gemma 3n audio encoder (Gemma3nAudioEncoder)",
             "gemma3n": "Gemma 3n's audio encoder (the audio_tower of Gemma3nForConditionalGeneration)"}
#: pinned in tools/requirements.lock
TRANSFORMERS_PIN = "transformers==5.25.0"


class ImportEncoderError(ValueError):
    """A source or output the import cannot handle; the message says which and what to do."""


# ----------------------------------------------------------------------- source


def _looks_like_hub_name(source: str) -> bool:
    return (re.fullmatch(r"[A-Za-z0-9][\w.-]*/[\w.-]+", source) is not None
            and not source.startswith((".", "/", "~")))


def resolve_source(source: str) -> Path:
    """A local ``save_pretrained`` directory for ``source`` (a directory or a hub name).

    A hub name is looked up in the local Hugging Face cache first, then downloaded
    (config and weights only). Without network that is an error saying how to fetch it.
    """
    p = Path(source).expanduser()
    if p.exists():
        if not p.is_dir():
            raise ImportEncoderError(f"{source}: is a file; pass the directory that "
                                     "save_pretrained wrote (config.json + weights)")
        return p
    if not _looks_like_hub_name(source):
        raise ImportEncoderError(f"{source}: no such directory (nor a hub name like "
                                 "facebook/w2v-bert-2.0)")
    try:
        from huggingface_hub import snapshot_download
    except ImportError as e:  # pragma: no cover - huggingface_hub is in the lock
        raise ImportEncoderError(f"{source}: downloading needs huggingface_hub ({e})") from None
    patterns = ["config.json", "preprocessor_config.json", "*.safetensors",
                "model.safetensors.index.json"]
    try:
        return Path(snapshot_download(source, allow_patterns=patterns, local_files_only=True))
    except Exception:  # noqa: BLE001 - not cached: try the network below
        pass
    try:
        return Path(snapshot_download(source, allow_patterns=patterns))
    except Exception as e:  # noqa: BLE001 - offline, unknown repo, gated ...
        raise ImportEncoderError(
            f"{source}: cannot download it here ({type(e).__name__}: {str(e).splitlines()[0][:160]}); "
            f"download it with `hf download {source} --local-dir DIR` (or "
            f"`huggingface-cli download {source} --local-dir DIR`) on a machine online, "
            f"then pass the directory: --source DIR") from None


def read_config(src: Path) -> Dict[str, Any]:
    """``config.json`` of ``src``, checked to be a supported model type."""
    path = src / "config.json"
    if not path.is_file():
        raise ImportEncoderError(f"{src}: no config.json; not a transformers save_pretrained directory")
    try:
        cfg = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ImportEncoderError(f"{path}: unreadable ({e})") from None
    if not isinstance(cfg, dict):
        raise ImportEncoderError(f"{path}: expected a JSON object")
    mtype = cfg.get("model_type")
    if mtype not in SUPPORTED:
        arch = ", ".join(cfg.get("architectures") or []) or "?"
        raise ImportEncoderError(
            f"{src}: holds a {mtype!r} model ({arch}); supported: "
            + ", ".join(f"{k} ({v})" for k, v in SUPPORTED.items()))
    return cfg


def read_weights(src: Path, keep: Optional[Callable[[str], bool]] = None) -> Tuple[Dict[str, Any], str]:
    """The tensors of ``src``'s weight files (float32; those whose name ``keep`` accepts)
    and a description of the files read."""
    import torch

    single = src / "model.safetensors"
    index = src / "model.safetensors.index.json"
    binary = src / "pytorch_model.bin"
    if single.is_file():
        files = [single]
    elif index.is_file():
        try:
            wmap = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
            # only the shards that hold wanted tensors
            shards = sorted({s for k, s in wmap.items() if keep is None or keep(k)}
                            or set(wmap.values()))
        except (OSError, ValueError, KeyError, AttributeError) as e:
            raise ImportEncoderError(f"{index}: unreadable shard index ({e})") from None
        files = [src / s for s in shards]
        missing = [f.name for f in files if not f.is_file()]
        if missing:
            raise ImportEncoderError(f"{src}: weight shards missing: {', '.join(missing)}")
    elif binary.is_file():
        files = [binary]
    else:
        raise ImportEncoderError(f"{src}: no weights (model.safetensors, a sharded "
                                 "model.safetensors.index.json or pytorch_model.bin)")
    state: Dict[str, Any] = {}
    for f in files:
        try:
            if f.suffix == ".safetensors":
                from safetensors.torch import load_file

                part = load_file(str(f)) if keep is None else _load_some(f, keep)
            else:
                part = torch.load(str(f), map_location="cpu", weights_only=True)
        except Exception as e:  # noqa: BLE001 - safetensors/torch raise many kinds
            size = f.stat().st_size if f.exists() else 0
            raise ImportEncoderError(f"{f}: unreadable or truncated weight file ({size} bytes; "
                                     f"{type(e).__name__}: {str(e).splitlines()[0][:160]})") from None
        state.update(part)
    if keep is not None:
        state = {k: v for k, v in state.items() if keep(k)}
    if not state:
        raise ImportEncoderError(f"{files[0]}: holds no tensors"
                                 + (" of the encoder" if keep is not None else ""))
    return ({k: (v.float() if v.is_floating_point() else v) for k, v in state.items()},
            ", ".join(f.name for f in files))


def _load_some(path: Path, keep: Callable[[str], bool]) -> Dict[str, Any]:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as h:
        return {k: h.get_tensor(k) for k in h.keys() if keep(k)}


# -------------------------------------------------------------- w2v-BERT 2.0


def w2v_bert_confs(cfg: Dict[str, Any], pre: Dict[str, Any]) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """(frontend_conf, encoder_conf) for a Wav2Vec2BertConfig dict and its preprocessor config."""
    from usm_espnet.nets.w2v_bert import ACTIVATIONS

    def get(k, default):
        return cfg.get(k, default)

    pos = get("position_embeddings_type", "relative_key")
    if pos != "relative_key":
        raise ImportEncoderError(f"config.json: position_embeddings_type {pos!r} is not supported "
                                 "(w2v-BERT 2.0 uses 'relative_key')")
    for flag in ("add_adapter", "use_intermediate_ffn_before_adapter"):
        if get(flag, False):
            raise ImportEncoderError(f"config.json: {flag}: true is not supported (the encoder "
                                     "output would pass through an adapter we do not convert)")
    act = get("hidden_act", "swish")
    if act not in ACTIVATIONS:
        raise ImportEncoderError(f"config.json: hidden_act {act!r} is not supported "
                                 f"(one of {sorted(ACTIVATIONS)})")
    n_mels = int(pre.get("num_mel_bins", pre.get("feature_size", 80)))
    stack = int(pre.get("stride", 2))
    fs = int(pre.get("sampling_rate", 16000))
    idim = int(get("feature_projection_input_dim", 160))
    if n_mels * stack != idim:
        raise ImportEncoderError(f"config.json: feature_projection_input_dim {idim} is not "
                                 f"num_mel_bins x stride = {n_mels} x {stack}")
    frontend_conf = {"fs": fs, "n_mels": n_mels, "stack": stack}
    encoder_conf = {
        "input_size": idim,
        "output_size": int(get("hidden_size", 1024)),
        "attention_heads": int(get("num_attention_heads", 16)),
        "linear_units": int(get("intermediate_size", 4096)),
        "num_blocks": int(get("num_hidden_layers", 24)),
        "cnn_module_kernel": int(get("conv_depthwise_kernel_size", 31)),
        "causal_conv": True,
        "left_max_position": int(get("left_max_position_embeddings", 64)),
        "right_max_position": int(get("right_max_position_embeddings", 8)),
        "layer_norm_eps": float(get("layer_norm_eps", 1e-5)),
        "activation": act,
        "attention_type": "global",
        "input_frame_shift_ms": 10.0 * stack,
        "dropout_rate": float(get("hidden_dropout", 0.0)),
        "attention_dropout_rate": float(get("attention_dropout", 0.0)),
    }
    return frontend_conf, encoder_conf


def w2v_bert_state(src_state: Dict[str, Any], num_blocks: int) -> Tuple[Dict[str, Any], List[str]]:
    """Our encoder's state dict from a Wav2Vec2BertModel's, and the source keys left unused.

    Raises:
        ImportEncoderError: A tensor the encoder needs is missing, or the weights hold
            more layers than the config says.
    """
    import torch

    prefix = "wav2vec2_bert."  # Wav2Vec2BertFor* checkpoints keep the base model under it
    sd = {(k[len(prefix):] if k.startswith(prefix) else k): v for k, v in src_state.items()}
    used = set()

    def take(key):
        if key not in sd:
            raise ImportEncoderError(f"the weights lack {key} (a truncated checkpoint, or not a "
                                     "Wav2Vec2BertModel's weights)")
        used.add(key)
        return sd[key]

    out: Dict[str, Any] = {}

    def linear(ours, theirs, bias=True):
        out[f"{ours}.weight"] = take(f"{theirs}.weight")
        if bias:
            out[f"{ours}.bias"] = take(f"{theirs}.bias")

    linear("proj_norm", "feature_projection.layer_norm")
    linear("proj", "feature_projection.projection")
    for i in range(num_blocks):
        s, o = f"encoder.layers.{i}", f"blocks.{i}"
        for ff in ("ffn1", "ffn2"):
            ofs = "ff1" if ff == "ffn1" else "ff2"
            linear(f"{o}.{ofs}.0", f"{s}.{ff}_layer_norm")
            linear(f"{o}.{ofs}.1", f"{s}.{ff}.intermediate_dense")
            linear(f"{o}.{ofs}.4", f"{s}.{ff}.output_dense")
        linear(f"{o}.norm_att", f"{s}.self_attn_layer_norm")
        a = f"{s}.self_attn"
        out[f"{o}.att.qkv.weight"] = torch.cat([take(f"{a}.linear_{n}.weight") for n in "qkv"], 0)
        out[f"{o}.att.qkv.bias"] = torch.cat([take(f"{a}.linear_{n}.bias") for n in "qkv"], 0)
        linear(f"{o}.att.out", f"{a}.linear_out")
        out[f"{o}.att.distance.weight"] = take(f"{a}.distance_embedding.weight")
        c = f"{s}.conv_module"
        linear(f"{o}.conv.norm_in", f"{c}.layer_norm")
        out[f"{o}.conv.pw1.weight"] = take(f"{c}.pointwise_conv1.weight").squeeze(-1)
        out[f"{o}.conv.dw.weight"] = take(f"{c}.depthwise_conv.weight")
        linear(f"{o}.conv.norm", f"{c}.depthwise_layer_norm")
        out[f"{o}.conv.pw2.weight"] = take(f"{c}.pointwise_conv2.weight").squeeze(-1)
        linear(f"{o}.norm_out", f"{s}.final_layer_norm")
    extra_layers = sorted({int(m.group(1)) for k in sd
                           if (m := re.match(r"encoder\.layers\.(\d+)\.", k)) and int(m.group(1)) >= num_blocks})
    if extra_layers:
        raise ImportEncoderError(f"config.json does not match the weights: num_hidden_layers is "
                                 f"{num_blocks}, the weights hold layer(s) {extra_layers[:5]}")
    unused = sorted(k for k in sd if k not in used)
    return out, unused


def _source_key(ours: str) -> str:
    """The source parameter an encoder parameter came from (for error messages)."""
    m = re.match(r"blocks\.(\d+)\.(.*)", ours)
    if not m:
        return {"proj_norm": "feature_projection.layer_norm",
                "proj": "feature_projection.projection"}.get(ours.rsplit(".", 1)[0], ours)
    i, rest = m.groups()
    names = {"ff1.0": "ffn1_layer_norm", "ff1.1": "ffn1.intermediate_dense", "ff1.4": "ffn1.output_dense",
             "ff2.0": "ffn2_layer_norm", "ff2.1": "ffn2.intermediate_dense", "ff2.4": "ffn2.output_dense",
             "norm_att": "self_attn_layer_norm", "att.qkv": "self_attn.linear_q/k/v",
             "att.out": "self_attn.linear_out", "att.distance": "self_attn.distance_embedding",
             "conv.norm_in": "conv_module.layer_norm", "conv.pw1": "conv_module.pointwise_conv1",
             "conv.dw": "conv_module.depthwise_conv", "conv.norm": "conv_module.depthwise_layer_norm",
             "conv.pw2": "conv_module.pointwise_conv2", "norm_out": "final_layer_norm"}
    mod, _, leaf = rest.rpartition(".")
    return f"encoder.layers.{i}.{names.get(mod, mod)}.{leaf}"


def build_encoder(encoder_conf: Dict[str, Any], state: Dict[str, Any], cfg_desc: str,
                  encoder_cls=None, source_key: Callable[[str], str] = _source_key):
    """Our encoder with ``state`` loaded; shape mismatches name the parameter and the config."""
    if encoder_cls is None:
        from usm_espnet.nets.w2v_bert import W2VBertConformerEncoder as encoder_cls

    try:
        enc = encoder_cls(**encoder_conf)
    except ValueError as e:
        raise ImportEncoderError(f"config.json: {e}") from None
    want = enc.state_dict()
    for k, v in want.items():
        if k not in state:
            raise ImportEncoderError(f"the weights lack {source_key(k)}")
        if tuple(state[k].shape) != tuple(v.shape):
            raise ImportEncoderError(
                f"config.json does not match the weights: {source_key(k)} has shape "
                f"{tuple(state[k].shape)} in the weights, the config ({cfg_desc}) implies {tuple(v.shape)}")
    enc.load_state_dict(state, strict=True)
    return enc.eval()


# --------------------------------------------------------------------- verify


def random_batch(seed: int = 0, seconds: Tuple[float, ...] = (2.0, 1.37), fs: int = 16000):
    """A padded batch of random waveforms (B, N) in [-1, 1] and their lengths."""
    import torch

    g = torch.Generator().manual_seed(seed)
    lens = torch.tensor([int(s * fs) for s in seconds])
    wav = torch.zeros(len(seconds), int(lens.max()))
    for b, n in enumerate(lens.tolist()):
        wav[b, :n] = (0.1 * torch.randn(n, generator=g)).clamp(-1, 1)
    return wav, lens


def w2v_bert_reference(src: Path, cfg: Dict[str, Any], src_state: Dict[str, Any],
                       pre: Dict[str, Any], wav, lens):
    """The source model's last hidden state and valid lengths for a waveform batch (transformers)."""
    import torch
    from transformers import SeamlessM4TFeatureExtractor, Wav2Vec2BertConfig, Wav2Vec2BertModel

    config = Wav2Vec2BertConfig.from_dict(cfg)
    config._attn_implementation = "eager"
    model = Wav2Vec2BertModel(config)
    prefix = "wav2vec2_bert."
    sd = {(k[len(prefix):] if k.startswith(prefix) else k): v for k, v in src_state.items()}
    model.load_state_dict({k: v for k, v in sd.items() if k in model.state_dict()}, strict=False)
    model.eval()
    fe_keys = ("feature_size", "sampling_rate", "num_mel_bins", "padding_value", "stride")
    fe = SeamlessM4TFeatureExtractor(**{k: pre[k] for k in fe_keys if k in pre})
    inputs = fe([wav[b, :n].numpy() for b, n in enumerate(lens.tolist())],
                sampling_rate=fe.sampling_rate, padding=True, return_tensors="pt")
    with torch.no_grad():
        hs = model(input_features=inputs["input_features"],
                   attention_mask=inputs["attention_mask"]).last_hidden_state
    return hs, inputs["attention_mask"].sum(-1)


def ours_forward(frontend_conf, encoder, wav, lens, frontend_cls=None):
    import torch

    if frontend_cls is None:
        from usm_espnet.nets.w2v_bert import W2VBertFbankFrontend as frontend_cls

    fe = frontend_cls(**frontend_conf)
    with torch.no_grad():
        feats, flens = fe(wav, lens)
        out, olens, _ = encoder(feats, flens)
    return out, olens


def compare(ref, ref_lens, out, out_lens) -> float:
    """Max absolute difference over the valid frames; lengths must agree."""
    if ref_lens.tolist() != out_lens.tolist():
        raise ImportEncoderError(f"--verify: output lengths differ: source {ref_lens.tolist()}, "
                                 f"ours {out_lens.tolist()}")
    return max(float((ref[b, :n] - out[b, :n]).abs().max()) if n else 0.0
               for b, n in enumerate(out_lens.tolist()))


# ---------------------------------------------------------------------- write


def _yaml_fragment(frontend_conf, encoder_conf, init_param: str, source: str, desc: str,
                   frontend: str = "w2v_bert_fbank", encoder: str = "w2v_bert_conformer") -> str:
    import yaml

    body = {"frontend": frontend, "frontend_conf": frontend_conf, "normalize": None,
            "encoder": encoder, "encoder_conf": encoder_conf,
            "init_param": [init_param]}
    head = (f"# {desc} encoder imported from {source} by\n"
            "#   python -m usm_espnet.bin.import_encoder\n"
            "# Merge into an ESPnet ASR config (add ctc_conf / decoder / model_conf). The\n"
            "# features are normalised (if at all) inside the frontend (normalize: null).\n"
            "# encoder_conf.attention_type: chunk switches to USM's chunk-wise attention.\n")
    return head + yaml.safe_dump(body, sort_keys=False, default_flow_style=False)


def write_output(out_dir: Path, force: bool, encoder, frontend_conf, encoder_conf,
                 info: Dict[str, Any], source: str, desc: str, keys: Tuple[str, str] = ()) -> None:
    """Write OUT atomically: a temporary sibling directory, renamed when complete."""
    import torch

    out_dir = out_dir.expanduser().absolute()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.tmp-"))
    os.chmod(tmp, 0o777 & ~current_umask())  # mkdtemp's 0700 would outlive the rename
    try:
        pth = tmp / "encoder.pth"
        torch.save(encoder.state_dict(), pth)
        info = dict(info, encoder_pth_sha256=hashlib.sha256(pth.read_bytes()).hexdigest())
        (tmp / "encoder.yaml").write_text(
            _yaml_fragment(frontend_conf, encoder_conf, f"{out_dir / 'encoder.pth'}::encoder",
                           source, desc, *keys), encoding="utf-8")
        (tmp / "import_info.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
        old = None
        if out_dir.exists():
            if not force:
                raise ImportEncoderError(f"{out_dir}: exists; pass --force to replace it")
            old = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.old-"))
            os.replace(out_dir, old / "x")
        os.replace(tmp, out_dir)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


# ------------------------------------------------------------------ dispatch


class Converter(NamedTuple):
    """What the import needs to know of one source model family."""

    confs: Callable  # (cfg, pre) -> (frontend_conf, encoder_conf)
    keep: Callable  # cfg -> None (read every tensor) or a predicate on tensor names
    state: Callable  # (src_state, cfg, encoder_conf) -> (our state dict, unused source keys)
    config_desc: Callable  # cfg -> "hidden_size=..., ..." for shape-mismatch messages
    source_key: Callable  # (our parameter name, cfg) -> the source tensor's name
    reference: Callable  # (src, cfg, src_state, pre, wav, lens) -> (hidden, lengths)
    frontend_cls: Callable
    encoder_cls: Callable
    keys: Tuple[str, str]  # ESPnet's frontend and encoder choices
    not_encoder: Tuple[str, ...] = ()  # source tensors left out silently


def converter(model_type: str) -> Converter:
    """The converter for a supported ``model_type``."""
    if model_type in ("gemma3n_audio", "gemma3n"):
        from usm_espnet.nets import import_gemma3n as g

        def gemma_frontend():
            from usm_espnet.nets.gemma3n_audio import Gemma3nMelFrontend
            return Gemma3nMelFrontend

        def gemma_encoder():
            from usm_espnet.nets.gemma3n_audio import Gemma3nConformerEncoder
            return Gemma3nConformerEncoder

        return Converter(g.confs, g.keep_key, g.state, g.config_desc, g.source_key, g.reference,
                         gemma_frontend, gemma_encoder, (g.FRONTEND, g.ENCODER))

    def w2v_frontend():
        from usm_espnet.nets.w2v_bert import W2VBertFbankFrontend
        return W2VBertFbankFrontend

    def w2v_encoder():
        from usm_espnet.nets.w2v_bert import W2VBertConformerEncoder
        return W2VBertConformerEncoder

    def w2v_desc(cfg):
        return ", ".join(f"{k}={cfg.get(k)}" for k in (
            "hidden_size", "num_attention_heads", "intermediate_size", "num_hidden_layers",
            "conv_depthwise_kernel_size") if k in cfg) or "defaults"

    return Converter(w2v_bert_confs, lambda cfg: None,
                     lambda sd, cfg, enc: w2v_bert_state(sd, enc["num_blocks"]), w2v_desc,
                     lambda k, cfg: _source_key(k), w2v_bert_reference, w2v_frontend, w2v_encoder,
                     ("w2v_bert_fbank", "w2v_bert_conformer"), ("masked_spec_embed",))


# ----------------------------------------------------------------------- main


def import_encoder(source: str, out_dir: str, verify: bool = False, force: bool = False,
                   tolerance: float = 1e-3, log=print) -> Optional[float]:
    """Import ``source`` into ``out_dir``; returns the measured max abs difference with ``verify``.

    Raises:
        ImportEncoderError: Bad source or output (nothing is written).
    """
    out = Path(out_dir)
    if out.exists() and not force:  # fail before any expensive work
        raise ImportEncoderError(f"{out}: exists; pass --force to replace it")
    src = resolve_source(source)
    cfg = read_config(src)
    pre_path = src / "preprocessor_config.json"
    try:
        pre = json.loads(pre_path.read_text(encoding="utf-8")) if pre_path.is_file() else {}
    except (OSError, ValueError) as e:
        raise ImportEncoderError(f"{pre_path}: unreadable ({e})") from None
    desc = SUPPORTED[cfg["model_type"]]
    conv = converter(cfg["model_type"])
    frontend_conf, encoder_conf = conv.confs(cfg, pre)
    src_state, files = read_weights(src, conv.keep(cfg))
    state, unused = conv.state(src_state, cfg, encoder_conf)
    encoder = build_encoder(encoder_conf, state, conv.config_desc(cfg), conv.encoder_cls(),
                            lambda k: conv.source_key(k, cfg))
    n_params = sum(p.numel() for p in encoder.parameters())
    log(f"{src}: {desc}, {encoder_conf['num_blocks']} blocks, d {encoder_conf['output_size']}, "
        f"{n_params / 1e6:.2f}M parameters from {files}")
    ignored = [k for k in unused if k not in conv.not_encoder]
    if ignored:
        log(f"not part of the encoder, left out: {len(ignored)} tensors ({', '.join(ignored[:4])}"
            f"{' ...' if len(ignored) > 4 else ''})")
    info: Dict[str, Any] = {"source": source, "source_dir": str(src.absolute()),
                            "model_type": cfg["model_type"], "weights": files,
                            "encoder_parameters": n_params}
    try:
        from importlib import metadata

        info["transformers"] = metadata.version("transformers")
    except Exception:  # noqa: BLE001 - not installed: not needed without --verify
        info["transformers"] = None
    diff = None
    if verify:
        try:
            wav, lens = random_batch(fs=frontend_conf["fs"])
            ref, ref_lens = conv.reference(src, cfg, src_state, pre, wav, lens)
        except ImportError as e:
            raise ImportEncoderError(f"--verify needs transformers ({e}); install "
                                     f"{TRANSFORMERS_PIN} (pinned in tools/requirements.lock)") from None
        got, got_lens = ours_forward(frontend_conf, encoder, wav, lens, conv.frontend_cls())
        diff = compare(ref, ref_lens, got, got_lens)
        info["verify"] = {"max_abs_diff": diff, "batch_seconds": [n / frontend_conf["fs"] for n in lens.tolist()]}
        if not diff <= tolerance:
            err = ImportEncoderError(f"--verify: max_abs_diff={diff:.3g} exceeds {tolerance:g}; "
                                     "nothing written")
            err.diff = diff
            raise err
    write_output(out, force, encoder, frontend_conf, encoder_conf, info, source, desc, conv.keys)
    log(f"wrote {out}/encoder.pth, encoder.yaml, import_info.json")
    return diff


def run(args) -> int:
    """Entry point body (the parser lives in ``usm_espnet.bin.import_encoder``): 0 or 1."""
    try:
        diff = import_encoder(args.source, args.out_dir, verify=args.verify, force=args.force,
                              tolerance=args.tolerance,
                              log=lambda m: print(m, file=sys.stderr))
    except ImportEncoderError as e:
        print(f"ERROR: {e}", file=sys.stderr)
        if getattr(e, "diff", None) is not None:
            print(f"max_abs_diff={e.diff:.3e}")
        return 1
    if diff is not None:
        print(f"max_abs_diff={diff:.3e}")
    return 0
