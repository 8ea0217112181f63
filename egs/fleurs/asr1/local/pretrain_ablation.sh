#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR/..
# Does pre-training pay off where labels are scarce? The same labelled data, fine-tuning
# steps and checkpoint rule (the last step) for four encoders:
#   from scratch | BEST-RQ, 1 softmax | BEST-RQ, 16 softmaxes (USM) | BEST-RQ 16 + MOST
# Writes RESULTS.md's section pretrain_test (final test CER per language beside the paper's
# Table 5), results/pretrain_test.png (bars) and results/pretrain_curves.png (dev CER against
# fine-tuning step), and ends with two lines:
#   masked_acc_over_prior=<BEST-RQ N=16: masked accuracy / prior baseline, last validation>
#   pretrain_gain_rel=<1 - CER(BEST-RQ N=16) / CER(scratch)>
#   local/pretrain_ablation.sh [--preset lowres] [--ft_config Y] [--ablation_results MD]
#       [--ablation_plots DIR] [any run.sh option]
# Two experiments run at a time (one thread each; OMP_NUM_THREADS changes that):
#   1: BEST-RQ N=16 pre-training  |  BEST-RQ N=1 pre-training, then scratch fine-tuning
#   2: MOST from N=16, its fine-tuning  |  fine-tuning from N=1, then from N=16
# Every stage keeps its .done marker, so a rerun continues where a run stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
preset=lowres
if [ "${1:-}" = --preset ]; then preset=$2; shift 2; fi
cmdline="local/pretrain_ablation.sh --preset ${preset}${*:+ $*}"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
most_config=
ft_config=
ablation_results=RESULTS.md   # where the comparison section goes (a preset may move it)
ablation_plots=results        # and its two figures
# shellcheck source=conf/presets/lowres.sh
. ./conf/presets/"${preset}".sh   # exp_dir, asr_tag, ssl_config, ... for the names below
# options: this script's own (not passed on) and run.sh's (passed on; the names used here
# are read too). Paths: absolute or relative to the recipe directory.
fwd=()
while [ $# -gt 0 ]; do
    name=${1#--}; [ $# -ge 2 ] || { echo "pretrain_ablation.sh: $1 needs a value" >&2; exit 1; }
    case "${name}" in
        ft_config|ablation_results|ablation_plots) printf -v "${name}" '%s' "$2" ;;
        exp_dir|asr_tag|asr_config|ssl_config|most_config|asr_args|inference_model|local_data_opts)
            printf -v "${name}" '%s' "$2"; fwd+=("$1" "$2") ;;
        *) fwd+=("$1" "$2") ;;
    esac
    shift 2
done
set -- "${fwd[@]}"
[ -n "${ssl_config}" ] || { echo "pretrain_ablation.sh: preset ${preset} sets no ssl_config" >&2; exit 1; }
mkdir -p "${exp_dir}"
run() { ./run.sh --preset "${preset}" "$@"; }
log() { echo "$(date '+%Y-%m-%dT%H:%M:%S') (pretrain_ablation.sh) $*" >&2; }
. ./path.sh
py=${USM_PYTHON:-python3}
start=$(date +%s)

pt=$(basename "${ssl_config}" .yaml)
n1=(--ssl_tag "${pt}_n1" --ssl_args "--model_conf num_quantizers=1")
ft=(--asr_config "${ft_config:-${asr_config}}")
bq=(--most_config "")
scratch=${exp_dir}/asr_${asr_tag}
from_n16=${exp_dir}/asr_${asr_tag}_ft_${pt}
from_n1=${exp_dir}/asr_${asr_tag}_ft_${pt}_n1
from_most=
[ -n "${most_config}" ] && from_most=${exp_dir}/asr_${asr_tag}_ft_$(basename "${most_config}" .yaml)_from_${pt}

# one stream in the background, its log in exp_dir; stream NAME COMMAND...
stream() {
    local name=$1; shift
    log "${name}: log in ${exp_dir}/ablation_${name}.log"
    ( "$@" > "${exp_dir}/ablation_${name}.log" 2>&1 ) &
}
wait_stream() {  # PID NAME
    wait "$1" || { log "stream $2 failed: see ${exp_dir}/ablation_$2.log"; exit 1; }
}

# shared stages: data, tokens, pre-training data, ASR statistics
run "${bq[@]}" --stop_stage 4 "$@"
run "${bq[@]}" --stage 6 --stop_stage 6 "$@"

