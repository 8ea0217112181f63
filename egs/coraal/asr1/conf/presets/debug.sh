# shellcheck shell=bash disable=SC2034  # options read by run.sh
# Recipe test: two components with three short interviews each (one per split), a one-block
# chunk-wise model trained a few steps; segments and whole interviews decoded and scored.
asr_config=conf/tuning/train_asr_debug.yaml
asr_tag=debug
min_dur=0.1
decode_batch_size=8
local_data_opts="--standin_components ATL,DCB --standin_interviews 3 --standin_turns 4 --standin_dir standin/coraal_debug"
data_dir=data_debug
dump_dir=dump_debug
exp_dir=exp_debug
results_md=RESULTS_debug.md
