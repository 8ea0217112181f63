"""usm_espnet.noisy_student: the rounds with fake steps (no training), the student's
command line, and the results table with the paper's Shona numbers from paper_numbers.tsv."""

import json
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from usm_espnet import noisy_student as ns
from usm_espnet.bin import noisy_student as cli
from usm_espnet.report import paper


def _data_dir(root: Path, ids, text=None):
    root.mkdir(parents=True)
    files = {"wav.scp": [], "utt2lang": [], "utt2spk": [], "utt2dur": [], "utt2num_samples": [],
             "text": []}
    for u in ids:
        p = root / f"{u}.wav"
        sf.write(p, np.zeros(32000, np.float32), 16000)
        files["wav.scp"].append(f"{u} {p}")
        files["utt2lang"].append(f"{u} sw_ke")
        files["utt2spk"].append(f"{u} {u}")
        files["utt2dur"].append(f"{u} 2.0")
        files["utt2num_samples"].append(f"{u} 32000")
        if text:
            files["text"].append(f"{u} {text}")
    for name, lines in files.items():
        if lines:
            (root / name).write_text("\n".join(lines) + "\n")


class FakeSteps:
    """Decoding writes hypotheses (confidence 0.9, one at 0.1), scoring a scores.json."""

    def __init__(self):
        self.calls = []

    def decode(self, exp, data, out, args):
        self.calls.append(("decode", os.path.basename(exp), os.path.basename(data), args))
        ids = [line.split()[0] for line in open(os.path.join(data, "wav.scp"))]
        os.makedirs(os.path.join(out, "1best_recog"), exist_ok=True)
        with open(os.path.join(out, "1best_recog", "text"), "w") as f:
            f.writelines(f"{u} habari yako\n" for u in ids)
        with open(os.path.join(out, "1best_recog", "confidence"), "w") as f:
            f.writelines(f"{u} {0.1 if i == 0 else 0.9}\n" for i, u in enumerate(ids))

    def train(self, exp, train_dir, force):
        self.calls.append(("train", os.path.basename(exp), os.path.basename(train_dir), force))
        os.makedirs(exp, exist_ok=True)

    def score(self, data, out, title):
        self.calls.append(("score", os.path.basename(out), title))
        os.makedirs(os.path.join(out, "score"), exist_ok=True)
        langs = {"sw_ke": {"wer": 40.0, "cer": 12.0, "num_utts": 2}}
        with open(os.path.join(out, "score", "scores.json"), "w") as f:
            json.dump({"languages": langs, "pooled": {},
                       "macro_average": {"wer": 40.0, "cer": 12.0, "num_langs": 1}}, f)


def _setup(tmp_path, **kw):
    dump = tmp_path / "dump" / "adapt_sw_ke"
    _data_dir(dump / "train", ["l1", "l2"], text="habari ya asubuhi")
    _data_dir(dump / "test", ["t1", "t2"], text="habari")
    _data_dir(dump / "untranscribed", ["u1", "u2", "u3"])
    adapt = tmp_path / "adapt"
    FakeSteps().score(None, str(adapt / "decode_sw_ke_full"), "teacher")
    return ns.StudentSetup(lang="sw_ke", adapt_dir=str(adapt), lang_dump_dir=str(dump),
                           train_config=str(tmp_path / "train.yaml"), base_model="exp/asr/m.pth",
                           noise_scp="noise.scp", title_prefix="FLEURS (synthetic stand-in)",
                           asr_tag="debug", standin=True, **kw)


def test_rounds_chain_teachers_and_skip_finished_rounds(tmp_path, capsys):
    setup = _setup(tmp_path, iterations=2, pseudo_decode_args=["--ctc_greedy", "true"],
                   eval_decode_args=["--beam_size", "4"])
    steps = FakeSteps()
    rounds = ns.run_rounds(setup, steps)
    assert [os.path.basename(r.teacher) for r in rounds] == ["sw_ke_full", "sw_ke_student1"]
    assert steps.calls[:5] == [
        ("decode", "sw_ke_full", "untranscribed", ["--ctc_greedy", "true"]),
        ("train", "sw_ke_student1", "student1", False),
        ("decode", "sw_ke_student1", "test", ["--beam_size", "4"]),
        ("score", "decode_sw_ke_student1", "FLEURS (synthetic stand-in) sw_ke (unseen): noisy student round 1"),
        ("decode", "sw_ke_student1", "untranscribed", ["--ctc_greedy", "true"])]
    counts = json.loads((Path(rounds[0].data) / "pseudo_labels.json").read_text())
    assert (counts["hypotheses"], counts["kept"], counts["labelled"]) == (3, 2, 2)
    assert all(os.path.isfile(r.done_marker) for r in rounds)
    again = FakeSteps()
    ns.run_rounds(setup, again)
    assert again.calls == []  # finished rounds are not redone ...
    ns.run_rounds(setup, again, force=True)
    assert [c[3] for c in again.calls if c[0] == "train"] == [True, True]  # ... unless forced

    md = ns.write_results(setup, rounds, str(tmp_path / "RESULTS.md"))
    text = Path(md).read_text()
    assert "unseen language sw_ke: noisy student (debug)" in text
    assert "student 2 (pseudo-labels: 2 of 3 kept)" in text
    # the numbers asr.sh passed before they were keys of paper_numbers.tsv
    assert [paper.value_for_key(key) for _, key in ns.PAPER_ROWS] == [29.1, 22.2]
    assert "| teacher | 29.1 |" in text and "| student | 22.2 |" in text
    assert paper.paper_source(ns.PAPER_TABLE) in text
    assert "student_debug_sw_ke" in (tmp_path / "RESULTS.md").read_text()
    assert (tmp_path / "results" / "student_debug_sw_ke.png").is_file()


def test_missing_untranscribed_audio_is_one_error(tmp_path):
    setup = _setup(tmp_path)
    os.remove(os.path.join(setup.untranscribed, "wav.scp"))
    with pytest.raises(ns.NoisyStudentError, match="no untranscribed audio of sw_ke"):
        ns.run_rounds(setup, FakeSteps())


def test_student_command_line_order(tmp_path):
    setup = _setup(tmp_path, train_args=["--init_param", "m.pth", "--resume", "true"],
                   adapt_args=["--max_epoch", "2"], student_args=["--max_epoch", "3"])
    cmd = ns.CommandSteps(setup, python="py").train_command("exp/s1", "dump/s1")
    assert cmd[:5] == ["py", "-m", "usm_espnet.bin.asr_train", "--config", "exp/s1/train_config.input.yaml"]
    # the recipe's options come last (argparse: the last one wins): adapt_args, then the
    # students' augmentation, then student_args
    tail = cmd[cmd.index("--output_dir"):]
    assert tail[:4] == ["--output_dir", "exp/s1", "--max_epoch", "2"]
    assert tail[-2:] == ["--max_epoch", "3"]
    assert tail[tail.index("--noise_scp") + 1] == "noise.scp"
    assert cmd.index("--init_param") < cmd.index("--output_dir")


def test_bad_options(tmp_path):
    with pytest.raises(ValueError, match="full.*adapters"):
        _setup(tmp_path, teacher="best")
    assert cli.main(["--lang", "x", "--adapt_dir", "a", "--lang_dump_dir", "d",
                     "--train_config", "c", "--base_model", "m", "--results_md", "r"]) == 1
