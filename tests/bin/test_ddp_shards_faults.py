"""Sharded untranscribed audio over 2 ranks, and faults, under torchrun on CPU (gloo).

``prepare_untranscribed --num_shards 3`` writes ESPnet split-scp shards; ``ssl_train
--multiple_iterator true`` reads them under ``python -m torch.distributed.run
--nproc_per_node 2`` (the launch of tests/bin/test_ddp_cpu.py). A probe around the
entry point records, per rank and epoch, the utterance ids of every training batch
(``keys.rank<R>.epoch<E>.txt``), so the test can check that one epoch reads every
utterance exactly once across the ranks. Faults:

* two shards made unusable between epochs 1 and 2 (one missing, one not UTF-8) are
  skipped in epoch 2 by both ranks, counted in the log;
* rank 1 SIGKILLed mid-training: the job stops at once, torchrun's line names rank 1,
  rank 0 ends with one ``ERROR: rank 0 of 2`` line (or is stopped by torchrun first),
  and the same command again resumes from the last checkpoint and finishes;
* rank 1 stopped (SIGSTOP, a rank that hangs): rank 0's next collective times out
  after ``USM_DIST_TIMEOUT`` seconds and rank 0 stops with one line (rank 1, let go,
  finds its peer gone: one line too, unless torchrun's SIGTERM reaches it first).

Every subprocess has a timeout and is killed with its workers (test_ddp_cpu's ``_kill``).
"""

import os
import re
import signal
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_ddp_cpu import _kill, _load, _torchrun_cmd  # noqa: E402
from test_ssl_train import SSL  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow

PROBE = '''\
"""Run ``python -m <module> <args>``; record each rank's training utterance ids per epoch."""
import os
import runpy
import sys

OUT = os.environ["DDP_PROBE_DIR"]
RANK = int(os.environ["RANK"])
module = sys.argv[1]
sys.argv = [module, *sys.argv[2:]]
with open(os.path.join(OUT, f"pid.rank{RANK}"), "w") as f:
    f.write(str(os.getpid()))

from usm_espnet.tasks.guarded_trainer import GuardedTrainer  # noqa: E402

_train_one_epoch = GuardedTrainer.train_one_epoch.__func__


def train_one_epoch(cls, model, iterator, optimizers, schedulers, scaler, reporter, *a, **kw):
    epoch = reporter.get_epoch()
    path = os.path.join(OUT, f"keys.rank{RANK}.epoch{epoch}.txt")

    def recorded():
        with open(path, "w") as f:
            for keys, batch in iterator:
                f.write("".join(k + "\\n" for k in keys))
                f.flush()
                yield keys, batch

    out = _train_one_epoch(cls, model, recorded(), optimizers, schedulers, scaler, reporter,
                           *a, **kw)
    breaker = os.environ.get("DDP_BREAK_SHARDS")
    if breaker and RANK == 0 and epoch == 1:  # shards 1 and 2 become unusable
        os.remove(os.path.join(breaker, "wav.scp", "split.1"))
        with open(os.path.join(breaker, "speech_shape", "split.2"), "ab") as f:
            f.write(b"\\xff\\xfe\\n")
    return out


GuardedTrainer.train_one_epoch = classmethod(train_one_epoch)
runpy.run_module(module, run_name="__main__", alter_sys=True)
'''

N_UTTS = 14


def _setup(root: Path):
    """14 one-second utterances in 3 shards (5, 5, 4), 2 validation ones, the yaml, the args."""
    rng = np.random.default_rng(0)
    lang = root / "untranscribed" / "en_us"
    lang.mkdir(parents=True)
    for i in range(N_UTTS):
        sf.write(lang / f"a{i:02d}.wav", (0.1 * rng.standard_normal(16000)).astype(np.float32),
                 16000, subtype="PCM_16")
    (lang / "wav.lst").write_text("".join(f"a{i:02d}.wav\n" for i in range(N_UTTS)))
    from usm_espnet.bin import prepare_untranscribed

    assert prepare_untranscribed.main(["--root", str(root / "untranscribed"),
                                       "--out_dir", str(root / "data"), "--num_shards", "3"]) == 0
    (root / "valid.scp").write_text("".join(f"v{i} {lang / f'a0{i}.wav'}\n" for i in range(2)))
    (root / "valid.shape").write_text("v0 16000\nv1 16000\n")
    # global batches of 4 (2 per rank); no num_iters_per_epoch: an epoch is every shard once
    (root / "ssl.yaml").write_text(SSL.replace("batch_size: 3", "batch_size: 4")
                                   .replace("num_iters_per_epoch: 2\n", ""))
    return ["--config", "ssl.yaml", "--multiple_iterator", "true",
            "--train_data_path_and_name_and_type", "data/shards/wav.scp,speech,sound",
            "--train_shape_file", "data/shards/speech_shape",
            "--valid_data_path_and_name_and_type", "valid.scp,speech,sound",
            "--valid_shape_file", "valid.shape", "--output_dir", "exp"]


