# shellcheck shell=bash disable=SC2034  # options read by run.sh
# The demo with fewer training steps, for a loaded 2-core machine: en_us and ru_ru, recordings
# of 1, 5, 15, 30 and 60 minutes, the 2.6M-parameter Conformer trained 500 steps per attention
# type on data/train_longform (short utterances + 8 s concatenations with pauses and noise).
langs=en_us,ru_ru
local_data_opts="--standin_sentences 400 --standin_train_speakers 12 --standin_test_speakers 4"
data_dir=data_small
dump_dir=dump_small
exp_dir=exp_small
asr_args="--max_epoch 5"
