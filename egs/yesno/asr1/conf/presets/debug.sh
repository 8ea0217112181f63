# shellcheck shell=bash disable=SC2034  # options read by run.sh
# The sanity run: every stage, 20 training steps (far from the full run's WER).
asr_args="--max_epoch 2"
data_dir=data_debug
dump_dir=dump_debug
exp_dir=exp_debug
results_md=RESULTS_debug.md
