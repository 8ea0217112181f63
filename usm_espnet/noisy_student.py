"""Noisy student: pseudo-labelling rounds for an unseen language (USM, arXiv 2303.01037).

One round (stage 12 of ``egs/TEMPLATE/asr.sh``, in ``adapt_stages.sh``, runs ``iterations``
of them per language):

1. the teacher (first stage 10's ``full`` or ``adapters`` model, then the previous
   student) decodes the language's untranscribed audio with greedy CTC, which also
   writes each hypothesis' confidence;
2. :func:`make_pseudo_labels` keeps the hypotheses that pass
   :func:`usm_espnet.decode.confidence.filter_pseudo_labels` and joins them with the
   labelled data;
3. the student starts again from stage 7's model (every student from the same start, so
   rounds differ only in their data) and trains on that data with SpecAugment and
   additive noise (:data:`STUDENT_AUGMENTATION`: the "noisy" of noisy student, Xie et al.
   2020: the student fits the teacher's labels on harder input than the teacher saw);
4. the student is decoded and scored on the test set and becomes the next teacher.

Then :func:`write_results` puts teacher and students beside the paper's Shona numbers
(keys of ``usm_espnet/report/paper_numbers.tsv``) in the recipe's RESULTS.md.

The steps that run ESPnet (decode, train, score) are a :class:`Steps` object, so the
rounds are callable from Python with other steps (a test's fakes, another launcher);
:class:`CommandSteps` runs them as ``python -m usm_espnet.bin.*`` commands, as the
template's own stages do. The template passes the options it shares with stages 8 and
10 (decoding options, the adaptation runs' ``asr_train`` options) as strings, split on
whitespace as the shell split them.

    python -m usm_espnet.bin.noisy_student --lang sw_ke --adapt_dir exp/asr/adapt \\
        --lang_dump_dir dump/raw/adapt_sw_ke --train_config exp/asr/train_config.input.yaml \\
        --base_model exp/asr/valid.loss.ave.pth --noise_dir dump/noise --results_md RESULTS.md ...
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Protocol

from usm_espnet.utils import replace_dir

logger = logging.getLogger("noisy_student")

#: The students' input noise (USM trains its noisy students on augmented input):
#: SpecAugment with 2 frequency masks (width <= 10 bins) and 2 time masks (<= 5 % of the
#: utterance each), no time warp; and additive noise from a noise list at 5-20 dB SNR on
#: half of the utterances. ``{noise_scp}`` is filled in by :func:`augmentation_args`.
STUDENT_AUGMENTATION = (
    "--specaug specaug --specaug_conf apply_time_warp=false --specaug_conf freq_mask_width_range=10 "
    "--specaug_conf num_freq_mask=2 --specaug_conf time_mask_width_ratio_range=0.05 "
    "--specaug_conf num_time_mask=2 --noise_scp {noise_scp} --noise_apply_prob 0.5 "
    "--noise_db_range 5_20")

#: The paper's numbers printed beside ours: (label, key of paper_numbers.tsv).
PAPER_TABLE = "summary_unseen"
PAPER_ROWS = (("teacher", "summary_unseen/Shona/WER adapters"),
              ("student", "summary_unseen/Shona/WER adapters + noisy student"))

#: The speaking-rate bounds of the pseudo-label filter (characters per second).
MIN_CHARS_PER_SECOND = 2.0
MAX_CHARS_PER_SECOND = 40.0


class NoisyStudentError(RuntimeError):
    """A step failed; the message says which and where its log is."""


def augmentation_args(noise_scp: str) -> List[str]:
    """The students' ``asr_train`` augmentation options with noise from ``noise_scp``."""
    return STUDENT_AUGMENTATION.format(noise_scp=noise_scp).split()


def default_noise(noise_dir: str) -> str:
    """``noise_dir/noise.scp``, written (synthetic colored noise) when it is missing.

    Synthetic because a recipe must run without a noise corpus; ``--noise_scp`` of the
    template gives a real one (MUSAN, ...).
    """
    scp = os.path.join(noise_dir, "noise.scp")
    if not os.path.isfile(scp):
        from usm_espnet.data.noise import write_noise_set

        write_noise_set(noise_dir)
    return scp


