"""Gemma 3n's audio encoder imported from a transformers checkpoint is exact; bad input gets one line.

No download: the source is a tiny random ``Gemma3nAudioEncoder`` (it is a PreTrainedModel:
``save_pretrained`` writes config.json with ``model_type: gemma3n_audio`` and
model.safetensors) plus ``Gemma3nAudioFeatureExtractor().save_pretrained``. A full Gemma 3n
checkpoint (``model_type: gemma3n``, the encoder under ``model.audio_tower.``) cannot be
built offline (its vision tower needs timm weights), so that layout is written by hand:
config.json with the audio config as ``audio_config`` and the same tensors, renamed, in
sharded safetensors beside a language-model shard.
"""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

transformers = pytest.importorskip("transformers")

from usm_espnet.bin.import_encoder import main  # noqa: E402
from usm_espnet.nets import import_encoder as ie  # noqa: E402
from usm_espnet.nets.gemma3n_audio import Gemma3nConformerEncoder, Gemma3nMelFrontend  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
TOL = 1e-4
TINY_AUDIO = dict(input_feat_size=32, hidden_size=64, conf_num_attention_heads=4, conf_num_hidden_layers=2,
                  sscp_conv_channel_size=[16, 8], conf_attention_chunk_size=4,
                  conf_attention_context_left=5, conf_attention_context_right=0)


def _tiny_model(seed: int = 0, **overrides):
    torch.manual_seed(seed)
    model = transformers.Gemma3nAudioEncoder(transformers.Gemma3nAudioConfig(**dict(TINY_AUDIO, **overrides)))
    with torch.no_grad():  # move every parameter off its default (RMSNorm 1, per_dim_scale 0 ...)
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return model


def _tiny_source(path: Path, seed: int = 0, fe_options=None, **overrides) -> Path:
    model = _tiny_model(seed, **overrides)
    model.save_pretrained(path)
    transformers.Gemma3nAudioFeatureExtractor(feature_size=model.config.input_feat_size,
                                              **(fe_options or {})).save_pretrained(path)
    return path


