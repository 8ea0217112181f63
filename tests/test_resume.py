"""SIGKILL during training, rerun the same command: it resumes and ends where an unbroken run ends.

For ``usm_espnet.bin.asr_train`` and ``usm_espnet.bin.ssl_train`` (tiny one-block
models, 3 epochs, CPU, one thread, fixed seed): a run in a subprocess is killed with
SIGKILL at a random moment after its first checkpoint (inside epoch 2 or 3, or while
saving or averaging after epoch 3); meanwhile a reference run goes through
uninterrupted in this process (the CLI's ``main(argv)``, to save a second
interpreter start); then the killed command is run again with the same arguments
(``--resume true``, as the recipe's stage does), also through ``main(argv)`` here.
The resumed run must start from the checkpoint (not from scratch) and end with the
same last-epoch validation loss and the same weights as the reference. ESPnet seeds
each epoch with ``seed + epoch`` and the checkpoint holds model, optimizer, scheduler
and reporter, so on one machine with one thread the result is bit-identical: the
tolerance is 0 (see docs/reliability.md for when it would not be).

``USM_RESUME_SEED`` picks the random kill delay (default: drawn, and printed).
"""

import logging
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

ROOT = Path(__file__).resolve().parents[1]

ENCODER = """\
frontend_conf:
    n_fft: 256
    hop_length: 160
    n_mels: 20
encoder: usm_conformer
encoder_conf:
    output_size: 16
    attention_heads: 2
    linear_units: 32
    num_blocks: 1
    cnn_module_kernel: 5
"""
COMMON = """\
batch_type: unsorted
batch_size: 2
max_epoch: 3
optim: adam
optim_conf:
    lr: 0.002
grad_clip: 5.0
best_model_criterion:
-   - valid
    - loss
    - min
keep_nbest_models: 3
num_workers: 0
num_att_plot: 0
use_tensorboard: false
use_matplotlib: false
seed: 3
"""
CONFIGS = {
    "asr": ENCODER + "decoder: none\nmodel_conf:\n    ctc_weight: 1.0\n" + COMMON,
    "ssl": ENCODER + "model_conf:\n    num_quantizers: 2\n    codebook_size: 16\n" + COMMON,
}
WORDS = ["ab", "ba", "abba", "baab"]


def _data(root: Path, n: int, seed: int) -> Path:
    root.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    wav, text, shape = [], [], []
    for i in range(n):
        x = 0.3 * np.sin(2 * np.pi * (300 + 60 * i) * np.arange(12800) / 16000)
        x = (x + 0.02 * rng.standard_normal(x.size)).astype(np.float32)
        sf.write(root / f"u{i}.wav", x, 16000, subtype="PCM_16")
        wav.append(f"u{i} {root / f'u{i}.wav'}\n")
        text.append(f"u{i} {WORDS[i % len(WORDS)]}\n")
        shape.append(f"u{i} {x.size}\n")
    (root / "wav.scp").write_text("".join(wav))
    (root / "text").write_text("".join(text))
    (root / "shape").write_text("".join(shape))
    return root


def _args(task: str, tmp: Path, exp: Path) -> list:
    train, dev = tmp / "train", tmp / "dev"
    args = ["--config", str(tmp / "c.yaml"), "--ngpu", "0", "--resume", "true",
            "--output_dir", str(exp),
            "--train_data_path_and_name_and_type", f"{train}/wav.scp,speech,sound",
            "--valid_data_path_and_name_and_type", f"{dev}/wav.scp,speech,sound",
            "--train_shape_file", f"{train}/shape", "--valid_shape_file", f"{dev}/shape"]
    if task == "asr":
        args += ["--token_type", "char", "--token_list", str(tmp / "tokens.txt"),
                 "--train_data_path_and_name_and_type", f"{train}/text,text,text",
                 "--valid_data_path_and_name_and_type", f"{dev}/text,text,text"]
    return args


def _run_in_process(task: str, args: list) -> None:
    """The CLI's ``main(argv)`` in this process, on one thread like the subprocess."""
    if task == "asr":
        from usm_espnet.bin.asr_train import main
    else:
        from usm_espnet.bin.ssl_train import main
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert main(args) == 0
    finally:
        torch.set_num_threads(threads)


