"""Every stage of egs/fleurs/asr1 on a tiny stand-in with the debug preset."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RECIPE = ROOT / "egs" / "fleurs" / "asr1"


def _cmd(args, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1",
               USM_VENV=str(Path(sys.executable).parent.parent))
    env.pop("FLEURS", None)
    return env, (
        ["./run.sh", "--preset", "debug", "--data_dir", str(tmp_path / "data"),
         "--dump_dir", str(tmp_path / "dump"), "--exp_dir", str(tmp_path / "exp"),
         "--results_md", str(tmp_path / "RESULTS.md"),
         "--local_data_opts",
         f"--standin_sentences 10 --standin_train_speakers 2 --standin_test_speakers 1 "
         f"--standin_untranscribed 4 --standin_unspoken_text 20 "
         f"--standin_dir {tmp_path / 'standin'}",
         "--adapt_data_opts", f"--standin_dir {tmp_path / 'standin_adapt'}", *args])


def _run(args, tmp_path, check=True):
    env, cmd = _cmd(args, tmp_path)
    r = subprocess.run(cmd, cwd=RECIPE, env=env, capture_output=True, text=True, timeout=2400)
    if check:
        assert r.returncode == 0, f"run.sh {args} failed:\n{r.stderr[-5000:]}"
    return r


@pytest.mark.timeout(3600)
def test_fleurs_recipe_all_stages_then_rerun_skips(tmp_path):
    first = _run([], tmp_path)
    # stage 5 ends with, and stage 7 repeats, the BEST-RQ health line (masked accuracy vs prior)
    assert first.stderr.count("BEST-RQ health (epoch") == 2, first.stderr[-3000:]
    exp = tmp_path / "exp" / "asr_debug"
    for n in range(1, 13):
        assert list(tmp_path.rglob(f".done.stage{n}")), f"stage {n} left no marker"
    assert not exp.exists()  # with ssl_config (the debug preset) the model is fine-tuned
    exp = tmp_path / "exp" / "asr_debug_ft_pretrain_most_debug_from_pretrain_best_rq_debug"
    assert (exp / "resume.sh").exists() and (exp / "config.yaml").exists()
    ssl = tmp_path / "exp" / "ssl_pretrain_best_rq_debug"
    assert (ssl / "valid.loss.ave.pth").exists() and (ssl / "resume.sh").exists()
    assert (tmp_path / "dump" / "raw" / "untranscribed" / "wav.scp").exists()
    most = tmp_path / "exp" / "most_pretrain_most_debug_from_pretrain_best_rq_debug"
    _check_most(tmp_path, ssl, most)
    train_log = (exp / "train.log").read_text()
    assert f"Loading pretrained params from {most}/valid.loss.ave.pth:encoder:encoder" in train_log
    assert f"Loading pretrained params from {most}/valid.loss.ave.pth:ctc:ctc" in train_log  # most_init_ctc
    score = exp / "decode_test" / "score"
    assert (score / "scores.json").exists() and (score / "per_language.png").exists()
    results = (tmp_path / "RESULTS.md").read_text()
    assert "stand-in" in results.lower()
    for lang in ("en_us", "ru_ru", "hi_in"):
        assert lang in results
    # a rerun skips every finished stage
    r = _run([], tmp_path)
    assert r.stderr.count("already done") == 13, r.stderr[-3000:]  # 12 stages + stage 5's MOST
    _check_unseen_language(tmp_path, exp, results)
    _check_heads(tmp_path)
    # a finished stage rerun with other options stops instead of reusing stale output
    r = _run(["--stage", "2", "--stop_stage", "2", "--min_dur", "0.5"], tmp_path, check=False)
    assert r.returncode != 0 and "with other options" in r.stderr
    # --force true redoes it
    r = _run(["--stage", "2", "--stop_stage", "2", "--min_dur", "0.5", "--force", "true"],
             tmp_path)
    assert "Stage 2 finished" in r.stderr
    # pre-training data that is not there: one clear error
    r = _run(["--stage", "4", "--stop_stage", "4", "--ssl_train_set", "nope", "--force", "true"],
             tmp_path, check=False)
    assert r.returncode != 0 and "no " in r.stderr and "nope/wav.scp" in r.stderr, r.stderr[-2000:]
    # the same recipe without pre-training trains from scratch into its own exp dir
    r = _run(["--ssl_config", "", "--most_config", "", "--stage", "7", "--stop_stage", "9"], tmp_path)
    scratch = tmp_path / "exp" / "asr_debug"
    assert (scratch / "decode_test" / "score" / "scores.json").exists()
    assert "Loading pretrained params" not in (scratch / "train.log").read_text()
    _check_killed_stage(tmp_path)


def _check_killed_stage(tmp_path):
    """A stage killed midway (here: stage 3 rerun with --force) leaves no marker, and the
    stages that read its output refuse to run instead of taking it as complete."""
    import signal

    env, cmd = _cmd(["--stage", "3", "--stop_stage", "3", "--force", "true"], tmp_path)
    p = subprocess.Popen(cmd, cwd=RECIPE, env=env, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)
    for line in p.stderr:
        if "Stage 3: token list" in line:
            break
    os.killpg(p.pid, signal.SIGKILL)  # the whole job: run.sh, the template, python
    p.wait(timeout=60)
    p.stderr.close()
    token_dir = tmp_path / "data" / "token_list" / "char"
    assert not (token_dir / ".done.stage3").exists()
    r = _run(["--stage", "6", "--stop_stage", "6", "--force", "true"], tmp_path, check=False)
    assert r.returncode != 0
    assert f"stage 3 has not finished in {token_dir}" in r.stderr, r.stderr[-2000:]


def test_fleurs_recipe_help_and_bad_option():
    env = dict(os.environ, USM_VENV=str(Path(sys.executable).parent.parent))
    r = subprocess.run(["./run.sh", "--help"], cwd=RECIPE, env=env, capture_output=True, text=True)
    assert r.returncode == 0 and "Stage" not in r.stderr
    for n in range(1, 10):
        assert f"  {n}  " in r.stdout
    for bad, msg in ((["--no_such_option", "1"], "unknown option --no_such_option"),
                     (["--help_message", "x"], "unknown option --help_message"),
                     (["--stage", "x"], "--stage must be a non-negative integer")):
        r = subprocess.run(["./run.sh", *bad], cwd=RECIPE, env=env, capture_output=True,
                           text=True)
        assert r.returncode != 0 and msg in r.stderr, r.stderr


def _check_most(tmp_path, ssl, most):
    """Stage 5's MOST part: three streams, started from BEST-RQ, text disjoint from the test."""
    import json
    import re

    log = (most / "train.log").read_text()
    assert f"Loading pretrained params from {ssl}/valid.loss.ave.pth" in log
    epochs = dict(re.findall(r"(\d+)epoch results: (.*)", log))
    assert sorted(epochs) == ["1", "2"]
    # text_start_step 2 = epoch 1 (2 steps) without unspoken text, then all three streams
    for key in ("loss_bestrq", "loss_asr", "loss_consistency", "loss_duration"):
        assert all(f"{key}=" in e for e in epochs.values()), key
    assert "loss_text_recon=" not in epochs["1"] and "loss_text_recon=" in epochs["2"]
    assert (most / "valid.loss.ave.pth").exists() and (most / ".done.stage5").exists()
    assert "--text_data" in (most / "resume.sh").read_text()
    # the unspoken text: normalised, none of it a train/dev/test transcript, all counted
    unspoken = (tmp_path / "data" / "unspoken_text" / "text").read_text().splitlines()
    stats = json.loads((tmp_path / "data" / "unspoken_text" / "stats.json").read_text())["langs"]
    assert sorted(stats) == ["en_us", "hi_in", "ru_ru"]
    for lang, c in stats.items():
        assert c["lines"] == c["kept"] + sum(v for k, v in c.items() if k not in ("lines", "kept"))
        assert c["in_transcripts"] == 0  # the stand-in's text is disjoint from its audio's
        assert c["kept"] == sum(1 for line in unspoken if line.startswith(f"text-{lang}-"))
    sentences = {line.split(" ", 1)[1] for line in unspoken}
    for split in ("train", "dev", "test"):
        spoken = {line.split(" ", 1)[1] for line in
                  (tmp_path / "data" / split / "text").read_text().splitlines()}
        assert not sentences & spoken, split
    # ... and the token list covers it (stage 3 read it)
    tokens = set((tmp_path / "data" / "token_list" / "char" / "tokens.txt").read_text().split())
    assert {c for s in sentences for c in s.replace(" ", "")} <= tokens


