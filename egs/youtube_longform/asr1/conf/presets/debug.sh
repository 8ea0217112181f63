# shellcheck shell=bash disable=SC2034  # options read by run.sh
# Recipe test: one language, a handful of sentences, recordings of 12 and 30 s, a one-block model.
asr_config=conf/tuning/train_asr_debug.yaml
langs=en_us
min_dur=0.1
local_data_opts="--standin_sentences 10 --standin_train_speakers 2 --standin_test_speakers 1 --longform_minutes 0.2,0.5 --standin_dir standin_debug"
data_dir=data_debug
dump_dir=dump_debug
exp_dir=exp_debug
results_md=RESULTS_debug.md
