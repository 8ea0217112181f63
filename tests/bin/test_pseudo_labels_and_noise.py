"""Noisy-student pieces: make_pseudo_labels, synthetic noise, format_data --langs, row_params."""

import json

import numpy as np
import pytest
import soundfile as sf

from usm_espnet.bin import compare_results, make_pseudo_labels
from usm_espnet.bin.format_data import format_data
from usm_espnet.data.kaldi import DataDirError
from usm_espnet.data.noise import colored_noise, write_noise_set


def _audio_dir(root, ids, lang="sw_ke", seconds=2.0, text=None):
    root.mkdir(parents=True)
    wav, u2l, u2s, dur, num, txt = [], [], [], [], [], []
    for u in ids:
        p = root / f"{u}.wav"
        sf.write(p, np.zeros(int(16000 * seconds), np.float32), 16000)
        wav.append(f"{u} {p}")
        u2l.append(f"{u} {lang}")
        u2s.append(f"{u} {u}")
        dur.append(f"{u} {seconds}")
        num.append(f"{u} {int(16000 * seconds)}")
        if text is not None:
            txt.append(f"{u} {text}")
    for name, lines in (("wav.scp", wav), ("utt2lang", u2l), ("utt2spk", u2s), ("utt2dur", dur),
                        ("utt2num_samples", num), ("text", txt)):
        if lines:
            (root / name).write_text("\n".join(lines) + "\n")
    return root


def _decode_dir(root, hyps, confs):
    (root / "1best_recog").mkdir(parents=True)
    (root / "1best_recog" / "text").write_text("".join(f"{u} {t}\n" for u, t in hyps.items()))
    (root / "1best_recog" / "confidence").write_text("".join(f"{u} {c}\n" for u, c in confs.items()))
    return root


def test_pseudo_labels_kept_dropped_and_joined(tmp_path):
    audio = _audio_dir(tmp_path / "untr", ["a1", "a2", "a3", "a4"])
    lab = _audio_dir(tmp_path / "lab", ["l1", "l2"], text="habari ya asubuhi")
    dec = _decode_dir(tmp_path / "dec",
                      {"a1": "habari za leo", "a2": "habari", "a3": "", "a4": "x" * 200},
                      {"a1": 0.9, "a2": 0.3, "a3": 0.0, "a4": 0.95})
    out = tmp_path / "student"
    counts = make_pseudo_labels.make_pseudo_labels(str(audio), str(dec), str(out), str(lab),
                                                   min_confidence=0.5)
    assert counts["kept"] == 1 and counts["dropped"] == 3 and counts["labelled"] == 2
    text = dict(line.split(" ", 1) for line in (out / "text").read_text().splitlines())
    assert text == {"l1": "habari ya asubuhi", "l2": "habari ya asubuhi", "pseudo-a1": "habari za leo"}
    assert (out / "utt2num_samples").read_text().count("\n") == 3
    assert "pseudo-a1 sw_ke" in (out / "utt2lang").read_text()
    report = (out / "pseudo_labels.tsv").read_text()
    assert "a2\t0.3000\tdropped: confidence" in report and "a3\t0.0000\tdropped: empty" in report
    assert "a4\t0.9500\tdropped: 100.0 chars/s > 40.0" in report
    assert json.loads((out / "pseudo_labels.json").read_text())["kept"] == 1


def test_pseudo_labels_bad_input(tmp_path, capsys):
    audio = _audio_dir(tmp_path / "untr", ["a1"])
    dec = _decode_dir(tmp_path / "dec", {"a1": "x"}, {"a1": "high"})
    rc = make_pseudo_labels.main(["--audio_dir", str(audio), "--decode_dir", str(dec),
                                  "--out_dir", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 1 and "1best_recog/confidence:1" in err and "'high'" in err
    dec2 = _decode_dir(tmp_path / "dec2", {"zz": "x"}, {"zz": 0.9})
    rc = make_pseudo_labels.main(["--audio_dir", str(audio), "--decode_dir", str(dec2),
                                  "--out_dir", str(tmp_path / "o")])
    assert rc == 1 and "not in" in capsys.readouterr().err
    rc = make_pseudo_labels.main(["--audio_dir", str(audio), "--decode_dir", str(tmp_path / "none"),
                                  "--out_dir", str(tmp_path / "o")])
    assert rc == 1 and "greedy" in capsys.readouterr().err
    # everything dropped and nothing labelled: nothing to train on, said so
    dec3 = _decode_dir(tmp_path / "dec3", {"a1": "x"}, {"a1": 0.1})
    with pytest.raises(DataDirError, match="nothing to train on"):
        make_pseudo_labels.make_pseudo_labels(str(audio), str(dec3), str(tmp_path / "o"))
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("exponent", [0.0, 1.0, 2.0])
def test_colored_noise_slope(exponent):
    x = colored_noise(16000 * 4, exponent, np.random.default_rng(0))
    assert abs(float(np.sqrt(np.mean(x ** 2))) - 1.0) < 1e-3
    spec = np.abs(np.fft.rfft(x)) ** 2
    f = np.fft.rfftfreq(len(x), 1 / 16000)
    band = lambda lo, hi: float(spec[(f >= lo) & (f < hi)].mean())  # noqa: E731
    slope = np.log10(band(100, 200) / band(3200, 6400)) / np.log10(4800 / 150)
    assert abs(slope - exponent) < 0.3, slope


def test_noise_set_is_an_espnet_scp(tmp_path):
    paths = write_noise_set(str(tmp_path / "noise"), num_clips=3, seconds=1.0)
    lines = (tmp_path / "noise" / "noise.scp").read_text().splitlines()
    assert len(lines) == 3 and [ln.split()[1] for ln in lines] == paths
    x, sr = sf.read(paths[1])
    assert sr == 16000 and len(x) == 16000 and np.abs(x).max() < 1.0


def test_format_data_keeps_only_requested_languages(tmp_path):
    src = _audio_dir(tmp_path / "src", ["a1", "a2"], text="abc")
    (src / "utt2lang").write_text("a1 sw_ke\na2 en_us\n")
    format_data(str(src), str(tmp_path / "out"), nj=1, langs=["sw_ke"])
    assert (tmp_path / "out" / "text").read_text() == "a1 abc\n"
    with pytest.raises(DataDirError, match="no utterance of fr_fr.*en_us, sw_ke"):
        format_data(str(src), str(tmp_path / "out2"), nj=1, langs=["fr_fr"])


def test_compare_results_trainable_parameter_column(tmp_path):
    scores = tmp_path / "scores.json"
    scores.write_text(json.dumps({"languages": {"sw_ke": {"cer": 10.0, "wer": 30.0}},
                                  "macro_average": {"cer": 10.0, "wer": 30.0}}))
    params = tmp_path / "params.json"
    params.write_text(json.dumps({"trainable": 12345, "total": 99999}))
    md = tmp_path / "RESULTS.md"
    argv = ["--recipe_results", str(md), "--section_id", "x", "--title", "t",
            "--row", f"adapters={scores}", "--row", f"zero-shot={scores}",
            "--row_params", f"adapters={params}", "--paper_metric", "WER",
            "--paper_row", "teacher=29.1"]
    assert compare_results.main(argv) == 0
    text = md.read_text()
    assert "| adapters | 12,345 | 10.00 |" in text and "| zero-shot | - | 10.00 |" in text
    assert "| Source | Setting | WER (%) |" in text
    assert compare_results.main(argv[:-4] + ["--row_params", f"nope={params}"]) == 1