def _check_unseen_language(tmp_path, exp, results):
    """Stages 10-12 on the held-out language (sw_ke in the debug preset)."""
    import json

    import torch

    adapt = exp / "adapt"
    seen = (tmp_path / "dump" / "raw" / "train" / "utt2lang").read_text()
    assert "sw_ke" not in seen  # held out of pre-training and fine-tuning
    assert "sw_ke" in (tmp_path / "data" / "token_list" / "char" / "lang_token_sets.json").read_text()
    full = json.loads((adapt / "sw_ke_full" / "params.json").read_text())
    adapters = json.loads((adapt / "sw_ke_adapters" / "params.json").read_text())
    assert full["trainable"] == full["total"]
    assert 0 < adapters["adapters"] < adapters["trainable"] < full["trainable"]
    assert "Loading pretrained params from" in (adapt / "sw_ke_adapters" / "train.log").read_text()
    for kind in ("zero_shot", "full", "adapters", "student1"):
        assert (adapt / f"decode_sw_ke_{kind}" / "score" / "scores.json").exists(), kind
    assert "unseen language sw_ke: adaptation" in results
    assert "unseen language sw_ke: noisy student" in results and "22.2" in results
    pseudo = json.loads((tmp_path / "dump" / "raw" / "adapt_sw_ke" / "student1" / "pseudo_labels.json").read_text())
    assert pseudo["hypotheses"] == 4 and pseudo["kept"] + pseudo["dropped"] == 4
    assert "--noise_scp" in (adapt / "sw_ke_student1" / "resume.sh").read_text()

    # The adapter file from training, loaded onto the stage-7 model (encoder not reloaded),
    # gives exactly the adapted model's encoder: the frozen encoder really stayed unchanged.
    from espnet2.tasks.asr import ASRTask

    from usm_espnet.nets.adapters import Adapters
    from usm_espnet.registry import register

    register(["espnet2.tasks.asr"])
    cwd = os.getcwd()
    os.chdir(RECIPE)  # configs name the statistics file by a path relative to the recipe
    try:
        base, _ = ASRTask.build_model_from_file(str(exp / "config.yaml"), str(exp / "valid.loss.ave.pth"), "cpu")
        tuned, _ = ASRTask.build_model_from_file(str(adapt / "sw_ke_adapters" / "config.yaml"),
                                                 str(adapt / "sw_ke_adapters" / "valid.loss.ave.pth"), "cpu")
    finally:
        os.chdir(cwd)
    for (k, a), (k2, b) in zip(base.encoder.state_dict().items(), tuned.encoder.state_dict().items()):
        # ESPnet's checkpoint averaging adds up integer buffers (BatchNorm's batch counter)
        assert k == k2 and (k.endswith("num_batches_tracked") or torch.equal(a, b)), k
    assert (adapt / "adapters" / "sw_ke.pth").stat().st_size < 100_000
    ad = Adapters.from_dir(base.encoder, str(adapt / "adapters"))
    ad.set_language("sw_ke")
    base.eval(), tuned.eval()
    x = torch.randn(1, 16000)
    with torch.no_grad():
        feats = base.encode(x, torch.tensor([16000]))[0]
        want = tuned.encode(x, torch.tensor([16000]))[0]
        assert torch.allclose(feats, want, atol=1e-6)
        ad.set_language(None)
        assert not torch.allclose(base.encode(x, torch.tensor([16000]))[0], want, atol=1e-6)


