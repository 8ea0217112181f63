#!/usr/bin/env bash
# Build .devsite/ (git-ignored): the pure-Python packages that bench/gpu_check.sh needs and the
# GPU machine's image lacks (ESPnet and what its encoder, frontend and ASR task import there),
# copied from our venv. Carry it: the device tool's `carry: [".devsite"]`. From the repository
# root:
#
#     bash bench/make_devsite.sh            # uses $USM_PYTHON or ~/.cache/usm-espnet/venv
#
# The list was found by running `GPU_CHECK_TINY=1 bash bench/gpu_check.sh` with a Python that
# holds only what the GPU image has (torch, torchaudio, numpy, pyyaml, tqdm, packaging, scipy,
# sentencepiece, ...) and this folder on PYTHONPATH, until nothing was missing.
set -euo pipefail
cd "$(dirname "$0")/.."
py=${USM_PYTHON:-${HOME}/.cache/usm-espnet/venv/bin/python}
site=$("${py}" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
pkgs=(espnet espnet2 typeguard humanfriendly torch_complex)
rm -rf .devsite.tmp
mkdir .devsite.tmp
for p in "${pkgs[@]}"; do
    [ -e "${site}/${p}" ] || { echo "make_devsite: ${site}/${p} is missing (run make install)" >&2; exit 1; }
    cp -r "${site}/${p}" .devsite.tmp/
done
find .devsite.tmp -name __pycache__ -prune -exec rm -rf {} +
rm -rf .devsite
mv .devsite.tmp .devsite
echo "make_devsite: .devsite/ holds ${pkgs[*]} ($(du -sh .devsite | cut -f1))"
