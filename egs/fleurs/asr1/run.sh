#!/usr/bin/env bash
# FLEURS ASR (USM paper, Table: FLEURS 102 languages). Graphemes; CTC, LAS or RNN-T heads.
#   ./run.sh                       # real FLEURS when FLEURS=/path is set, else the stand-in
#   ./run.sh --preset demo         # what `make demo` runs
#   ./run.sh --stage 7 --stop_stage 9 --ngpu 4    # train, decode, score on 4 GPUs
#   ./run.sh --ssl_config ../../../conf/pretrain/best_rq_tiny.yaml   # BEST-RQ, then fine-tune
#   ./run.sh --asr_config conf/tuning/train_asr_las_demo.yaml --inference_config conf/decode_las.yaml  # LAS head
#   ./run.sh --langs en_us,ru_ru --adapt_langs sw_ke    # + stages 10-12: adapters, full, noisy student
#   local/heads.sh                                      # CTC vs LAS vs RNN-T, then stages 10-12
set -euo pipefail
cd "$(dirname "$0")"
. ./path.sh
. ./db.sh

../../TEMPLATE/asr.sh --corpus fleurs --paper fleurs --standin "${standin}" \
    --asr_config conf/train_asr_conformer.yaml "$@"
