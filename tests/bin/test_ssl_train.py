"""BEST-RQ pre-training through ESPnet's trainer, then its encoder loaded for fine-tuning."""

import json

import numpy as np
import pytest
import soundfile as sf
import torch

ENCODER = """\
encoder: usm_conformer
encoder_conf:
    output_size: 16
    attention_heads: 2
    linear_units: 32
    num_blocks: 1
    cnn_module_kernel: 5
frontend_conf:
    n_fft: 256
    hop_length: 160
    n_mels: 20
"""
SSL = ENCODER + """\
model_conf:
    num_quantizers: 4
    codebook_size: 32
batch_type: unsorted
batch_size: 3
max_epoch: 2
num_iters_per_epoch: 2
optim: adam
optim_conf:
    lr: 0.002
best_model_criterion:
-   - valid
    - loss
    - min
keep_nbest_models: 1
use_tensorboard: false
use_matplotlib: false
seed: 0
"""
ASR = ENCODER + """\
decoder: none
model_conf:
    ctc_weight: 1.0
"""




@pytest.mark.timeout(900)
def test_pretrain_then_init_asr_encoder(tmp_path, run_module):
    rng = np.random.default_rng(0)
    data = tmp_path / "data"
    data.mkdir()
    wav_lines, shape_lines = [], []
    for i in range(6):
        n = 16000 + 3200 * i
        x = 0.1 * rng.standard_normal(n)
        sf.write(data / f"u{i}.wav", x.astype(np.float32), 16000, subtype="PCM_16")
        wav_lines.append(f"u{i} {data / f'u{i}.wav'}")
        shape_lines.append(f"u{i} {n}")
    (data / "wav.scp").write_text("\n".join(wav_lines) + "\n")  # no text: untranscribed
    (data / "shape").write_text("\n".join(shape_lines) + "\n")
    (tmp_path / "ssl.yaml").write_text(SSL)
    common = ["--config", "ssl.yaml", "--ngpu", "0", "--num_workers", "0",
              "--train_data_path_and_name_and_type", "data/wav.scp,speech,sound",
              "--valid_data_path_and_name_and_type", "data/wav.scp,speech,sound"]
    run_module(["usm_espnet.bin.ssl_train", *common, "--collect_stats", "true",
          "--train_shape_file", "data/shape", "--valid_shape_file", "data/shape",
          "--output_dir", "stats"], tmp_path)
    r = run_module(["usm_espnet.bin.ssl_train", *common, "--normalize", "global_mvn",
              "--normalize_conf", "stats_file=stats/train/feats_stats.npz",
              "--train_shape_file", "stats/train/speech_shape",
              "--valid_shape_file", "stats/valid/speech_shape", "--output_dir", "exp"], tmp_path)
    assert "stack 4 (measured)" in r.stderr
    log = r.stderr
    for key in ("acc_head3", "codebook_perplexity", "masked_fraction", "prior_acc",
                "masked_acc=", "prior_acc_all=", "label_ppl="):
        assert key in log, key
    # pre-training health over the whole validation set: one record per epoch, one line at the end
    health = [json.loads(x) for x in (tmp_path / "exp" / "bestrq_health.jsonl").read_text().splitlines()]
    assert [h["epoch"] for h in health] == [1, 2]
    assert health[-1]["masked_frames"] > 0 and 0 < health[-1]["prior_acc"] <= 1
    assert len(health[-1]["heads"]["masked_acc"]) == 4
    assert "BEST-RQ health (epoch 2," in log and "x the prior baseline" in log
    ckpt = torch.load(tmp_path / "exp" / "valid.loss.best.pth", map_location="cpu")
    assert ckpt["quantizer.codebooks"].shape == (4, 32, 16)
    # resume: a third epoch continues from checkpoint.pth without redrawing the quantizer
    run_module(["usm_espnet.bin.ssl_train", *common, "--normalize", "global_mvn",
          "--normalize_conf", "stats_file=stats/train/feats_stats.npz",
          "--train_shape_file", "stats/train/speech_shape",
          "--valid_shape_file", "stats/valid/speech_shape", "--output_dir", "exp",
          "--resume", "true", "--max_epoch", "3"], tmp_path)
    ck3 = torch.load(tmp_path / "exp" / "3epoch.pth", map_location="cpu")
    assert torch.equal(ck3["quantizer.codebooks"], ckpt["quantizer.codebooks"])
    assert torch.equal(ck3["quantizer.projections"], ckpt["quantizer.projections"])

    # fine-tuning: the ASR model's encoder equals the pre-trained one after --init_param
    from espnet2.torch_utils.load_pretrained_model import load_pretrained_model

    from usm_espnet.registry import register
    register(["espnet2.tasks.asr"])
    from espnet2.tasks.asr import ASRTask

    (tmp_path / "asr.yaml").write_text(ASR)
    (tmp_path / "tokens.txt").write_text("<blank>\n<unk>\na\n<sos/eos>\n")
    args = ASRTask.get_parser().parse_args(
        ["--config", str(tmp_path / "asr.yaml"), "--token_list", str(tmp_path / "tokens.txt"),
         "--token_type", "char", "--output_dir", str(tmp_path / "asr")])
    model = ASRTask.build_model(args)
    load_pretrained_model(f"{tmp_path / 'exp' / '3epoch.pth'}:encoder:encoder", model, "cpu")
    enc = {k[len("encoder."):]: v for k, v in ck3.items() if k.startswith("encoder.")}
    mine = model.encoder.state_dict()
    assert set(enc) == set(mine)
    assert all(torch.equal(enc[k], mine[k]) for k in enc)
