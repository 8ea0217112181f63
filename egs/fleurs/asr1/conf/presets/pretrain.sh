# shellcheck shell=bash disable=SC2034  # options read by run.sh
# BEST-RQ on the stand-in (local/pretrain_ablation.sh): the demo's 13 languages and model,
# 300 untranscribed utterances per language for pre-training (600 steps), and a small
# labelled subset (80 utterances per language) for fine-tuning (500 steps).
asr_config=conf/tuning/train_asr_demo.yaml
asr_tag=pt80
asr_args="--max_epoch 5"
ssl_config=../../../conf/pretrain/best_rq_tiny.yaml
lang_token=false
decode_batch_size=16
decode_lang_mask=true
local_data_opts="--standin_sentences 400 --standin_train_speakers 12 --standin_test_speakers 4 --standin_untranscribed 300 --max_utts_per_lang 80 --standin_dir standin/fleurs_pretrain"
data_dir=data_pretrain
dump_dir=dump_pretrain
exp_dir=exp_pretrain
results_md=exp_pretrain/RESULTS.md
# compare all three at the same step: the last checkpoint, not the valid-loss average (for the
# pre-trained runs the lowest valid losses come from epochs still on the CTC blank plateau)
inference_model=latest.pth
