# shellcheck shell=bash source-path=SCRIPTDIR
# Corpus locations (environment variables; a relative path is relative to where run.sh is
# called from). Set FLEURS to the root holding <lang>/{train,dev,test}.tsv and
# <lang>/audio/<split>.tar.gz (or extracted <lang>/audio/<split>/).
# shellcheck source=../../TEMPLATE/corpus_dirs.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../TEMPLATE/corpus_dirs.sh"
FLEURS=${FLEURS:-}
# Untranscribed audio for BEST-RQ pre-training: <root>/<lang>/wav.lst (default: the
# stand-in's untranscribed/ part when present).
UNTRANSCRIBED=${UNTRANSCRIBED:-}
# Unspoken text (text without audio) for MOST pre-training: <root>/<lang>.txt, one sentence
# per line (default: the stand-in's unspoken_text/ part when present).
UNSPOKEN_TEXT=${UNSPOKEN_TEXT:-}
corpus_dir FLEURS; corpus_dir UNTRANSCRIBED; corpus_dir UNSPOKEN_TEXT
export FLEURS UNTRANSCRIBED UNSPOKEN_TEXT
if [ -z "${FLEURS}" ]; then
    standin=true
    echo "db.sh: FLEURS is not set; using the synthetic stand-in corpus (generated under standin/fleurs in the FLEURS layout)." >&2
else
    standin=false
fi
export standin
