# shellcheck shell=bash source-path=SCRIPTDIR
# Corpus locations (environment variables; a relative path is relative to where run.sh is
# called from).
# FLEURS: short utterances for training (<root>/<lang>/{train,dev,test}.tsv + audio/); unset: the
#   synthetic FLEURS stand-in.
# LONGFORM: long recordings in the Earnings-21/22 layout: <root>/media/<id>.{wav,flac,mp3} and
#   <root>/transcripts/nlp_references/<id>.nlp (optional <root>/metadata.tsv: id, lang); unset:
#   the synthetic long-form stand-in (held-out sentences, unseen voices, pauses, noise).
# shellcheck source=../../TEMPLATE/corpus_dirs.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../TEMPLATE/corpus_dirs.sh"
FLEURS=${FLEURS:-}
LONGFORM=${LONGFORM:-}
corpus_dir FLEURS; corpus_dir LONGFORM
export FLEURS LONGFORM
standin=true
if [ -n "${FLEURS}" ] && [ -n "${LONGFORM}" ]; then
    standin=false
fi
export standin
[ -n "${FLEURS}${LONGFORM}" ] || echo "db.sh: FLEURS and LONGFORM are not set; using the synthetic stand-ins." >&2
