# shellcheck shell=bash disable=SC2034  # options read by run.sh and local/pretrain_ablation.sh
# Recipe test of the low-resource ablation (local/pretrain_ablation.sh --preset lowres_debug):
# conf/presets/lowres.sh's path (varied acoustics, BEST-RQ N=16 and N=1, MOST, scratch and
# fine-tuning recipes, curves, the report) at the debug preset's sizes, in a few minutes.
asr_config=conf/tuning/train_asr_debug.yaml
ft_config=conf/tuning/finetune_debug.yaml
asr_stats_config=conf/tuning/train_asr_debug.yaml
asr_tag=lowres_debug
ssl_config=conf/tuning/pretrain_best_rq_debug.yaml
most_config=conf/tuning/pretrain_most_debug.yaml
langs=en_us,ru_ru,hi_in
min_dur=0.1
decode_batch_size=4
local_data_opts="--standin_sentences 10 --standin_train_speakers 2 --standin_test_speakers 1 --standin_untranscribed 8 --standin_unspoken_text 20 --standin_acoustics varied --max_utts_per_lang 6 --standin_dir standin/fleurs_lowres_debug"
data_dir=data_lowres_debug
dump_dir=dump_lowres_debug
exp_dir=exp_lowres_debug
results_md=exp_lowres_debug/RESULTS.md
ablation_results=exp_lowres_debug/RESULTS.md
ablation_plots=exp_lowres_debug/results
inference_model=latest.pth
