#!/usr/bin/env bash
# Build (or refresh) the usm-espnet virtual environment.
#
#   tools/install.sh            # venv at $USM_VENV (default: ~/.cache/usm-espnet/venv)
#   PYTHON=/path/to/python3.12 tools/install.sh
#
# Idempotent: every run syncs the venv against tools/requirements.lock with uv
# (a no-op taking well under a second when nothing changed) and runs `pip check`,
# so a missing or broken requirement fails here rather than in a test.
# The venv is shared by every clone of the repository; the package itself is not
# installed into it (the Makefile and recipes put the clone on PYTHONPATH).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
venv=${USM_VENV:-${HOME}/.cache/usm-espnet/venv}
uv_version=0.13.9

log() { echo "[install] $*" >&2; }

python_ok() {  # $1: candidate interpreter; true when it runs and is >= 3.12
    "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1
}

find_python() {
    if [ -n "${PYTHON:-}" ]; then
        if python_ok "${PYTHON}"; then echo "${PYTHON}"; return 0; fi
        log "PYTHON=${PYTHON} does not run as Python >= 3.12."; return 1
    fi
    local c
    for c in python3.12 python3.13 python3; do
        if command -v "$c" >/dev/null 2>&1 && python_ok "$c"; then command -v "$c"; return 0; fi
    done
    # pyenv's shims fail while its global version is older; use the interpreters directly.
    local root
    root=$( (pyenv root 2>/dev/null) || echo "${HOME}/.pyenv")
    for c in "${root}"/versions/3.12*/bin/python3.12 "${root}"/versions/3.13*/bin/python3.13; do
        if [ -x "$c" ] && python_ok "$c"; then echo "$c"; return 0; fi
    done
    return 1
}

if [ ! -x "${venv}/bin/python" ] || [ ! -x "${venv}/bin/pip" ] || ! python_ok "${venv}/bin/python"; then
    if ! py=$(find_python); then
        echo "ERROR: usm-espnet needs Python >= 3.12 and none was found; install one or run 'PYTHON=/path/to/python3.12 make test'." >&2
        exit 1
    fi
    log "creating ${venv} with ${py}"
    rm -rf "${venv}" "${venv}.tmp"
    mkdir -p "$(dirname "${venv}")"
    # build beside and rename, so an interrupted or failed creation is never mistaken for a venv
    "${py}" -m venv "${venv}.tmp" || { echo "ERROR: '${py} -m venv' failed (on Debian/Ubuntu install python3-venv)." >&2; exit 1; }
    mv "${venv}.tmp" "${venv}"
fi

if ! "${venv}/bin/uv" --version 2>/dev/null | grep -q " ${uv_version}"; then
    log "installing uv ${uv_version} into the venv"
    PIP_CONSTRAINT= "${venv}/bin/pip" install -q --disable-pip-version-check "uv==${uv_version}"
fi

start=$(date +%s)
VIRTUAL_ENV="${venv}" "${venv}/bin/uv" pip install -q -p "${venv}/bin/python" -r "${here}/requirements.lock"
"${venv}/bin/uv" pip check -q -p "${venv}/bin/python" >/dev/null || {
    "${venv}/bin/uv" pip check -p "${venv}/bin/python"; echo "ERROR: pip check failed in ${venv}" >&2; exit 1; }
log "venv ready: ${venv} ($(( $(date +%s) - start )) s)"
