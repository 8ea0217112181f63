# shellcheck shell=bash source-path=SCRIPTDIR
# Corpus locations (CoVoST 2 X -> En on Common Voice; environment variables, a relative path
# is relative to where run.sh is called from):
#   COVOST2      directory with covost_v2.<lang>_en.tsv (or the downloaded covost_v2.<lang>_en.tsv.tar.gz)
#   COMMONVOICE  Common Voice root with <lang>/clips/*.mp3 and <lang>/validated.tsv
#                (CoVoST 2 was built on Common Voice 4, cv-corpus-4-2019-12-10)
# With both unset, stage 1 writes a synthetic stand-in in exactly that layout (standin/).
# shellcheck source=../../TEMPLATE/corpus_dirs.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../TEMPLATE/corpus_dirs.sh"
COVOST2=${COVOST2:-}
COMMONVOICE=${COMMONVOICE:-}
# Untranscribed audio for BEST-RQ pre-training: <root>/<lang>/wav.lst (unset: pre-train on the
# training clips themselves).
UNTRANSCRIBED=${UNTRANSCRIBED:-}
if [ -z "${COVOST2}" ] && [ -z "${COMMONVOICE}" ]; then
    standin=true
    echo "db.sh: COVOST2 and COMMONVOICE are not set; using the synthetic stand-in corpus (generated under standin/ in the CoVoST 2 + Common Voice layout)." >&2
else
    standin=false
    [ -n "${COVOST2}" ] || { echo "ERROR: COMMONVOICE is set but COVOST2 is not (the directory with covost_v2.<lang>_en.tsv)" >&2; exit 1; }
    [ -n "${COMMONVOICE}" ] || { echo "ERROR: COVOST2 is set but COMMONVOICE is not (the Common Voice root with <lang>/clips/)" >&2; exit 1; }
fi
corpus_dir COVOST2; corpus_dir COMMONVOICE; corpus_dir UNTRANSCRIBED
export COVOST2 COMMONVOICE UNTRANSCRIBED standin
