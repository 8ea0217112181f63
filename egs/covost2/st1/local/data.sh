#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR/..
# CoVoST 2 data preparation: Kaldi data dirs <data_dir>/{train,dev,test} whose text is the
# English translation and whose utt2lang is the source language. With COVOST2/COMMONVOICE set
# (db.sh) the real corpus is read; otherwise the synthetic stand-in is generated in the same
# layout first, and both go through prepare_covost2.
set -euo pipefail
langs=                   # comma-separated Common Voice codes ("" = every CoVoST tsv found / the stand-in's fr,de,es)
nj=2                     # parallel jobs (synthesis, clip header reading)
data_dir=data            # output
max_utts_per_lang=       # cap per language and split ("" = all)
check_audio=header       # clips: header (read headers, skip unreadable ones), decode (decode all) or none
standin_dir=standin/covost2  # where the stand-in is written (<dir>/cv, <dir>/covost)
standin_sentences=60     # parallel sentences (each read in every source language)
standin_train_speakers=8 # synthetic voices for train
standin_test_speakers=3  # disjoint voices for dev and test
standin_reads=1          # readings of each sentence per language (different voices)
seed=0
while [ $# -gt 0 ]; do
    name=${1#--}
    grep -qE "^${name}=" "$0" || { echo "local/data.sh: unknown option $1" >&2; exit 1; }
    [ $# -ge 2 ] || { echo "local/data.sh: option $1 needs a value" >&2; exit 1; }
    printf -v "${name}" '%s' "$2"; shift 2
done
. ./db.sh
py=${USM_PYTHON:-python3}
covost=${COVOST2}
cv=${COMMONVOICE}
if [ -z "${covost}" ]; then
    opts=""
    [ -n "${langs}" ] && opts+=" --langs ${langs}"
    # shellcheck disable=SC2086
    ${py} -m usm_espnet.bin.make_standin_covost2 --out_root "${standin_dir}" \
        --num_sentences "${standin_sentences}" --num_train_speakers "${standin_train_speakers}" \
        --num_test_speakers "${standin_test_speakers}" --utts_per_sentence "${standin_reads}" \
        --seed "${seed}" --nj "${nj}" --no_progress ${opts}
    covost=${standin_dir}/covost
    cv=${standin_dir}/cv
fi
opts=""
[ -n "${langs}" ] && opts+=" --langs ${langs}"
[ -n "${max_utts_per_lang}" ] && opts+=" --max_utts_per_lang ${max_utts_per_lang}"
# shellcheck disable=SC2086
${py} -m usm_espnet.bin.prepare_covost2 --covost_dir "${covost}" --cv_root "${cv}" \
    --out_dir "${data_dir}" --check_audio "${check_audio}" --nj "${nj}" ${opts}
# Untranscribed audio for BEST-RQ pre-training (UNTRANSCRIBED from db.sh: <root>/<lang>/wav.lst)
if [ -n "${UNTRANSCRIBED}" ]; then
    ${py} -m usm_espnet.bin.prepare_untranscribed --root "${UNTRANSCRIBED}" \
        --out_dir "${data_dir}/untranscribed"
fi