def _per_bin(n: int, seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    return dict(per_bin_mean=(torch.randn(n, generator=g) - 5.0).tolist(),
                per_bin_stddev=(1.0 + torch.rand(n, generator=g)).tolist())


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    return _tiny_source(tmp_path_factory.mktemp("gemma3n") / "src")


def _source_outputs(src: Path, wav, lens):
    """transformers' feature extractor + Gemma3nAudioEncoder, as a user runs them (from_pretrained)."""
    model = transformers.Gemma3nAudioEncoder.from_pretrained(src).eval()
    fe = transformers.Gemma3nAudioFeatureExtractor.from_pretrained(src)
    inputs = fe([wav[b, :n].numpy() for b, n in enumerate(lens.tolist())], return_tensors="pt")
    with torch.no_grad():
        out = model(inputs["input_features"], ~inputs["input_features_mask"])
    return out.last_hidden_state, (~out.audio_mel_mask).sum(-1)


def _espnet_model(out_dir: Path, **encoder_overrides):
    """Frontend + encoder built from encoder.yaml through ESPnet's ClassChoices, init_param loaded."""
    import yaml
    from espnet2.torch_utils.load_pretrained_model import load_pretrained_model

    from usm_espnet import registry

    registry.register(["espnet2.tasks.asr"])
    from espnet2.tasks.asr import encoder_choices, frontend_choices

    cfg = yaml.safe_load((out_dir / "encoder.yaml").read_text())
    assert (cfg["frontend"], cfg["encoder"], cfg["normalize"]) == ("gemma3n_mel", "gemma3n_conformer", None)
    frontend = frontend_choices.get_class(cfg["frontend"])(**cfg["frontend_conf"])
    enc_conf = dict(cfg["encoder_conf"], **encoder_overrides)
    assert enc_conf["input_size"] == frontend.output_size()
    model = torch.nn.Module()
    model.frontend = frontend
    model.encoder = encoder_choices.get_class(cfg["encoder"])(**enc_conf)
    assert isinstance(model.frontend, Gemma3nMelFrontend)
    assert isinstance(model.encoder, Gemma3nConformerEncoder)
    (init_param,) = cfg["init_param"]
    load_pretrained_model(init_param, model, ignore_init_mismatch=False)
    return model.eval()


def _max_diff(got, olens, ref, ref_lens) -> float:
    assert olens.tolist() == ref_lens.tolist()
    assert got.shape == ref.shape
    return float((got - ref).abs().max())  # padding included: both are 0 there


def _padding_is_refilled(out: Path, src: Path) -> None:
    """Features whose padding is 0 (as ESPnet pads precomputed features) give the source's output:
    the encoder refills it with feature_pad_value; without it, the last frames would differ."""
    model = _espnet_model(out)
    # 0.83 s: 83 valid frames; the last output frame is sub-sampled frame 20, whose
    # convolutions read feature frames up to 86 (with 0.71 s, none would read padding)
    wav, lens = ie.random_batch(seed=6, seconds=(1.3, 0.83))
    ref, ref_lens = _source_outputs(src, wav, lens)
    with torch.no_grad():
        feats, flens = model.frontend(wav, lens)
        pad = torch.arange(feats.size(1))[None, :, None] >= flens[:, None, None]
        zeroed = feats.masked_fill(pad, 0.0)
        got, olens, _ = model.encoder(zeroed, flens)
        assert _max_diff(got, olens, ref, ref_lens) < TOL
        model.encoder.feature_pad_value = None
        unfilled, _, _ = model.encoder(zeroed, flens)
    assert _max_diff(unfilled, olens, ref, ref_lens) > 1e-3


def test_imported_encoder_equals_the_source_model(source, tmp_path):
    out = tmp_path / "imported"
    diff = ie.import_encoder(str(source), str(out), verify=True, log=lambda m: None)
    print(f"\ngemma3n_audio --verify max_abs_diff={diff:.3e}")
    assert diff is not None and diff < TOL
    assert sorted(p.name for p in out.iterdir()) == ["encoder.pth", "encoder.yaml", "import_info.json"]
    info = json.loads((out / "import_info.json").read_text())
    assert info["model_type"] == "gemma3n_audio" and info["verify"]["max_abs_diff"] == diff

    # independently of --verify: ESPnet's classes from the yaml, weights through init_param,
    # waveforms in, a padded batch of two (the second 0.83 s of 1.5 s), against
    # transformers' own feature extractor + model loaded with from_pretrained
    model = _espnet_model(out)
    wav, lens = ie.random_batch(seed=3, seconds=(1.5, 0.83))
    ref, ref_lens = _source_outputs(source, wav, lens)
    with torch.no_grad():
        feats, flens = model.frontend(wav, lens)
        got, olens, _ = model.encoder(feats, flens)
    diff = _max_diff(got, olens, ref, ref_lens)
    print(f"gemma3n_audio ESPnet model vs transformers, waveform in, padded batch: max_abs_diff={diff:.3e}")
    assert diff < TOL
    assert olens.tolist() == [10, 6] and float(got[1, 6:].abs().max()) == 0.0
    assert float(ref[1, :6].abs().max()) > 0.1  # not trivially zero
    _padding_is_refilled(out, source)


@pytest.mark.parametrize("overrides", [dict(conf_attention_context_right=2, conf_attention_chunk_size=3),
                                       dict(conf_reduction_factor=1, conf_conv_kernel_size=3,
                                            conf_attention_logit_cap=5.0)])
def test_other_shapes_are_exact_too(tmp_path, overrides):
    """Right context, another chunk size, no output reduction, a biting logit cap."""
    src = _tiny_source(tmp_path / "src", seed=1, **overrides)
    diff = ie.import_encoder(str(src), str(tmp_path / "o"), verify=True, log=lambda m: None)
    print(f"\n{overrides}: max_abs_diff={diff:.3e}")
    assert diff < TOL


def test_per_bin_normalised_source_is_exact(tmp_path):
    """per_bin_mean / per_bin_stddev in the extractor: the padding features differ per bin."""
    src = _tiny_source(tmp_path / "src", seed=3, fe_options=_per_bin(32))
    diff = ie.import_encoder(str(src), str(tmp_path / "o"), verify=True, log=lambda m: None)
    print(f"\nper-bin normalised: max_abs_diff={diff:.3e}")
    assert diff < TOL
    _padding_is_refilled(tmp_path / "o", src)


@pytest.mark.parametrize("per_bin", [False, True])
def test_frontend_equals_the_feature_extractor(per_bin):
    """Default (128-bin) features and their valid frames, padded batch included."""
    options = _per_bin(128) if per_bin else {}
    fe = transformers.Gemma3nAudioFeatureExtractor(**options)
    ours = Gemma3nMelFrontend(**options)
    wav, lens = ie.random_batch(seed=5, seconds=(1.0, 0.4137, 0.0321))
    ref = fe([wav[b, :n].numpy() for b, n in enumerate(lens.tolist())], return_tensors="pt")
    feats, flens = ours(wav, lens)
    assert feats.shape == ref["input_features"].shape
    assert flens.tolist() == ref["input_features_mask"].sum(-1).tolist()
    # all frames, padding ones included (the features of zeros: log(mel_floor))
    torch.testing.assert_close(feats, ref["input_features"], atol=1e-4, rtol=0)
    if not per_bin:
        assert float(feats[2, flens[2]:].sub(math.log(1e-5)).abs().max()) < 1e-6


def test_full_gemma3n_checkpoint_layout(tmp_path, capsys):
    """model_type gemma3n: audio_config + model.audio_tower.* in shards; other shards are not read."""
    from safetensors.torch import save_file

    model = _tiny_model(seed=2)
    d = tmp_path / "gemma-3n"
    d.mkdir()
    audio = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file({f"model.audio_tower.{k}": v for k, v in audio.items()},
              str(d / "model-00002-of-00002.safetensors"), metadata={"format": "pt"})
    (d / "model-00001-of-00002.safetensors").write_bytes(b"not read: the language model's shard")
    weight_map = {f"model.audio_tower.{k}": "model-00002-of-00002.safetensors" for k in audio}
    weight_map["model.language_model.embed_tokens.weight"] = "model-00001-of-00002.safetensors"
    (d / "model.safetensors.index.json").write_text(json.dumps({"weight_map": weight_map}))
    cfg = {"model_type": "gemma3n", "architectures": ["Gemma3nForConditionalGeneration"],
           "audio_config": model.config.to_dict(), "text_config": {"model_type": "gemma3n_text"}}
    (d / "config.json").write_text(json.dumps(cfg))
    # a processor's preprocessor_config.json nests the feature extractor's fields
    fe = json.loads(transformers.Gemma3nAudioFeatureExtractor(feature_size=32).to_json_string())
    (d / "preprocessor_config.json").write_text(json.dumps({"feature_extractor": fe}))
    assert main(["--source", str(d), "--out_dir", str(tmp_path / "o"), "--verify"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    print(f"\nfull gemma3n layout: {last}")
    assert last.startswith("max_abs_diff=") and float(last.split("=")[1]) < TOL
    assert json.loads((tmp_path / "o" / "import_info.json").read_text())["weights"] == \
        "model-00002-of-00002.safetensors"


def test_imported_encoder_switched_to_chunk_attention_runs(source, tmp_path):
    out = tmp_path / "imported"
    ie.import_encoder(str(source), str(out), log=lambda m: None)
    model = _espnet_model(out, attention_type="chunk", chunk_seconds=0.32)
    assert model.encoder.chunk_frames == 8  # 40 ms frames inside the encoder
    wav, lens = ie.random_batch(seed=4, seconds=(2.0, 1.1))
    with torch.no_grad():
        feats, flens = model.frontend(wav, lens)
        y, olens, _ = model.encoder(feats, flens)
        ref, _, _ = model.encoder(feats, flens, reference_attention=True)
        local_model = _espnet_model(out)
        local = local_model.encoder(feats, flens)[0]
        local_ref = local_model.encoder(feats, flens, reference_attention=True)[0]
    torch.testing.assert_close(local, local_ref, atol=1e-5, rtol=1e-5)  # folded = banded mask
    assert y.shape == (2, int(olens.max()), 64) and torch.isfinite(y).all()
    torch.testing.assert_close(y, ref, atol=1e-5, rtol=1e-5)  # = block-diagonal masked attention
    assert float((y - local).abs().max()) > 1e-3  # and not the pre-trained local attention


def test_imported_yaml_trains_in_espnets_asr_task(source, tmp_path):
    """encoder.yaml + a CTC head: ESPnet's ASRTask builds it; one step forward and backward."""
    import yaml

    from usm_espnet.registry import register

    out = tmp_path / "imported"
    ie.import_encoder(str(source), str(out), log=lambda m: None)
    cfg = dict(yaml.safe_load((out / "encoder.yaml").read_text()), model_conf={"ctc_weight": 1.0})
    del cfg["encoder_conf"]["input_size"]  # ESPnet passes the frontend's output size itself
    conf = tmp_path / "asr.yaml"
    conf.write_text(yaml.safe_dump(cfg))
    register(["espnet2.tasks.asr"])
    from espnet2.tasks.asr import ASRTask

    tok = tmp_path / "tokens.txt"
    tok.write_text("\n".join(["<blank>", "<unk>", "<space>", "a", "b", "<sos/eos>"]) + "\n")
    args = ASRTask.get_parser().parse_args(["--config", str(conf), "--token_list", str(tok),
                                            "--token_type", "char", "--output_dir", str(tmp_path)])
    model = ASRTask.build_model(args)
    assert isinstance(model.encoder, Gemma3nConformerEncoder) and model.normalize is None
    loss, _, _ = model(torch.randn(2, 16000), torch.tensor([16000, 12000]),
                       torch.tensor([[3, 4, 3], [4, 3, -1]]), torch.tensor([3, 2]))
    assert torch.isfinite(loss)
    loss.backward()
    assert model.encoder.blocks[0].att.per_dim_scale.grad is not None


def test_cli_verify_prints_max_abs_diff_last(source, tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT)] + sys.path), OMP_NUM_THREADS="1")
    r = subprocess.run([sys.executable, "-m", "usm_espnet.bin.import_encoder", "--source", str(source),
                        "--out_dir", str(tmp_path / "o"), "--verify"],
                       capture_output=True, text=True, env=env, timeout=180)
    assert r.returncode == 0, r.stderr
    last = r.stdout.strip().splitlines()[-1]
    print(f"\nCLI: {last}")
    assert last.startswith("max_abs_diff=") and float(last.split("=")[1]) < TOL


