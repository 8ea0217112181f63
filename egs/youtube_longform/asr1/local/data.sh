#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR/..
# Data for the long-form recipe: short utterances (<data_dir>/{train,dev,test}), the training
# set made from them for long-form audio (<data_dir>/train_longform: the short utterances plus
# concatenations of them up to the chunk length, with leading/trailing and internal pauses and
# noise at several SNRs; usm_espnet.standin.longform_train) and long recordings to evaluate
# (<data_dir>/longform). Real corpora come from db.sh (FLEURS, LONGFORM); otherwise both
# stand-ins are generated in the real layouts first. train_longform is made either way.
set -euo pipefail
langs=                           # "" = en_us,ru_ru,ko_kr,uk_ua, the languages of the paper's Table 7
nj=2
data_dir=data
standin_dir=standin
standin_sentences=400            # FLEURS stand-in: sentences per language
standin_train_speakers=12
standin_test_speakers=4
longform_minutes=1,5,15,30,60    # long-form stand-in: one recording per language and length
longform_snr_db=20               # background noise of the long-form stand-in
train_longform=true              # also write <data_dir>/train_longform (false: skip it)
train_chunk_seconds=8            # train_longform: longest concatenation (USM's chunk, 8 s)
train_copies=2                   # train_longform: packing passes over the training utterances
train_snr_db=5,10,15,20,30       # train_longform: SNRs (dB) of its noise, drawn per segment
train_clean_prob=0.1             # train_longform: share of segments left without noise
seed=0
while [ $# -gt 0 ]; do
    name=${1#--}
    grep -qE "^${name}=" "$0" || { echo "local/data.sh: unknown option $1" >&2; exit 1; }
    [ $# -ge 2 ] || { echo "local/data.sh: option $1 needs a value" >&2; exit 1; }
    printf -v "${name}" '%s' "$2"; shift 2
done
[ -n "${langs}" ] || langs=en_us,ru_ru,ko_kr,uk_ua
. ./db.sh
py=${USM_PYTHON:-python3}
fleurs=${FLEURS}
if [ -z "${fleurs}" ]; then
    fleurs=${standin_dir}/fleurs
    ${py} -m usm_espnet.bin.make_standin_fleurs --out_root "${fleurs}" --langs "${langs}" \
        --num_sentences "${standin_sentences}" --num_train_speakers "${standin_train_speakers}" \
        --num_test_speakers "${standin_test_speakers}" --seed "${seed}" --nj "${nj}"
fi
${py} -m usm_espnet.bin.prepare_fleurs --corpus_dir "${fleurs}" --out_dir "${data_dir}" --langs "${langs}"
if [ "${train_longform}" = true ]; then
    ${py} -m usm_espnet.bin.make_longform_train --in_dir "${data_dir}/train" \
        --out_dir "${data_dir}/train_longform" --chunk_seconds "${train_chunk_seconds}" \
        --copies "${train_copies}" --snr_db "${train_snr_db}" --clean_prob "${train_clean_prob}" \
        --seed "${seed}"
fi
longform=${LONGFORM}
if [ -z "${longform}" ]; then
    longform=${standin_dir}/longform
    # sentences never in the training text, spoken by the FLEURS stand-in's unseen test voices
    ${py} -m usm_espnet.bin.make_standin_longform --out_root "${longform}" --langs "${langs}" \
        --minutes "${longform_minutes}" --exclude_text "${data_dir}/train/text" \
        --snr_db "${longform_snr_db}" --seed "${seed}" --nj "${nj}" \
        --num_train_speakers "${standin_train_speakers}" --num_test_speakers "${standin_test_speakers}"
fi
${py} -m usm_espnet.bin.prepare_longform --root "${longform}" --out_dir "${data_dir}/longform"
