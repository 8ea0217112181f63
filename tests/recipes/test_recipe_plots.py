"""The recipes' charts (usm_espnet/report): stand-in data said so, long-form lengths as ticks,
recordings a model could not decode shown (not dropped)."""

import json

import pytest

pytest.importorskip("matplotlib")

from usm_espnet.report.compare import Row, plot_comparison  # noqa: E402
from usm_espnet.report.longform import plot_wer_vs_length  # noqa: E402
from usm_espnet.report.results import is_standin, plot_title  # noqa: E402


def _scores(points, lang="en_us", missing=()):
    return {f"{lang}_{m}min": {"lang": lang, "seconds": m * 60.0, "wer": w, "cer": w / 2,
                               "missing_hyp": m in missing} for m, w in points}


def test_plot_title_marks_the_standin_and_wraps():
    assert plot_title("fleurs test: demo", True) == "fleurs test: demo (synthetic stand-in)"
    assert plot_title("fleurs (synthetic stand-in) test", True).count("stand-in") == 1
    assert plot_title("fleurs test", False) == "fleurs test"
    assert all(len(line) <= 30 for line in plot_title("a " * 40, None, width=30).splitlines())
    assert is_standin("x (synthetic stand-in)", None) and not is_standin("x", None)
    assert is_standin("x", True) and not is_standin("x stand-in", False)


def test_longform_plot_shows_what_could_not_be_decoded(tmp_path):
    models = [("chunk", _scores([(1, 20.0), (5, 22.0), (15, 25.0)])),
              ("global", _scores([(1, 40.0), (5, 0.0), (15, 0.0)], missing=(5, 15)))]
    png = tmp_path / "results" / "lf.png"
    labels = plot_wer_vs_length(models, str(png), "long-form (synthetic stand-in)")
    assert png.stat().st_size > 1000
    assert labels == ["chunk en_us", "global en_us", "global en_us: not decoded"]
    # a model that decoded nothing still gets its entry
    labels = plot_wer_vs_length([("global", _scores([(1, 0.0)], missing=(1,)))], str(png), "x")
    assert labels == ["global en_us: not decoded"]


def test_comparison_plot(tmp_path):
    rows = []
    for i, (label, cer) in enumerate((("no adaptation (zero-shot)", 80.0), ("full fine-tuning", 40.0))):
        path = tmp_path / f"{i}.json"
        path.write_text(json.dumps({"languages": {"sw_ke": {"cer": cer, "wer": cer}},
                                    "macro_average": {"cer": cer, "wer": cer}}))
        rows.append(Row(label, str(path)))
    plot_comparison(rows, str(tmp_path / "c.png"), "adaptation", standin=True)
    assert (tmp_path / "c.png").stat().st_size > 1000
