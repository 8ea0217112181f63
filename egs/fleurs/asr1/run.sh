#!/usr/bin/env bash
# FLEURS ASR (USM paper, Table: FLEURS 102 languages). Graphemes, CTC.
#   ./run.sh                       # real FLEURS when FLEURS=/path is set, else the stand-in
#   ./run.sh --preset demo         # what `make demo` runs
#   ./run.sh --stage 7 --stop_stage 9 --ngpu 4    # train, decode, score on 4 GPUs
#   ./run.sh --ssl_config ../../../conf/pretrain/best_rq_tiny.yaml   # BEST-RQ, then fine-tune
set -euo pipefail
cd "$(dirname "$0")"
. ./path.sh
. ./db.sh

../../TEMPLATE/asr.sh --corpus fleurs --paper fleurs --standin "${standin}" \
    --asr_config conf/train_asr_conformer.yaml "$@"
