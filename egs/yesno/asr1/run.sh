#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2034  # the options are read indirectly (forward_args: ${!name})
# Kaldi's yesno (OpenSLR 1): real speech, one speaker, 8 kHz, "yes"/"no" x 8 per recording;
# Kaldi's split (31 train, 29 test). The smallest real-speech run of the stage template
# (as ESPnet's mini_an4): a small Conformer/CTC on graphemes, a few minutes on 2 CPU cores.
#   ./run.sh                        # YESNO=/path/to/waves_yesno, default ../shared/real_speech/kaldi_yesno
#   ./run.sh --stage 7 --stop_stage 9
# Options: ./run.sh --help (the stage template's, egs/TEMPLATE/asr_options.sh).
set -euo pipefail
# relative paths on the command line (and in YESNO=...) are relative to the caller's directory
caller_dir=${PWD}
cd "$(dirname "$0")"
. ./path.sh
. ../../TEMPLATE/asr_options.sh
. ./db.sh

# this recipe's defaults of the template's options
corpus=yesno
asr_config=conf/train_asr.yaml
inference_model=latest.pth
decode_batch_size=8

opt_files=(run.sh ../../TEMPLATE/asr_options.sh)
path_opts=${template_path_opts}
int_opts=${template_int_opts}
. ../../TEMPLATE/parse_options.sh

forward_args ../../TEMPLATE/asr_options.sh
../../TEMPLATE/asr.sh "${fwd_args[@]}"
