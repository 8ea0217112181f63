# shellcheck shell=bash
# shellcheck disable=SC2034  # the options are read by asr.sh (and its stage files) and the recipes' run.sh
# Options of the stage template (egs/TEMPLATE/asr.sh, with its stages 4-5 in pretrain_stages.sh
# and 10-12 in adapt_stages.sh), sourced by asr.sh and by each recipe's run.sh before
# parse_options.sh. One option per line, declared as `name=default  # what it is`:
# parse_options.sh accepts exactly the names declared this way (in this file and in the
# calling script), and --help lists them with their effective values.
# General
stage=1                 # first stage to run
stop_stage=100          # last stage to run
force=false             # rerun stages even when their .done marker exists
preset=                 # conf/presets/<name>.sh of the recipe: a bundle of the options below
nj=2                    # parallel jobs for data preparation and synthesis
ngpu=0                  # GPUs for training/decoding (0: CPU); >1 uses ESPnet's DDP
python=${USM_PYTHON:-python3}   # interpreter of the usm-espnet venv
# Data
corpus=                 # corpus name (fleurs, covost2, ...), used in titles and paper values
langs=                  # comma-separated language codes ("" = the recipe's default)
local_data_opts=        # extra options passed to local/data.sh
train_set=train         # training data dir name under data/
valid_set=dev           # validation data dir name
test_sets="test"        # space-separated evaluation sets
longform_sets=          # space-separated sets of long recordings: decoded window by window, scored by length
min_dur=0.3             # drop utterances shorter than this (s) at the format stage
max_dur=20              # drop utterances longer than this (s)
data_dir=data           # Kaldi data dirs written by stage 1
dump_dir=dump           # formatted (16 kHz, filtered) data dirs
exp_dir=exp             # experiments
# Tokens
token_type=char         # char (graphemes, as USM on FLEURS) or bpe (SentencePiece)
nbpe=4000               # SentencePiece vocabulary size when token_type=bpe
lang_token=false        # prefix each transcript with a language-id token (<en_us>)
# Pre-training (BEST-RQ); with ssl_config empty the ASR model starts from scratch
ssl_config=             # BEST-RQ yaml (e.g. conf/pretrain/*.yaml): stages 4-5 pretrain, stage 7 fine-tunes from it
ssl_tag=                # pre-training experiment name (default: from ssl_config's file name)
ssl_args=               # extra options for usm_espnet.bin.ssl_train (e.g. "--model_conf num_quantizers=1")
ssl_train_set=untranscribed  # data dir of the pre-training audio (no text needed)
ssl_model=valid.loss.ave.pth # pre-trained checkpoint whose encoder initialises the ASR encoder
# MOST (USM's multi-objective supervised pre-training), after BEST-RQ; needs --ssl_config
most_config=            # MOST yaml (e.g. conf/pretrain/most_tiny.yaml): stage 5 continues the BEST-RQ model with MOST, stage 7 fine-tunes from it
most_tag=               # MOST experiment name (default: from most_config's file name)
most_args=              # extra options for usm_espnet.bin.most_train
most_text_set=unspoken_text  # data dir of the unspoken text (text only; local/data.sh writes it)
most_model=valid.loss.ave.pth # MOST checkpoint whose encoder initialises the ASR encoder
most_init_ctc=true      # stage 7 from MOST also loads MOST's CTC head (trained on the paired stream with the same token list); false: the encoder only
# Open pre-trained weights (instead of pre-training): python -m usm_espnet.bin.import_encoder writes DIR
init_encoder=           # DIR of an imported encoder (e.g. w2v-BERT 2.0): stage 7 fine-tunes its frontend + encoder (model: usm, encoder_lr_scale, head_warmup_steps)
# Model / training / decoding
asr_config=             # ESPnet training yaml
asr_tag=                # experiment name (default: from asr_config's file name)
asr_args=               # extra options for usm_espnet.bin.asr_train
inference_model=valid.loss.ave.pth  # checkpoint decoded by stage 8
decode_batch_size=8     # utterances per batch for greedy CTC decoding
decode_lang_mask=false  # restrict each test utterance's output to its language's tokens (language known)
decode_token_lm_order=0    # >0: CTC prefix beam search + a token n-gram LM of this order trained on the training transcripts (per language with decode_lang_mask); 0: greedy CTC
decode_token_lm_args=      # options of that search (e.g. "--token_lm_weight 0.5 --token_lm_bonus 1.0 --token_lm_beam 8")
inference_args=         # extra options for usm_espnet.bin.asr_inference
inference_config=       # ESPnet decoding yaml: beam search (LAS, RNN-T heads); "" = batched greedy CTC
asr_stats_config=       # yaml whose frontend stage 6 collects statistics with ("" = asr_config; heads share them)
longform_args=          # extra options for usm_espnet.bin.longform_inference (e.g. "--mode fast")
# Unseen languages (stages 10-12): held out of stages 1-9's training, then adapted
adapt_langs=            # comma-separated languages to adapt to ("" = no stages 10-12)
adapt_data_opts=        # extra local/data.sh options for their data (e.g. "--max_utts_per_lang 150")
adapt_args=             # extra asr_train options of every adaptation and student run (steps, lr)
adapter_args=           # extra asr_train options of the adapter runs only
student_iterations=1    # noisy-student rounds: teacher decodes untranscribed audio, filter, student trains
student_teacher=full    # first teacher: the full fine-tuned (full) or the adapter (adapters) model
student_args=           # extra asr_train options of the students (they get SpecAugment + noise_scp noise)
pseudo_min_confidence=0.5  # pseudo-labels below this CTC confidence are dropped (usm_espnet.decode.confidence)
noise_scp=              # noise list for the students' additive noise ("" = synthetic colored noise)
paper=                  # key of the paper's results for RESULTS.md (e.g. fleurs)
metric=wer              # wer (WER/CER per language) or bleu (BLEU/chrF per source language, speech translation)
standin=false           # true when data come from the synthetic stand-in (labels RESULTS.md)
results_md=RESULTS.md   # recipe-level results file that stage 9 updates
local_score_opts=       # extra options of the recipe's own scoring, local/score.sh (run by stage 9 when the recipe has one)


