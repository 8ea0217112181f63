# shellcheck shell=bash
# Sourced by the recipes' db.sh: corpus_dir VAR checks the directory named by the environment
# variable VAR and makes a relative one absolute, relative to the directory run.sh was called
# from (caller_dir; run.sh changes into the recipe directory) rather than the recipe's.
corpus_dir() {
    local var=$1 val=${!1:-}
    [ -n "${val}" ] || return 0
    case ${val} in
        /*) ;;
        *) val=${caller_dir:-${PWD}}/${val} ;;
    esac
    if [ ! -d "${val}" ]; then
        echo "ERROR: ${var}=${!var} is not a directory (looked for ${val})" >&2
        exit 1
    fi
    val=$(cd "${val}" && pwd)
    printf -v "${var}" '%s' "${val}"
    export "${var?}"
}
