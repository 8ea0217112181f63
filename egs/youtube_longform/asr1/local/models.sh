# shellcheck shell=bash disable=SC2034,SC2154  # sets the template's options, read by forward_args; run.sh's options
# The models run.sh trains and compares, one per self-attention type. Sourced by run.sh after
# parse_options.sh (it reads the parsed options: models, asr_args, longform_args):
#   check_models      every --models entry is chunk, local or global, and there is at least one;
#                     every --seeds entry a non-negative integer, none twice
#   model_dir ATT SEED  asr_tag=ATT, exp_dir (<exp_dir>_s<SEED>; SEED "-": exp_dir as given) and
#                     results_md (with a seed: <exp_dir>_s<SEED>/RESULTS.md)
#   model_opts ATT SEED the template options of model ATT trained with SEED: model_dir, and
#                     asr_args and longform_args as given plus the seed, the attention type and
#                     its long-form decoding mode

check_models() {
    local att
    for att in ${models}; do
        case ${att} in chunk|local|global) ;;
            *) echo "./run.sh: ERROR: --models: unknown attention type '${att}' (chunk, local or global)" >&2; exit 1 ;; esac
    done
    [ -n "${models// /}" ] || { echo "./run.sh: ERROR: --models is empty (give chunk, local and/or global)" >&2; exit 1; }
    local seed seen=" "
    for seed in ${seeds}; do
        [[ "${seed}" =~ ^[0-9]+$ ]] || { echo "./run.sh: ERROR: --seeds: '${seed}' is not a non-negative integer" >&2; exit 1; }
        [[ "${seen}" != *" ${seed} "* ]] || { echo "./run.sh: ERROR: --seeds: ${seed} is given twice" >&2; exit 1; }
        seen+="${seed} "
    done
    # the options as given on the command line; model_opts adds to them per model
    user_asr_args=${asr_args}
    user_longform_args=${longform_args}
    user_exp_dir=${exp_dir}
    user_results_md=${results_md}
}

model_dir() {
    asr_tag=$1
    exp_dir=${user_exp_dir}
    results_md=${user_results_md}
    # a seed's per-model tables (stage 9) go to its own directory's RESULTS.md: in the
    # recipe's they would replace each other (one section per attention type)
    [ "$2" = - ] || { exp_dir+=_s$2; results_md=${exp_dir}/RESULTS.md; }
}

model_opts() {
    local att=$1 seed=$2 mode=auto   # chunk: exact streaming; local: exact windows
    [ "${att}" = global ] && mode=onepass   # no finite receptive field: one pass, short ones only
    model_dir "${att}" "${seed}"
    asr_args=${user_asr_args}
    [ "${seed}" = - ] || asr_args+=" --seed ${seed}"
    asr_args+=" --encoder_conf attention_type=${att}"
    longform_args="--mode ${mode} ${user_longform_args}"
}
