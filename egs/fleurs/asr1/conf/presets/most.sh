# shellcheck shell=bash disable=SC2034  # options read by run.sh
# BEST-RQ only vs BEST-RQ + MOST (local/most_ablation.sh): four languages in three scripts, the
# demo's model, 300 untranscribed utterances and 1000 unspoken-text sentences per language for
# pre-training, and a small labelled set (80 utterances per language) that is both MOST's paired
# stream and the fine-tuning data. BEST-RQ: 200 steps; MOST continues it for 200 steps
# (unspoken text from step 100); both fine-tunings: 300 steps. (CPU-sized: the shared
# configs' schedules are 600 / 600 steps.)
asr_config=conf/tuning/train_asr_demo.yaml
asr_tag=most80
asr_args="--max_epoch 3"
ssl_args="--max_epoch 1"
most_args="--max_epoch 2 --num_iters_per_epoch 100 --most_conf text_start_step=100"
ssl_config=../../../conf/pretrain/best_rq_tiny.yaml
most_config=../../../conf/pretrain/most_tiny.yaml
langs=en_us,ru_ru,hi_in,vi_vn
lang_token=false
decode_batch_size=16
decode_lang_mask=true
local_data_opts="--standin_sentences 400 --standin_train_speakers 12 --standin_test_speakers 4 --standin_untranscribed 300 --standin_unspoken_text 1000 --max_utts_per_lang 80 --standin_dir standin/fleurs_most"
data_dir=data_most
dump_dir=dump_most
exp_dir=exp_most
results_md=exp_most/RESULTS.md
# both fine-tunings are decoded at their last step (see conf/presets/pretrain.sh)
inference_model=latest.pth
