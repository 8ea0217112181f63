"""2-process DDP on CPU (gloo) through ``torchrun`` for ssl_train, most_train and asr_train.

Each run starts ``python -m torch.distributed.run --nproc_per_node 2`` (PyTorch's own
launcher, rendezvous by MASTER_ADDR / MASTER_PORT on a free port) on our entry point
with ESPnet's external-launcher mode (``--multiprocessing_distributed false``): ESPnet
reads RANK / WORLD_SIZE / LOCAL_RANK from the environment torchrun sets. The entry
point runs under a small probe (:data:`PROBE`, written next to the data) that records,
per rank and without touching our package:

* the random-number state each training-time BEST-RQ ``compute_mask`` call draws from,
  with its lengths and mask (``mask.rank<R>.<i>.pt``);
* the model's parameters before and after every training epoch
  (``params.rank<R>.epoch<E>.{before,after}.pt``).

A run killed mid-training (SIGKILL to torchrun and both workers once ``checkpoint.pth``
exists) is rerun with the same command and must resume and end with the weights of an
unbroken run. Every subprocess has a timeout; on timeout or failure torchrun's process
group and both workers (each in a session of its own) are killed, so a hung collective
cannot outlive the test.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_most_train import MOST, _make_data  # noqa: E402
from test_ssl_train import SSL  # noqa: E402

pytestmark = pytest.mark.slow

PROBE = '''\
"""Run ``python -m <module> <args>`` and record per-rank masks and parameters."""
import os
import runpy
import sys

import torch

OUT = os.environ["DDP_PROBE_DIR"]
RANK = int(os.environ["RANK"])
module = sys.argv[1]
sys.argv = [module, *sys.argv[2:]]
with open(os.path.join(OUT, f"pid.rank{RANK}"), "w") as f:  # torchrun starts each worker
    f.write(str(os.getpid()))  # in a session of its own: the test kills them by pid

import usm_espnet.ssl.best_rq as best_rq  # noqa: E402
import usm_espnet.ssl.best_rq_espnet_model as bq_model  # noqa: E402
import usm_espnet.ssl.most.model as most_model  # noqa: E402
from usm_espnet.tasks.guarded_trainer import GuardedTrainer  # noqa: E402

_compute_mask = best_rq.compute_mask
_calls = [0]


def compute_mask(lens, T, p, span, generator=None):
    state = generator.get_state() if generator is not None else torch.get_rng_state()
    mask = _compute_mask(lens, T, p, span, generator)
    if torch.is_grad_enabled() and _calls[0] < 8:  # training steps (validation: no_grad)
        torch.save({"state": state, "lens": lens.clone(), "mask": mask.clone()},
                   os.path.join(OUT, f"mask.rank{RANK}.{_calls[0]}.pt"))
        _calls[0] += 1
    return mask


bq_model.compute_mask = compute_mask
most_model.compute_mask = compute_mask
_train_one_epoch = GuardedTrainer.train_one_epoch.__func__


def _dump(model, reporter, when):
    net = getattr(model, "module", model)
    params = {n: p.detach().clone() for n, p in net.named_parameters()}
    torch.save(params, os.path.join(OUT, f"params.rank{RANK}.epoch{reporter.get_epoch()}.{when}.pt"))


def train_one_epoch(cls, model, iterator, optimizers, schedulers, scaler, reporter, *a, **kw):
    _dump(model, reporter, "before")
    out = _train_one_epoch(cls, model, iterator, optimizers, schedulers, scaler, reporter,
                           *a, **kw)
    _dump(model, reporter, "after")
    return out


GuardedTrainer.train_one_epoch = classmethod(train_one_epoch)
runpy.run_module(module, run_name="__main__", alter_sys=True)
'''

DDP = ["--ngpu", "0", "--num_workers", "0", "--dist_backend", "gloo",
       "--multiprocessing_distributed", "false"]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _torchrun_cmd(module: str, args, probe: Path):
    return [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
            "--nnodes", "1", "--master_addr", "127.0.0.1", "--master_port", str(_free_port()),
            str(probe), module, *DDP, *args]


def _env(probe_dir: Path):
    return dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1",
                DDP_PROBE_DIR=str(probe_dir), USM_SKIP_PREFLIGHT="")


def _kill(p: subprocess.Popen, probe_dir: Path) -> None:
    """SIGKILL the workers (by the pids the probe wrote) and torchrun's process group."""
    for f in probe_dir.glob("pid.rank*"):
        try:
            pid = int(f.read_text())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError):
            continue
        if str(probe_dir.parent / "ddp_probe.py").encode() in cmdline:  # not a reused pid
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    p.wait()


