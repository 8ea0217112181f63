#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR/..
# yesno data preparation: <data_dir>/{train,dev,test} with Kaldi's split (train: first word
# "no", 31 recordings, plus cropped copies that start before word 2, 3, ...; test: first
# word "yes", 29; dev: the first 4 train recordings).
set -euo pipefail
langs=                   # unused: one language (en_us); accepted from the template
nj=2                     # unused (nothing to synthesise); accepted from the template
: "${langs}" "${nj}"
data_dir=data            # output
num_dev=4                # train recordings also used as the validation set
num_crops=7              # copies of each train recording starting before word 2, 3, ...
while [ $# -gt 0 ]; do
    name=${1#--}
    grep -qE "^${name}=" "$0" || { echo "local/data.sh: unknown option $1" >&2; exit 1; }
    [ $# -ge 2 ] || { echo "local/data.sh: option $1 needs a value" >&2; exit 1; }
    printf -v "${name}" '%s' "$2"; shift 2
done
. ./db.sh
if [ -z "${YESNO}" ]; then
    echo "ERROR: YESNO is not set and ../shared/real_speech/kaldi_yesno does not exist beside the repository; download http://openslr.org/resources/1/waves_yesno.tar.gz, extract it and run YESNO=/path/to/waves_yesno ./run.sh" >&2
    exit 1
fi
"${USM_PYTHON:-python3}" -m usm_espnet.bin.prepare_yesno --corpus_dir "${YESNO}" \
    --out_dir "${data_dir}" --num_dev "${num_dev}" --num_crops "${num_crops}"
