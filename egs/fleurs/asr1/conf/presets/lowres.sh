# shellcheck shell=bash disable=SC2034  # options read by run.sh
# Low resource (local/pretrain_ablation.sh --preset lowres): four languages in three scripts,
# about 10 minutes of labelled speech per language (130 utterances), 10x as much
# untranscribed audio (1300 utterances per language) for BEST-RQ and 2000 unspoken-text
# sentences per language for MOST, all in the stand-in's `varied` acoustics (noise floor,
# background noise at 10-30 dB SNR on half the utterances, pauses, rate and pitch per
# utterance). From scratch: train_asr_lowres.yaml; from a pre-trained encoder:
# finetune_lowres.yaml (same steps); every run decodes its last checkpoint.
asr_config=conf/tuning/train_asr_lowres.yaml
ft_config=conf/tuning/finetune_lowres.yaml
asr_tag=lowres
ssl_config=conf/tuning/pretrain_best_rq_lowres.yaml
most_config=conf/tuning/pretrain_most_lowres.yaml
langs=en_us,ru_ru,hi_in,vi_vn
lang_token=false
decode_batch_size=16
decode_lang_mask=true
local_data_opts="--standin_sentences 250 --standin_train_speakers 12 --standin_test_speakers 4 --standin_untranscribed 1300 --standin_unspoken_text 2000 --standin_acoustics varied --max_utts_per_lang 130 --standin_dir standin/fleurs_lowres"
data_dir=data_lowres
dump_dir=dump_lowres
exp_dir=exp_lowres
results_md=exp_lowres/RESULTS.md
inference_model=latest.pth
asr_stats_config=conf/tuning/train_asr_lowres.yaml
