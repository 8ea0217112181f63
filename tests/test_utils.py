"""usm_espnet.utils.staged_dir: a uniquely named staging directory that replaces its target whole."""

import os

import pytest

from usm_espnet.utils import staged_dir


def test_two_writers_of_one_target_never_mix_files(tmp_path):
    target = tmp_path / "dump" / "unspoken_text"
    a = staged_dir(target)
    b = staged_dir(target)
    da, db = a.__enter__(), b.__enter__()  # both writing at once
    assert da != db and os.path.dirname(da) == os.path.dirname(db) == str(target.parent)
    (open(os.path.join(da, "text"), "w")).write("from a\n")
    (open(os.path.join(db, "text"), "w")).write("from b\n")
    (open(os.path.join(db, "only_b"), "w")).write("b\n")
    b.__exit__(None, None, None)
    assert sorted(os.listdir(target)) == ["only_b", "text"]
    a.__exit__(None, None, None)  # the last to finish wins, with its own files only
    assert os.listdir(target) == ["text"] and (target / "text").read_text() == "from a\n"
    # nothing left behind but the (empty) lock file of the swap
    assert sorted(os.listdir(tmp_path / "dump")) == [".unspoken_text.lock", "unspoken_text"]


def test_an_error_leaves_the_target_as_it_was(tmp_path):
    target = tmp_path / "out"
    target.mkdir()
    (target / "old").write_text("old\n")
    with pytest.raises(RuntimeError, match="half-way"):
        with staged_dir(target) as d:
            (open(os.path.join(d, "new"), "w")).write("new\n")
            raise RuntimeError("half-way")
    assert os.listdir(target) == ["old"] and sorted(os.listdir(tmp_path)) == ["out"]  # no staging left
    with staged_dir(target) as d:
        assert os.listdir(d) == []
        mode = os.stat(d).st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o777 & ~umask  # as os.makedirs would make it, not mkdtemp's 0700


def test_writers_finishing_together_both_succeed(tmp_path):
    """Many processes write one target and swap at about the same moment: none fails, the
    target is one writer's whole output, no backup or staging directory is left."""
    import multiprocessing as mp

    target = tmp_path / "out"
    ctx = mp.get_context("fork")
    go = ctx.Event()
    procs = [ctx.Process(target=_write_one, args=(str(target), i, go)) for i in range(8)]
    for p in procs:
        p.start()
    go.set()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0] * 8
    files = sorted(os.listdir(target))
    assert len(files) == 1 and files[0].startswith("from_")
    assert sorted(os.listdir(tmp_path)) == [".out.lock", "out"]


def _write_one(target, i, go):
    with staged_dir(target) as d:
        open(os.path.join(d, f"from_{i}"), "w").write(f"{i}\n")
        go.wait(10)