def _kill_when_checkpointed(start, rng: random.Random, out: dict) -> None:
    """Start a run; SIGKILL it a random time after its first checkpoint (epochs 2-3).

    ``start(attempt)`` returns ``(Popen, exp dir, log file)``. Should a run end before
    the kill (its later epochs ran faster than the first), a new one is started with
    a shorter delay, at most three times.
    """
    scale = 1.0
    for attempt in range(3):
        run, exp, log = start(attempt)
        t_start = t_ckpt = None
        deadline = time.time() + 400
        while t_ckpt is None and time.time() < deadline and run.poll() is None:
            if t_start is None and "1/3epoch started" in log.read_text(errors="replace"):
                t_start = time.time()
            if (exp / "checkpoint.pth").exists():
                t_ckpt = time.time()
            time.sleep(0.01)
        if t_ckpt is None or t_start is None:
            out["error"] = log.read_text(errors="replace")[-3000:]
            run.kill()
            return
        out["epoch_s"] = t_ckpt - t_start
        out["delay"] = rng.uniform(0.05, scale) * out["epoch_s"]
        time.sleep(out["delay"])
        alive = run.poll() is None
        run.send_signal(signal.SIGKILL)
        run.wait()
        if alive:
            out.update(exp=exp, returncode=run.returncode, attempts=attempt + 1)
            return
        scale /= 2
    out["error"] = "every run ended before it could be killed"


def _final(exp: Path) -> tuple:
    states = torch.load(exp / "checkpoint.pth", map_location="cpu", weights_only=False)
    stats = states["reporter"]["stats"]
    last = max(stats)
    return last, float(stats[last]["valid"]["loss"]), torch.load(
        exp / f"{last}epoch.pth", map_location="cpu")


@pytest.mark.timeout(900)
@pytest.mark.parametrize("task", ["asr", "ssl"])
def test_sigkill_then_rerun_resumes_to_the_same_result(task, tmp_path, caplog):
    seed = int(os.environ.get("USM_RESUME_SEED", random.SystemRandom().randrange(10**6)))
    rng = random.Random(seed)
    _data(tmp_path / "train", 8, 0)
    _data(tmp_path / "dev", 4, 1)
    (tmp_path / "tokens.txt").write_text("<blank>\n<unk>\na\nb\n<sos/eos>\n")
    (tmp_path / "c.yaml").write_text(CONFIGS[task])
    ref_exp = tmp_path / "ref"
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")

    def start(attempt):
        exp, log = tmp_path / f"exp{attempt}", tmp_path / f"killed{attempt}.log"
        with open(log, "w") as err:
            run = subprocess.Popen([sys.executable, "-m", f"usm_espnet.bin.{task}_train",
                                    *_args(task, tmp_path, exp)],
                                   stdout=subprocess.DEVNULL, stderr=err, env=env)
        return run, exp, log

    kill: dict = {}
    killer = threading.Thread(target=_kill_when_checkpointed, args=(start, rng, kill))
    killer.start()
    try:  # meanwhile, the uninterrupted reference run
        _run_in_process(task, _args(task, tmp_path, ref_exp))
    finally:
        killer.join()
    assert "error" not in kill, kill.get("error")
    assert kill["returncode"] == -signal.SIGKILL
    exp = kill["exp"]
    done = torch.load(exp / "checkpoint.pth", map_location="cpu",
                      weights_only=False)["reporter"]["epoch"]
    print(f"{task}: killed {kill['delay']:.2f} s after the first checkpoint (epoch "
          f"{kill['epoch_s']:.2f} s, seed {seed}, attempt {kill['attempts']}); "
          f"checkpoint.pth held epoch {done}")
    assert 1 <= done <= 3  # 3: killed while saving or averaging after the last epoch

    caplog.set_level(logging.INFO)
    caplog.clear()
    _run_in_process(task, _args(task, tmp_path, exp))  # the same command again
    text = caplog.text
    assert "The training was resumed using" in text
    if done < 3:
        assert f"{done + 1}/3epoch started" in text and "1/3epoch started" not in text
    else:
        assert "The training has already reached at max_epoch" in text

    epoch_ref, loss_ref, weights_ref = _final(ref_exp)
    epoch_res, loss_res, weights_res = _final(exp)
    print(f"{task}: final valid loss uninterrupted {loss_ref!r}, killed + resumed {loss_res!r}, "
          f"difference {abs(loss_ref - loss_res):.3g}")
    assert epoch_ref == epoch_res == 3
    assert loss_res == loss_ref  # bit-identical: same seeds, same state, one thread
    assert weights_res.keys() == weights_ref.keys()
    assert all(torch.equal(weights_res[k], weights_ref[k]) for k in weights_ref)
    for name in ("latest.pth", "valid.loss.best.pth", "valid.loss.ave.pth"):
        assert (exp / name).exists(), name
    assert not list(exp.glob("*.tmp-atomic-*"))

    # the narrowest window, replayed exactly: killed after the last checkpoint.pth was
    # written but before 3epoch.pth, the links and the averaged model
    averaged = torch.load(ref_exp / "valid.loss.ave.pth", map_location="cpu")
    for name in ("3epoch.pth", "latest.pth", "valid.loss.best.pth", "valid.loss.ave.pth",
                 "valid.loss.ave_3best.pth"):
        (ref_exp / name).unlink(missing_ok=True)
    caplog.clear()
    _run_in_process(task, _args(task, tmp_path, ref_exp))
    assert "The training has already reached at max_epoch" in caplog.text
    again = torch.load(ref_exp / "valid.loss.ave.pth", map_location="cpu")
    assert all(torch.equal(again[k], averaged[k]) for k in averaged)
    assert all(torch.equal(torch.load(ref_exp / "3epoch.pth")[k], weights_ref[k])
               for k in weights_ref)


