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

for att in ${models}; do
    case ${att} in chunk|local|global) ;;
        *) echo "./run.sh: ERROR: --models: unknown attention type '${att}' (chunk, local or global)" >&2; exit 1 ;; esac
done
[ -n "${models// /}" ] || { echo "./run.sh: ERROR: --models is empty (give chunk, local and/or global)" >&2; exit 1; }

user_asr_args=${asr_args}
user_longform_args=${longform_args}
for att in ${models}; do
    mode=auto    # chunk: exact streaming; local: exact windows
    [ "${att}" = global ] && mode=onepass   # no finite receptive field: one pass, short ones only
    asr_tag=${att}
    asr_args="${user_asr_args} --encoder_conf attention_type=${att}"
    longform_args="--mode ${mode} ${user_longform_args}"
    forward_args ../../TEMPLATE/asr_options.sh
    ../../TEMPLATE/asr.sh "${fwd_args[@]}"
done

if [ "${stop_stage}" -ge 9 ]; then
    compare=()
    for att in ${models}; do
        asr_tag=${att}; derive_names   # exp_dir/asr_<att>[_ft_<init_encoder>]
        compare+=(--compare "${att}=${asr_exp}/decode_longform/score/scores.json")
        for s in ${test_sets}; do   # the first short test set that was scored
            if [ -f "${asr_exp}/decode_${s}/score/scores.json" ]; then
                compare+=(--short "${att}=${asr_exp}/decode_${s}/score/scores.json"); break
            fi
        done
    done
    title="youtube_longform: WER against recording length (chunk / local / global attention)"
    [ "${standin}" = true ] && title="youtube_longform (synthetic stand-in): WER against recording length (chunk / local / global attention)"
    "${USM_PYTHON}" -m usm_espnet.bin.score_longform "${compare[@]}" --standin "${standin}" \
        --title "${title}" --recipe_results "${results_md}" --section_id longform_compare \
        --plot results/longform_wer_vs_length.png --metrics_out "${exp_dir}/longform_metrics.txt" > /dev/null
    echo "$(date '+%Y-%m-%dT%H:%M:%S') (run.sh) comparison written to ${results_md}" >&2
    cat "${exp_dir}/longform_metrics.txt"
fi
