# shellcheck shell=bash disable=SC2034  # options read by run.sh
# Stand-in demo on CPU: 4 source languages (fr, de, es, ru), 300 parallel sentences read in
# each, the demo encoder + attention decoder on characters, trained from scratch.
asr_config=conf/tuning/train_st_demo.yaml
asr_tag=demo
ssl_config=
inference_config=conf/decode_st.yaml
token_type=char
langs=fr,de,es,ru
local_data_opts="--standin_sentences 300 --standin_train_speakers 8 --standin_test_speakers 3 --standin_dir standin/covost2_demo"
data_dir=data_demo
dump_dir=dump_demo
exp_dir=exp_demo
inference_model=valid.acc.ave.pth   # average of the 3 checkpoints with the best validation accuracy
