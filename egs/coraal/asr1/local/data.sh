#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR/..
# CORAAL data preparation: <data_dir>/{train,dev,test} (segments of the interviews, split by
# interviewee within each component) and <data_dir>/test_longform (whole test interviews).
# With CORAAL set (db.sh) the real release is read; otherwise a synthetic stand-in is
# generated in the same layout first, and both go through prepare_coraal.
set -euo pipefail
langs=                       # unused: CORAAL is English (en_us); accepted from the template
nj=2                         # parallel jobs (stand-in synthesis)
data_dir=data                # output
components=                  # comma-separated components ("" = every one found)
speakers=all                 # all: interviewers' rows too; interviewee: interviewee rows only
max_unintelligible=0.5       # drop rows whose masked spans exceed this fraction
fractions=0.8,0.1,0.1        # interviewee fractions train,dev,test per component
on_error=skip                # bad rows/files: skip (counted in coraal_prep.json) or raise
standin_dir=standin/coraal   # where the stand-in corpus is written
standin_components=ATL,DCB,PRV,ROC   # stand-in components
standin_interviews=6         # stand-in interviews per component
standin_turns=20             # question/answer turns per stand-in interview
train_context_seconds=8       # train also on rows with their pauses, up to 8 s (one chunk); 0: off
seed=0
while [ $# -gt 0 ]; do
    name=${1#--}
    grep -qE "^${name}=" "$0" || { echo "local/data.sh: unknown option $1" >&2; exit 1; }
    [ $# -ge 2 ] || { echo "local/data.sh: option $1 needs a value" >&2; exit 1; }
    printf -v "${name}" '%s' "$2"; shift 2
done
if [ -n "${langs}" ] && [ "${langs}" != en_us ]; then
    echo "local/data.sh: CORAAL is English (en_us); --langs ${langs} is not available" >&2; exit 1
fi
. ./db.sh
py=${USM_PYTHON:-python3}
corpus=${CORAAL}
if [ -z "${corpus}" ]; then
    corpus=${standin_dir}
    ${py} -m usm_espnet.bin.make_standin_coraal --out_root "${standin_dir}" \
        --components "${standin_components}" --interviews_per_component "${standin_interviews}" \
        --turns_per_interview "${standin_turns}" --seed "${seed}" --nj "${nj}" --no_progress
fi
${py} -m usm_espnet.bin.prepare_coraal --corpus_dir "${corpus}" --out_dir "${data_dir}" \
    --components "${components}" --speakers "${speakers}" --fractions "${fractions}" \
    --max_unintelligible "${max_unintelligible}" --on_error "${on_error}" --seed "${seed}" \
    --train_context_seconds "${train_context_seconds}"
