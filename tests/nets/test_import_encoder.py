"""Importing w2v-BERT 2.0 from a transformers checkpoint is exact, and bad input gets one line.

No download: the source is a tiny random ``Wav2Vec2BertModel`` saved with ``save_pretrained``.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

transformers = pytest.importorskip("transformers")

from usm_espnet.bin.import_encoder import main  # noqa: E402
from usm_espnet.nets import import_encoder as ie  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
TOL = 1e-4


def _tiny_source(path: Path, seed: int = 0, **overrides) -> Path:
    torch.manual_seed(seed)
    conf = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128,
                conv_depthwise_kernel_size=5, left_max_position_embeddings=8,
                right_max_position_embeddings=4)
    conf.update(overrides)
    model = transformers.Wav2Vec2BertModel(transformers.Wav2Vec2BertConfig(**conf))
    with torch.no_grad():  # move every parameter off its default (LayerNorm 1/0 ...)
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
    model.save_pretrained(path)
    transformers.SeamlessM4TFeatureExtractor().save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    return _tiny_source(tmp_path_factory.mktemp("w2v") / "src")


def _source_outputs(src: Path, wav, lens):
    """The transformers model's last hidden state (B, T, d) and valid lengths, as a user runs it."""
    # (from_pretrained would also need the `kernels` package: build and load by hand)
    from safetensors.torch import load_file

    config = transformers.Wav2Vec2BertConfig.from_pretrained(src)
    model = transformers.Wav2Vec2BertModel(config)
    model.load_state_dict(load_file(str(src / "model.safetensors")))
    model.eval()
    fe = transformers.SeamlessM4TFeatureExtractor.from_pretrained(src)
    inputs = fe([wav[b, :n].numpy() for b, n in enumerate(lens.tolist())], sampling_rate=16000,
                padding=True, return_tensors="pt")
    with torch.no_grad():
        out = model(**inputs).last_hidden_state
    return out, inputs["attention_mask"].sum(-1)


def _espnet_model(out_dir: Path, **encoder_overrides):
    """Frontend + encoder built from encoder.yaml through ESPnet's ClassChoices, init_param loaded."""
    import yaml
    from espnet2.torch_utils.load_pretrained_model import load_pretrained_model

    from usm_espnet import registry

    registry.register(["espnet2.tasks.asr"])
    from espnet2.tasks.asr import encoder_choices, frontend_choices

    cfg = yaml.safe_load((out_dir / "encoder.yaml").read_text())
    assert cfg["normalize"] is None
    frontend = frontend_choices.get_class(cfg["frontend"])(**cfg["frontend_conf"])
    enc_conf = dict(cfg["encoder_conf"], **encoder_overrides)
    assert enc_conf["input_size"] == frontend.output_size()
    model = torch.nn.Module()
    model.frontend = frontend
    model.encoder = encoder_choices.get_class(cfg["encoder"])(**enc_conf)
    (init_param,) = cfg["init_param"]
    load_pretrained_model(init_param, model, ignore_init_mismatch=False)
    return model.eval()


def test_imported_encoder_equals_the_source_model(source, tmp_path):
    out = tmp_path / "imported"
    diff = ie.import_encoder(str(source), str(out), verify=True, log=lambda m: None)
    assert diff is not None and diff < TOL
    assert sorted(p.name for p in out.iterdir()) == ["encoder.pth", "encoder.yaml", "import_info.json"]
    info = json.loads((out / "import_info.json").read_text())
    assert info["model_type"] == "wav2vec2-bert" and info["verify"]["max_abs_diff"] == diff

    # independently of --verify: ESPnet's classes from the yaml, weights through init_param,
    # a padded batch of other lengths, against transformers' own feature extractor + model
    model = _espnet_model(out)
    wav, lens = ie.random_batch(seed=3, seconds=(1.5, 0.61, 1.013))
    ref, ref_lens = _source_outputs(source, wav, lens)
    with torch.no_grad():
        feats, flens = model.frontend(wav, lens)
        got, olens, _ = model.encoder(feats, flens)
    assert olens.tolist() == ref_lens.tolist()
    for b, n in enumerate(olens.tolist()):
        torch.testing.assert_close(got[b, :n], ref[b, :n], atol=TOL, rtol=0)
    assert float(got[1, olens[1]:].abs().max()) == 0.0


def test_imported_encoder_switched_to_chunk_attention_runs(source, tmp_path):
    out = tmp_path / "imported"
    ie.import_encoder(str(source), str(out), log=lambda m: None)
    model = _espnet_model(out, attention_type="chunk", chunk_seconds=0.32)
    assert model.encoder.chunk_frames == 16
    wav, lens = ie.random_batch(seed=4, seconds=(2.0, 1.1))
    with torch.no_grad():
        feats, flens = model.frontend(wav, lens)
        y, olens, _ = model.encoder(feats, flens)
        ref, _, _ = model.encoder(feats, flens, reference_attention=True)
        glob = _espnet_model(out).encoder(feats, flens)[0]
    assert y.shape == (2, int(olens.max()), 64) and torch.isfinite(y).all()
    torch.testing.assert_close(y, ref, atol=1e-5, rtol=1e-5)  # = block-diagonal masked attention
    assert float((y - glob).abs().max()) > 1e-3  # and not the global attention


