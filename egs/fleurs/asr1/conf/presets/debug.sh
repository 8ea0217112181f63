# shellcheck shell=bash disable=SC2034  # options read by run.sh
# Recipe test: 3 languages, a handful of sentences, a one-block model, BEST-RQ pre-training
# on a few untranscribed utterances, MOST from it (+ paired data + unspoken text), then
# fine-tuning from MOST (all 9 stages).
asr_config=conf/tuning/train_asr_debug.yaml
asr_tag=debug
ssl_config=conf/tuning/pretrain_best_rq_debug.yaml
most_config=conf/tuning/pretrain_most_debug.yaml
langs=en_us,ru_ru,hi_in
min_dur=0.1
decode_batch_size=4
local_data_opts="--standin_sentences 10 --standin_train_speakers 2 --standin_test_speakers 1 --standin_untranscribed 4 --standin_unspoken_text 20 --standin_dir standin/fleurs_debug"
data_dir=data_debug
dump_dir=dump_debug
exp_dir=exp_debug
results_md=RESULTS_debug.md
# Unseen language (stages 10-12): Swahili held out, adapted (full and adapters), one noisy-student round
adapt_langs=sw_ke
adapt_data_opts="--standin_dir standin/fleurs_debug_adapt"
pseudo_min_confidence=0.0
