# Corpus locations. Set FLEURS to the root holding <lang>/{train,dev,test}.tsv and
# <lang>/audio/<split>.tar.gz (or extracted <lang>/audio/<split>/).
FLEURS=${FLEURS:-}
if [ -z "${FLEURS}" ]; then
    standin=true
    echo "db.sh: FLEURS is not set; using the synthetic stand-in corpus (generated under standin/fleurs in the FLEURS layout)." >&2
else
    standin=false
    [ -d "${FLEURS}" ] || { echo "ERROR: FLEURS=${FLEURS} is not a directory" >&2; exit 1; }
fi
# Untranscribed audio for BEST-RQ pre-training: <root>/<lang>/wav.lst (default: the
# stand-in's untranscribed/ part when present).
UNTRANSCRIBED=${UNTRANSCRIBED:-}
# Unspoken text (text without audio) for MOST pre-training: <root>/<lang>.txt, one sentence
# per line (default: the stand-in's unspoken_text/ part when present).
UNSPOKEN_TEXT=${UNSPOKEN_TEXT:-}
export FLEURS UNTRANSCRIBED UNSPOKEN_TEXT
