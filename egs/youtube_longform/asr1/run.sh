#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2034  # the options are read indirectly (forward_args: ${!name})
# YouTube-like long-form ASR (USM paper, Sec. 3.5 and Table 7): train on what long recordings
# contain (data/train_longform: the short utterances plus concatenations of them up to the 8 s
# chunk, with pauses and noise at several SNRs; local/data.sh), then transcribe recordings of
# 1 to 60 minutes, for three encoders of the same size and the same training data that differ
# only in self-attention: chunk-wise (8 s chunks, USM), local (128 frames left and right, USM's
# pre-training setting) and global. Each model also decodes the short test utterances. WER
# (substitutions, deletions, insertions) against recording length goes to RESULTS.md with a
# plot; the scoring ends by printing longform_wer_ratio_60min=<chunk WER on the 60 min
# recordings / its WER on the short test utterances> and cw_over_lsa_15min_plus=<chunk WER /
# local WER on recordings of 15 min and longer>.
#   ./run.sh                               # stand-ins (FLEURS / LONGFORM unset), all stages
#   ./run.sh --preset debug                # the 1-minute sanity run (tiny stand-in, all stages)
#   ./run.sh --preset demo                 # a small model on CPU
#   ./run.sh --models "chunk local"        # a subset of the three
#   ./run.sh --preset small --seeds "0 1 2 3"   # each model 4 times: seed-to-seed spread, pooled
#   LONGFORM=/data/earnings22 FLEURS=/data/fleurs ./run.sh --ngpu 4
#   ./run.sh --init_encoder exp/w2v_bert2 --models chunk   # fine-tune an imported encoder (import_encoder)
# Options: ./run.sh --help (this recipe's and the stage template's, egs/TEMPLATE/asr_options.sh).
set -euo pipefail
# relative paths on the command line (and in FLEURS=...) are relative to the caller's directory
caller_dir=${PWD}
cd "$(dirname "$0")"
. ./path.sh
. ../../TEMPLATE/asr_options.sh
. ./db.sh

# this recipe's options
models="chunk local global"   # self-attention types to train and compare (chunk, local, global); each is an experiment exp_dir/asr_<type>
seeds=""                      # training seeds, e.g. "0 1 2 3": each model once per seed, in <exp_dir>_s<seed>/asr_<type> (its tables in <exp_dir>_s<seed>/RESULTS.md); the comparison pools them (a WER is their mean) and shows each; "": once, the config's seed, in exp_dir
# this recipe's defaults of the template's options
corpus=youtube_longform
asr_config=conf/train_asr_chunk_conformer.yaml
train_set=train_longform   # local/data.sh --train_longform false: give --train_set train
test_sets="test"            # short test utterances: the denominator of longform_wer_ratio_60min
longform_sets=longform
max_dur=15

opt_files=(run.sh ../../TEMPLATE/asr_options.sh)
path_opts=${template_path_opts}
int_opts=${template_int_opts}
# per model: asr_tag is the attention type; --asr_args and --longform_args are added to
fixed_opts="asr_tag ssl_config ssl_tag most_config most_tag"
. ../../TEMPLATE/parse_options.sh

# local/models.sh: check_models (--models, --seeds), model_opts ATT SEED (asr_tag, exp_dir,
# asr_args, longform_args)
. local/models.sh
check_models
for att in ${models}; do
    for seed in ${seeds:--}; do   # -: no seed given
        model_opts "${att}" "${seed}"
        forward_args ../../TEMPLATE/asr_options.sh
        ../../TEMPLATE/asr.sh "${fwd_args[@]}"
    done
done
exp_dir=${user_exp_dir} results_md=${user_results_md}
# stage 9 and after: the models side by side (RESULTS.md section longform_compare, the metrics)
if [ "${stop_stage}" -ge 9 ]; then
    . local/compare_models.sh
fi