# ------------------------------------------------------------------ our classes


def test_encoder_contract_forward_backward():
    enc = Gemma3nConformerEncoder(input_size=32, output_size=32, attention_heads=4, linear_units=64,
                                  num_blocks=2, subsample_channels=(8, 4), left_context=4,
                                  left_max_position=4, feature_pad_value=-11.5)
    x = torch.randn(3, 70, 32, requires_grad=True)
    ilens = torch.tensor([70, 33, 16])
    y, olens, state = enc(x, ilens)
    assert state is None and enc.output_size() == 32 and enc.subsampling == 16
    assert olens.tolist() == [enc.num_output_frames(n) for n in ilens.tolist()] == [5, 3, 1]
    assert y.shape == (3, 5, 32)
    y.sum().backward()
    assert x.grad[0].abs().sum() > 0
    # padding: the input frames past ilens are replaced, so their values do not matter
    x2 = x.detach().clone()
    x2[1, 33:] = 123.0
    torch.testing.assert_close(enc(x2, ilens)[0], y.detach())


@pytest.mark.parametrize("bad,match", [
    (dict(attention_type="banded"), "attention_type must be one of"),
    (dict(attention_type="local", left_context=0, right_context=0), "not both 0"),
    (dict(reduction_factor=0), "reduction_factor must be >= 1"),
    (dict(subsample_channels=(8,)), "one channels/kernel/stride entry per layer"),
])
def test_bad_encoder_options(bad, match):
    with pytest.raises(ValueError, match=match):
        Gemma3nConformerEncoder(**dict(dict(input_size=32, output_size=32, attention_heads=4,
                                            linear_units=64, num_blocks=1), **bad))


