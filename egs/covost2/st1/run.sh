#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2034  # the options are read indirectly (forward_args: ${!name})
# CoVoST 2 X -> English speech translation (USM paper: BLEU averaged over the 21 source
# languages; USM paper: USM-M 30.7, previous best 29.6). The translation is the target text of ESPnet's ASR
# task: our Conformer encoder (BEST-RQ pre-trained, stages 4-5) with ESPnet's attention
# decoder and auxiliary CTC, decoded by hybrid CTC/attention beam search; BLEU and chrF per
# source language (sacrebleu) in stage 9.
#   ./run.sh --preset debug          # the 1-minute sanity run (tiny stand-in, all stages)
#   ./run.sh --preset demo           # no COVOST2/COMMONVOICE: the synthetic stand-in, a small model on CPU
#   COVOST2=/data/covost2 COMMONVOICE=/data/cv-corpus-4 ./run.sh --ngpu 8            # USM 0.6B + LAS
#   COVOST2=... COMMONVOICE=... ./run.sh --langs fr,de,es --stage 7 --stop_stage 9
#   ./run.sh --ssl_config "" --asr_args "--init_param /path/ssl/valid.loss.ave.pth:encoder:encoder"
#                                    # an encoder pre-trained elsewhere instead of stages 4-5
# Options: ./run.sh --help (the stage template's, egs/TEMPLATE/asr_options.sh).
set -euo pipefail
# relative paths on the command line (and in COVOST2=...) are relative to the caller's directory
caller_dir=${PWD}
cd "$(dirname "$0")"
. ./path.sh
. ../../TEMPLATE/asr_options.sh
. ./db.sh

# this recipe's defaults of the template's options
corpus=covost2
paper=covost2
metric=bleu
asr_config=../../../conf/asr/conformer_0.6b_las.yaml
ssl_config=../../../conf/pretrain/best_rq_0.6b.yaml
# BEST-RQ pre-trains on UNTRANSCRIBED audio when given (db.sh), else on the training clips
ssl_train_set=train
[ -z "${UNTRANSCRIBED}" ] || ssl_train_set=untranscribed
inference_config=conf/decode_st.yaml
token_type=bpe
nbpe=4000

opt_files=(run.sh ../../TEMPLATE/asr_options.sh)
path_opts=${template_path_opts}
int_opts=${template_int_opts}
. ../../TEMPLATE/parse_options.sh

forward_args ../../TEMPLATE/asr_options.sh
../../TEMPLATE/asr.sh "${fwd_args[@]}"
