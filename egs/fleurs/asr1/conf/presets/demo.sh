# shellcheck shell=bash disable=SC2034  # options read by run.sh
# make demo: the stand-in in its 13 default languages (6 scripts), a small Conformer, CPU.
asr_config=conf/tuning/train_asr_demo.yaml
asr_tag=demo
lang_token=false
decode_batch_size=16
decode_lang_mask=true
local_data_opts="--standin_sentences 400 --standin_train_speakers 12 --standin_test_speakers 4"
# the demo's table and chart stay in its experiment directory (the recipe's RESULTS.md and
# results/*.png are tracked and not rewritten by it): exp/asr_demo/RESULTS.md and
# exp/asr_demo/results/asr_demo_test.png; the table is also printed at the end
results_md=exp/asr_demo/RESULTS.md