def test_repair_after_a_kill_between_espnets_writes(tmp_path):
    """checkpoint.pth written, <N>epoch.pth and links not yet: resume repairs them."""
    from espnet2.train.reporter import Reporter

    from usm_espnet.tasks.guarded_trainer import atomic_torch_save, repair_output_dir

    reporter = Reporter()
    for epoch, loss in ((1, 3.0), (2, 2.0)):
        reporter.set_epoch(epoch)
        with reporter.observe("valid") as sub:
            sub.register({"loss": loss}, weight=1.0)
            sub.next()
    model = {"w": torch.arange(4.0)}
    with atomic_torch_save():
        torch.save({"model": model, "reporter": reporter.state_dict(), "optimizers": [],
                    "schedulers": [], "scaler": None}, tmp_path / "checkpoint.pth")
        torch.save({"w": torch.zeros(4)}, tmp_path / "1epoch.pth")
    (tmp_path / "latest.pth").symlink_to("1epoch.pth")
    (tmp_path / "checkpoint.pth.tmp-atomic-123").write_bytes(b"cut off")
    repair_output_dir(tmp_path, [["valid", "loss", "min"]])
    assert torch.equal(torch.load(tmp_path / "2epoch.pth")["w"], model["w"])
    assert os.readlink(tmp_path / "latest.pth") == "2epoch.pth"
    assert os.readlink(tmp_path / "valid.loss.best.pth") == "2epoch.pth"
    assert not (tmp_path / "checkpoint.pth.tmp-atomic-123").exists()

    # an interrupted save leaves the previous file whole
    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("killed mid-write")

    before = (tmp_path / "checkpoint.pth").read_bytes()
    with atomic_torch_save(), pytest.raises(RuntimeError, match="killed mid-write"):
        torch.save({"x": Unpicklable()}, tmp_path / "checkpoint.pth")
    assert (tmp_path / "checkpoint.pth").read_bytes() == before
    assert not list(tmp_path.glob("*.tmp-atomic-*"))

    # a checkpoint cut off by a non-atomic writer: one clear error, nothing guessed
    (tmp_path / "checkpoint.pth").write_bytes(before[: len(before) // 2])
    with pytest.raises(RuntimeError, match="checkpoint.pth: cannot be loaded .* Remove it"):
        repair_output_dir(tmp_path, [])
