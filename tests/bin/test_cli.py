"""usm_espnet.bin._cli.run: the shared ending of the entry points (issue 18)."""

import logging

import pytest

from usm_espnet.bin import _cli


@pytest.fixture
def basic_config(monkeypatch):
    """The ``logging.basicConfig`` calls (pytest's handlers would make them no-ops)."""
    calls = []
    monkeypatch.setattr(logging, "basicConfig", lambda **kw: calls.append(kw))
    return calls


def test_success_reports_the_result_and_logs_at_info(basic_config, capsys):
    status = _cli.run(lambda: {"n": 3}, lambda r: print(f"n={r['n']}"))
    assert status == 0
    assert capsys.readouterr() == ("n=3\n", "")
    assert basic_config == [{"level": logging.INFO, "format": _cli.LOG_FORMAT}]


def test_quiet_logs_at_warning_and_a_format_is_kept(basic_config):
    assert _cli.run(lambda: None, quiet=True, log_format="%(message)s") == 0
    assert basic_config == [{"level": logging.WARNING, "format": "%(message)s"}]


def test_no_log_format_leaves_logging_alone(basic_config):
    assert _cli.run(lambda: None, log_format=None) == 0
    assert basic_config == []


@pytest.mark.parametrize("exc", [ValueError("bad value"), FileNotFoundError(2, "gone", "x.txt")])
def test_caught_error_is_one_line_and_status_1(basic_config, capsys, exc):
    def body():
        raise exc

    reported = []
    assert _cli.run(body, reported.append) == 1
    out, err = capsys.readouterr()
    assert (out, err, reported) == ("", f"ERROR: {exc}\n", [])


def test_other_errors_and_report_errors_propagate(basic_config):
    def body():
        raise KeyError("k")

    with pytest.raises(KeyError):
        _cli.run(body)
    with pytest.raises(ValueError):  # only the body's errors are bad input
        _cli.run(lambda: 1, lambda r: int("x"))


def test_errors_describe_and_report_status(basic_config, capsys):
    def body():
        raise KeyError("no such key")

    assert _cli.run(body, errors=KeyError, describe=lambda e: f"--key: {e.args[0]}") == 1
    assert capsys.readouterr().err == "ERROR: --key: no such key\n"
    assert _cli.run(lambda: 0, lambda n: 0 if n else 1) == 1
    assert _cli.run(lambda: 7) == 0  # without a report the body's value is dropped


def test_prepare_unspoken_text_missing_input_dir_is_one_error_line(tmp_path, capsys):
    from usm_espnet.bin import prepare_unspoken_text

    missing = tmp_path / "no_such_dir"
    rc = prepare_unspoken_text.main(["--in_dir", str(missing), "--out_dir", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1
    assert len(err) == 1 and err[0].startswith("ERROR: ") and str(missing / "text") in err[0]