# ------------------------------------------------------------------ bad input


def _error(capsys, argv):
    rc = main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1
    errors = [ln for ln in err if ln.startswith("ERROR: ")]
    assert len(errors) == 1, err
    return errors[0]


def _nothing_written(parent: Path, name: str):
    assert not (parent / name).exists()
    assert not [p for p in parent.iterdir() if p.name.startswith(f".{name}.")]


def _copy(src: Path, dst: Path) -> Path:
    dst.mkdir()
    for f in src.iterdir():
        (dst / f.name).write_bytes(f.read_bytes())
    return dst


def test_another_gemma3n_model_type(source, tmp_path, capsys):
    d = _copy(source, tmp_path / "src")
    cfg = json.loads((d / "config.json").read_text())
    cfg.update(model_type="gemma3n_vision", architectures=["TimmWrapperModel"])
    (d / "config.json").write_text(json.dumps(cfg))
    msg = _error(capsys, ["--source", str(d), "--out_dir", str(tmp_path / "o")])
    assert "'gemma3n_vision' model (TimmWrapperModel)" in msg and "gemma3n_audio" in msg
    (d / "config.json").write_text(json.dumps({"model_type": "gemma3n"}))
    assert "without an audio_config" in _error(capsys, ["--source", str(d), "--out_dir", str(tmp_path / "o")])
    _nothing_written(tmp_path, "o")


