"""An ESPnet yaml naming a registered class trains and decodes through our entry points."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

ROOT = Path(__file__).resolve().parents[2]

CONFIG = """\
encoder: usm_conformer
encoder_conf:
    output_size: 32
    attention_heads: 2
    linear_units: 64
    num_blocks: 1
    cnn_module_kernel: 5
decoder: none
model_conf:
    ctc_weight: 1.0
frontend_conf:
    n_fft: 256
    hop_length: 128
    n_mels: 20
batch_type: unsorted
batch_size: 4
max_epoch: 2
num_iters_per_epoch: 3
optim: adam
optim_conf:
    lr: 0.002
best_model_criterion:
-   - valid
    - loss
    - min
keep_nbest_models: 2
num_att_plot: 0
use_tensorboard: false
use_matplotlib: false
seed: 0
"""




@pytest.mark.timeout(900)
def test_train_and_decode_with_registered_encoder(tmp_path, run_module, monkeypatch):
    rng = np.random.default_rng(0)
    data = tmp_path / "data"
    data.mkdir()
    words = ["ab", "ba", "abba"]
    wav_lines, text_lines = [], []
    for i in range(8):
        f = 300 + 100 * i
        t = np.arange(int(16000 * 0.6)) / 16000
        x = 0.3 * np.sin(2 * np.pi * f * t) + 0.01 * rng.standard_normal(t.size)
        p = data / f"u{i}.wav"
        sf.write(p, x.astype(np.float32), 16000, subtype="PCM_16")
        wav_lines.append(f"u{i} {p}")
        text_lines.append(f"u{i} {words[i % 3]}")
    (data / "wav.scp").write_text("\n".join(wav_lines) + "\n")
    (data / "text").write_text("\n".join(text_lines) + "\n")
    (data / "shape").write_text("".join(f"u{i} 9600\n" for i in range(8)))
    (tmp_path / "tokens.txt").write_text("<blank>\n<unk>\na\nb\n<sos/eos>\n")
    (tmp_path / "train.yaml").write_text(CONFIG)

    common = [
        "--config", "train.yaml", "--token_type", "char", "--token_list", "tokens.txt",
        "--train_data_path_and_name_and_type", "data/wav.scp,speech,sound",
        "--train_data_path_and_name_and_type", "data/text,text,text",
        "--valid_data_path_and_name_and_type", "data/wav.scp,speech,sound",
        "--valid_data_path_and_name_and_type", "data/text,text,text",
        "--ngpu", "0", "--num_workers", "0",
    ]
    run_module(["usm_espnet.bin.asr_train", *common, "--collect_stats", "true",
          "--train_shape_file", "data/shape", "--valid_shape_file", "data/shape",
          "--output_dir", "stats"], tmp_path)
    stats = tmp_path / "stats"
    assert (stats / "train" / "feats_stats.npz").exists()
    run_module(["usm_espnet.bin.asr_train", *common,
          "--normalize", "global_mvn", "--normalize_conf", "stats_file=stats/train/feats_stats.npz",
          "--train_shape_file", "stats/train/speech_shape",
          "--valid_shape_file", "stats/valid/speech_shape",
          "--output_dir", "exp"], tmp_path)
    exp = tmp_path / "exp"
    assert (exp / "config.yaml").exists() and (exp / "2epoch.pth").exists()
    assert "encoder: usm_conformer" in (exp / "config.yaml").read_text()

    decode_common = ["--asr_train_config", "exp/config.yaml",
                     "--asr_model_file", "exp/valid.loss.best.pth",
                     "--data_path_and_name_and_type", "data/wav.scp,speech,sound"]
    # ESPnet's own beam search, through our entry point (registry in force at load)
    run_module(["usm_espnet.bin.asr_inference", *decode_common, "--output_dir", "dec_beam",
          "--beam_size", "2", "--ctc_weight", "1.0", "--batch_size", "1"], tmp_path)
    # our batched greedy CTC path
    run_module(["usm_espnet.bin.asr_inference", *decode_common, "--output_dir", "dec_greedy",
          "--ctc_greedy", "true", "--batch_size", "3"], tmp_path)
    conf = (tmp_path / "dec_greedy" / "1best_recog" / "confidence").read_text().split("\n")
    assert all(0.0 <= float(line.split()[1]) <= 1.0 for line in conf if line)
    assert len([line for line in conf if line]) == 8
    # CTC prefix beam search + token n-gram LM: beam 1 with LM weight 0 is the greedy path;
    # with the LM on, every utterance is decoded and the log says what the LM was trained on
    lm_opts = ["--ctc_greedy", "true", "--batch_size", "3", "--token_lm_order", "3",
               "--token_lm_text", "data/text"]
    run_module(["usm_espnet.bin.asr_inference", *decode_common, "--output_dir", "dec_lm0",
                *lm_opts, "--token_lm_weight", "0", "--token_lm_beam", "1"], tmp_path)
    r = run_module(["usm_espnet.bin.asr_inference", *decode_common, "--output_dir", "dec_lm",
                    *lm_opts, "--token_lm_weight", "1.0", "--token_lm_beam", "4"], tmp_path)
    assert "3-gram LM trained on data/text" in r.stderr and "all: 8 sentences" in r.stderr
    # one LM per language when the training text has a utt2lang and decoding gets one
    (data / "utt2lang").write_text("".join(f"u{i} {'aa_xx' if i < 3 else 'bb_xx'}\n"
                                           for i in range(8)))
    r = run_module(["usm_espnet.bin.asr_inference", *decode_common, "--output_dir", "dec_lm_lang",
                    *lm_opts, "--utt2lang", "data/utt2lang"], tmp_path)
    assert "3-gram LMs trained" in r.stderr and "aa_xx: 3 sentences, bb_xx: 5 sentences" in r.stderr
    # the recipe's LM tuning script (egs/fleurs/asr1/local/tune_token_lm.py) encodes once
    # through the same ctc_greedy helpers; beam 1 with LM weight 0 is the greedy path
    (tmp_path / "lang_token_sets.json").write_text('{"aa_xx": [0, 1, 2, 3, 4], "bb_xx": [0, 1, 2, 3, 4]}')
    tune = subprocess.run(
        [sys.executable, str(ROOT / "egs/fleurs/asr1/local/tune_token_lm.py"), "--exp", "exp",
         "--model", "valid.loss.best.pth", "--data", "data", "--train_text", "data/text",
         "--lang_token_sets", "lang_token_sets.json", "--grid", "3:0.0:0.0:1", "3:1.0:1.0:4"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
        env=dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1"))
    assert tune.returncode == 0, tune.stderr[-3000:]
    out = tune.stdout.splitlines()
    assert out[0] == "# 8 utterances of data encoded" + out[0].split("encoded", 1)[1]
    greedy_cer = out[1].split("CER ")[1]
    assert out[2].startswith("order=3 weight=0.0 bonus=0.0 beam=1: CER " + greedy_cer + " "), out
    assert out[3].startswith("order=3 weight=1.0 bonus=1.0 beam=4: CER "), out
    greedy_text = (tmp_path / "dec_greedy" / "1best_recog" / "text").read_text()
    assert (tmp_path / "dec_lm0" / "1best_recog" / "text").read_text() == greedy_text
    for d in ("dec_beam", "dec_greedy", "dec_lm", "dec_lm_lang"):
        lines = (tmp_path / d / "1best_recog" / "text").read_text().splitlines()
        assert sorted(l.split()[0] for l in lines) == sorted(f"u{i}" for i in range(8))
    bad = subprocess.run([sys.executable, "-m", "usm_espnet.bin.asr_inference", *decode_common,
                          "--output_dir", "dec_bad", *lm_opts[:-1], "data/missing_text"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=600,
                         env=dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1"))
    assert bad.returncode == 1 and "ERROR: --token_lm_text data/missing_text: no such file" in bad.stderr
    assert not (tmp_path / "dec_bad" / "1best_recog" / "text").exists()

    # per-language adapters at inference: identity adapters change nothing; a perturbed
    # adapter for one language changes only that language's utterances
    import torch
    from espnet2.tasks.asr import ASRTask

    from usm_espnet.nets.adapters import Adapters
    from usm_espnet.registry import register

    register(["espnet2.tasks.asr"])
    monkeypatch.chdir(tmp_path)  # the saved config names the statistics by relative path
    model, _ = ASRTask.build_model_from_file(str(exp / "config.yaml"),
                                             str(exp / "valid.loss.best.pth"), "cpu")
    ad = Adapters.attach(model.encoder, bottleneck=4)
    ad.add_language("aa_xx")
    ad.add_language("bb_xx")
    torch.manual_seed(0)
    with torch.no_grad():
        for p in ad.bank["bb_xx"].parameters():
            p.add_(2.0 * torch.randn_like(p))
    ad.save_language("aa_xx", str(tmp_path / "adapters" / "aa_xx.pth"))
    ad.save_language("bb_xx", str(tmp_path / "adapters" / "bb_xx.pth"))
    (tmp_path / "utt2lang").write_text("".join(f"u{i} {'aa_xx' if i < 4 else 'bb_xx'}\n"
                                               for i in range(8)))
    run_module(["usm_espnet.bin.asr_inference", *decode_common, "--output_dir", "dec_adapt",
                "--ctc_greedy", "true", "--batch_size", "3", "--adapters_dir", "adapters",
                "--utt2lang", "utt2lang"], tmp_path)

    def conf_of(d):
        rows = (tmp_path / d / "1best_recog" / "confidence").read_text().split()
        return dict(zip(rows[::2], map(float, rows[1::2])))

    plain, adapted = conf_of("dec_greedy"), conf_of("dec_adapt")
    assert all(adapted[f"u{i}"] == plain[f"u{i}"] for i in range(4))
    assert any(adapted[f"u{i}"] != plain[f"u{i}"] for i in range(4, 8))
