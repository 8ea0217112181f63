#!/usr/bin/env bash
# CORAAL ASR (African American English; USM paper's CORAAL evaluation): a chunk-wise
# attention Conformer with CTC on graphemes, trained on CORAAL segments, scored per
# component and overall on test segments and on whole test interviews decoded window by
# window (long-form).
#   ./run.sh                        # real CORAAL when CORAAL=/path is set, else the stand-in
#   ./run.sh --preset demo          # CPU demo on the stand-in
#   ./run.sh --local_data_opts "--speakers interviewee --components ATL,DCB"
# Every option is the stage template's (../../TEMPLATE/asr.sh --help); after stage 9,
# local/score_components.py writes the per-component table to RESULTS.md (--results_md).
set -euo pipefail
cd "$(dirname "$0")"
. ./path.sh
. ./db.sh

# what the per-component scoring after the template needs to know (defaults as there)
asr_config=conf/train_asr_chunk_conformer.yaml; asr_tag=""; ssl_config=""; ssl_tag=""
exp_dir=exp; data_dir=data; dump_dir=dump; results_md=RESULTS.md; stage=1; stop_stage=100
args=()
while [ $# -gt 0 ]; do
    if [[ "$1" == --*=* ]]; then set -- "${1%%=*}" "${1#*=}" "${@:2}"; fi
    if [[ "$1" == --* ]] && [ $# -ge 2 ]; then  # an option and its value
        opt=${1#--}; val=$2; shift 2
        case "${opt}" in
            preset) [ -f "conf/presets/${val}.sh" ] && . "conf/presets/${val}.sh" ;;
            results_md) results_md=${val}; continue ;;  # the template's tables go to exp
            asr_config|asr_tag|ssl_config|ssl_tag|exp_dir|data_dir|dump_dir|stage|stop_stage)
                printf -v "${opt}" '%s' "${val}" ;;
        esac
        args+=("--${opt}" "${val}")
    else
        args+=("$1"); shift
    fi
done

# The template's own RESULTS sections (per-language table, long-form table) are labelled
# for its default corpus; they go beside the experiments, and CORAAL's table to ${results_md}.
../../TEMPLATE/asr.sh --corpus coraal --standin "${standin}" \
    --asr_config conf/train_asr_chunk_conformer.yaml --test_sets test --longform_sets test_longform \
    "${args[@]}" --results_md "${exp_dir}/RESULTS_template.md"

[[ " ${args[*]} " == *" --help "* || " ${args[*]} " == *" -h "* ]] && exit 0
if [ "${stage}" -le 9 ] && [ "${stop_stage}" -ge 9 ]; then
    [ -n "${asr_tag}" ] || asr_tag=$(basename "${asr_config}" .yaml)
    if [ -n "${ssl_config}" ]; then
        [ -n "${ssl_tag}" ] || ssl_tag=$(basename "${ssl_config}" .yaml)
        asr_tag=${asr_tag}_ft_${ssl_tag}
    fi
    asr_exp=${exp_dir}/asr_${asr_tag}
    ${USM_PYTHON} local/score_components.py --standin "${standin}" \
        --seg_ref "${dump_dir}/raw/test/text" --seg_hyp "${asr_exp}/decode_test/1best_recog/text" \
        --seg_utt2component "${data_dir}/test/utt2component" \
        --lf_ref "${data_dir}/test_longform/text" --lf_hyp "${asr_exp}/decode_test_longform/text" \
        --lf_utt2component "${data_dir}/test_longform/utt2component" \
        --lf_utt2dur "${data_dir}/test_longform/utt2dur" --prep_json "${data_dir}/coraal_prep.json" \
        --out_dir "${asr_exp}/score_coraal" --results_md "${results_md}" \
        --section_id "coraal_${asr_tag}" --title "CORAAL test: ${asr_tag}"
fi
