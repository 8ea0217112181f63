# shellcheck shell=bash
# Environment of every recipe (egs/<corpus>/<task>/path.sh links here): the usm-espnet venv
# and the repository on PYTHONPATH.
USM_ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)
USM_VENV=${USM_VENV:-${HOME}/.cache/usm-espnet/venv}
if [ ! -x "${USM_VENV}/bin/python" ]; then
    echo "ERROR: no usm-espnet venv at ${USM_VENV}; run 'make install' (or tools/install.sh) in ${USM_ROOT}" >&2
    exit 1
fi
export USM_ROOT
export USM_PYTHON=${USM_VENV}/bin/python
export PYTHONPATH=${USM_ROOT}${PYTHONPATH:+:${PYTHONPATH}}
export PYTHONUNBUFFERED=1