def _start(module, args, cwd: Path, probe_dir: Path, log: Path) -> subprocess.Popen:
    probe = cwd / "ddp_probe.py"
    probe.write_text(PROBE)
    probe_dir.mkdir(exist_ok=True)
    return subprocess.Popen(_torchrun_cmd(module, args, probe), cwd=cwd, env=_env(probe_dir),
                            stdout=log.open("w"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def _torchrun(module, args, cwd: Path, probe_dir: Path, timeout: float = 400) -> str:
    log = cwd / f"torchrun.{len(list(cwd.glob('torchrun.*.log')))}.log"
    p = _start(module, args, cwd, probe_dir, log)
    try:
        p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(p, probe_dir)
        pytest.fail(f"{module} under torchrun timed out:\n{log.read_text()[-4000:]}")
    finally:
        _kill(p, probe_dir)  # a worker left behind by a failed run
    text = log.read_text()
    assert p.returncode == 0, f"{module} under torchrun failed:\n{text[-6000:]}"
    return text


def _load(path: Path):
    return torch.load(path, map_location="cpu", weights_only=False)


def _assert_ranks_in_step(log: str) -> None:
    # ESPnet's log prefix "[host:<rank>/<world>]" shows it ran distributed, 2 ranks
    assert re.search(r"\[[^\]]*:0/2\]", log), log[-3000:]


def _assert_different_mask_draws(probe_dir: Path, equal_lengths: bool) -> None:
    """The ranks' first training mask calls draw from different random states."""
    n = min(len(list(probe_dir.glob("mask.rank0.*.pt"))), len(list(probe_dir.glob("mask.rank1.*.pt"))))
    assert n >= 2, "no BEST-RQ mask drawn in training"
    for i in range(n):
        a, b = _load(probe_dir / f"mask.rank0.{i}.pt"), _load(probe_dir / f"mask.rank1.{i}.pt")
        assert not torch.equal(a["state"], b["state"]), f"call {i}: both ranks draw alike"
        if equal_lengths:  # same shapes on both ranks: the masks themselves differ
            assert torch.equal(a["lens"], b["lens"])
            assert not torch.equal(a["mask"], b["mask"]), f"call {i}: same mask on both ranks"


def _assert_same_weights(probe_dir: Path, epoch: int, ckpt: Path = None) -> None:
    """Both ranks hold the same parameters after an epoch's steps (and changed them);
    rank 0's equal the model in ESPnet's ``checkpoint.pth`` (``ckpt``) of that epoch."""
    before = [_load(probe_dir / f"params.rank{r}.epoch{epoch}.before.pt") for r in (0, 1)]
    after = [_load(probe_dir / f"params.rank{r}.epoch{epoch}.after.pt") for r in (0, 1)]
    assert set(after[0]) == set(after[1]) and after[0]
    for k in after[0]:
        assert torch.equal(before[0][k], before[1][k]), f"{k}: ranks start apart"
        assert torch.equal(after[0][k], after[1][k]), f"{k}: ranks differ after the step"
    assert any(not torch.equal(before[0][k], after[0][k]) for k in after[0]), "nothing trained"
    if ckpt is None:
        return
    saved = _load(ckpt)["model"]
    for k, v in after[0].items():
        assert torch.equal(saved[k], v), f"{k}: checkpoint differs from rank 0"


# ------------------------------------------------------------------------------ data


def _ssl_data(root: Path) -> None:
    """6 untranscribed utterances of one length (both ranks' batches have one shape)."""
    rng = np.random.default_rng(0)
    data = root / "data"
    data.mkdir()
    wav, shape = [], []
    for i in range(6):
        x = 0.1 * rng.standard_normal(16000)
        sf.write(data / f"u{i}.wav", x.astype(np.float32), 16000, subtype="PCM_16")
        wav.append(f"u{i} {data / f'u{i}.wav'}")
        shape.append(f"u{i} 16000")
    (data / "wav.scp").write_text("\n".join(wav) + "\n")
    (data / "shape").write_text("\n".join(shape) + "\n")
    # ESPnet splits each global batch between the ranks: 2 per rank per step
    (root / "ssl.yaml").write_text(SSL.replace("batch_size: 3", "batch_size: 4"))


def _ssl_args(*extra):
    return ["--config", "ssl.yaml",
            "--train_data_path_and_name_and_type", "data/wav.scp,speech,sound",
            "--valid_data_path_and_name_and_type", "data/wav.scp,speech,sound",
            "--train_shape_file", "data/shape", "--valid_shape_file", "data/shape", *extra]


def _most_setup(root: Path, *extra):
    """test_most_train's three streams and tokens; its MOST yaml; the arguments."""
    _make_data(root)
    (root / "most.yaml").write_text(MOST)
    (root / "valid_shape").write_text("".join(f"p{i} 9600\n" for i in range(4)))
    return ["--config", "most.yaml", "--token_list", "tokens.txt", "--token_type", "char",
            "--speech_data", "data/speech", "--paired_data", "data/paired",
            "--text_data", "data/unspoken",
            "--valid_data_path_and_name_and_type", "data/paired/wav.scp,speech,sound",
            "--valid_data_path_and_name_and_type", "data/paired/text,text,text",
            "--valid_shape_file", "valid_shape", *extra]


# ----------------------------------------------------------------------------- tests


@pytest.mark.timeout(500)
def test_ssl_train_ddp_masks_differ_weights_agree(tmp_path):
    _ssl_data(tmp_path)
    probe = tmp_path / "probe"
    log = _torchrun("usm_espnet.bin.ssl_train", _ssl_args("--output_dir", "exp"), tmp_path,
                    probe)
    _assert_ranks_in_step(log)
    _assert_different_mask_draws(probe, equal_lengths=True)
    _assert_same_weights(probe, 1)
    _assert_same_weights(probe, 2, tmp_path / "exp" / "checkpoint.pth")
    # the BEST-RQ health over the validation set, summed over both ranks, written once
    health = (tmp_path / "exp" / "bestrq_health.jsonl").read_text().splitlines()
    assert len(health) == 2


@pytest.mark.timeout(500)
def test_most_train_ddp_masks_differ_weights_agree(tmp_path):
    probe = tmp_path / "probe"
    log = _torchrun("usm_espnet.bin.most_train", _most_setup(tmp_path, "--output_dir", "exp"),
                    tmp_path, probe)
    _assert_ranks_in_step(log)
    # each rank takes its share of every stream's global batch
    assert "rank 0/2" in log, log[-3000:]
    _assert_different_mask_draws(probe, equal_lengths=False)
    _assert_same_weights(probe, 1)
    _assert_same_weights(probe, 2, tmp_path / "exp" / "checkpoint.pth")
    ck = _load(tmp_path / "exp" / "checkpoint.pth")
    assert int(ck["model"]["most_step"]) == 6  # 2 epochs x 3 global steps, not 2 x 6


ASR_CONFIG = MOST.split("most_conf:")[0].split("model_conf:")[0] + """\
decoder: none
model_conf:
    ctc_weight: 1.0
batch_type: unsorted
batch_size: 4
max_epoch: 2
num_iters_per_epoch: 2
optim: adam
optim_conf:
    lr: 0.002
num_att_plot: 0
use_tensorboard: false
use_matplotlib: false
seed: 0
"""


@pytest.mark.timeout(500)
def test_asr_train_ddp_weights_agree(tmp_path):
    _make_data(tmp_path)
    (tmp_path / "asr.yaml").write_text(ASR_CONFIG)
    (tmp_path / "shape").write_text("".join(f"p{i} 9600\n" for i in range(4)))
    paired = ["data/paired/wav.scp,speech,sound", "data/paired/text,text,text"]
    probe = tmp_path / "probe"
    log = _torchrun("usm_espnet.bin.asr_train", [
        "--config", "asr.yaml", "--token_list", "tokens.txt", "--token_type", "char",
        *[x for d in paired for x in ("--train_data_path_and_name_and_type", d)],
        *[x for d in paired for x in ("--valid_data_path_and_name_and_type", d)],
        "--train_shape_file", "shape", "--valid_shape_file", "shape",
        "--output_dir", "exp"], tmp_path, probe)
    _assert_ranks_in_step(log)
    _assert_same_weights(probe, 1)
    _assert_same_weights(probe, 2, tmp_path / "exp" / "checkpoint.pth")


@pytest.mark.timeout(1200)
@pytest.mark.parametrize("entry", ["ssl_train", "most_train"])
def test_ddp_killed_after_first_checkpoint_resumes(tmp_path, entry):
    module = f"usm_espnet.bin.{entry}"
    extra = ("--output_dir", "exp", "--resume", "true", "--max_epoch", "8")
    if entry == "ssl_train":
        _ssl_data(tmp_path)
        args = _ssl_args(*extra)
    else:
        args = _most_setup(tmp_path, *extra)
    ckpt = tmp_path / "exp" / "checkpoint.pth"
    probe = tmp_path / "probe1"
    log = tmp_path / "torchrun.killed.log"
    p = _start(module, args, tmp_path, probe, log)
    try:
        deadline = time.monotonic() + 400
        while not ckpt.exists() and p.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        _kill(p, probe)
    assert ckpt.exists(), f"no checkpoint before the kill:\n{log.read_text()[-4000:]}"
    killed_at = _load(ckpt)["reporter"]["epoch"]
    assert 1 <= killed_at < 8, killed_at  # killed mid-training
    model_at_kill = _load(ckpt)["model"]

    # the same command again: resumes from the checkpoint and completes
    probe2 = tmp_path / "probe2"
    out = _torchrun(module, args, tmp_path, probe2)
    assert "resumed" in out, out[-3000:]
    assert _load(ckpt)["reporter"]["epoch"] == 8
    first = killed_at + 1
    assert not (probe2 / f"params.rank0.epoch{killed_at}.before.pt").exists()
    for r in (0, 1):  # both ranks start from the checkpoint's weights
        before = _load(probe2 / f"params.rank{r}.epoch{first}.before.pt")
        assert all(torch.equal(v, model_at_kill[k]) for k, v in before.items())
    _assert_same_weights(probe2, 8, ckpt)
    resumed = _load(ckpt)["model"]

    # an uninterrupted run of the same command ends with the same model: the resumed
    # epochs drew the masks (per rank, per epoch) and batches an unbroken run draws
    (tmp_path / "ref").mkdir()
    _torchrun(module, [a if a != "exp" else "ref/exp" for a in args], tmp_path,
              tmp_path / "probe3")
    ref = _load(tmp_path / "ref" / "exp" / "checkpoint.pth")["model"]
    assert set(ref) == set(resumed)
    for k in ref:
        assert torch.equal(ref[k], resumed[k]), f"{k}: resumed run differs from an unbroken one"