def _check_heads(tmp_path):
    """LAS (from the BEST-RQ encoder: --most_config "") and RNN-T (from MOST's) heads,
    decoded by beam search."""
    for head, pretrained in (("las", "ssl_pretrain_best_rq_debug"),
                             ("rnnt", "most_pretrain_most_debug_from_pretrain_best_rq_debug")):
        most = ["--most_config", ""] if head == "las" else []
        r = _run(["--asr_config", f"conf/tuning/train_asr_{head}_debug.yaml",
                  "--asr_tag", f"debug_{head}", "--asr_stats_config", "conf/tuning/train_asr_debug.yaml",
                  "--inference_config", f"conf/decode_{head}.yaml", "--stage", "6", "--stop_stage", "9",
                  *most], tmp_path)
        assert "Stage 6: already done" in r.stderr  # statistics shared with the CTC model
        exp = tmp_path / "exp" / ("asr_debug_{}_ft_{}".format(head, pretrained.split("_", 1)[1]))
        assert "beam search: conf/decode_" in r.stderr
        log = (exp / "train.log").read_text()
        assert f"Loading pretrained params from {tmp_path / 'exp' / pretrained}/valid.loss.ave.pth" in log
        assert ("loss_transducer" in log) == (head == "rnnt"), head
        assert ("loss_att" in log) == (head == "las"), head
        hyp = (exp / "decode_test" / "1best_recog" / "text").read_text().splitlines()
        assert len(hyp) == 3  # one test utterance per language
        assert (exp / "decode_test" / "score" / "scores.json").exists()