# Options whose value is a path: given on the command line as a relative path they are
# resolved against the caller's directory (run.sh changes into the recipe directory).
template_path_opts="asr_config asr_stats_config ssl_config most_config init_encoder inference_config noise_scp data_dir dump_dir exp_dir results_md"
template_int_opts="stage stop_stage nj ngpu nbpe decode_batch_size decode_token_lm_order student_iterations"

# The stage table of --help.
help_stages() {
    cat <<EOM
Stages:
  1  data preparation      local/data.sh -> ${data_dir}/{train,dev,test} (Kaldi dirs)
  2  format / validate     resample to 16 kHz mono, duration filter -> ${dump_dir}/raw
  3  token list            graphemes or SentencePiece (+ language tokens), shared by all languages
  4  pre-training data     (with --ssl_config) format ${data_dir}/${ssl_train_set}, collect_stats
  5  pre-training          (with --ssl_config) BEST-RQ: python -m usm_espnet.bin.ssl_train; then (with
                           --most_config) MOST from it: untranscribed + paired + unspoken text (most_train)
  6  statistics            ESPnet collect_stats (feature mean/var, shapes)
  7  training              python -m usm_espnet.bin.asr_train (encoder from stage 5 with --ssl_config:
                           BEST-RQ's, or MOST's with --most_config; or the imported one of --init_encoder)
  8  decoding              python -m usm_espnet.bin.asr_inference (long-form sets: longform_inference)
  9  scoring               WER/CER per language (jiwer), RESULTS.md and a bar chart (long-form: WER vs length)
                           then the recipe's local/score.sh, when it has one (e.g. WER per component)
 10  adaptation            (with --adapt_langs) per unseen language, from stage 7's model: full fine-tuning
                           and residual adapters on the frozen encoder (adapters saved as <lang>.pth)
 11  adaptation results    decode + score zero-shot, full and adapters; table with trainable parameters
 12  noisy student         teacher decodes untranscribed audio, confidence filter, student trains on
                           labelled + pseudo-labelled data with SpecAugment and noise; iterated
EOM
}

# derive_names: the experiment names and directories the options imply (asr_tag, ssl_tag,
# most_tag, ssl_exp, ssl_stats_dir, most_exp, asr_exp); run.sh calls it for its own reports.
derive_names() {
    [ -n "${asr_tag}" ] || asr_tag=$(basename "${asr_config}" .yaml)
    if [ -n "${init_encoder}" ]; then  # a fine-tuned model never overwrites the scratch one
        asr_tag=${asr_tag}_ft_$(basename "${init_encoder%/}")
    fi
    ssl_exp=""; ssl_stats_dir=""; most_exp=""
    if [ -n "${ssl_config}" ]; then
        [ -n "${ssl_tag}" ] || ssl_tag=$(basename "${ssl_config}" .yaml)
        ssl_exp=${exp_dir}/ssl_${ssl_tag}
        # one statistics dir per pre-training yaml (the frontend), shared by its variants
        ssl_stats_dir=${exp_dir}/ssl_stats_$(basename "${ssl_config}" .yaml)
        asr_tag=${asr_tag}_ft_${ssl_tag}   # a fine-tuned model never overwrites the scratch one
    fi
    if [ -n "${most_config}" ]; then
        [ -n "${most_tag}" ] || most_tag=$(basename "${most_config}" .yaml)
        most_exp=${exp_dir}/most_${most_tag}_from_${ssl_tag}
        asr_tag=${asr_tag%_ft_"${ssl_tag}"}_ft_${most_tag}_from_${ssl_tag}
    fi
    asr_exp=${exp_dir}/asr_${asr_tag}
}
