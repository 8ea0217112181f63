"""usm_espnet.tasks.distributed: launch checks, collective timeout and failure line, shard skips.

The multi-process behaviour (a rank killed or hung under torchrun, shards over 2
ranks) is in tests/bin/test_ddp_shards_faults.py (full tier).
"""

import datetime

import pytest
import torch.distributed as dist

from usm_espnet.tasks import distributed as D

TORCHRUN = {"WORLD_SIZE": "2", "RANK": "0", "LOCAL_RANK": "0", "LOCAL_WORLD_SIZE": "2",
            "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "29500", "TORCHELASTIC_RUN_ID": "x"}
GOOD_CPU = ["--ngpu", "0", "--dist_backend", "gloo", "--multiprocessing_distributed", "false"]
GOOD_GPU = ["--ngpu", "1", "--multiprocessing_distributed", "false"]


def _check(argv, env, gpus=0):
    D.check_launch(D.launch_options(argv), env=env, gpus=gpus)


@pytest.mark.parametrize("argv,env,gpus", [
    ([], {}, 0),  # one process on the CPU
    (["--ngpu", "4", "--multiprocessing_distributed", "true"], {}, 4),  # ESPnet spawns 4
    (GOOD_CPU, TORCHRUN, 0),
    (GOOD_GPU, TORCHRUN, 2),
    (GOOD_GPU, dict(TORCHRUN, RANK="3", LOCAL_RANK="1", WORLD_SIZE="4"), 2),
    (["--ngpu", "1"], {"WORLD_SIZE": "1", "RANK": "0", "LOCAL_RANK": "0"}, 1),  # torchrun, 1 proc
])
def test_consistent_launches_pass(argv, env, gpus):
    _check(argv, env, gpus)


@pytest.mark.parametrize("argv,env,gpus,msg", [
    (["--ngpu", "2"], {}, 1, r"^--ngpu 2 but 1 GPU visible$"),
    (["--ngpu", "1"], {"CUDA_VISIBLE_DEVICES": ""}, 0,
     r"^--ngpu 1 but no GPUs visible \(CUDA_VISIBLE_DEVICES=\): --ngpu 0 trains on the CPU$"),
    (["--ngpu", "-1"], {}, 0, r"--ngpu -1: 0 \(CPU\)"),
    (["--multiprocessing_distributed", "true", "--dist_world_size", "2"], {}, 0,
     r"needs --dist_rank"),
    (GOOD_CPU, {"RANK": "0"}, 0, r"^RANK=0 is set but WORLD_SIZE is not: start the ranks with torchrun"),
    (GOOD_CPU, dict(TORCHRUN, RANK="2"), 0, r"^RANK=2 >= WORLD_SIZE=2 \(set by the launcher"),
    (GOOD_CPU, dict(TORCHRUN, WORLD_SIZE="two"), 0, r"^WORLD_SIZE='two' is not an integer$"),
    (GOOD_CPU, dict(TORCHRUN, LOCAL_RANK="2"), 0, r"^LOCAL_RANK=2 >= LOCAL_WORLD_SIZE=2"),
    ([*GOOD_CPU, "--dist_world_size", "4"], TORCHRUN, 0,
     r"^--dist_world_size 4 but WORLD_SIZE=2 .*: drop --dist_world_size$"),
    ([*GOOD_CPU, "--dist_rank", "1"], TORCHRUN, 0, r"^--dist_rank 1 but RANK=0"),
    ([*GOOD_CPU, "--dist_launcher", "slurm"], TORCHRUN, 0, r"drop --dist_launcher under torchrun"),
    (["--ngpu", "0", "--dist_backend", "gloo", "--multiprocessing_distributed", "true"], TORCHRUN,
     0, r"--multiprocessing_distributed true, .*pass --multiprocessing_distributed false"),
    (["--ngpu", "8", "--multiprocessing_distributed", "false"], TORCHRUN, 8,
     r"^--ngpu 8 with WORLD_SIZE=2 .*pass --ngpu 1"),
    (["--ngpu", "0", "--multiprocessing_distributed", "false"], TORCHRUN, 0,
     r"^--dist_backend nccl needs GPUs, but --ngpu 0 .*--dist_backend gloo"),
    (GOOD_GPU, dict(TORCHRUN, RANK="1", LOCAL_RANK="1", CUDA_VISIBLE_DEVICES="0"), 1,
     r"^LOCAL_RANK=1 but 1 GPU visible \(CUDA_VISIBLE_DEVICES=0\): torchrun --nproc_per_node"),
    (GOOD_GPU, {k: v for k, v in TORCHRUN.items() if k not in ("LOCAL_RANK", "LOCAL_WORLD_SIZE")},
     2, r"no LOCAL_RANK"),
    (GOOD_CPU, {k: v for k, v in TORCHRUN.items() if k != "MASTER_ADDR"}, 0,
     r"^WORLD_SIZE=2 but no MASTER_ADDR \(rendezvous"),
    (GOOD_CPU, dict(TORCHRUN, MASTER_PORT="http"), 0, r"^MASTER_PORT='http' is not an integer$"),
])
def test_inconsistent_launches_are_one_line(argv, env, gpus, msg):
    with pytest.raises(D.LaunchError, match=msg) as e:
        _check(argv, env, gpus)
    assert "\n" not in str(e.value)


def test_options_come_from_the_yaml_unless_given(tmp_path):
    conf = tmp_path / "c.yaml"
    conf.write_text("ngpu: 2\ndist_backend: gloo\nmultiprocessing_distributed: false\n")
    opts = D.launch_options(["--config", str(conf), "--ngpu", "1"])
    assert (opts.ngpu, opts.dist_backend, opts.multiprocessing_distributed) == (1, "gloo", False)
    assert D.launch_options([]).dist_backend == "nccl"  # ESPnet's default
    with pytest.raises(D.LaunchError, match="wrong type"):
        D.launch_options(["--ngpu", "two"])


def test_timeout_and_failure_line(monkeypatch):
    assert D.timeout_s({}) == 1800
    assert D.timeout_s({"USM_DIST_TIMEOUT": "20"}) == 20
    with pytest.raises(D.LaunchError, match=r"USM_DIST_TIMEOUT='0': a positive number"):
        D.timeout_s({"USM_DIST_TIMEOUT": "0"})
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("USM_DIST_TIMEOUT", "20")
    line = D.failure_line(dist.DistBackendError("[gloo] Timed out waiting 20000ms for recv\n x"))
    assert line.startswith("ERROR: rank 1 of 4: a collective did not complete within 20 s")
    assert "\n" not in line and "resume with --resume true" in line
    line = D.failure_line(dist.DistBackendError("Connection closed by peer [127.0.0.1]:1234"))
    assert "another rank died or its connection closed" in line
    gloo = RuntimeError("[/pytorch/third_party/gloo/gloo/transport/tcp/unbound_buffer.cc:78] "
                        "Timed out waiting 20000ms for recv operation to complete")
    assert "did not complete within 20 s" in D.failure_line(gloo)
    assert D.failure_line(RuntimeError("CUDA out of memory")) is None
    assert D.failure_line(ValueError("gloo/ in a value error")) is None


def test_process_group_gets_the_timeout(monkeypatch):
    from espnet2.train.distributed_utils import DistributedOption

    class Task:
        pass

    D.install(Task)
    seen = {}
    monkeypatch.setattr(dist, "init_process_group", lambda *a, **kw: seen.update(kw))
    monkeypatch.setenv("USM_DIST_TIMEOUT", "7")
    DistributedOption(distributed=True, dist_backend="gloo", dist_init_method="tcp://x:1",
                      dist_world_size=2, dist_rank=0).init_torch_distributed()
    assert seen["timeout"] == datetime.timedelta(seconds=7)
    assert "build_multiple_iter_factory" in vars(Task)


class _Fake(D.AbsIterFactory):
    def __init__(self, keys):
        self.keys = keys

    def build_iter(self, epoch, shuffle=None):
        yield from ((k, None) for k in self.keys)


def test_shard_skipping_factory_order_and_counted_skips(tmp_path, caplog):
    from espnet2.iterators.multiple_iter_factory import MultipleIterFactory

    dirs = [tmp_path / "wav.scp", tmp_path / "speech_shape"]
    for d in dirs:
        d.mkdir()
        for i in range(4):
            (d / f"split.{i}").write_text(f"u{i} x\n")
    funcs = [lambda i=i: _Fake([f"u{i}"]) for i in range(4)]
    ours = D.ShardSkippingIterFactory(funcs, [str(d) for d in dirs], seed=3, shuffle=True)
    espnet = MultipleIterFactory(funcs, seed=3, shuffle=True)
    for epoch in (1, 2, 5):  # ESPnet's shard order
        assert [k for k, _ in ours.build_iter(epoch)] == [k for k, _ in espnet.build_iter(epoch)]
    (dirs[0] / "split.1").unlink()
    (dirs[1] / "split.3").write_bytes(b"u3 \xff\n")
    keys = [k for k, _ in ours.build_iter(2)]
    assert sorted(keys) == ["u0", "u2"] and sorted(ours.skipped[2]) == [1, 3]
    assert "shard 1 of 4 skipped (rank 0: " in caplog.text
    assert "speech_shape/split.3:1: not valid UTF-8" in caplog.text
    assert "epoch 2: 2 of 4 shards skipped (1, 3)" in caplog.text
    assert [k for k, _ in ours.build_iter(2, shuffle=False)] == ["u0", "u2"]


def test_entry_points_refuse_a_bad_launch_before_espnet_starts(monkeypatch, capsys, tmp_path):
    # preflight.run_training is asr_train's and ssl_train's main; a task that fails when
    # touched shows that nothing of ESPnet ran (importing ssl_train itself takes 10-30 s)
    from usm_espnet.bin import preflight

    class Untouchable:
        def __getattr__(self, name):
            raise AssertionError(f"ESPnet's task was used ({name})")

    for k, v in TORCHRUN.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("USM_SKIP_PREFLIGHT", "1")  # the launch check runs even then
    argv = ["--ngpu", "0", "--output_dir", str(tmp_path / "exp")]
    assert preflight.run_training(Untouchable(), "ssl", argv) == 1
    err = [x for x in capsys.readouterr().err.splitlines() if x.startswith("ERROR")]
    assert err == ["ERROR: --dist_backend nccl needs GPUs, but --ngpu 0 (WORLD_SIZE=2): "
                   "pass --dist_backend gloo to train on CPUs"]
    assert not (tmp_path / "exp").exists()


def test_multiple_iter_factory_checks_the_shard_directories(tmp_path):
    from types import SimpleNamespace

    a, b = tmp_path / "wav.scp", tmp_path / "speech_shape"
    for d in (a, b):
        d.mkdir()
        (d / "num_splits").write_text("3")
    opts = SimpleNamespace(data_path_and_name_and_type=[(str(a), "speech", "sound")],
                           shape_files=[str(b)], num_iters_per_epoch=None, max_cache_size=0.0,
                           train=True)

    class Task:
        @classmethod
        def build_iter_options(cls, args, distributed_option, mode):
            return opts

        @classmethod
        def build_iter_factory(cls, *a, **kw):
            return _Fake(["x"])

    args = SimpleNamespace(seed=0)
    factory = D.build_multiple_iter_factory(Task, args, None, "train")
    assert len(factory.build_funcs) == 3 and factory.shuffle
    opts.num_iters_per_epoch = 2
    with pytest.raises(RuntimeError, match=r"--num_iters_per_epoch 2 < 3 shards .*never be read"):
        D.build_multiple_iter_factory(Task, args, None, "train")
    opts.num_iters_per_epoch = None
    (b / "num_splits").write_text("4")
    with pytest.raises(RuntimeError, match=r"speech_shape/num_splits: 4 shards, but .*says 3"):
        D.build_multiple_iter_factory(Task, args, None, "train")
    (b / "num_splits").unlink()
    with pytest.raises(RuntimeError, match=r"speech_shape/num_splits: unreadable"):
        D.build_multiple_iter_factory(Task, args, None, "train")
    opts.shape_files = [str(tmp_path / "shape")]
    with pytest.raises(RuntimeError, match=r"shape: not a shard directory"):
        D.build_multiple_iter_factory(Task, args, None, "train")
