#!/usr/bin/env bash
# YouTube-like long-form ASR (USM paper, Sec. 3.5 and Table 7): train on short utterances
# (<= 15 s), then transcribe recordings of 1 to 60 minutes, for three encoders of the same
# size that differ only in self-attention: chunk-wise (8 s chunks, USM), local (128 frames
# left and right, USM's pre-training setting) and global. WER against recording length goes to
# RESULTS.md with a plot.
#   ./run.sh                               # stand-ins (FLEURS / LONGFORM unset), all stages
#   ./run.sh --preset demo                 # a small model on CPU
#   ./run.sh --models "chunk local"        # a subset of the three
#   LONGFORM=/data/earnings22 FLEURS=/data/fleurs ./run.sh --ngpu 4
# Every other option is the stage template's (../../TEMPLATE/asr.sh --help).
set -euo pipefail
cd "$(dirname "$0")"
. ./path.sh
. ./db.sh

models="chunk local global"
args=()
# our own option, the ones we add to, and the ones the comparison below needs
exp_dir=exp; results_md=RESULTS.md; stop_stage=100; user_asr_args=""; user_longform_args=""
while [ $# -gt 0 ]; do
    if [[ "$1" == --*=* ]]; then set -- "${1%%=*}" "${1#*=}" "${@:2}"; fi
    case "$1" in
        --models) models=$2; shift 2; continue ;;
        --asr_args) user_asr_args=$2; shift 2; continue ;;
        --longform_args) user_longform_args=$2; shift 2; continue ;;
        --asr_tag|--ssl_config) echo "run.sh: $1 is set per model by run.sh; not supported here" >&2; exit 1 ;;
        --preset) . "conf/presets/$2.sh" ;;
        --exp_dir) exp_dir=$2 ;;
        --results_md) results_md=$2 ;;
        --stop_stage) stop_stage=$2 ;;
    esac
    args+=("$1"); shift
done
# a preset's asr_args come first, the command line's after them
user_asr_args="${asr_args:-} ${user_asr_args}"

for att in ${models}; do
    mode=auto    # chunk: exact streaming; local: exact windows
    [ "${att}" = global ] && mode=onepass   # no finite receptive field: one pass, short ones only
    ../../TEMPLATE/asr.sh --corpus youtube_longform --standin "${standin}" \
        --asr_config conf/train_asr_chunk_conformer.yaml --test_sets "" --longform_sets longform --max_dur 15 \
        "${args[@]}" --asr_tag "${att}" \
        --asr_args "${user_asr_args} --encoder_conf attention_type=${att}" \
        --longform_args "--mode ${mode} ${user_longform_args}"
done

if [ "${stop_stage}" -ge 9 ]; then
    compare=()
    for att in ${models}; do
        compare+=(--compare "${att}=${exp_dir}/asr_${att}/decode_longform/score/scores.json")
    done
    ${USM_PYTHON} -m usm_espnet.bin.score_longform "${compare[@]}" --standin "${standin}" \
        --title "youtube_longform: WER against recording length (chunk / local / global attention)" \
        --recipe_results "${results_md}" --section_id longform_compare \
        --plot results/longform_wer_vs_length.png > /dev/null
    echo "$(date '+%Y-%m-%dT%H:%M:%S') (run.sh) comparison written to ${results_md}" >&2
fi
