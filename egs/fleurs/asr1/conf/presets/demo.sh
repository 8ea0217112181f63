# shellcheck shell=bash disable=SC2034  # options read by run.sh
# make demo: the stand-in in its 13 default languages (6 scripts), a small Conformer, CPU.
asr_config=conf/tuning/train_asr_demo_c32.yaml
asr_tag=demo
lang_token=false
decode_batch_size=16
decode_lang_mask=true
# CTC prefix beam search with a 6-gram character LM per language, trained on the training
# transcripts when decoding starts (weight and bonus chosen on the dev set; RESULTS.md)
decode_token_lm_order=6
decode_token_lm_args="--token_lm_weight 0.8 --token_lm_bonus 2.0 --token_lm_beam 8"
local_data_opts="--standin_sentences 400 --standin_train_speakers 12 --standin_test_speakers 4"
# the demo's table and chart stay in its experiment directory (the recipe's RESULTS.md and
# results/*.png are tracked and not rewritten by it): exp/asr_demo/RESULTS.md and
# exp/asr_demo/results/asr_demo_test.png; the table is also printed at the end
results_md=exp/asr_demo/RESULTS.md