def _start(args, cwd: Path, probe_dir: Path, log: Path, **env):
    import subprocess

    probe = cwd / "ddp_probe.py"  # the name test_ddp_cpu's _kill looks for
    probe.write_text(PROBE)
    probe_dir.mkdir(exist_ok=True)
    full_env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1",
                    DDP_PROBE_DIR=str(probe_dir), USM_SKIP_PREFLIGHT="", **env)
    return subprocess.Popen(_torchrun_cmd("usm_espnet.bin.ssl_train", args, probe), cwd=cwd,
                            env=full_env, stdout=log.open("w"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def _run(args, cwd: Path, probe_dir: Path, log: Path, timeout: float = 400, **env):
    p = _start(args, cwd, probe_dir, log, **env)
    try:
        p.wait(timeout=timeout)
    except Exception:
        pass
    finally:
        _kill(p, probe_dir)
    return p.returncode, log.read_text()


def _keys(probe_dir: Path, rank: int, epoch: int):
    return (probe_dir / f"keys.rank{rank}.epoch{epoch}.txt").read_text().split()


def _shard(root: Path, i: int):
    return [line.split()[0] for line in
            (root / "data" / "shards" / "wav.scp" / f"split.{i}").read_text().splitlines()]


def _pid(probe_dir: Path, rank: int) -> int:
    return int((probe_dir / f"pid.rank{rank}").read_text())


def _wait_for(cond, p, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        if p.poll() is not None:
            return bool(cond())
        time.sleep(0.05)
    return False


@pytest.mark.timeout(600)
def test_epoch_reads_every_utterance_once_across_ranks_and_skips_broken_shards(tmp_path):
    args = _setup(tmp_path)
    shards = [_shard(tmp_path, i) for i in range(3)]
    all_utts = sorted(shards[0] + shards[1] + shards[2])
    assert len(all_utts) == N_UTTS and [len(s) for s in shards] == [5, 5, 4]
    probe = tmp_path / "probe"
    rc, log = _run(args, tmp_path, probe, tmp_path / "torchrun.log",
                   DDP_BREAK_SHARDS=str(tmp_path / "data" / "shards"))
    assert rc == 0, log[-6000:]
    assert re.search(r"\[[^\]]*:0/2\]", log), log[-3000:]  # ESPnet ran 2 ranks
    r0, r1 = _keys(probe, 0, 1), _keys(probe, 1, 1)
    # epoch 1: each rank read its own part of every shard; together, every utterance once
    assert r0 and r1 and not set(r0) & set(r1)
    assert sorted(r0 + r1) == all_utts
    for i in range(3):
        assert set(shards[i]) & set(r0) and set(shards[i]) & set(r1)
    # epoch 2: shard 1 is missing and shard 2 unreadable: both ranks skip them, counted
    assert sorted(_keys(probe, 0, 2) + _keys(probe, 1, 2)) == sorted(shards[0])
    assert re.search(r"epoch 2: shard 1 of 3 skipped \(rank 0, 1: \S*wav.scp/split.1: No such "
                     r"file or directory\); \d shards? skipped in this epoch", log), log[-4000:]
    assert re.search(r"epoch 2: shard 2 of 3 skipped \(rank 0, 1: \S*speech_shape/split.2:\d+: "
                     r"not valid UTF-8", log), log[-4000:]
    assert "epoch 2: 2 of 3 shards skipped (1, 2); their utterances were not read" in log


@pytest.mark.timeout(900)
def test_rank_killed_mid_epoch_stops_the_job_then_resumes(tmp_path):
    args = [*_setup(tmp_path), "--resume", "true", "--max_epoch", "6"]
    ckpt = tmp_path / "exp" / "checkpoint.pth"
    probe = tmp_path / "probe1"
    log = tmp_path / "torchrun.killed.log"
    p = _start(args, tmp_path, probe, log)
    try:
        assert _wait_for(ckpt.exists, p, 400), log.read_text()[-4000:]
        killed_at_epoch = _load(ckpt)["reporter"]["epoch"]
        t0 = time.monotonic()
        os.kill(_pid(probe, 1), signal.SIGKILL)
        p.wait(timeout=120)  # no hang: torchrun sees rank 1 die and stops rank 0
        stopped_after = time.monotonic() - t0
    finally:
        _kill(p, probe)
    text = log.read_text()
    assert p.returncode != 0
    # torchrun's summary names rank 1 with SIGKILL's exit code, whether rank 1 or rank 0
    # (which saw its peer vanish and exited 1 a moment earlier, as under load) is the root cause
    assert re.search(r"rank\s*: 1 \(local_rank: 1\)\s*\n\s*exitcode\s*: -9", text), text[-4000:]
    print(f"job stopped {stopped_after:.1f} s after rank 1 was killed (epoch {killed_at_epoch})")
    assert stopped_after < 60
    errors = [x for x in text.splitlines() if x.startswith("ERROR: rank")]
    assert all(x.startswith("ERROR: rank 0 of 2: a collective failed") for x in errors), errors
    assert len(errors) <= 1
    assert 1 <= killed_at_epoch < 6

    # the same command again: resumes from the last checkpoint and finishes
    rc, out = _run(args, tmp_path, tmp_path / "probe2", tmp_path / "torchrun.resumed.log")
    assert rc == 0, out[-6000:]
    assert "resumed" in out, out[-3000:]
    assert _load(ckpt)["reporter"]["epoch"] == 6
    first = killed_at_epoch + 1  # the resumed run starts after the checkpoint's epoch
    assert not (tmp_path / "probe2" / f"keys.rank0.epoch{killed_at_epoch}.txt").exists()
    r0, r1 = _keys(tmp_path / "probe2", 0, first), _keys(tmp_path / "probe2", 1, first)
    assert sorted(r0 + r1) == sorted(_shard(tmp_path, 0) + _shard(tmp_path, 1) + _shard(tmp_path, 2))


@pytest.mark.timeout(600)
def test_hung_rank_times_out_with_one_line(tmp_path):
    args = [*_setup(tmp_path), "--max_epoch", "50"]
    ckpt = tmp_path / "exp" / "checkpoint.pth"
    probe = tmp_path / "probe"
    log = tmp_path / "torchrun.log"
    p = _start(args, tmp_path, probe, log, USM_DIST_TIMEOUT="8")
    pid1 = None
    try:
        assert _wait_for(ckpt.exists, p, 400), log.read_text()[-4000:]
        pid1 = _pid(probe, 1)
        t0 = time.monotonic()
        os.kill(pid1, signal.SIGSTOP)  # rank 1 hangs: alive, holding its connections
        assert _wait_for(lambda: "ERROR: rank 0 of 2" in log.read_text(), p, 120), \
            log.read_text()[-4000:]
        timed_out_after = time.monotonic() - t0
        os.kill(pid1, signal.SIGCONT)  # lets torchrun's SIGTERM reach it
        p.wait(timeout=120)
    finally:
        if pid1 is not None:
            try:
                os.kill(pid1, signal.SIGCONT)
            except ProcessLookupError:
                pass
        _kill(p, probe)
    text = log.read_text()
    print(f"rank 0 stopped {timed_out_after:.1f} s after rank 1 hung (USM_DIST_TIMEOUT=8)")
    errors = [x for x in text.splitlines() if x.startswith("ERROR: rank")]
    # rank 0's line, then (when SIGCONT reaches rank 1 before torchrun's SIGTERM) rank 1's:
    # its peer's connection closed, or its own pending collective timed out while it was
    # stopped (seen under load). One line per rank, no traceback.
    assert 1 <= len(errors) <= 2 and "Traceback" not in text.split("failed (exitcode")[0], errors
    assert all(x.startswith(("ERROR: rank 1 of 2: a collective failed",
                             "ERROR: rank 1 of 2: a collective did not complete within 8 s"))
               for x in errors[1:]), errors
    assert errors[0].startswith("ERROR: rank 0 of 2: a collective did not complete within 8 s "
                                "(USM_DIST_TIMEOUT): another rank hangs or is gone; stopping"), errors
    assert 8 <= timed_out_after < 90
    assert p.returncode != 0
