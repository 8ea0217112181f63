# shellcheck shell=bash disable=SC2034  # options read by run.sh
# Three heads and an unseen language (local/heads.sh): CTC, LAS and RNN-T on one encoder
# configuration (the demo's), four seen languages in three scripts; Swahili held out, adapted
# with about 10 minutes of labelled audio (full fine-tuning vs adapters), then a noisy student.
asr_config=conf/tuning/train_asr_demo.yaml
asr_tag=heads_ctc
langs=en_us,ru_ru,hi_in,vi_vn
lang_token=false
decode_batch_size=16
decode_lang_mask=true
local_data_opts="--standin_sentences 300 --standin_train_speakers 12 --standin_test_speakers 4 --standin_dir standin/fleurs_heads"
data_dir=data_heads
dump_dir=dump_heads
exp_dir=exp_heads
adapt_langs=sw_ke
adapt_data_opts="--standin_dir standin/fleurs_heads_adapt --standin_sentences 700 --max_utts_per_lang 220 --standin_untranscribed 600"
adapt_args="--max_epoch 6 --num_iters_per_epoch 100 --optim_conf lr=0.001 --scheduler_conf warmup_steps=100"
adapter_args="--optim_conf lr=0.003"
student_iterations=1
pseudo_min_confidence=0.6
