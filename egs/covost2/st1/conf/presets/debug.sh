# shellcheck shell=bash disable=SC2034  # options read by run.sh
# Recipe test: 2 source languages, a handful of sentences, a one-block encoder and decoder
# trained from scratch for a few steps, characters, beam search with a short length limit.
asr_config=conf/tuning/train_st_debug.yaml
asr_tag=debug
ssl_config=
inference_config=conf/tuning/decode_st_debug.yaml
token_type=char
langs=fr,de
min_dur=0.1
local_data_opts="--standin_sentences 8 --standin_train_speakers 2 --standin_test_speakers 1 --standin_dir standin/covost2_debug"
data_dir=data_debug
dump_dir=dump_debug
exp_dir=exp_debug
results_md=RESULTS_debug.md
