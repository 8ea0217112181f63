#!/usr/bin/env bash
# Build (or refresh) the usm-espnet virtual environment.
#
#   tools/install.sh            # venv at $USM_VENV (default: ~/.cache/usm-espnet/venv)
#   PYTHON=/path/to/python3.12 tools/install.sh
#
# The venv is built in place at its final path (a venv is not relocatable: its scripts
# keep the absolute path of its interpreter in their #! line). A build marks the directory
# $USM_VENV/.usm-building first and writes the completion stamp $USM_VENV/.usm-complete
# (holding the checksum of tools/requirements.lock it was synced to) last, after
# `import espnet2, torch, torchaudio` works. A venv whose stamp is missing or names another
# lock file is synced again and re-stamped; one left by an interrupted build (.usm-building,
# or an empty directory) or whose pip does not run is removed and rebuilt from nothing. A
# directory at $USM_VENV that is not such a venv is never removed: the script stops and
# says so. Two installs into one venv wait for each other (flock on $USM_VENV.lock).
#
# Every run then syncs the venv against tools/requirements.lock with uv (a no-op taking
# well under a second when nothing changed) and runs `uv pip check`, so a missing or
# broken requirement fails here rather than in a test. The package itself is not
# installed into the venv (the Makefile and recipes put the clone on PYTHONPATH).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
venv=${USM_VENV:-${HOME}/.cache/usm-espnet/venv}
uv_version=0.13.9
stamp=${venv}/.usm-complete
building=${venv}/.usm-building
lock_sum=$(sha256sum "${here}/requirements.lock" | cut -d' ' -f1)

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

# A usable venv (finished or to be re-synced): a working interpreter, a pip whose #! line
# runs, our uv, and no mark of an unfinished build.
venv_usable() {
    [ ! -e "${building}" ] && [ -x "${venv}/bin/python" ] && python_ok "${venv}/bin/python" &&
        "${venv}/bin/pip" --version >/dev/null 2>&1 && "${venv}/bin/uv" --version 2>/dev/null | grep -q " ${uv_version}"
}

mkdir -p "$(dirname "${venv}")"
exec 9>"${venv}.lock"
if command -v flock >/dev/null 2>&1; then
    flock -n 9 || { log "waiting for another install into ${venv} to finish"; flock 9; }
fi

if ! venv_usable; then
    if [ -e "${venv}" ] && [ ! -e "${building}" ] && [ ! -f "${stamp}" ] && \
        [ -n "$(ls -A "${venv}" 2>/dev/null)" ] && [ "${venv}" != "${HOME}/.cache/usm-espnet/venv" ]; then
        echo "ERROR: ${venv} exists and is not a venv this script built or can use (no ${stamp##*/}, or its pip/uv does not run); remove it or set USM_VENV to another path." >&2
        exit 1
    fi
    if ! py=$(find_python); then
        echo "ERROR: usm-espnet needs Python >= 3.12 and none was found; install one or run 'PYTHON=/path/to/python3.12 make test'." >&2
        exit 1
    fi
    if [ -e "${venv}" ]; then log "removing unfinished or broken venv ${venv}"; fi
    log "creating ${venv} with ${py}"
    rm -rf "${venv}"
    mkdir -p "${venv}"
    : > "${building}"
    # Built at its final path so every script's #! line is right; the stamp comes last.
    "${py}" -m venv "${venv}" || { echo "ERROR: '${py} -m venv ${venv}' failed (on Debian/Ubuntu install python3-venv)." >&2; exit 1; }
    log "installing uv ${uv_version} into the venv"
    PIP_CONSTRAINT='' "${venv}/bin/python" -m pip install -q --disable-pip-version-check "uv==${uv_version}" ||
        { echo "ERROR: could not install uv ${uv_version} into ${venv} (is PyPI reachable?)" >&2; exit 1; }
fi

start=$(date +%s)
if [ -f "${stamp}" ] && [ "$(cat "${stamp}")" != "${lock_sum}" ]; then
    rm -f "${stamp}"  # synced to another lock file: not finished until this sync and its check pass
fi
VIRTUAL_ENV="${venv}" "${venv}/bin/uv" pip install -q -p "${venv}/bin/python" -r "${here}/requirements.lock"
"${venv}/bin/uv" pip check -q -p "${venv}/bin/python" >/dev/null || {
    "${venv}/bin/uv" pip check -p "${venv}/bin/python"; echo "ERROR: pip check failed in ${venv}" >&2; exit 1; }
if [ ! -f "${stamp}" ]; then
    "${venv}/bin/python" -c 'import espnet2, torch, torchaudio' ||
        { echo "ERROR: the venv ${venv} was built but 'import espnet2, torch, torchaudio' fails in it" >&2; exit 1; }
    echo "${lock_sum}" > "${stamp}"
    rm -f "${building}"
fi
log "venv ready: ${venv} ($(( $(date +%s) - start )) s)"