phase1_a() { run "${bq[@]}" --stage 5 --stop_stage 5 "$@"; }
phase1_b() {
    run "${n1[@]}" "${bq[@]}" --stage 5 --stop_stage 5 "$@"
    run --ssl_config "" "${bq[@]}" --stage 7 --stop_stage 9 "$@"
}
phase2_a() { [ -z "${most_config}" ] || run "${ft[@]}" --stage 5 --stop_stage 9 "$@"; }
phase2_b() {
    run "${n1[@]}" "${ft[@]}" "${bq[@]}" --stage 7 --stop_stage 9 "$@"
    run "${ft[@]}" "${bq[@]}" --stage 7 --stop_stage 9 "$@"
}
stream pretrain_n16 phase1_a "$@"; a=$!
stream pretrain_n1_scratch phase1_b "$@"; b=$!
wait_stream "${a}" pretrain_n16; wait_stream "${b}" pretrain_n1_scratch
log "$(${py} -m usm_espnet.bin.pretrain_health "${exp_dir}/ssl_${pt}" | head -1) [N=16]"
log "$(${py} -m usm_espnet.bin.pretrain_health "${exp_dir}/ssl_${pt}_n1" | head -1) [N=1]"
stream most phase2_a "$@"; a=$!
stream finetune_n1_n16 phase2_b "$@"; b=$!
wait_stream "${a}" most; wait_stream "${b}" finetune_n1_n16

# the report
rows=(--row "from scratch=${scratch}" --row "BEST-RQ, 1 softmax=${from_n1}"
      --row "BEST-RQ, 16 softmaxes (USM)=${from_n16}")
[ -n "${from_most}" ] && rows+=(--row "BEST-RQ 16 + MOST=${from_most}")
curve_args=(); score_args=()
for ((i = 1; i < ${#rows[@]}; i += 2)); do
    curve_args+=(--run "${rows[i]}")
    score_args+=(--row "${rows[i]%%=*}=${rows[i]#*=}/decode_test/score/scores.json")
done
mkdir -p "${ablation_plots}"
plot_rel=$(realpath -m --relative-to="$(dirname "${ablation_results}")" "${ablation_plots}")
${py} -m usm_espnet.report.curves "${curve_args[@]}" --markdown "${exp_dir}/ablation_curves.md" \
    --plot "${ablation_plots}/pretrain_curves.png" --standin "$([ -z "${FLEURS:-}" ] && echo true || echo false)" \
    --title "fleurs (preset ${preset}): dev CER against fine-tuning step"
ratio=$(${py} -m usm_espnet.bin.pretrain_health --ratio_only "${exp_dir}/ssl_${pt}")
ratio1=$(${py} -m usm_espnet.bin.pretrain_health --ratio_only "${exp_dir}/ssl_${pt}_n1")
gain=$(${py} - "${scratch}" "${from_n16}" <<'EOF'
import json, sys
cer = [json.load(open(f"{d}/decode_test/score/scores.json"))["macro_average"]["cer"] for d in sys.argv[1:]]
print(f"pretrain_gain_rel={1 - cer[1] / cer[0]:.3f}")
EOF
)
most_line=
if [ -n "${from_most}" ]; then
    most_exp=${exp_dir}/most_$(basename "${most_config}" .yaml)_from_${pt}
    most_line=$(grep -ho "MOST: CTC alignments usable at step [0-9]*" "${most_exp}/train.log" | tail -1 || true)
    most_line=" MOST: ${most_config} from the N=16 model; ${most_line:-its CTC head never reached align_max_cer, so MOST trained BEST-RQ + CTC only}."
fi
labelled=$(echo "${local_data_opts}" | sed -nE 's/.*--max_utts_per_lang ([0-9]+).*/\1/p')
wall=$(( $(date +%s) - start ))
"${py}" -m usm_espnet.bin.compare_results --recipe_results "${ablation_results}" \
    --section_id pretrain_test --standin "$([ -z "${FLEURS:-}" ] && echo true || echo false)" \
    --title "fleurs test: pre-training where labels are scarce (local/pretrain_ablation.sh --preset ${preset})" \
    "${score_args[@]}" \
    --paper_source "USM paper (arXiv 2303.01037) Table 5, multi-softmax ablation, FLEURS CER" \
    --paper_row "BEST-RQ, 1 softmax=table5/BEST-RQ, 1 softmax/FLEURS CER" \
    --paper_row "BEST-RQ, 16 softmaxes=table5/BEST-RQ, 16 softmaxes/FLEURS CER" \
    --plot "${plot_rel}/pretrain_test.png" \
    --note "Made by \`${cmdline}\` (OMP_NUM_THREADS=${OMP_NUM_THREADS}), which ended with \`${ratio}\` and \`${gain}\`. Labelled train data: the first ${labelled:-all} utterances per language (dev and test complete). From scratch: ${asr_config}; from a pre-trained encoder: ${ft_config:-${asr_config}} (same steps); ${asr_args:+extra options ${asr_args}; }every row decodes ${inference_model}. Pre-training: ${ssl_config} on the untranscribed audio; at its last validation masked accuracy / prior baseline = ${ratio#*=} (N=16) and ${ratio1#*=} (N=1).${most_line} ${gain} (N=16 against scratch). Wall time of the whole ablation: ${wall} s, OMP_NUM_THREADS=${OMP_NUM_THREADS}, two experiments at a time.

Dev CER (ESPnet's cer_ctc, greedy) against fine-tuning step:

$(cat "${exp_dir}/ablation_curves.md")
![dev CER against fine-tuning step](${plot_rel}/pretrain_curves.png)"
log "done in ${wall} s"
echo "${ratio}"
echo "${gain}"