def _read_map(path: str) -> Dict[str, str]:
    from usm_espnet.data.kaldi import read_kaldi_map

    return dict(read_kaldi_map(path, allow_empty_value=True))


def make_pseudo_labels(audio_dir: str, decode_dir: str, out_dir: str,
                       labelled_dir: Optional[str] = None, min_confidence: float = 0.5,
                       min_chars_per_second: float = MIN_CHARS_PER_SECOND,
                       max_chars_per_second: float = MAX_CHARS_PER_SECOND) -> Dict[str, object]:
    """Write a student's training dir from a teacher's greedy CTC output.

    Each hypothesis of ``decode_dir/1best_recog/{text,confidence}`` is kept or dropped by
    :func:`usm_espnet.decode.confidence.filter_pseudo_labels` (confidence = mean posterior
    of the best path's non-blank frames, plus a characters-per-second plausibility check).
    ``out_dir`` holds the labelled utterances plus the kept pseudo-labelled ones (ids
    prefixed ``pseudo-``) in the format stage 2 writes (``wav.scp``, ``text``,
    ``utt2lang``, ``utt2num_samples``), ``pseudo_labels.tsv`` (every hypothesis:
    confidence, kept or why it was dropped) and ``pseudo_labels.json`` (the counts).

    Args:
        audio_dir: The formatted untranscribed data dir the teacher decoded.
        decode_dir: The teacher's output dir.
        out_dir: The student's training dir (written whole, then renamed into place).
        labelled_dir: Labelled data joined with the pseudo-labels (None: pseudo-labels only).
        min_confidence: Hypotheses below it are dropped.
        min_chars_per_second: Hypotheses slower than this are dropped.
        max_chars_per_second: Hypotheses faster than this are dropped.

    Returns:
        The counts written to ``pseudo_labels.json``.

    Raises:
        DataDirError: Missing decoder output, hypotheses of unknown utterances, a
            confidence that is not a number, or nothing to train on.
    """
    from usm_espnet.data.kaldi import DataDir, DataDirError, read_datadir, read_kaldi_map, write_datadir
    from usm_espnet.decode.confidence import filter_pseudo_labels, summary

    audio = read_datadir(audio_dir, validate=True, require_text=False)
    hyp_path = os.path.join(decode_dir, "1best_recog", "text")
    conf_path = os.path.join(decode_dir, "1best_recog", "confidence")
    for p in (hyp_path, conf_path):
        if not os.path.isfile(p):
            raise DataDirError(f"{p}: not found (decode the audio with greedy CTC first: "
                               "asr_inference --ctc_greedy true writes it)")
    hyps = _read_map(hyp_path)
    conf: Dict[str, float] = {}
    raw_conf = read_kaldi_map(conf_path)
    for u, v in raw_conf.items():
        try:
            conf[u] = float(v)
        except ValueError:
            raise DataDirError(f"{conf_path}:{raw_conf.lines.get(u, '?')}: "
                               f"confidence {v!r} of {u} is not a number") from None
    unknown = sorted(set(hyps) - set(audio.wav_scp))
    if unknown:
        raise DataDirError(f"{hyp_path}: {len(unknown)} hypotheses for utterances not in "
                           f"{audio_dir}/wav.scp (first: {unknown[0]})")
    undecoded = len(set(audio.wav_scp) - set(hyps))
    if undecoded:
        logger.warning("%d utterances of %s have no hypothesis (skipped by the decoder)",
                       undecoded, audio_dir)
    result = filter_pseudo_labels(hyps, conf, audio.utt2dur or None, min_confidence,
                                  min_chars_per_second, max_chars_per_second)
    kept, dropped, kinds = summary(result)

    nsamp_path = os.path.join(audio_dir, "utt2num_samples")
    nsamp = _read_map(nsamp_path) if os.path.isfile(nsamp_path) else {}
    wav, text, lang, spk, dur, num = {}, {}, {}, {}, {}, {}

    def add(data, nmap, ids, prefix):
        for u in ids:
            key = prefix + u
            wav[key], lang[key] = data.wav_scp[u], data.utt2lang.get(u, "")
            text[key] = result.kept[u] if prefix else data.text[u]
            spk[key] = key if prefix else data.utt2spk.get(u, u)
            if u in data.utt2dur:
                dur[key] = data.utt2dur[u]
            if u in nmap:
                num[key] = nmap[u]

    n_labelled = 0
    if labelled_dir:
        lab = read_datadir(labelled_dir, validate=True, require_text=True)
        lab_nsamp = os.path.join(labelled_dir, "utt2num_samples")
        add(lab, _read_map(lab_nsamp) if os.path.isfile(lab_nsamp) else {}, lab.utt_ids(), "")
        n_labelled = len(lab.utt_ids())
    add(audio, nsamp, sorted(result.kept), "pseudo-")
    if not wav:
        raise DataDirError(f"{decode_dir}: no pseudo-label passed the filter ({dict(kinds)}) "
                           "and no --labelled_dir: nothing to train on")
    if kept == 0:
        logger.warning("no pseudo-label of %s passed the filter (%s); the student sees the "
                       "labelled data only", decode_dir, dict(kinds))
    ids = sorted(wav)
    out = DataDir(wav_scp={u: wav[u] for u in ids}, text={u: text[u] for u in ids},
                  utt2spk={u: spk[u] for u in ids},
                  utt2lang={u: lang[u] for u in ids} if all(lang.values()) else {},
                  utt2dur={u: dur[u] for u in ids} if len(dur) == len(ids) else {})
    tmp = f"{out_dir}.tmp"
    write_datadir(tmp, out)
    if len(num) == len(ids):
        with open(os.path.join(tmp, "utt2num_samples"), "w", encoding="utf-8") as f:
            f.writelines(f"{u} {num[u]}\n" for u in ids)
    with open(os.path.join(tmp, "pseudo_labels.tsv"), "w", encoding="utf-8") as f:
        f.write("utt\tconfidence\tstatus\thypothesis\n")
        for u in sorted(hyps):
            status = "kept" if u in result.kept else f"dropped: {result.dropped[u]}"
            f.write(f"{u}\t{conf.get(u, float('nan')):.4f}\t{status}\t{hyps[u]}\n")
    hours = sum(float(num[u]) for u in num if u.startswith("pseudo-")) / 16000 / 3600 if num else 0.0
    counts = {"hypotheses": len(hyps), "kept": kept, "dropped": dropped,
              "dropped_by_reason": dict(kinds), "labelled": n_labelled,
              "pseudo_hours": round(hours, 4), "min_confidence": min_confidence,
              "min_chars_per_second": min_chars_per_second,
              "max_chars_per_second": max_chars_per_second}
    with open(os.path.join(tmp, "pseudo_labels.json"), "w", encoding="utf-8") as f:
        json.dump(counts, f, indent=1)
    replace_dir(tmp, out_dir)
    logger.info("%s: kept %d of %d hypotheses (dropped: %s) + %d labelled -> %s",
                decode_dir, kept, len(hyps), dict(kinds) or "none", n_labelled, out_dir)
    return counts


