"""conf/asr/w2v_bert2_{ctc,las,rnnt}.yaml: facebook/w2v-bert-2.0's exact encoder, built by ESPnet.

On the meta device (no memory, no download): each yaml parses with ESPnet's ASRTask parser
(our registry), builds its whole model, and its encoder has exactly the parameters of
transformers' full-size Wav2Vec2BertModel (580,492,096, as tests/nets/test_import_encoder.py
measures tensor for tensor); and --init_encoder of the real model's import merges into each
yaml without a clash (every option that decides a parameter equals the import's).
"""

from pathlib import Path

import pytest
import torch
import yaml

from usm_espnet.registry import register

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = [ROOT / "conf" / "asr" / f"w2v_bert2_{head}.yaml" for head in ("ctc", "las", "rnnt")]
W2V_BERT_2_ENCODER_PARAMETERS = 580_492_096


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_builds_with_espnet_and_has_w2v_bert_2_s_encoder(path, tmp_path):
    register(["espnet2.tasks.asr"])
    from espnet2.tasks.asr import ASRTask

    tok = tmp_path / "tokens.txt"
    tok.write_text("\n".join(["<blank>", "<unk>", "<space>", "a", "b", "<sos/eos>"]) + "\n")
    args = ASRTask.get_parser().parse_args(["--config", str(path), "--token_list", str(tok),
                                            "--token_type", "char", "--output_dir", str(tmp_path)])
    with torch.device("meta"):
        model = ASRTask.build_model(args)
    assert type(model).__name__ == "USMASRModel" and model.normalize is None
    assert type(model.frontend).__name__ == "W2VBertFbankFrontend" and model.frontend.output_size() == 160
    enc = model.encoder
    assert type(enc).__name__ == "W2VBertConformerEncoder"
    assert sum(p.numel() for p in enc.parameters()) == W2V_BERT_2_ENCODER_PARAMETERS
    assert (enc.attention_type, enc.chunk_frames) == ("chunk", 400)  # 8 s of 20 ms frames
    head = path.stem.rsplit("_", 1)[1]
    decoder = type(model.decoder).__name__ if model.decoder is not None else None
    assert decoder == {"ctc": None, "las": "TransformerDecoder", "rnnt": "TransducerDecoder"}[head]


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_init_encoder_of_the_real_import_merges_without_a_clash(path, tmp_path):
    transformers = pytest.importorskip("transformers")
    from usm_espnet.nets import import_encoder as imp
    from usm_espnet.nets.init_encoder import finetune_config

    # the directory import_encoder writes for facebook/w2v-bert-2.0 (its config is
    # transformers' defaults), without its 2.3 GB of weights
    front, enc_conf = imp.w2v_bert_confs(transformers.Wav2Vec2BertConfig().to_dict(), {})
    d = tmp_path / "w2v_bert2"
    d.mkdir()
    (d / "encoder.yaml").write_text(imp._yaml_fragment(front, enc_conf, f"{d}/encoder.pth::encoder",
                                                       "facebook/w2v-bert-2.0", "w2v-BERT 2.0"))
    (d / "encoder.pth").write_bytes(b"")
    (d / "import_info.json").write_text("{}")
    recipe = yaml.safe_load(path.read_text())
    cfg, notes = finetune_config(str(d), recipe, path.name)
    # the yaml's fine-tuning choices survive; the shape is the import's (and equal to the yaml's)
    assert cfg["encoder_conf"] == dict({k: v for k, v in enc_conf.items() if k != "input_size"},
                                       attention_type="chunk", chunk_seconds=8.0, dropout_rate=0.1,
                                       attention_dropout_rate=0.1)
    assert {k: v for k, v in recipe["encoder_conf"].items()} == cfg["encoder_conf"]
    assert cfg["model_conf"] == recipe["model_conf"] and cfg["decoder"] == recipe["decoder"]
