"""report.curves: validation curves read from ESPnet train.log, their table and scaling."""

from pathlib import Path

import pytest

from usm_espnet.report import curves


def _run(tmp_path: Path, name: str, losses, cers) -> Path:
    exp = tmp_path / name
    exp.mkdir()
    (exp / "config.yaml").write_text("num_iters_per_epoch: 50\n")
    lines = [f"[vm] 2026-12-06 21:00:00,000 (trainer:392) INFO: {e}epoch results: [train] loss=9.0, "
             f"[valid] loss={lo}, cer_ctc={c}, time=1 seconds"
             for e, (lo, c) in enumerate(zip(losses, cers), start=1)]
    (exp / "train.log").write_text("\n".join(lines) + "\n")
    return exp


def test_error_rates_in_percent_losses_as_they_are(tmp_path, capsys):
    a = _run(tmp_path, "a", [120.5, 98.25], [0.9, 0.612])
    assert curves.read_valid_curve(str(a), "loss") == [(50, 120.5), (100, 98.25)]
    assert curves.main(["--run", f"A={a}"]) == 0
    out = capsys.readouterr().out
    assert "| A | 90.0 | 61.2 |" in out and "dev cer_ctc (%)" in out
    assert curves.main(["--run", f"A={a}", "--metric", "loss"]) == 0
    out = capsys.readouterr().out
    assert "| A | 120.5 | 98.2 |" in out and "Cells: dev loss after" in out
    assert curves.main(["--run", f"A={a}", "--metric", "loss", "--scale", "0.01"]) == 0
    assert "| A | 1.2 | 1.0 |" in capsys.readouterr().out


def test_missing_metric_is_one_error_line(tmp_path, capsys):
    a = _run(tmp_path, "a", [1.0], [0.5])
    assert curves.main(["--run", f"A={a}", "--metric", "wer_ctc"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("ERROR: ") and "wer_ctc" in err[0]


@pytest.mark.parametrize("metric,scale", [("cer_ctc", 100.0), ("acc", 100.0), ("WER", 100.0), ("loss", 1.0)])
def test_default_scale(metric, scale):
    assert curves.default_scale(metric) == scale