def kept_summary(pseudo_labels_json: str) -> str:
    """``"K of N kept"`` from a ``pseudo_labels.json`` (the label of a student's row)."""
    with open(pseudo_labels_json, encoding="utf-8") as f:
        d = json.load(f)
    return f"{d['kept']} of {d['hypotheses']} kept"


@dataclass
class StudentSetup:
    """What the rounds of one unseen language read and write.

    Args:
        lang: The unseen language (``adapt_langs``).
        adapt_dir: Stages 10-12's directory (``<asr_exp>/adapt``): teachers, students,
            decodings and ``RESULTS_student_<lang>.md``.
        lang_dump_dir: The language's formatted data (``dump/raw/adapt_<lang>``): the
            sets below and ``untranscribed/``; the students' data go to ``student<N>/``.
        train_config: The yaml stage 7 trained with (copied into each student).
        base_model: Stage 7's model, each student's start (given in ``train_args``).
        teacher: The first teacher, stage 10's ``full`` or ``adapters`` model.
        iterations: Rounds.
        min_confidence: The pseudo-label filter's confidence threshold.
        noise_scp: The students' noise list.
        train_args: ``asr_train`` options of every adaptation run (tokens, normalisation,
            ``--init_param``, devices), before ``--output_dir``.
        adapt_args: The recipe's extra options of every adaptation run (after them).
        student_args: The recipe's extra options of the students (last).
        pseudo_decode_args: ``asr_inference`` options of the teacher's greedy decoding.
        eval_decode_args: ``asr_inference`` options of the students' test decoding.
    """

    lang: str
    adapt_dir: str
    lang_dump_dir: str
    train_config: str
    base_model: str
    noise_scp: str
    teacher: str = "full"
    iterations: int = 1
    min_confidence: float = 0.5
    train_set: str = "train"
    valid_set: str = "dev"
    test_set: str = "test"
    inference_model: str = "valid.loss.ave.pth"
    train_args: List[str] = field(default_factory=list)
    adapt_args: List[str] = field(default_factory=list)
    student_args: List[str] = field(default_factory=list)
    pseudo_decode_args: List[str] = field(default_factory=list)
    eval_decode_args: List[str] = field(default_factory=list)
    ngpu: int = 0
    scorer: str = "score_asr"
    standin: bool = False
    title_prefix: str = ""
    asr_tag: str = ""

    def __post_init__(self):
        if self.teacher not in ("full", "adapters"):
            raise ValueError(f"teacher must be 'full' or 'adapters', got {self.teacher!r}")
        if self.scorer not in ("score_asr", "score_st"):
            raise ValueError(f"scorer must be 'score_asr' or 'score_st', got {self.scorer!r}")

    @property
    def untranscribed(self) -> str:
        return os.path.join(self.lang_dump_dir, "untranscribed")


