"""Noisy-student rounds for one unseen language (stage 12 of egs/TEMPLATE/asr.sh,
in egs/TEMPLATE/adapt_stages.sh).

    python -m usm_espnet.bin.noisy_student --lang sw_ke --adapt_dir exp/asr/adapt \
        --lang_dump_dir dump/raw/adapt_sw_ke --train_config exp/asr/train_config.input.yaml \
        --base_model exp/asr/valid.loss.ave.pth --noise_dir dump/noise \
        --train_args="--token_type char --token_list ... --init_param exp/asr/valid.loss.ave.pth" \
        --results_md RESULTS.md --asr_tag asr --iterations 2

Each round: the teacher decodes ``LANG_DUMP_DIR/untranscribed`` (greedy CTC), the
confident hypotheses join the labelled data, a student trains from ``--base_model`` with
SpecAugment and noise, and is decoded and scored on the test set; then the table of
teacher and students (beside the paper's Shona numbers) goes into ``--results_md`` and
``ADAPT_DIR/RESULTS_student_LANG.md``. See :mod:`usm_espnet.noisy_student`.
Option strings (``--train_args`` ...) are split on whitespace, as the shell splits them;
give them as ``--train_args=...`` when they start with ``-``.
"""

import argparse
import logging
import sys
from typing import List, Optional

from usm_espnet.bin._cli import run
from usm_espnet.utils import str2bool


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m usm_espnet.bin.noisy_student",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--lang", required=True, help="the unseen language")
    p.add_argument("--adapt_dir", required=True, help="stages 10-12's dir (<asr_exp>/adapt)")
    p.add_argument("--lang_dump_dir", required=True,
                   help="the language's formatted data (dump/raw/adapt_<lang>)")
    p.add_argument("--train_config", required=True, help="the yaml stage 7 trained with")
    p.add_argument("--base_model", required=True, help="stage 7's model (each student's start)")
    p.add_argument("--teacher", default="full", choices=["full", "adapters"],
                   help="the first teacher: stage 10's full or adapter model")
    p.add_argument("--iterations", type=int, default=1, help="rounds")
    p.add_argument("--min_confidence", type=float, default=0.5)
    p.add_argument("--noise_scp", default="",
                   help="the students' noise list (empty: synthetic noise in --noise_dir)")
    p.add_argument("--noise_dir", default="", help="where synthetic noise is written")
    p.add_argument("--train_set", default="train")
    p.add_argument("--valid_set", default="dev")
    p.add_argument("--test_set", default="test")
    p.add_argument("--inference_model", default="valid.loss.ave.pth")
    for name, what in (("train_args", "asr_train options of every adaptation run (before --output_dir)"),
                       ("adapt_args", "extra asr_train options of every adaptation run"),
                       ("student_args", "extra asr_train options of the students (last)"),
                       ("pseudo_decode_args", "asr_inference options of the teacher's greedy decoding"),
                       ("eval_decode_args", "asr_inference options of the students' test decoding")):
        p.add_argument(f"--{name}", default="", help=what)
    p.add_argument("--ngpu", type=int, default=0)
    p.add_argument("--metric", default="wer", choices=["wer", "bleu"])
    p.add_argument("--standin", type=str2bool, default=False)
    p.add_argument("--title_prefix", default="", help="the corpus' name in titles")
    p.add_argument("--asr_tag", default="asr", help="names the RESULTS section and plot")
    p.add_argument("--results_md", required=True, help="the recipe's RESULTS.md")
    p.add_argument("--force", type=str2bool, default=False,
                   help="redo finished rounds (old students are moved aside)")
    return p


def main(argv: Optional[List[str]] = None) -> int:
    a = get_parser().parse_args(argv)
    from usm_espnet import noisy_student as ns
    from usm_espnet.data.kaldi import DataDirError

    def body():
        if not a.noise_scp and not a.noise_dir:
            raise ValueError("--noise_scp or --noise_dir is required")
        setup = ns.StudentSetup(
            lang=a.lang, adapt_dir=a.adapt_dir, lang_dump_dir=a.lang_dump_dir,
            train_config=a.train_config, base_model=a.base_model,
            noise_scp=a.noise_scp or ns.default_noise(a.noise_dir), teacher=a.teacher,
            iterations=a.iterations, min_confidence=a.min_confidence, train_set=a.train_set,
            valid_set=a.valid_set, test_set=a.test_set, inference_model=a.inference_model,
            train_args=a.train_args.split(), adapt_args=a.adapt_args.split(),
            student_args=a.student_args.split(), pseudo_decode_args=a.pseudo_decode_args.split(),
            eval_decode_args=a.eval_decode_args.split(), ngpu=a.ngpu,
            scorer="score_st" if a.metric == "bleu" else "score_asr", standin=a.standin,
            title_prefix=a.title_prefix, asr_tag=a.asr_tag)
        return ns.write_results(setup, ns.run_rounds(setup, force=a.force), a.results_md)

    def report(out):
        logging.getLogger("noisy_student").info("%s: %s", a.lang, out)

    return run(body, report, errors=(DataDirError, ValueError, OSError, ns.NoisyStudentError))


if __name__ == "__main__":
    sys.exit(main())
