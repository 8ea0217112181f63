# shellcheck shell=bash disable=SC2034  # options read by run.sh
# The demo (conf/presets/demo.sh) with twice the sentences and four times the steps: 600
# parallel sentences read in each of fr, de, es, ru (480 train / 60 dev / 60 test) and
# conf/tuning/train_st_demo_big.yaml (2,000 steps, narrower subsampling convolutions).
asr_config=conf/tuning/train_st_demo_big.yaml
asr_tag=demo_big
ssl_config=
inference_config=conf/decode_st.yaml
token_type=char
langs=fr,de,es,ru
local_data_opts="--standin_sentences 600 --standin_train_speakers 8 --standin_test_speakers 3 --standin_dir standin/covost2_demo_big"
data_dir=data_demo_big
dump_dir=dump_demo_big
exp_dir=exp_demo_big
inference_model=valid.acc.ave.pth   # average of the 3 checkpoints with the best validation accuracy