def test_cli_verify_prints_max_abs_diff_last(source, tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT)] + sys.path), OMP_NUM_THREADS="1")
    r = subprocess.run([sys.executable, "-m", "usm_espnet.bin.import_encoder", "--source", str(source),
                        "--out_dir", str(tmp_path / "o"), "--verify"],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    last = r.stdout.strip().splitlines()[-1]
    assert last.startswith("max_abs_diff=") and float(last.split("=")[1]) < TOL


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


def test_another_model_type(tmp_path, capsys):
    d = tmp_path / "bert"
    d.mkdir()
    (d / "config.json").write_text(json.dumps({"model_type": "bert", "architectures": ["BertModel"]}))
    msg = _error(capsys, ["--source", str(d), "--out_dir", str(tmp_path / "o")])
    assert "'bert' model (BertModel)" in msg and "wav2vec2-bert" in msg
    _nothing_written(tmp_path, "o")


def test_not_a_directory_and_no_config(tmp_path, capsys):
    assert "no such directory" in _error(capsys, ["--source", str(tmp_path / "nope"),
                                                  "--out_dir", str(tmp_path / "o")])
    assert "no config.json" in _error(capsys, ["--source", str(tmp_path), "--out_dir", str(tmp_path / "o")])


def test_missing_and_truncated_weights(source, tmp_path, capsys):
    d = _copy(source, tmp_path / "src")
    weights = (d / "model.safetensors").read_bytes()
    (d / "model.safetensors").write_bytes(weights[: len(weights) // 2])
    msg = _error(capsys, ["--source", str(d), "--out_dir", str(tmp_path / "o")])
    assert "model.safetensors: unreadable or truncated" in msg
    (d / "model.safetensors").unlink()
    assert "no weights" in _error(capsys, ["--source", str(d), "--out_dir", str(tmp_path / "o")])
    _nothing_written(tmp_path, "o")


def test_weights_lacking_a_tensor(source, tmp_path, capsys):
    from safetensors.torch import load_file, save_file

    d = _copy(source, tmp_path / "src")
    sd = load_file(str(d / "model.safetensors"))
    del sd["encoder.layers.1.conv_module.depthwise_conv.weight"]
    save_file(sd, str(d / "model.safetensors"), metadata={"format": "pt"})
    msg = _error(capsys, ["--source", str(d), "--out_dir", str(tmp_path / "o")])
    assert "lack encoder.layers.1.conv_module.depthwise_conv.weight" in msg
    _nothing_written(tmp_path, "o")


@pytest.mark.parametrize("change,expect", [
    ({"intermediate_size": 96}, "ffn1.intermediate_dense.weight has shape (128, 64) in the weights"),
    ({"conv_depthwise_kernel_size": 7}, "conv_module.depthwise_conv.weight has shape (64, 1, 5)"),
    ({"num_hidden_layers": 1}, "num_hidden_layers is 1, the weights hold layer(s) [1]"),
    ({"position_embeddings_type": "rotary"}, "position_embeddings_type 'rotary' is not supported"),
])
def test_config_not_matching_the_weights(source, tmp_path, capsys, change, expect):
    d = _copy(source, tmp_path / "src")
    cfg = json.loads((d / "config.json").read_text())
    cfg.update(change)
    (d / "config.json").write_text(json.dumps(cfg))
    msg = _error(capsys, ["--source", str(d), "--out_dir", str(tmp_path / "o")])
    assert expect in msg, msg
    _nothing_written(tmp_path, "o")


def test_hub_name_offline_says_how_to_download(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT)] + sys.path), HF_HUB_OFFLINE="1",
               HF_HOME=str(tmp_path / "hf"), OMP_NUM_THREADS="1")
    r = subprocess.run([sys.executable, "-m", "usm_espnet.bin.import_encoder", "--source",
                        "facebook/w2v-bert-2.0", "--out_dir", str(tmp_path / "o")],
                       capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path)
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ERROR: facebook/w2v-bert-2.0: cannot download"), lines
    assert "download facebook/w2v-bert-2.0 --local-dir DIR" in lines[0] and "--source DIR" in lines[0]
    _nothing_written(tmp_path, "o")


def test_existing_out_dir_needs_force(source, tmp_path, capsys):
    out = tmp_path / "o"
    out.mkdir()
    (out / "keep").write_text("mine")
    msg = _error(capsys, ["--source", str(source), "--out_dir", str(out)])
    assert "exists; pass --force" in msg
    assert [p.name for p in out.iterdir()] == ["keep"]
    assert main(["--source", str(source), "--out_dir", str(out), "--force"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["encoder.pth", "encoder.yaml", "import_info.json"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".o.")]


def test_full_size_w2v_bert_2_maps_onto_our_default_encoder():
    """facebook/w2v-bert-2.0's shape (transformers' defaults), on the meta device: every tensor maps."""
    from usm_espnet.nets.w2v_bert import W2VBertConformerEncoder

    with torch.device("meta"):
        config = transformers.Wav2Vec2BertConfig()
        source_sd = transformers.Wav2Vec2BertModel(config).state_dict()
        ours = W2VBertConformerEncoder()
    front, enc_conf = ie.w2v_bert_confs(config.to_dict(), {})
    assert front == {"fs": 16000, "n_mels": 80, "stack": 2}
    state, unused = ie.w2v_bert_state(source_sd, enc_conf["num_blocks"])
    assert unused == ["masked_spec_embed"]
    want = ours.state_dict()
    assert sorted(state) == sorted(want)
    assert all(state[k].shape == want[k].shape for k in want)
    n = sum(p.numel() for p in ours.parameters())
    assert n == sum(v.numel() for k, v in source_sd.items() if k != "masked_spec_embed")
    assert 0.57e9 < n < 0.60e9, n