@dataclass
class Round:
    """The directories of one round (``index`` counts from 1)."""

    index: int
    teacher: str       # the teacher's experiment dir
    student: str       # the student's experiment dir
    pseudo_decode: str  # the teacher's decoding of the untranscribed audio
    data: str          # the student's training data (labelled + kept pseudo-labels)
    eval_decode: str   # the student's decoding of the test set

    @property
    def done_marker(self) -> str:
        return os.path.join(self.student, ".done.student")


def plan_rounds(setup: StudentSetup) -> List[Round]:
    """The rounds' directories: round N's teacher is round N-1's student."""
    rounds, teacher = [], os.path.join(setup.adapt_dir, f"{setup.lang}_{setup.teacher}")
    for it in range(1, setup.iterations + 1):
        student = os.path.join(setup.adapt_dir, f"{setup.lang}_student{it}")
        rounds.append(Round(it, teacher, student, f"{student}_pseudo",
                            os.path.join(setup.lang_dump_dir, f"student{it}"),
                            os.path.join(setup.adapt_dir, f"decode_{setup.lang}_student{it}")))
        teacher = student
    return rounds


class Steps(Protocol):
    """What a round runs outside this module (ESPnet's decoding, training, scoring)."""

    def decode(self, exp: str, data: str, out: str, args: List[str]) -> None:
        """Decode ``data`` with ``exp``'s model into ``out`` (``out/1best_recog/text``)."""

    def train(self, exp: str, train_dir: str, force: bool) -> None:
        """Train a student into ``exp`` on ``train_dir`` (``force``: an old ``exp`` goes aside)."""

    def score(self, data: str, out: str, title: str) -> None:
        """Score ``out/1best_recog/text`` against ``data/text`` into ``out/score``."""


def _tail(path: str, n: int = 20, skip: str = "") -> str:
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = [x for x in f if not (skip and skip in x)]
    return "".join(lines[-n:])


