#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR/..
# FLEURS data preparation: Kaldi data dirs <data_dir>/{train,dev,test}.
# With FLEURS set (db.sh) the real corpus is read; otherwise the synthetic stand-in
# is generated in the real layout first, and both go through prepare_fleurs.
set -euo pipefail
langs=                   # comma-separated FLEURS codes ("" = all in the corpus / the stand-in default)
nj=2                     # parallel jobs
data_dir=data            # output
max_utts_per_lang=       # cap per language and split ("" = all)
standin_dir=standin/fleurs   # where the stand-in corpus is written
standin_sentences=400    # distinct sentences per language in the stand-in
standin_train_speakers=12    # synthetic voices for train
standin_test_speakers=4      # disjoint voices for dev and test
standin_reads=1          # readings of each train sentence (different voices)
standin_snr_db=          # additive noise SNR ("" = none)
standin_acoustics=clean  # clean (espeak-ng's output) or varied (noise floor, noise, pauses, rate/pitch)
standin_untranscribed=0  # extra untranscribed utterances per language (pretraining)
standin_unspoken_text=0  # extra sentences per language without audio (MOST's unspoken text)
seed=0
while [ $# -gt 0 ]; do
    name=${1#--}
    grep -qE "^${name}=" "$0" || { echo "local/data.sh: unknown option $1" >&2; exit 1; }
    [ $# -ge 2 ] || { echo "local/data.sh: option $1 needs a value" >&2; exit 1; }
    printf -v "${name}" '%s' "$2"; shift 2
done
. ./db.sh
py=${USM_PYTHON:-python3}
corpus=${FLEURS}
if [ -z "${corpus}" ]; then
    corpus=${standin_dir}
    opts=""
    [ -n "${langs}" ] && opts+=" --langs ${langs}"
    [ -n "${standin_snr_db}" ] && opts+=" --snr_db ${standin_snr_db}"
    # shellcheck disable=SC2086
    ${py} -m usm_espnet.bin.make_standin_fleurs --out_root "${standin_dir}" \
        --num_sentences "${standin_sentences}" --num_train_speakers "${standin_train_speakers}" \
        --num_test_speakers "${standin_test_speakers}" --utts_per_sentence "${standin_reads}" \
        --extra_untranscribed "${standin_untranscribed}" --extra_text "${standin_unspoken_text}" --acoustics "${standin_acoustics}" --seed "${seed}" --nj "${nj}" ${opts}
fi
opts=""
[ -n "${langs}" ] && opts+=" --langs ${langs}"
[ -n "${max_utts_per_lang}" ] && opts+=" --max_utts_per_lang ${max_utts_per_lang}"
# shellcheck disable=SC2086
${py} -m usm_espnet.bin.prepare_fleurs --corpus_dir "${corpus}" --out_dir "${data_dir}" ${opts}
# Untranscribed audio for pre-training (the stand-in's YT-NTL-U part, or UNTRANSCRIBED from db.sh)
untr_root=${UNTRANSCRIBED:-${corpus}/untranscribed}
if [ -d "${untr_root}" ]; then
    opts=""
    [ -n "${langs}" ] && opts+=" --langs ${langs}"
    # shellcheck disable=SC2086
    ${py} -m usm_espnet.bin.prepare_untranscribed --root "${untr_root}" \
        --out_dir "${data_dir}/untranscribed" ${opts}
fi
# Unspoken text for MOST pre-training: <root>/<lang>.txt (the stand-in's unspoken_text/ part,
# or UNSPOKEN_TEXT from db.sh); sentences of train/dev/test are left out.
text_root=${UNSPOKEN_TEXT:-${corpus}/unspoken_text}
if [ -d "${text_root}" ]; then
    opts=""
    [ -n "${langs}" ] && opts+=" --langs ${langs}"
    # shellcheck disable=SC2086
    ${py} -m usm_espnet.bin.prepare_unspoken_text --root "${text_root}" \
        --out_dir "${data_dir}/unspoken_text" --exclude "${data_dir}"/{train,dev,test} ${opts}
fi
