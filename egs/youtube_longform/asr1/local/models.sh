# shellcheck shell=bash disable=SC2034,SC2154  # sets the template's options, read by forward_args; run.sh's options
# The models run.sh trains and compares, one per self-attention type. Sourced by run.sh after
# parse_options.sh (it reads the parsed options: models, asr_args, longform_args):
#   check_models      every --models entry is chunk, local or global, and there is at least one
#   model_opts ATT    the template options of model ATT: asr_tag=ATT, asr_args and longform_args
#                     as given plus the attention type and its long-form decoding mode

check_models() {
    local att
    for att in ${models}; do
        case ${att} in chunk|local|global) ;;
            *) echo "./run.sh: ERROR: --models: unknown attention type '${att}' (chunk, local or global)" >&2; exit 1 ;; esac
    done
    [ -n "${models// /}" ] || { echo "./run.sh: ERROR: --models is empty (give chunk, local and/or global)" >&2; exit 1; }
    # the options as given on the command line; model_opts adds to them per model
    user_asr_args=${asr_args}
    user_longform_args=${longform_args}
}

model_opts() {
    local att=$1 mode=auto   # chunk: exact streaming; local: exact windows
    [ "${att}" = global ] && mode=onepass   # no finite receptive field: one pass, short ones only
    asr_tag=${att}
    asr_args="${user_asr_args} --encoder_conf attention_type=${att}"
    longform_args="--mode ${mode} ${user_longform_args}"
}
