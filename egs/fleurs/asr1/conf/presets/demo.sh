# make demo: the stand-in in its 13 default languages (6 scripts), a small Conformer, CPU.
asr_config=conf/tuning/train_asr_demo.yaml
asr_tag=demo
lang_token=false
decode_batch_size=16
decode_lang_mask=true
local_data_opts="--standin_sentences 400 --standin_train_speakers 12 --standin_test_speakers 4"
