# Corpus locations.
# FLEURS: short utterances for training (<root>/<lang>/{train,dev,test}.tsv + audio/); unset: the
#   synthetic FLEURS stand-in.
# LONGFORM: long recordings in the Earnings-21/22 layout: <root>/media/<id>.{wav,flac,mp3} and
#   <root>/transcripts/nlp_references/<id>.nlp (optional <root>/metadata.tsv: id, lang); unset:
#   the synthetic long-form stand-in (held-out sentences, unseen voices, pauses, noise).
FLEURS=${FLEURS:-}
LONGFORM=${LONGFORM:-}
standin=true
if [ -n "${FLEURS}" ] && [ -n "${LONGFORM}" ]; then
    standin=false
fi
for v in FLEURS LONGFORM; do
    if [ -n "${!v}" ] && [ ! -d "${!v}" ]; then
        echo "ERROR: ${v}=${!v} is not a directory" >&2; exit 1
    fi
done
[ -z "${FLEURS}${LONGFORM}" ] && echo "db.sh: FLEURS and LONGFORM are not set; using the synthetic stand-ins." >&2
export FLEURS LONGFORM
