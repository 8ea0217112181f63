# shellcheck shell=bash disable=SC2034  # options read by run.sh
# CPU demo: two of the paper's four languages, recordings of 1, 5, 15, 30 and 60 minutes,
# the 2.6M-parameter Conformer trained 800 steps per attention type.
langs=en_us,ru_ru
local_data_opts="--standin_sentences 400 --standin_train_speakers 12 --standin_test_speakers 4"
data_dir=data_demo
dump_dir=dump_demo
exp_dir=exp_demo
asr_args="--max_epoch 8"
