#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2034  # the options are read indirectly (forward_args: ${!name})
# CORAAL ASR (African American English; USM paper's CORAAL evaluation): a chunk-wise
# attention Conformer with CTC on graphemes, trained on CORAAL segments, scored per
# component and overall on test segments and on whole test interviews decoded window by
# window (long-form).
#   ./run.sh                        # real CORAAL when CORAAL=/path is set, else the stand-in
#   ./run.sh --preset debug         # the 1-minute sanity run (tiny stand-in, all stages)
#   ./run.sh --preset demo          # CPU demo on the stand-in
#   ./run.sh --local_data_opts "--speakers interviewee --components ATL,DCB"
# Options: ./run.sh --help (the stage template's, egs/TEMPLATE/asr_options.sh). Stage 9 ends
# with local/score.sh, which writes the per-component table to --results_md; the template's
# own tables (per language, long-form) go to <exp_dir>/RESULTS_template.md.
set -euo pipefail
# relative paths on the command line (and in CORAAL=...) are relative to the caller's directory
caller_dir=${PWD}
cd "$(dirname "$0")"
. ./path.sh
. ../../TEMPLATE/asr_options.sh
. ./db.sh

# this recipe's defaults of the template's options
corpus=coraal
asr_config=conf/train_asr_chunk_conformer.yaml
test_sets="test"
longform_sets=test_longform
# a pause of more than 0.3 s between two emitted tokens is a word boundary: a model trained on
# single rows ends each turn without a <space>, which glued the last word of one turn to the first
# of the next in whole interviews (RESULTS.md). --longform_args replaces this; keep it there.
longform_args="--word_gap_seconds 0.3"

opt_files=(run.sh ../../TEMPLATE/asr_options.sh)
path_opts=${template_path_opts}
int_opts=${template_int_opts}
. ../../TEMPLATE/parse_options.sh

# the template's tables are labelled for its per-language layout: they go beside the
# experiments, and CORAAL's per-component table (local/score.sh, stage 9) to ${results_md}
local_score_opts="--results_md ${results_md}${local_score_opts:+ ${local_score_opts}}"
results_md=${exp_dir}/RESULTS_template.md
forward_args ../../TEMPLATE/asr_options.sh
../../TEMPLATE/asr.sh "${fwd_args[@]}"
