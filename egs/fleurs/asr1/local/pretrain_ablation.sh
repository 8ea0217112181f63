#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR/..
# BEST-RQ in the FLEURS recipe: from scratch vs fine-tuned from BEST-RQ with 16 softmax
# heads (USM) vs 1 (the original BEST-RQ), the same labelled data and steps for all three.
# Writes the comparison into RESULTS.md (section pretrain_test) and results/pretrain_test.png.
#   local/pretrain_ablation.sh [--preset pretrain] [any run.sh option]
# Two experiments run at a time (one thread each); set OMP_NUM_THREADS to change that.
set -euo pipefail
cd "$(dirname "$0")/.."
preset=pretrain
if [ "${1:-}" = --preset ]; then preset=$2; shift 2; fi
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
# shellcheck source=conf/presets/pretrain.sh
. ./conf/presets/"${preset}".sh   # exp_dir, asr_tag, ... for the report below
mkdir -p "${exp_dir}"
run() { ./run.sh --preset "${preset}" "$@"; }
log() { echo "$(date '+%Y-%m-%dT%H:%M:%S') (pretrain_ablation.sh) $*" >&2; }
. ./path.sh
start=$(date +%s)

# shared stages: data, format, tokens, pre-training data, ASR statistics
run --stop_stage 4 "$@"
run --stage 6 --stop_stage 6 "$@"
n1=(--ssl_tag best_rq_tiny_n1 --ssl_args "--model_conf num_quantizers=1")
log "N=16 pre-training and fine-tuning: log in ${exp_dir}/ablation_n16.log"
( run --stage 5 --stop_stage 9 "$@" > "${exp_dir}/ablation_n16.log" 2>&1 ) &
pid_a=$!
( run --ssl_config "" --stage 7 --stop_stage 9 "$@" && run "${n1[@]}" --stage 5 --stop_stage 9 "$@" ) &
pid_b=$!
wait "${pid_a}" || { log "the N=16 stream failed (log: ${exp_dir}/ablation_n16.log)"; kill "${pid_b}" 2>/dev/null || true; exit 1; }
wait "${pid_b}" || { log "the scratch / N=1 stream failed"; exit 1; }

tag=${asr_tag}
labelled=$(echo "${local_data_opts}" | sed -nE 's/.*--max_utts_per_lang ([0-9]+).*/\1/p')
score() { echo "${exp_dir}/asr_$1/decode_test/score/scores.json"; }
"${USM_PYTHON:-python3}" -m usm_espnet.bin.compare_results --recipe_results RESULTS.md \
    --section_id pretrain_test --standin true \
    --title "fleurs (synthetic stand-in) test: BEST-RQ pre-training (preset ${preset})" \
    --row "from scratch=$(score "${tag}")" \
    --row "BEST-RQ, 1 softmax=$(score "${tag}_ft_best_rq_tiny_n1")" \
    --row "BEST-RQ, 16 softmaxes (USM)=$(score "${tag}_ft_best_rq_tiny")" \
    --paper_source "USM paper (arXiv 2303.01037) Table 5, multi-softmax ablation, FLEURS CER" \
    --paper_row "BEST-RQ, 1 softmax=7.4" --paper_row "BEST-RQ, 16 softmaxes=6.9" \
    --plot results/pretrain_test.png \
    --note "Labelled train data: the first ${labelled:-all} utterances per language (dev and test complete). Fine-tuning: ${asr_config}, ${asr_args}. Pre-training: ${ssl_config} on the stand-in's untranscribed audio. Decoded: ${inference_model} (the last step) for all three. Wall time of the whole ablation: $(( $(date +%s) - start )) s, OMP_NUM_THREADS=${OMP_NUM_THREADS}, two experiments at a time."
log "done in $(( $(date +%s) - start )) s"
