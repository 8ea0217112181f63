# shellcheck shell=bash source-path=SCRIPTDIR
# Corpus location (environment variable; a relative path is relative to where run.sh is
# called from). YESNO: the directory of Kaldi's yesno recordings (<0|1>_..._<0|1>.wav, from
# http://openslr.org/resources/1/waves_yesno.tar.gz, extracted). Default: the copy in the
# project's shared real-speech folder (../shared/real_speech/kaldi_yesno beside the repository).
# shellcheck source=../../TEMPLATE/corpus_dirs.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../TEMPLATE/corpus_dirs.sh"
YESNO=${YESNO:-}
if [ -z "${YESNO}" ] && [ -d "${USM_ROOT:-../../..}/../shared/real_speech/kaldi_yesno" ]; then
    YESNO=$(cd "${USM_ROOT:-../../..}/../shared/real_speech/kaldi_yesno" && pwd)
fi
corpus_dir YESNO
export YESNO
standin=false
export standin
