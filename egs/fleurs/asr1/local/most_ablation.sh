#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR/..
# MOST in the FLEURS recipe: fine-tuning from the BEST-RQ encoder vs from the MOST encoder that
# continued it with paired data and unspoken text (USM's BEST-RQ -> MOST), on the same labelled
# data, steps and token list. Writes RESULTS.md (section most_test) and results/most_test.png.
#   local/most_ablation.sh [--preset most] [any run.sh option]
# After BEST-RQ, the two branches run at a time (one thread each); set OMP_NUM_THREADS to change that.
set -euo pipefail
cd "$(dirname "$0")/.."
preset=most
if [ "${1:-}" = --preset ]; then preset=$2; shift 2; fi
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
# shellcheck source=conf/presets/most.sh
. ./conf/presets/"${preset}".sh   # exp_dir, asr_tag, ... for the report below
mkdir -p "${exp_dir}"
run() { ./run.sh --preset "${preset}" "$@"; }
log() { echo "$(date '+%Y-%m-%dT%H:%M:%S') (most_ablation.sh) $*" >&2; }
. ./path.sh
start=$(date +%s)

# shared stages: data (with unspoken text), format, tokens (covering the text), pre-training
# data, ASR statistics, then BEST-RQ alone
run --stop_stage 4 "$@"
run --stage 6 --stop_stage 6 "$@"
run --most_config "" --stage 5 --stop_stage 5 "$@"
log "BEST-RQ -> MOST -> fine-tuning: log in ${exp_dir}/ablation_most.log"
( run --stage 5 --stop_stage 9 "$@" > "${exp_dir}/ablation_most.log" 2>&1 ) &
pid_a=$!
log "BEST-RQ -> fine-tuning: log in ${exp_dir}/ablation_bestrq.log"
( run --most_config "" --stage 7 --stop_stage 9 "$@" > "${exp_dir}/ablation_bestrq.log" 2>&1 ) &
pid_b=$!
wait "${pid_a}" || { log "the MOST branch failed (log: ${exp_dir}/ablation_most.log)"; kill "${pid_b}" 2>/dev/null || true; exit 1; }
wait "${pid_b}" || { log "the BEST-RQ branch failed (log: ${exp_dir}/ablation_bestrq.log)"; exit 1; }

ssl_tag=$(basename "${ssl_config}" .yaml)
most_tag=$(basename "${most_config}" .yaml)
score() { echo "${exp_dir}/asr_$1/decode_test/score/scores.json"; }
labelled=$(echo "${local_data_opts}" | sed -nE 's/.*--max_utts_per_lang ([0-9]+).*/\1/p')
text=$(wc -l < "${data_dir}/unspoken_text/text")
untr=$(wc -l < "${dump_dir}/raw/untranscribed/wav.scp")
step_time() {  # mean seconds per training step over the run's epochs (ESPnet's train_time)
    grep -oE "epoch results: \[train\].* train_time=[0-9.]+" "$1/train.log" \
        | sed -E 's/.*train_time=//' | awk '{s+=$1; n++} END {if (n) printf "%.3f", s/n}'
}
bq_exp=${exp_dir}/ssl_${ssl_tag}
most_exp=${exp_dir}/most_${most_tag}_from_${ssl_tag}
"${USM_PYTHON:-python3}" -m usm_espnet.bin.compare_results --recipe_results RESULTS.md \
    --section_id most_test --standin true \
    --title "fleurs (synthetic stand-in) test: BEST-RQ only vs BEST-RQ + MOST (preset ${preset})" \
    --row "BEST-RQ only=$(score "${asr_tag}_ft_${ssl_tag}")" \
    --row "BEST-RQ + MOST (USM-M)=$(score "${asr_tag}_ft_${most_tag}_from_${ssl_tag}")" \
    --paper_source "USM paper (arXiv 2303.01037), FLEURS CER: BEST-RQ with 16 softmaxes from Table 5 (multi-softmax ablation); USM-M on FLEURS-102 from the paper's FLEURS results (row not re-checked)" \
    --paper_row "BEST-RQ only=table5/BEST-RQ, 16 softmaxes/FLEURS CER" \
    --paper_row "BEST-RQ + MOST (USM-M)=fleurs102/USM-M/CER" \
    --plot results/most_test.png \
    --note "Labelled data (fine-tuning and MOST's paired stream): the first ${labelled:-all} utterances per language. Pre-training: BEST-RQ (${ssl_config}) on ${untr} untranscribed utterances; MOST (${most_config}) continues that model with the untranscribed, the labelled and ${text} unspoken-text sentences. Fine-tuning: ${asr_config}, ${asr_args}, the same token list for both. Decoded: ${inference_model}. Mean train_time per step (ESPnet): BEST-RQ $(step_time "${bq_exp}") s, MOST $(step_time "${most_exp}") s (run side by side with other jobs; bench/most_speed.py measures the ratio alone). Wall time of the whole ablation: $(( $(date +%s) - start )) s, OMP_NUM_THREADS=${OMP_NUM_THREADS}."
log "done in $(( $(date +%s) - start )) s"
