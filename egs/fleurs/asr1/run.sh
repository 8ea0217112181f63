#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2034  # the options are read indirectly (forward_args: ${!name})
# FLEURS ASR (USM paper, Table: FLEURS 102 languages). Graphemes; CTC, LAS or RNN-T heads.
#   ./run.sh                       # real FLEURS when FLEURS=/path is set, else the stand-in
#   ./run.sh --preset debug        # the 1-minute sanity run (tiny stand-in, all stages)
#   ./run.sh --preset demo         # what `make demo` runs
#   ./run.sh --stage 7 --stop_stage 9 --ngpu 4    # train, decode, score on 4 GPUs
#   ./run.sh --ssl_config ../../../conf/pretrain/best_rq_tiny.yaml   # BEST-RQ, then fine-tune
#   ./run.sh --asr_config conf/tuning/train_asr_las_demo.yaml --inference_config conf/decode_las.yaml  # LAS head
#   ./run.sh --langs en_us,ru_ru --adapt_langs sw_ke    # + stages 10-12: adapters, full, noisy student
#   ./run.sh --init_encoder exp/w2v_bert2 --asr_config ../../../conf/asr/w2v_bert2_ctc.yaml --ngpu 4
#                                  # fine-tune an imported open encoder (python -m usm_espnet.bin.import_encoder)
#   local/heads.sh                                      # CTC vs LAS vs RNN-T, then stages 10-12
# Options: ./run.sh --help (the stage template's, egs/TEMPLATE/asr_options.sh).
set -euo pipefail
# relative paths on the command line (and in FLEURS=...) are relative to the caller's directory
caller_dir=${PWD}
cd "$(dirname "$0")"
. ./path.sh
. ../../TEMPLATE/asr_options.sh
. ./db.sh

# this recipe's defaults of the template's options
corpus=fleurs
paper=fleurs
asr_config=conf/train_asr_conformer.yaml

opt_files=(run.sh ../../TEMPLATE/asr_options.sh)
path_opts=${template_path_opts}
int_opts=${template_int_opts}
. ../../TEMPLATE/parse_options.sh

forward_args ../../TEMPLATE/asr_options.sh
../../TEMPLATE/asr.sh "${fwd_args[@]}"