def test_truncated_and_incomplete_weights(source, tmp_path, capsys):
    from safetensors.torch import load_file, save_file

    d = _copy(source, tmp_path / "src")
    weights = (d / "model.safetensors").read_bytes()
    (d / "model.safetensors").write_bytes(weights[: len(weights) // 2])
    msg = _error(capsys, ["--source", str(d), "--out_dir", str(tmp_path / "o")])
    assert "model.safetensors: unreadable or truncated" in msg
    sd = load_file(str(source / "model.safetensors"))
    del sd["conformer.1.attention.attn.per_dim_scale"]
    save_file(sd, str(d / "model.safetensors"), metadata={"format": "pt"})
    msg = _error(capsys, ["--source", str(d), "--out_dir", str(tmp_path / "o")])
    assert "lack conformer.1.attention.attn.per_dim_scale" in msg
    _nothing_written(tmp_path, "o")


@pytest.mark.parametrize("change,expect", [
    ({"hidden_size": 32}, "input_proj_linear.weight has shape (64, 64) in the weights, the config"),
    ({"conf_conv_kernel_size": 7}, "conformer.0.lconv1d.depthwise_conv1d.weight has shape (64, 1, 5)"),
    ({"conf_num_hidden_layers": 1}, "conf_num_hidden_layers is 1, the weights hold layer(s) [1]"),
    ({"input_feat_size": 40}, "input_feat_size 40 is not the feature extractor's feature_size 32"),
])
def test_config_not_matching_the_weights(source, tmp_path, capsys, change, expect):
    d = _copy(source, tmp_path / "src")
    cfg = json.loads((d / "config.json").read_text())
    cfg.update(change)
    (d / "config.json").write_text(json.dumps(cfg))
    msg = _error(capsys, ["--source", str(d), "--out_dir", str(tmp_path / "o")])
    assert expect in msg, msg
    _nothing_written(tmp_path, "o")


# ------------------------------------------------------------------ full size


def test_real_gemma3n_audio_encoder_maps_onto_our_default_encoder():
    """Gemma 3n's audio encoder (transformers' default Gemma3nAudioConfig), on the meta device."""
    from usm_espnet.nets import import_gemma3n

    with torch.device("meta"):
        config = transformers.Gemma3nAudioConfig()
        source_sd = transformers.Gemma3nAudioEncoder(config).state_dict()
        ours = Gemma3nConformerEncoder()
    front, enc_conf = import_gemma3n.confs(config.to_dict(), {})
    assert front["n_mels"] == 128 and enc_conf["left_context"] == 12 and enc_conf["right_context"] == 0
    with torch.device("meta"):
        assert Gemma3nConformerEncoder(**enc_conf).state_dict().keys() == ours.state_dict().keys()
    state, unused = import_gemma3n.state(source_sd, config.to_dict(), enc_conf)
    assert unused == []
    want = ours.state_dict()
    assert sorted(state) == sorted(want)
    assert all(state[k].shape == want[k].shape for k in want)
    n = sum(p.numel() for p in ours.parameters())
    print(f"\nGemma 3n audio encoder: {n} parameters")
    assert n == sum(v.numel() for v in source_sd.values())
    assert 0.6e9 < n < 0.7e9, n
