"""egs/fleurs/asr1 fine-tuning an imported w2v-BERT 2.0 encoder (--init_encoder), stages 1-9 at
debug size, then long-form decoding of a 5-minute recording with the fine-tuned model.

The source is a tiny random ``Wav2Vec2BertModel`` (``save_pretrained`` in a temporary
directory, no download), imported with ``usm_espnet.bin.import_encoder``. Stage 7 fine-tunes
it with chunk attention (1 s chunks) and the fine-tuning recipe of ``model: usm`` (2 steps
of head warm-up, then 2 steps with the encoder); the test checks that the encoder started
from the imported weights and moved from them, that every test utterance was decoded and
scored, and that the fine-tuned model decodes 5 minutes in stream mode with the same peak
memory as 1 minute.
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
import yaml

pytest.importorskip("transformers")

from tiny_w2v_bert import tiny_w2v_bert_import  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
RECIPE = ROOT / "egs" / "fleurs" / "asr1"


def _env():
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1",
               USM_VENV=str(Path(sys.executable).parent.parent))
    env.pop("FLEURS", None)
    return env


def _longform(exp: Path, wav: Path, out: Path) -> float:
    """Stream-mode long-form decoding in a fresh process; its peak RSS (MB) from stats.tsv."""
    scp = out.parent / f"{out.name}.scp"
    scp.write_text(f"{wav.stem} {wav}\n")
    r = subprocess.run([sys.executable, "-m", "usm_espnet.bin.longform_inference",
                        "--asr_train_config", str(exp / "config.yaml"),
                        "--asr_model_file", str(exp / "valid.loss.ave.pth"),
                        "--wav_scp", str(scp), "--mode", "stream", "--output_dir", str(out)],
                       env=_env(), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert (out / "text").read_text().startswith(wav.stem)
    head, row = (out / "stats.tsv").read_text().splitlines()
    assert head.split("\t")[-1] == "peak_rss_mb"
    return float(row.split("\t")[-1])


@pytest.mark.timeout(900)
def test_fleurs_debug_fine_tunes_an_imported_w2v_bert_encoder(tmp_path):
    imported = tiny_w2v_bert_import(tmp_path / "w2v")
    cmd = ["./run.sh", "--preset", "debug", "--ssl_config", "", "--most_config", "", "--adapt_langs", "",
           "--init_encoder", str(imported), "--stop_stage", "9", "--langs", "en_us,ru_ru",
           "--asr_args", "--encoder_conf attention_type=chunk --encoder_conf chunk_seconds=1.0 "
                         "--model_conf head_warmup_steps=2",
           "--data_dir", str(tmp_path / "data"), "--dump_dir", str(tmp_path / "dump"),
           "--exp_dir", str(tmp_path / "exp"), "--results_md", str(tmp_path / "RESULTS.md"),
           "--local_data_opts",
           f"--standin_sentences 8 --standin_train_speakers 2 --standin_test_speakers 1 "
           f"--standin_dir {tmp_path / 'standin'}"]
    r = subprocess.run(cmd, cwd=RECIPE, env=_env(), capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-4000:]
    assert "fine-tuning from" in r.stderr and "shapes checked against encoder.pth" in r.stderr
    exp = tmp_path / "exp" / "asr_debug_ft_imported"  # never the scratch model's directory
    assert not (tmp_path / "exp" / "asr_debug").exists()
    for n in (1, 2, 3, 6, 7, 8, 9):
        assert list(tmp_path.rglob(f".done.stage{n}")), f"stage {n} left no marker"
    assert f"init_encoder={imported}" in (exp / ".done.stage7").read_text()

    # the training config: the imported frontend + encoder, chunk attention from --asr_args
    cfg = yaml.safe_load((exp / "config.yaml").read_text())
    assert (cfg["frontend"], cfg["encoder"], cfg["model"]) == ("w2v_bert_fbank", "w2v_bert_conformer", "usm")
    assert cfg["normalize"] is None
    assert cfg["encoder_conf"]["attention_type"] == "chunk" and cfg["encoder_conf"]["num_blocks"] == 2
    assert cfg["model_conf"]["head_warmup_steps"] == 2 and cfg["model_conf"]["encoder_lr_scale"] == 0.5
    log = (exp / "train.log").read_text()
    assert f"Loading pretrained params from {imported}/encoder.pth::encoder" in log, log[-3000:]

    # the encoder started from the imported weights and fine-tuning moved it a little
    weights = torch.load(imported / "encoder.pth", weights_only=True)
    model = torch.load(exp / "valid.loss.ave.pth", map_location="cpu", weights_only=True)
    enc = {k[len("encoder."):]: v for k, v in model.items() if k.startswith("encoder.")}
    assert sorted(enc) == sorted(weights)
    moved = {k: float((enc[k] - weights[k]).norm() / weights[k].norm()) for k in weights
             if weights[k].dim() == 2}
    assert max(moved.values()) > 0, "the encoder did not train"
    assert max(moved.values()) < 0.1, moved  # near its start (a random init would be ~1)

    hyp = exp / "decode_test" / "1best_recog" / "text"
    ref_ids = {line.split(maxsplit=1)[0] for line in (tmp_path / "dump" / "raw" / "test" / "text").open()}
    assert {line.split(maxsplit=1)[0] for line in hyp.open() if line.strip()} == ref_ids
    results = (tmp_path / "RESULTS.md").read_text()
    assert "asr_debug_ft_imported" in results and "en_us" in results and "ru_ru" in results

    # long-form: the fine-tuned model (chunk attention) on 1 and 5 minutes of the stand-in's
    # speech, in stream mode; the peak memory does not grow with the recording
    clips = [sf.read(line.split()[1], dtype="float32")[0]
             for line in (tmp_path / "dump" / "raw" / "test" / "wav.scp").open()]
    speech = np.concatenate([np.concatenate([c, np.zeros(8000, np.float32)]) for c in clips])
    peaks = {}
    for minutes in (1, 5):
        wav = tmp_path / f"rec{minutes}min.wav"
        n = 16000 * 60 * minutes
        sf.write(wav, np.resize(speech, n), 16000, subtype="PCM_16")
        peaks[minutes] = _longform(exp, wav, tmp_path / f"longform{minutes}")
    print(f"long-form stream decoding, peak RSS: 1 min {peaks[1]:.0f} MB, 5 min {peaks[5]:.0f} MB")
    assert peaks[5] < peaks[1] + 40, peaks


@pytest.mark.timeout(1200)
def test_fleurs_debug_adapters_and_noisy_student_on_an_imported_encoder(tmp_path):
    """Stages 10-12 (full fine-tuning and adapters for an unseen language, one noisy-student
    round with SpecAugment and additive noise) from a model fine-tuned from an import."""
    imported = tiny_w2v_bert_import(tmp_path / "w2v")
    cmd = ["./run.sh", "--preset", "debug", "--ssl_config", "", "--most_config", "",
           "--init_encoder", str(imported), "--langs", "en_us",
           "--data_dir", str(tmp_path / "data"), "--dump_dir", str(tmp_path / "dump"),
           "--exp_dir", str(tmp_path / "exp"), "--results_md", str(tmp_path / "RESULTS.md"),
           "--local_data_opts",
           f"--standin_sentences 8 --standin_train_speakers 1 --standin_test_speakers 1 "
           f"--standin_untranscribed 4 --standin_dir {tmp_path / 'standin'}",
           "--adapt_data_opts", f"--standin_dir {tmp_path / 'standin_adapt'}"]
    r = subprocess.run(cmd, cwd=RECIPE, env=_env(), capture_output=True, text=True, timeout=1100)
    assert r.returncode == 0, r.stderr[-4000:]
    adapt = tmp_path / "exp" / "asr_debug_ft_imported" / "adapt"
    for n in (10, 11, 12):
        assert (adapt / f".done.stage{n}").is_file(), n
    assert (adapt / "RESULTS_sw_ke.md").is_file() and (adapt / "RESULTS_student_sw_ke.md").is_file()
    for run in ("sw_ke_full", "sw_ke_adapters", "sw_ke_student1"):
        cfg = yaml.safe_load((adapt / run / "config.yaml").read_text())
        assert (cfg["frontend"], cfg["encoder"], cfg["normalize"]) == ("w2v_bert_fbank", "w2v_bert_conformer", None)
        # these runs start from stage 7's trained head: no head warm-up
        assert cfg["model_conf"]["head_warmup_steps"] == 0, run
    assert yaml.safe_load((adapt / "sw_ke_student1" / "config.yaml").read_text())["noise_scp"]
    # the adapters learnt (their up-projections start at zero)
    saved = torch.load(adapt / "adapters" / "sw_ke.pth", weights_only=True)["state_dict"]
    assert max(float(v.abs().max()) for k, v in saved.items() if ".up." in k) > 0
