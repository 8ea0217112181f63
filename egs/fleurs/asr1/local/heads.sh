#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR/..
# CTC vs LAS vs RNN-T on the same encoder configuration and data (USM fine-tunes one encoder
# with all three), then the unseen-language stages (10-12) on the CTC model.
# Writes the head comparison into RESULTS.md (section heads_test) and results/heads_test.png;
# stages 11-12 write the adaptation and noisy-student tables.
#   local/heads.sh [--preset heads] [any run.sh option, e.g. --ssl_config ... to fine-tune all three]
# Two experiments run at a time (one thread each); set OMP_NUM_THREADS to change that.
set -euo pipefail
cd "$(dirname "$0")/.."
preset=heads
if [ "${1:-}" = --preset ]; then preset=$2; shift 2; fi
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
# shellcheck source=conf/presets/heads.sh
. ./conf/presets/"${preset}".sh   # exp_dir, asr_tag, asr_config ... for the report below
mkdir -p "${exp_dir}"
run() { ./run.sh --preset "${preset}" "$@"; }
log() { echo "$(date '+%Y-%m-%dT%H:%M:%S') (heads.sh) $*" >&2; }
. ./path.sh
start=$(date +%s)
tuning=$(dirname "${asr_config}")
base=$(basename "${asr_config}" .yaml)            # train_asr_demo -> train_asr_{las,rnnt}_demo
las=(--asr_config "${tuning}/${base/train_asr_/train_asr_las_}.yaml" --asr_tag "${asr_tag%_ctc}_las"
     --inference_config conf/decode_las.yaml --asr_stats_config "${asr_config}")
rnnt=(--asr_config "${tuning}/${base/train_asr_/train_asr_rnnt_}.yaml" --asr_tag "${asr_tag%_ctc}_rnnt"
      --inference_config conf/decode_rnnt.yaml --asr_stats_config "${asr_config}")

run --stop_stage 6 "$@"   # shared: data (seen and unseen languages), tokens, statistics
log "CTC, then stages 10-12 on it: log in ${exp_dir}/heads_ctc.log; LAS then RNN-T: ${exp_dir}/heads_las_rnnt.log"
( run --stage 7 "$@" > "${exp_dir}/heads_ctc.log" 2>&1 ) &
pid_a=$!
( { run "${las[@]}" --stage 7 --stop_stage 9 "$@" && run "${rnnt[@]}" --stage 7 --stop_stage 9 "$@"; } \
    > "${exp_dir}/heads_las_rnnt.log" 2>&1 ) &
pid_b=$!
wait "${pid_a}" || { log "the CTC stream failed (log: ${exp_dir}/heads_ctc.log)"; kill "${pid_b}" 2>/dev/null || true; exit 1; }
wait "${pid_b}" || { log "the LAS / RNN-T stream failed (log: ${exp_dir}/heads_las_rnnt.log)"; exit 1; }

score() { echo "${exp_dir}/asr_$1/decode_test/score/scores.json"; }
tag=${asr_tag%_ctc}
"${USM_PYTHON:-python3}" -m usm_espnet.bin.compare_results --recipe_results RESULTS.md \
    --section_id heads_test --standin true \
    --title "fleurs (synthetic stand-in) test: CTC vs LAS vs RNN-T heads (preset ${preset})" \
    --row "CTC (greedy)=$(score "${asr_tag}")" \
    --row "LAS + CTC (hybrid beam search, beam 4)=$(score "${tag}_las")" \
    --row "RNN-T (beam search, beam 4)=$(score "${tag}_rnnt")" \
    --plot results/heads_test.png \
    --note "Same encoder (${asr_config}), data and steps for all three; the heads are ${tuning}/${base/train_asr_/train_asr_las_}.yaml and ${tuning}/${base/train_asr_/train_asr_rnnt_}.yaml. Decoded: ${inference_model:-valid.loss.ave.pth}. Wall time of the whole run (including stages 10-12 on the CTC model): $(( $(date +%s) - start )) s, OMP_NUM_THREADS=${OMP_NUM_THREADS}, two experiments at a time."
log "done in $(( $(date +%s) - start )) s"
