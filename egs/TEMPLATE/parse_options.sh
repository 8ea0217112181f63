# shellcheck shell=bash disable=SC2154  # opt_files, stage, stop_stage: set by the script that sources it
# Kaldi-style option parsing shared by egs/TEMPLATE/asr.sh and every recipe's run.sh.
#
# Source it after declaring the options as shell variables, one per line with a comment:
#     models="chunk local global"   # attention types to compare
# and with these set:
#     opt_files=(run.sh ../../TEMPLATE/asr_options.sh)  # files whose declarations are options
#     caller_dir=...        # directory relative command-line paths are resolved against ($PWD)
#     path_opts="..."       # names of path-valued options
#     int_opts="..."        # names of options that must be non-negative integers
#     fixed_opts="..."      # names the script sets itself (refused on the command line)
# Then "$@" is parsed:
#   --foo_bar x and --foo_bar=x set foo_bar; an undeclared name is an error;
#   --preset NAME sources conf/presets/NAME.sh where it stands (later options override it);
#   --help (-h) prints the usage with the effective values (after the script's own defaults,
#   the preset and the other options) and exits 0.
# Every error is one line on stderr and exit status 1. Afterwards cli_opts holds the names
# given on the command line, and forward_args FILE fills the array fwd_args with
# "--name value" for each option declared in FILE (to call the stage template with them).

script_name=${script_name:-./$(basename "$0")}
caller_dir=${caller_dir:-${PWD}}
path_opts=${path_opts:-}
int_opts=${int_opts:-}
fixed_opts=${fixed_opts:-}
cli_opts=""

parse_die() { echo "${script_name}: ERROR: $*" >&2; exit 1; }

# declared_opts FILE...: the option names declared in FILEs (name=value  # comment)
declared_opts() {
    grep -hoE '^[a-z][a-z0-9_]*=[^#]*# ' "$@" | sed -E 's/=.*//' | awk '!seen[$0]++'
}
# presets: the names under conf/presets/
available_presets() {
    local f names=""
    for f in conf/presets/*.sh; do
        [ -e "${f}" ] || continue
        f=${f##*/}; names+=" ${f%.sh}"
    done
    echo "${names# }"
}

_known_opts=" $(declared_opts "${opt_files[@]}" | tr '\n' ' ') "

_print_help() {
    local f name line comment
    echo "Usage: ${script_name} [options]"
    echo "  (options: --name value or --name=value, applied in order; --preset NAME where it"
    echo "   stands, options after it override it; relative paths given here are relative to"
    echo "   the directory you call from)"
    if declare -F help_stages > /dev/null; then echo; help_stages; fi
    if [ -d conf/presets ]; then
        echo
        echo "Presets (--preset NAME: conf/presets/NAME.sh):"
        for name in $(available_presets); do
            comment=$(awk '/^# / && !/^# shellcheck/ {sub(/^# */, ""); print; exit}' "conf/presets/${name}.sh")
            printf '  %-10s %s\n' "${name}" "${comment}"
        done
    fi
    if [ -f db.sh ]; then
        echo
        echo "Corpus variables (environment; see db.sh; unset: the synthetic stand-in):"
        while IFS= read -r name; do
            printf '  %s=%s\n' "${name}" "${!name:-}"
        done < <(grep -oE '^[A-Z][A-Z0-9_]*=\$\{' db.sh | sed -E 's/=.*//' | awk '!seen[$0]++')
    fi
    local first=true
    for f in "${opt_files[@]}"; do
        if [ "${first}" = true ] && [ "${#opt_files[@]}" -gt 1 ]; then
            first=false
            grep -qE '^[a-z][a-z0-9_]*=[^#]*# ' "${f}" || continue
            printf '\nOptions of this recipe [effective value]:\n'
        else
            printf '\nOptions of the stage template [effective value after the recipe, preset and command line]:\n'
        fi
        while IFS= read -r line; do
            name=${line%%=*}
            comment=${line#*=}; comment=${comment#*# }
            if [[ " ${fixed_opts} " == *" ${name} "* ]]; then comment+=" (set by ${script_name}; not an option here)"; fi
            printf '  --%s [%s]  %s\n' "${name}" "${!name}" "${comment}"
        done < <(grep -E '^[a-z][a-z0-9_]*=[^#]*# ' "${f}")
    done
}

_known_or_die() {
    if ! [[ "$1" =~ ^[a-z][a-z0-9_]*$ ]] || [[ "${_known_opts}" != *" $1 "* ]]; then
        parse_die "unknown option --$1 (see ${script_name} --help)"
    fi
}

_want_help=false
while [ $# -gt 0 ]; do
    case "$1" in
        --help|-h) _want_help=true; shift; continue ;;
        --*=*) _name=${1%%=*}; _value=${1#*=}; shift ;;
        --?*)
            _name=$1
            _known_or_die "${_name#--}"
            [ $# -ge 2 ] || parse_die "option ${_name} needs a value (see ${script_name} --help)"
            case "$2" in
                --help|-h) parse_die "option ${_name} needs a value (got $2)" ;;
                --*) [[ "${_known_opts}" == *" ${2#--} "* ]] \
                         && parse_die "option ${_name} needs a value (got the option $2 after it)" ;;
            esac
            _value=$2; shift 2 ;;
        *) parse_die "unexpected argument '$1' (options look like --name value; see ${script_name} --help)" ;;
    esac
    _name=${_name#--}
    _known_or_die "${_name}"
    [[ " ${fixed_opts} " != *" ${_name} "* ]] \
        || parse_die "--${_name} is set by ${script_name} itself and cannot be given (see ${script_name} --help)"
    if [[ " ${path_opts} " == *" ${_name} "* ]] && [ -n "${_value}" ] && [[ "${_value}" != /* ]] \
        && [ "${caller_dir}" != "${PWD}" ]; then
        _value=${caller_dir}/${_value}   # relative to where the caller is, not the recipe
    fi
    printf -v "${_name}" '%s' "${_value}"
    cli_opts+=" ${_name}"
    if [ "${_name}" = preset ] && [ -n "${_value}" ]; then
        [ -f "conf/presets/${_value}.sh" ] \
            || parse_die "unknown preset '${_value}' (no $(pwd)/conf/presets/${_value}.sh); available: $(available_presets)"
        # shellcheck disable=SC1090
        . "conf/presets/${_value}.sh"
    fi
done
unset _name _value

for _name in ${int_opts}; do
    [[ "${!_name}" =~ ^[0-9]+$ ]] || parse_die "--${_name} must be a non-negative integer, got '${!_name}'"
done
if [[ "${_known_opts}" == *" stage "* ]] && [[ "${_known_opts}" == *" stop_stage "* ]] \
    && [[ "${stage}" =~ ^[0-9]+$ ]] && [[ "${stop_stage}" =~ ^[0-9]+$ ]] && [ "${stage}" -gt "${stop_stage}" ]; then
    parse_die "--stage ${stage} is after --stop_stage ${stop_stage}: nothing would run"
fi
if [ "${_want_help}" = true ]; then
    _print_help
    exit 0
fi

# forward_args FILE: fwd_args=(--name value ...) with the parsed value of every option declared
# in FILE but --preset (already applied): how run.sh calls the stage template
forward_args() {
    fwd_args=()
    local n
    while IFS= read -r n; do
        [ "${n}" = preset ] || fwd_args+=("--${n}" "${!n}")
    done < <(declared_opts "$1")
}
