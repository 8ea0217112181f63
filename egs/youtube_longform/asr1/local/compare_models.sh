# shellcheck shell=bash disable=SC2034,SC2154  # asr_tag: read by derive_names; run.sh's parsed options and db.sh's standin
# The models side by side (stage 9 and after; sourced by run.sh once every model is scored):
# WER against recording length of each model's long-form decoding, beside its WER on the first
# short test set that was scored (with --seeds, each model's seeds pooled, and a row per seed),
# as the RESULTS.md section longform_compare with a plot
# (usm_espnet.bin.score_longform); then prints the summary metrics (longform_wer_ratio_60min=...,
# cw_over_lsa_15min_plus=...) kept in <exp_dir>/longform_metrics.txt.

compare=()
for att in ${models}; do
    for seed in ${seeds:--}; do   # with --seeds, a label per model given once per seed: pooled
        model_dir "${att}" "${seed}"; derive_names   # exp_dir[_s<seed>]/asr_<att>[_ft_<init_encoder>]
        compare+=(--compare "${att}=${asr_exp}/decode_longform/score/scores.json")
        for s in ${test_sets}; do   # the first short test set that was scored
            if [ -f "${asr_exp}/decode_${s}/score/scores.json" ]; then
                compare+=(--short "${att}=${asr_exp}/decode_${s}/score/scores.json"); break
            fi
        done
    done
done
exp_dir=${user_exp_dir} results_md=${user_results_md}
what="WER against recording length (${models// / \/ } attention${seeds:+; seeds ${seeds} pooled})"
title="youtube_longform: ${what}"
[ "${standin}" = true ] && title="youtube_longform (synthetic stand-in): ${what}"
"${USM_PYTHON}" -m usm_espnet.bin.score_longform "${compare[@]}" --standin "${standin}" \
    --title "${title}" --recipe_results "${results_md}" --section_id longform_compare \
    --plot results/longform_wer_vs_length.png --metrics_out "${exp_dir}/longform_metrics.txt" > /dev/null
echo "$(date '+%Y-%m-%dT%H:%M:%S') (run.sh) comparison written to ${results_md}" >&2
cat "${exp_dir}/longform_metrics.txt"