class CommandSteps:
    """The steps as ``python -m usm_espnet.bin.*`` commands (what the template runs).

    Training mirrors the template's ``train``: the yaml is copied to
    ``EXP/train_config.input.yaml``, ``EXP/resume.sh`` resumes the run, the log is
    ``EXP/train.log``; then ``model_info`` writes ``EXP/params.json``.
    """

    def __init__(self, setup: StudentSetup, python: str = sys.executable):
        self.setup = setup
        self.python = python

    def _run(self, cmd: List[str], log_path: str, what: str, mode: str = "w",
             skip: str = "") -> None:
        with open(log_path, mode, encoding="utf-8") as log:
            rc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT).returncode
        if rc != 0:
            sys.stderr.write(_tail(log_path, skip=skip))
            raise NoisyStudentError(f"{what} failed; see {log_path}")

    def decode(self, exp: str, data: str, out: str, args: List[str]) -> None:
        s = self.setup
        shutil.rmtree(f"{out}.tmp", ignore_errors=True)
        cmd = [self.python, "-m", "usm_espnet.bin.asr_inference", *args,
               "--asr_train_config", f"{exp}/config.yaml",
               "--asr_model_file", f"{exp}/{s.inference_model}",
               "--data_path_and_name_and_type", f"{data}/wav.scp,speech,sound",
               "--ngpu", str(s.ngpu), "--output_dir", f"{out}.tmp"]
        self._run(cmd, f"{out}.log", "decoding")
        replace_dir(f"{out}.tmp", out)
        os.replace(f"{out}.log", os.path.join(out, "decode.log"))

    def train_command(self, exp: str, train_dir: str) -> List[str]:
        """The student's ``asr_train`` command line."""
        s = self.setup
        valid = os.path.join(s.lang_dump_dir, s.valid_set)
        return [self.python, "-m", "usm_espnet.bin.asr_train",
                "--config", f"{exp}/train_config.input.yaml",
                "--train_data_path_and_name_and_type", f"{train_dir}/wav.scp,speech,sound",
                "--train_data_path_and_name_and_type", f"{train_dir}/text,text,text",
                "--valid_data_path_and_name_and_type", f"{valid}/wav.scp,speech,sound",
                "--valid_data_path_and_name_and_type", f"{valid}/text,text,text",
                "--train_shape_file", f"{train_dir}/utt2num_samples",
                "--valid_shape_file", f"{valid}/utt2num_samples",
                *s.train_args, "--output_dir", exp, *s.adapt_args,
                *augmentation_args(s.noise_scp), *s.student_args]

    def train(self, exp: str, train_dir: str, force: bool) -> None:
        s = self.setup
        if force and os.path.isdir(exp):
            logger.info("redoing stage 12: moving the old %s to %s.old", exp, exp)
            shutil.rmtree(f"{exp}.old", ignore_errors=True)
            os.rename(exp, f"{exp}.old")
        os.makedirs(exp, exist_ok=True)
        shutil.copyfile(s.train_config, os.path.join(exp, "train_config.input.yaml"))
        cmd = self.train_command(exp, train_dir)
        log_path = os.path.join(exp, "train.log")
        resume = os.path.join(exp, "resume.sh")
        with open(resume, "w", encoding="utf-8") as f:  # resumes (or reruns) this training
            f.write(f"#!/usr/bin/env bash\n# Resume training of {exp} (written by stage 12)\n"
                    f"set -euo pipefail\ncd {shlex.quote(os.getcwd())}\n"
                    f"export PYTHONPATH={shlex.quote(os.environ.get('PYTHONPATH', ''))}\n"
                    f"{shlex.join(cmd)} \"$@\" >> {shlex.quote(log_path)} 2>&1\n")
        os.chmod(resume, 0o755)
        logger.info("log: %s (resume: %s)", log_path, resume)
        self._run(cmd, log_path, "training", mode="a", skip="Warning")
        with open(log_path, encoding="utf-8", errors="replace") as f:
            epochs = [x.rstrip("\n")[:400] for x in f if "epoch results:" in x]
        for line in epochs[-3:]:
            print(line, file=sys.stderr)
        info = [self.python, "-m", "usm_espnet.bin.model_info",
                "--asr_train_config", f"{exp}/config.yaml",
                "--asr_model_file", f"{exp}/{s.inference_model}",
                "--out_json", f"{exp}/params.json"]
        if any(a.startswith("adapter_language=") for a in s.student_args):  # as stage 10 saves its own
            info += ["--save_adapters", os.path.join(s.adapt_dir, "adapters")]
        self._run(info, os.path.join(exp, "model_info.log"), "model_info")

    def score(self, data: str, out: str, title: str) -> None:
        s = self.setup
        cmd = [self.python, "-m", f"usm_espnet.bin.{s.scorer}", "--ref", f"{data}/text",
               "--hyp", f"{out}/1best_recog/text", "--utt2lang", f"{data}/utt2lang",
               "--strip_tags", "true", "--out_dir", f"{out}/score",
               "--standin", str(s.standin).lower(), "--title", title]
        self._run(cmd, f"{out}/score.log", "scoring")


