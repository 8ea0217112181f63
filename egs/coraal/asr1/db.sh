# shellcheck shell=bash source-path=SCRIPTDIR
# Corpus location (environment variable; a relative path is relative to where run.sh is
# called from). Set CORAAL to the directory holding the release as downloaded and
# extracted: <C>_audio_part*_<version>/<file>.wav, <C>_textfiles_<version>/<file>.txt and
# <C>_metadata_<version>.txt for each component C (ATL, DCA, DCB, DTA, LES, PRV, ROC, VLD);
# archives (<C>_audio_*.tar.gz, <C>_textfiles_*.tar.gz) not yet extracted are extracted
# once under <data_dir>/coraal_extracted.
# shellcheck source=../../TEMPLATE/corpus_dirs.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../TEMPLATE/corpus_dirs.sh"
CORAAL=${CORAAL:-}
corpus_dir CORAAL
export CORAAL
if [ -z "${CORAAL}" ]; then
    standin=true
    echo "db.sh: CORAAL is not set; using the synthetic stand-in corpus (generated in the CORAAL layout)." >&2
else
    standin=false
fi
export standin
