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
    assert sorted(os.listdir(tmp_path / "dump")) == ["unspoken_text"]  # nothing left behind


def test_an_error_leaves_the_target_as_it_was(tmp_path):
    target = tmp_path / "out"
    target.mkdir()
    (target / "old").write_text("old\n")
    with pytest.raises(RuntimeError, match="half-way"):
        with staged_dir(target) as d:
            (open(os.path.join(d, "new"), "w")).write("new\n")
            raise RuntimeError("half-way")
    assert os.listdir(target) == ["old"] and sorted(os.listdir(tmp_path)) == ["out"]
    with staged_dir(target) as d:
        assert os.listdir(d) == []
        mode = os.stat(d).st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o777 & ~umask  # as os.makedirs would make it, not mkdtemp's 0700
