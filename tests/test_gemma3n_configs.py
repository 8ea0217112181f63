"""conf/asr/gemma3n_ctc.yaml: Gemma 3n's exact audio encoder, built by ESPnet.

On the meta device (no memory, no download): the yaml parses with ESPnet's ASRTask parser
(our registry), builds its whole model, and its encoder has exactly the parameters of
transformers' full-size Gemma3nAudioEncoder (default Gemma3nAudioConfig: 681,348,640, as
tests/nets/test_gemma3n_audio.py maps tensor for tensor); and --init_encoder of the real
model's import merges into it without a clash (every option that decides a parameter equals
the import's).
"""

from pathlib import Path

import pytest
import torch
import yaml

from usm_espnet.registry import register

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "conf" / "asr" / "gemma3n_ctc.yaml"
GEMMA3N_AUDIO_ENCODER_PARAMETERS = 681_348_640


def test_builds_with_espnet_and_has_gemma3n_s_audio_encoder(tmp_path):
    register(["espnet2.tasks.asr"])
    from espnet2.tasks.asr import ASRTask

    tok = tmp_path / "tokens.txt"
    tok.write_text("\n".join(["<blank>", "<unk>", "<space>", "a", "b", "<sos/eos>"]) + "\n")
    args = ASRTask.get_parser().parse_args(["--config", str(CONFIG), "--token_list", str(tok),
                                            "--token_type", "char", "--output_dir", str(tmp_path)])
    with torch.device("meta"):
        model = ASRTask.build_model(args)
    assert type(model).__name__ == "USMASRModel" and model.normalize is None
    assert type(model.frontend).__name__ == "Gemma3nMelFrontend" and model.frontend.output_size() == 128
    enc = model.encoder
    assert type(enc).__name__ == "Gemma3nConformerEncoder"
    n = sum(p.numel() for p in enc.parameters())
    print(f"\n{CONFIG.name}: {n:,} encoder parameters")
    assert n == GEMMA3N_AUDIO_ENCODER_PARAMETERS
    assert (enc.attention_type, enc.left_context, enc.right_context) == ("local", 12, 0)
    assert enc.subsampling == 16 and model.decoder is None
    transformers = pytest.importorskip("transformers")
    with torch.device("meta"):
        source = transformers.Gemma3nAudioEncoder(transformers.Gemma3nAudioConfig())
    assert sum(p.numel() for p in source.parameters()) == n


def test_init_encoder_of_the_real_import_merges_without_a_clash(tmp_path):
    transformers = pytest.importorskip("transformers")
    from usm_espnet.nets import import_encoder as imp
    from usm_espnet.nets import import_gemma3n
    from usm_espnet.nets.init_encoder import finetune_config

    # the directory import_encoder writes for a Gemma 3n (its audio config is transformers'
    # defaults), without its weights
    front, enc_conf = import_gemma3n.confs(transformers.Gemma3nAudioConfig().to_dict(), {})
    d = tmp_path / "gemma3n"
    d.mkdir()
    (d / "encoder.yaml").write_text(imp._yaml_fragment(
        front, enc_conf, f"{d}/encoder.pth::encoder", "google/gemma-3n-E2B", "Gemma 3n",
        frontend=import_gemma3n.FRONTEND, encoder=import_gemma3n.ENCODER))
    (d / "encoder.pth").write_bytes(b"")
    (d / "import_info.json").write_text("{}")
    recipe = yaml.safe_load(CONFIG.read_text())
    cfg, notes = finetune_config(str(d), recipe, CONFIG.name)
    # the yaml's fine-tuning choices survive; the shape is the import's (and equal to the yaml's)
    assert cfg["encoder_conf"] == dict({k: v for k, v in enc_conf.items() if k != "input_size"},
                                       dropout_rate=0.1, attention_dropout_rate=0.1)
    assert recipe["encoder_conf"] == cfg["encoder_conf"]
    assert cfg["frontend"] == "gemma3n_mel" and cfg["normalize"] is None
    assert cfg["model_conf"] == recipe["model_conf"] and cfg["decoder"] == recipe["decoder"]
