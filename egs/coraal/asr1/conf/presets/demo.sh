# shellcheck shell=bash disable=SC2034  # options read by run.sh
# CPU demo on the stand-in: four components with six interviews each (four train, one dev, one
# test per component), the 2.6M-parameter chunk-wise Conformer (conf/tuning/train_asr_demo.yaml).
asr_config=conf/tuning/train_asr_demo.yaml
asr_tag=demo
local_data_opts="--standin_components ATL,DCB,PRV,ROC --standin_interviews 6 --standin_turns 24 --standin_dir standin/coraal_demo"
data_dir=data_demo
dump_dir=dump_demo
exp_dir=exp_demo
