#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR/.. disable=SC2034  # options are read by parse_options.sh
# CORAAL's own scoring (stage 9's hook, as egs2's local/score.sh): WER per CORAAL component
# and overall, on the test segments and on the whole test interviews decoded window by
# window, in one table (local/score_components.py). The stage template calls it after its
# own scoring with the options below; run.sh sends the table to the recipe's RESULTS.md
# (--local_score_opts "--results_md ...").
#   local/score.sh --data_dir data --dump_dir dump --asr_exp exp/asr_demo --asr_tag demo \
#       --standin true --results_md RESULTS.md
set -euo pipefail
caller_dir=${PWD}   # relative paths in the options are relative to the caller
cd "$(dirname "$0")/.."
data_dir=data        # the formatted data dirs' parent (stage 1's output)
dump_dir=dump        # stage 2's output (dump_dir/raw/test/text: the scored references)
asr_exp=             # the experiment whose decode_test and decode_test_longform are scored
asr_tag=             # its name in the table's section id and title
test_sets="test"     # given by the template; CORAAL scores test and test_longform
longform_sets=test_longform  # the whole-interview set (decode_<set>/text, words.ctm)
standin=false        # true: the table says "synthetic stand-in"
results_md=RESULTS.md  # where the per-component section goes
script_name=local/score.sh
opt_files=(local/score.sh)
path_opts="data_dir dump_dir asr_exp results_md"
. ../../TEMPLATE/parse_options.sh
[ -n "${asr_exp}" ] || parse_die "--asr_exp is required"
lf=${longform_sets%% *}
. ./path.sh
"${USM_PYTHON}" local/score_components.py --standin "${standin}" \
    --seg_ref "${dump_dir}/raw/test/text" --seg_hyp "${asr_exp}/decode_test/1best_recog/text" \
    --seg_utt2component "${data_dir}/test/utt2component" \
    --lf_ref "${data_dir}/${lf}/text" --lf_hyp "${asr_exp}/decode_${lf}/text" \
    --lf_utt2component "${data_dir}/${lf}/utt2component" \
    --lf_utt2dur "${data_dir}/${lf}/utt2dur" --prep_json "${data_dir}/coraal_prep.json" \
    --lf_ctm "${asr_exp}/decode_${lf}/words.ctm" \
    --lf_unscored "${data_dir}/${lf}/unscored_spans" \
    --out_dir "${asr_exp}/score_coraal" --results_md "${results_md}" \
    --section_id "coraal_${asr_tag}" \
    --title "CORAAL test$([ "${standin}" = true ] && echo " (synthetic stand-in)"): ${asr_tag}"
