#!/usr/bin/env bash
# CoVoST 2 X -> English speech translation (USM paper: BLEU averaged over the 21 source
# languages; USM-M 30.7, Whisper 29.1). The translation is the target text of ESPnet's ASR
# task: our Conformer encoder (BEST-RQ pre-trained, stages 4-5) with ESPnet's attention
# decoder and auxiliary CTC, decoded by hybrid CTC/attention beam search; BLEU and chrF per
# source language (sacrebleu) in stage 9.
#   ./run.sh --preset demo           # no COVOST2/COMMONVOICE: the synthetic stand-in, a small model on CPU
#   COVOST2=/data/covost2 COMMONVOICE=/data/cv-corpus-4 ./run.sh --ngpu 8            # USM 0.6B + LAS
#   COVOST2=... COMMONVOICE=... ./run.sh --langs fr,de,es --stage 7 --stop_stage 9
#   ./run.sh --ssl_config "" --asr_args "--init_param /path/ssl/valid.loss.ave.pth:encoder:encoder"
#                                    # an encoder pre-trained elsewhere instead of stages 4-5
# Every other option is the stage template's (../../TEMPLATE/asr.sh --help).
set -euo pipefail
cd "$(dirname "$0")"
. ./path.sh
. ./db.sh

# BEST-RQ pre-trains on UNTRANSCRIBED audio when given (db.sh), else on the training clips.
ssl_set=train
[ -n "${UNTRANSCRIBED}" ] && ssl_set=untranscribed

../../TEMPLATE/asr.sh --corpus covost2 --paper covost2 --metric bleu --standin "${standin}" \
    --asr_config ../../../conf/asr/conformer_0.6b_las.yaml \
    --ssl_config ../../../conf/pretrain/best_rq_0.6b.yaml --ssl_train_set "${ssl_set}" \
    --inference_config conf/decode_st.yaml --token_type bpe --nbpe 4000 "$@"