def run_rounds(setup: StudentSetup, steps: Optional[Steps] = None,
               force: bool = False) -> List[Round]:
    """Run the rounds of one language; a round whose ``.done.student`` exists is skipped
    unless ``force`` (then every round is redone and old students are moved aside).

    Returns:
        The rounds, all done.
    """
    if not os.path.isfile(os.path.join(setup.untranscribed, "wav.scp")):
        raise NoisyStudentError(f"no untranscribed audio of {setup.lang} ({setup.untranscribed}): "
                                "the noisy student needs it")
    steps = steps if steps is not None else CommandSteps(setup)
    rounds = plan_rounds(setup)
    for r in rounds:
        if os.path.isfile(r.done_marker) and not force:
            logger.info("%s round %d: already done (%s)", setup.lang, r.index, r.done_marker)
            continue
        logger.info("%s round %d: teacher %s decodes %s", setup.lang, r.index, r.teacher,
                    setup.untranscribed)
        steps.decode(r.teacher, setup.untranscribed, r.pseudo_decode, setup.pseudo_decode_args)
        counts = make_pseudo_labels(setup.untranscribed, r.pseudo_decode, r.data,
                                    os.path.join(setup.lang_dump_dir, setup.train_set),
                                    setup.min_confidence)
        print(json.dumps(counts), file=sys.stderr)
        steps.train(r.student, r.data, force)
        test = os.path.join(setup.lang_dump_dir, setup.test_set)
        steps.decode(r.student, test, r.eval_decode, setup.eval_decode_args)
        steps.score(test, r.eval_decode,
                    f"{setup.title_prefix} {setup.lang} (unseen): noisy student round {r.index}")
        with open(r.done_marker, "w", encoding="utf-8") as f:
            f.write(f"{int(time.time())}\n")
    return rounds


def write_results(setup: StudentSetup, rounds: List[Round], results_md: str) -> str:
    """Teacher and students against the paper's Shona numbers: a section of ``results_md``
    (``student_<asr_tag>_<lang>``, with a plot under ``results/``), also written to
    ``<adapt_dir>/RESULTS_student_<lang>.md``.

    Returns:
        The path of ``RESULTS_student_<lang>.md``.

    Raises:
        NoisyStudentError: ``compare_results`` failed (its message is on stderr).
    """
    from usm_espnet.bin import compare_results
    from usm_espnet.report.paper import paper_source

    s = setup
    first = os.path.join(s.adapt_dir, f"decode_{s.lang}_{s.teacher}", "score", "scores.json")
    argv = ["--recipe_results", results_md, "--section_id", f"student_{s.asr_tag}_{s.lang}",
            "--standin", str(s.standin).lower(),
            "--title", f"{s.title_prefix} {s.test_set}, unseen language {s.lang}: noisy student ({s.asr_tag})",
            "--row", f"teacher ({s.teacher})={first}"]
    for r in rounds:
        kept = kept_summary(os.path.join(r.data, "pseudo_labels.json"))
        argv += ["--row", f"student {r.index} (pseudo-labels: {kept})={r.eval_decode}/score/scores.json"]
    with open(os.path.join(s.untranscribed, "wav.scp"), encoding="utf-8") as f:
        n_untranscribed = sum(1 for _ in f)
    argv += ["--paper_source", paper_source(PAPER_TABLE), "--paper_metric", "WER"]
    for label, key in PAPER_ROWS:
        argv += ["--paper_row", f"{label}={key}"]
    argv += ["--plot", f"results/student_{s.asr_tag}_{s.lang}.png",
             "--note", f"Pseudo-labels: greedy CTC of the teacher on {n_untranscribed} untranscribed "
             f"utterances, kept when confidence >= {s.min_confidence} and "
             f"{MIN_CHARS_PER_SECOND:g}-{MAX_CHARS_PER_SECOND:g} characters/s. Students start from "
             f"{s.base_model} and train on labelled + kept pseudo-labelled data with SpecAugment "
             f"and noise ({s.noise_scp}); options: {' '.join(s.adapt_args) or 'none'} "
             f"{' '.join(s.student_args)}."]
    out = os.path.join(s.adapt_dir, f"RESULTS_student_{s.lang}.md")
    with open(out, "w", encoding="utf-8") as f, contextlib.redirect_stdout(f):
        rc = compare_results.main(argv)
    if rc != 0:
        raise NoisyStudentError(f"compare_results failed for {s.lang} (see the ERROR above)")
    return out