@pytest.mark.timeout(3600)
def test_pretrain_ablation_lowres_debug(tmp_path):
    """local/pretrain_ablation.sh at debug size: four rows, curves, health, the last two lines."""
    import json
    import re

    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1",
               USM_VENV=str(Path(sys.executable).parent.parent))
    env.pop("FLEURS", None)
    opts = (f"--standin_sentences 10 --standin_train_speakers 2 --standin_test_speakers 1 "
            f"--standin_untranscribed 8 --standin_unspoken_text 20 --standin_acoustics varied "
            f"--max_utts_per_lang 6 --standin_dir {tmp_path / 'standin'}")
    r = subprocess.run(
        ["local/pretrain_ablation.sh", "--preset", "lowres_debug", "--data_dir", str(tmp_path / "data"),
         "--dump_dir", str(tmp_path / "dump"), "--exp_dir", str(tmp_path / "exp"),
         "--results_md", str(tmp_path / "runs.md"), "--ablation_results", str(tmp_path / "RESULTS.md"),
         "--ablation_plots", str(tmp_path / "results"), "--local_data_opts", opts],
        cwd=RECIPE, env=env, capture_output=True, text=True, timeout=3000)
    assert r.returncode == 0, r.stderr[-5000:]
    last = r.stdout.strip().splitlines()[-2:]
    assert re.fullmatch(r"masked_acc_over_prior=\d+\.\d{3}", last[0]), last
    assert re.fullmatch(r"pretrain_gain_rel=-?\d+\.\d{3}", last[1]), last
    exp = tmp_path / "exp"
    # pre-training health: the per-batch prior baseline, the whole-set record, the health line
    for tag in ("pretrain_best_rq_debug", "pretrain_best_rq_debug_n1"):
        assert "prior_acc=" in (exp / f"ssl_{tag}" / "train.log").read_text()
        rec = json.loads((exp / f"ssl_{tag}" / "bestrq_health.jsonl").read_text().splitlines()[-1])
        assert 0 < rec["prior_acc"] <= 1 and rec["masked_frames"] > 0
    assert r.stderr.count("BEST-RQ health (epoch") >= 2, r.stderr[-3000:]
    n1_cfg = (exp / "ssl_pretrain_best_rq_debug_n1" / "config.yaml").read_text()
    assert "num_quantizers: 1" in n1_cfg
    # the fine-tuning recipe runs for the pre-trained encoders, not for scratch
    runs = {"scratch": "asr_lowres_debug", "n1": "asr_lowres_debug_ft_pretrain_best_rq_debug_n1",
            "n16": "asr_lowres_debug_ft_pretrain_best_rq_debug",
            "most": "asr_lowres_debug_ft_pretrain_most_debug_from_pretrain_best_rq_debug"}
    for name, d in runs.items():
        log = (exp / d / "train.log").read_text()
        assert ("head warm-up" in log) == (name != "scratch"), name
        assert (exp / d / "decode_test" / "score" / "scores.json").exists(), name
    most_log = (exp / "most_pretrain_most_debug_from_pretrain_best_rq_debug" / "train.log").read_text()
    assert "paired_cer=" in most_log and "aligned=" in most_log
    # the report: four rows, the curve table and both figures
    results = (tmp_path / "RESULTS.md").read_text()
    for label in ("from scratch", "BEST-RQ, 1 softmax", "BEST-RQ, 16 softmaxes (USM)",
                  "BEST-RQ 16 + MOST"):
        assert f"| {label} |" in results, label
    assert "Run \\ step" in results and "pretrain_gain_rel=" in results
    assert (tmp_path / "results" / "pretrain_test.png").stat().st_size > 0
    assert (tmp_path / "results" / "pretrain_curves.png").stat().st_size > 0
    assert "](results/pretrain_curves.png)" in results
