#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Shared stage template for usm-espnet ASR recipes (called by egs/<corpus>/<task>/run.sh,
# from the recipe directory).
#
# This file is the driver: the options and their checks, the stage machinery (markers,
# training, decoding, scoring helpers) and the ASR stages 1-3 (data, format, token list) and
# 6-9 (statistics, training, decoding, scoring). Two parts live in files it sources where
# their stages fall in the order:
#   pretrain_stages.sh  stages 4-5: BEST-RQ pre-training and MOST (with --ssl_config/--most_config)
#   adapt_stages.sh     stages 10-12: unseen languages: full fine-tuning, adapters, noisy student
# The options each stage's marker records are listed here for all twelve (options_of_stage).
#
# Every stage is idempotent: it writes into a temporary place, renames when
# complete and leaves a marker (<dir>/.done.stage<N>), so a rerun skips finished
# stages unless --force true. A marker records the options of its stage and the
# markers of the stages whose output it read; a stage whose input has been redone
# since is redone. Stage bodies live in Python (python -m usm_espnet.bin.*).
# A recipe's own steps are hooks in its directory, as in ESPnet's egs2: local/data.sh (stage 1)
# and, when it exists, local/score.sh (stage 9, after the template's scoring).
set -euo pipefail

log() { echo -e "$(date '+%Y-%m-%dT%H:%M:%S') (${BASH_SOURCE[1]##*/}:${BASH_LINENO[0]}) $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

template_dir=$(dirname "${BASH_SOURCE[0]}")
# ----------------------------------------------------------------- options
# declared (with their comments) in asr_options.sh; parsed Kaldi-style by parse_options.sh
# shellcheck source=asr_options.sh
. "${template_dir}/asr_options.sh"
opt_files=("${template_dir}/asr_options.sh")
path_opts=${template_path_opts}
int_opts=${template_int_opts}
# shellcheck source=parse_options.sh
. "${template_dir}/parse_options.sh"

# need_file OPTION: the file named by --OPTION exists, else one line saying where it was looked for
need_file() {
    local v=${!1}
    [ -f "${v}" ] && return 0
    if [ -d "${v}" ]; then die "--$1 ${v} is a directory, not a file"; fi
    case ${v} in /*) die "--$1 ${v}: no such file" ;;
                 *) die "--$1 ${v}: no such file (looked for $(pwd)/${v})" ;; esac
}
[ -n "${asr_config}" ] || die "--asr_config is required"
need_file asr_config
if [ -n "${ssl_config}" ]; then
    need_file ssl_config
fi
if [ -n "${most_config}" ]; then
    [ -n "${ssl_config}" ] || die "--most_config needs --ssl_config: MOST starts from the BEST-RQ model of stage 5"
    need_file most_config
fi
if [ -n "${init_encoder}" ]; then
    [ -z "${ssl_config}" ] || die "--init_encoder and --ssl_config both give the encoder's start: pass --ssl_config \"\" --most_config \"\" to fine-tune the imported encoder"
    [ -d "${init_encoder}" ] || die "--init_encoder ${init_encoder}: no such directory (python -m usm_espnet.bin.import_encoder --source ... --out_dir DIR writes one)"
fi
derive_names
[ -z "${asr_stats_config}" ] && asr_stats_config=${asr_config}
need_file asr_stats_config
[ -z "${inference_config}" ] || need_file inference_config
[ -z "${noise_scp}" ] || need_file noise_scp
IFS=, read -r -a adapt_lang_list <<< "${adapt_langs}"
adapt_dir=${asr_exp}/adapt
case "${student_teacher}" in full|adapters) ;; *) die "--student_teacher must be full or adapters" ;; esac
case "${metric}" in wer|bleu) ;; *) die "--metric must be wer or bleu, got '${metric}'" ;; esac
case "${most_init_ctc}" in true|false) ;; *) die "--most_init_ctc must be true or false, got '${most_init_ctc}'" ;; esac
stats_dir=${exp_dir}/asr_stats_${token_type}
standin_mark=""   # in the titles of tables and plots of stand-in numbers
[ "${standin}" = true ] && standin_mark=" (synthetic stand-in)"
scored=false
token_dir=${data_dir}/token_list/${token_type}
token_list=${token_dir}/tokens.txt
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(nproc)}

# The options each stage's output depends on; kept in its .done marker so that a
# rerun with different options stops instead of silently reusing stale output.
# (Paths under the recipe directory are written relative to it.)
signature() { local s; s=$(options_of_stage "$1"); echo "${s//"${PWD}/"/}"; }
options_of_stage() {
    case $1 in
        1) echo "langs=${langs} local_data_opts=${local_data_opts} adapt_langs=${adapt_langs} adapt_data_opts=${adapt_data_opts}" ;;
        2) echo "min_dur=${min_dur} max_dur=${max_dur} lang_token=${lang_token} adapt_langs=${adapt_langs}" ;;
        3) echo "token_type=${token_type} nbpe=${nbpe} lang_token=${lang_token} adapt_langs=${adapt_langs}${most_config:+ most_text_set=${most_text_set}}" ;;
        4) echo "ssl_config=${ssl_config} ssl_train_set=${ssl_train_set} min_dur=${min_dur} max_dur=${max_dur}" ;;
        5) echo "ssl_config=${ssl_config} ssl_args=${ssl_args} ssl_train_set=${ssl_train_set}" ;;
        5most) echo "most_config=${most_config} most_args=${most_args} most_text_set=${most_text_set} ssl_model=$(options_of_stage 5)" ;;
        6) echo "asr_config=${asr_stats_config} token_type=${token_type} lang_token=${lang_token}" ;;
        7) echo "asr_config=${asr_config} asr_args=${asr_args} init_encoder=${init_encoder}${init_encoder:+ import=$(fingerprint "${init_encoder}/import_info.json")} ssl_config=${ssl_config} ssl_args=${ssl_args} ssl_model=${ssl_model} ssl_train_set=${ssl_train_set}${most_config:+ $(options_of_stage 5most) most_model=${most_model} most_init_ctc=${most_init_ctc}}" ;;
        8) echo "inference_model=${inference_model} decode_lang_mask=${decode_lang_mask} decode_token_lm_order=${decode_token_lm_order} decode_token_lm_args=${decode_token_lm_args} inference_args=${inference_args} inference_config=${inference_config} longform_sets=${longform_sets} longform_args=${longform_args}" ;;
        9) echo "${local_score_opts:+local_score_opts=${local_score_opts}}" ;;
        10) echo "adapt_langs=${adapt_langs} adapt_args=${adapt_args} adapter_args=${adapter_args} inference_model=${inference_model}" ;;
        11) echo "adapt_langs=${adapt_langs} inference_config=${inference_config} inference_args=${inference_args}" ;;
        12) echo "adapt_langs=${adapt_langs} student_iterations=${student_iterations} student_teacher=${student_teacher} student_args=${student_args} pseudo_min_confidence=${pseudo_min_confidence} noise_scp=${noise_scp}" ;;
        *) echo "" ;;
    esac
}
# fingerprint FILE: a checksum of a marker (its time and options), "none" when it is missing
fingerprint() { if [ -f "$1" ]; then cksum < "$1" | tr ' ' _; else echo none; fi; }
# changed_input MARKER: the first input marker recorded in MARKER (lines "input SUM PATH")
# that is gone or has changed since (its stage was redone); empty when none
changed_input() {
    local tag sum path
    while read -r tag sum path; do
        [ "${tag}" = input ] || continue
        if [ "$(fingerprint "${path}")" != "${sum}" ]; then echo "${path}"; return 0; fi
    done < <(sed -n '3,$p' "$1")
}
# run_stage N DIR [KEY]: true when stage N is selected and DIR has no marker, --force, or
# the output of a stage it read has been redone since; KEY names the signature when a
# stage has parts with their own options (5most). Sets stage_forced when finished output
# is redone (training then starts over instead of resuming).
stage_forced=false
run_stage() {
    local n=$1 dir=$2 key=${3:-$1}
    [ "${stage}" -le "${n}" ] && [ "${stop_stage}" -ge "${n}" ] || return 1
    stage_forced=${force}
    if [ -f "${dir}/.done.stage${n}" ] && [ "${force}" != true ]; then
        local was changed
        was=$(sed -n 2p "${dir}/.done.stage${n}")
        if [ "${was}" != "$(signature "${key}")" ]; then
            die "Stage ${n} was done in ${dir} with other options (${was}); now: $(signature "${key}"). Use --force true to redo it, or other --data_dir/--dump_dir/--exp_dir/--asr_tag."
        fi
        changed=$(changed_input "${dir}/.done.stage${n}")
        if [ -z "${changed}" ]; then
            log "Stage ${n}: already done (${dir}/.done.stage${n}); --force true reruns it"
            return 1
        fi
        log "Stage ${n}: redoing it: its input changed since it was done (${changed} was redone or removed)"
        stage_forced=true
    fi
    # the stage runs: its old marker goes first, so a run killed midway (even with
    # --force over finished output) never leaves a marker that vouches for half-written output
    rm -f "${dir}/.done.stage${n}"
    return 0
}
# need N DIR: stop unless stage N has finished in DIR (what this stage reads); the marker
# is recorded as an input of the running stage
consumed=()
need() {
    [ -f "$2/.done.stage$1" ] || die "stage $1 has not finished in $2 (no $2/.done.stage$1; a stage killed midway leaves none): run --stage $1 first"
    consumed+=("$2/.done.stage$1")
}
# mark_done N DIR [KEY]: the marker: time, options, and the input markers' fingerprints
mark_done() {
    local m
    mkdir -p "$2"
    { date '+%s.%N'; signature "${3:-$1}"
      for m in "${consumed[@]}"; do echo "input $(fingerprint "${m}") ${m}"; done
    } > "$2/.done.stage$1.tmp"
    mv "$2/.done.stage$1.tmp" "$2/.done.stage$1"
}
stage_start=0
begin() { stage_start=$(date +%s); consumed=(); log "Stage $1: $2"; }
end_stage() { log "Stage $1 finished in $(( $(date +%s) - stage_start )) s"; mark_done "$1" "$2" "${3:-$1}"; }

# train N EXP CONFIG CMD: ESPnet training into EXP (CONFIG copied to EXP/train_config.input.yaml,
# which CMD reads) with a resume.sh; --force moves an old EXP aside first.
train() {
    local n=$1 exp=$2 config=$3 cmd=$4
    if [ "${stage_forced}" = true ] && [ -d "${exp}" ]; then
        log "redoing stage ${n}: moving the old ${exp} to ${exp}.old"
        rm -rf "${exp}.old" && mv "${exp}" "${exp}.old"
    fi
    mkdir -p "${exp}"
    cp "${config}" "${exp}/train_config.input.yaml"
    # A script that resumes (or reruns) this exact training from the recipe directory.
    { echo "#!/usr/bin/env bash"; echo "# Resume training of ${exp} (written by stage ${n})"
      echo "set -euo pipefail"; printf 'cd %q\n' "$(pwd)"
      printf 'export PYTHONPATH=%q\n' "${PYTHONPATH:-}"
      echo "${cmd} \"\$@\" >> ${exp}/train.log 2>&1"; } > "${exp}/resume.sh"
    chmod +x "${exp}/resume.sh"
    log "log: ${exp}/train.log (resume: ${exp}/resume.sh)"
    # shellcheck disable=SC2086
    ${cmd} >> "${exp}/train.log" 2>&1 \
        || { grep -v Warning "${exp}/train.log" | tail -20 >&2; die "training failed; see ${exp}/train.log"; }
    grep -E "[0-9]+epoch results:" "${exp}/train.log" | tail -3 | cut -c1-400 >&2 || true
}
ddp_opts=""
[ "${ngpu}" -gt 1 ] && ddp_opts="--multiprocessing_distributed true"

# --init_encoder: stage 7's training yaml is asr_config with the imported frontend, encoder and
# init_param (usm_espnet.nets.init_encoder), merged and checked against the weights' shapes now,
# before any stage runs, so that a mismatch stops the run at once (one ERROR line).
ft_config=""
if [ -n "${init_encoder}" ] && [ "${stage}" -le 7 ] && [ "${stop_stage}" -ge 7 ]; then
    ft_config=$(mktemp "${TMPDIR:-/tmp}/usm_init_encoder.XXXXXX")
    trap 'rm -f "${ft_config}"' EXIT
    ${python} -m usm_espnet.bin.init_encoder_config --init_encoder "${init_encoder}" \
        --config "${asr_config}" --args "${asr_args}" --out "${ft_config}" 2> "${ft_config}.log" \
        || { grep -m1 '^ERROR: ' "${ft_config}.log" >&2 || tail -3 "${ft_config}.log" >&2; rm -f "${ft_config}.log"; exit 1; }
    while IFS= read -r line; do log "${line}"; done < "${ft_config}.log"
    rm -f "${ft_config}.log"
fi

tokenized_opts="--token_type ${token_type} --token_list ${token_list}"
[ "${token_type}" = bpe ] && tokenized_opts+=" --bpemodel ${token_dir}/bpe.model"
[ "${lang_token}" = true ] && tokenized_opts+=" --non_linguistic_symbols ${token_dir}/lang_tokens.txt"

if run_stage 1 "${data_dir}"; then
    begin 1 "data preparation (local/data.sh ${local_data_opts})"
    # shellcheck disable=SC2086
    local/data.sh --langs "${langs}" --nj "${nj}" --data_dir "${data_dir}" ${local_data_opts}
    for s in ${train_set} ${valid_set} ${test_sets} ${longform_sets}; do
        ${python} -m usm_espnet.bin.validate_data_dir "${data_dir}/${s}"
    done
    if [ -n "${adapt_langs}" ]; then
        log "unseen languages ${adapt_langs}: data in ${data_dir}/adapt (held out of stages 2-9's training)"
        for l in "${adapt_lang_list[@]}"; do
            if cut -d' ' -f2 "${data_dir}/${train_set}/utt2lang" | grep -qx "${l}"; then
                die "--adapt_langs ${l} is also in ${data_dir}/${train_set}: an unseen language must be left out of --langs"
            fi
        done
        # shellcheck disable=SC2086
        local/data.sh --langs "${adapt_langs}" --nj "${nj}" --data_dir "${data_dir}/adapt" \
            ${local_data_opts} ${adapt_data_opts}
        for s in ${train_set} ${valid_set} ${test_sets}; do
            ${python} -m usm_espnet.bin.validate_data_dir "${data_dir}/adapt/${s}"
        done
    fi
    end_stage 1 "${data_dir}"
fi

if run_stage 2 "${dump_dir}/raw"; then
    begin 2 "format: 16 kHz mono, ${min_dur}-${max_dur} s"
    need 1 "${data_dir}"
    for s in ${train_set} ${valid_set} ${test_sets}; do
        ${python} -m usm_espnet.bin.format_data --in_dir "${data_dir}/${s}" \
            --out_dir "${dump_dir}/raw/${s}" --min_dur "${min_dur}" --max_dur "${max_dur}" \
            --lang_token "${lang_token}" --nj "${nj}"
    done
    for l in "${adapt_lang_list[@]}"; do  # one dir per unseen language
        for s in ${train_set} ${valid_set} ${test_sets}; do
            ${python} -m usm_espnet.bin.format_data --in_dir "${data_dir}/adapt/${s}" \
                --out_dir "${dump_dir}/raw/adapt_${l}/${s}" --min_dur "${min_dur}" --max_dur "${max_dur}" \
                --lang_token "${lang_token}" --nj "${nj}" --langs "${l}"
        done
        if [ -f "${data_dir}/adapt/${ssl_train_set}/wav.scp" ]; then  # for the noisy student
            ${python} -m usm_espnet.bin.format_data --in_dir "${data_dir}/adapt/${ssl_train_set}" \
                --out_dir "${dump_dir}/raw/adapt_${l}/untranscribed" --min_dur "${min_dur}" \
                --max_dur "${max_dur}" --require_text false --nj "${nj}" --langs "${l}"
        fi
    done
    end_stage 2 "${dump_dir}/raw"
fi

if run_stage 3 "${token_dir}"; then
    begin 3 "token list (${token_type}, language tokens: ${lang_token})"
    need 2 "${dump_dir}/raw"
    [ -z "${most_config}" ] || need 1 "${data_dir}"   # the unspoken text
    # With unseen languages their labelled text joins the list (their characters get output
    # units; the model of stage 7 never sees them as targets).
    # With MOST the unspoken text joins it too: the text stream is tokenised with this list.
    tok_in=${dump_dir}/raw/${train_set}
    if [ -n "${most_config}" ] && [ ! -f "${data_dir}/${most_text_set}/text" ]; then
        die "--most_config needs unspoken text in ${data_dir}/${most_text_set} (python -m usm_espnet.bin.prepare_unspoken_text --root <dir of <lang>.txt> --out_dir ${data_dir}/${most_text_set}; the stand-in writes it with local/data.sh --standin_unspoken_text N)"
    fi
    if [ -n "${adapt_langs}" ] || [ -n "${most_config}" ]; then
        tok_in=${dump_dir}/token_input
        mkdir -p "${tok_in}"
        for f in text utt2lang; do
            { cat "${dump_dir}/raw/${train_set}/${f}"
              for l in "${adapt_lang_list[@]}"; do cat "${dump_dir}/raw/adapt_${l}/${train_set}/${f}"; done
              [ -z "${most_config}" ] || cat "${data_dir}/${most_text_set}/${f}"
            } | LC_ALL=C sort > "${tok_in}/${f}"
        done
    fi
    ${python} -m usm_espnet.bin.make_token_list --text "${tok_in}/text" \
        --utt2lang "${tok_in}/utt2lang" --out_dir "${token_dir}" \
        --token_type "${token_type}" --nbpe "${nbpe}" --lang_token "${lang_token}"
    end_stage 3 "${token_dir}"
fi

# ------------------------------------------------ pre-training (stages 4-5): pretrain_stages.sh
# (defines bestrq_health, which stage 7 calls again when it fine-tunes from the BEST-RQ model)
# shellcheck source=pretrain_stages.sh
. "${template_dir}/pretrain_stages.sh"

train_data_opts="--train_data_path_and_name_and_type ${dump_dir}/raw/${train_set}/wav.scp,speech,sound \
    --train_data_path_and_name_and_type ${dump_dir}/raw/${train_set}/text,text,text \
    --valid_data_path_and_name_and_type ${dump_dir}/raw/${valid_set}/wav.scp,speech,sound \
    --valid_data_path_and_name_and_type ${dump_dir}/raw/${valid_set}/text,text,text"

if run_stage 6 "${stats_dir}"; then
    begin 6 "statistics -> ${stats_dir}"
    need 2 "${dump_dir}/raw"; need 3 "${token_dir}"
    rm -rf "${stats_dir}.tmp"; mkdir -p "$(dirname "${stats_dir}")"
    # shellcheck disable=SC2086
    ${python} -m usm_espnet.bin.asr_train --collect_stats true --config "${asr_stats_config}" \
        ${tokenized_opts} ${train_data_opts} --ngpu 0 --num_workers 0 \
        --train_shape_file "${dump_dir}/raw/${train_set}/utt2num_samples" \
        --valid_shape_file "${dump_dir}/raw/${valid_set}/utt2num_samples" \
        --output_dir "${stats_dir}.tmp" > "${stats_dir}.log" 2>&1 \
        || { tail -20 "${stats_dir}.log" >&2; die "collect_stats failed; see ${stats_dir}.log"; }
    rm -rf "${stats_dir}" && mv "${stats_dir}.tmp" "${stats_dir}"
    mv "${stats_dir}.log" "${stats_dir}/collect_stats.log"
    end_stage 6 "${stats_dir}"
fi

# Features are normalised with the statistics the encoder was trained with (stages 7, 10, 12);
# an imported encoder's frontend normalises itself (its yaml says normalize: null).
mvn_stats=${stats_dir}/train/feats_stats.npz
[ -n "${ssl_config}" ] && mvn_stats=${ssl_stats_dir}/train/feats_stats.npz
norm_opts="--normalize global_mvn --normalize_conf stats_file=${mvn_stats}"
[ -n "${init_encoder}" ] && norm_opts=""

if run_stage 7 "${asr_exp}"; then
    begin 7 "training -> ${asr_exp}"
    need 2 "${dump_dir}/raw"; need 3 "${token_dir}"; need 6 "${stats_dir}"
    init_opts=""
    if [ -n "${ssl_config}" ]; then
        pt_exp=${ssl_exp}; pt_model=${ssl_model}
        [ -n "${most_config}" ] && { pt_exp=${most_exp}; pt_model=${most_model}; }
        need 5 "${pt_exp}"
        [ -f "${pt_exp}/${pt_model}" ] || die "no ${pt_exp}/${pt_model}: run stage 5 first"
        ${python} -m usm_espnet.bin.check_encoder_compat --pretrained "${pt_exp}/config.yaml" \
            --config "${asr_config}" --args "${asr_args}" || die "the encoder of ${asr_config} cannot load ${pt_exp}'s"
        init_opts="--init_param ${pt_exp}/${pt_model}:encoder:encoder"
        if [ -n "${most_config}" ] && [ "${most_init_ctc}" = true ]; then
            # MOST trained a CTC head on the paired stream with this token list (tokenized_opts)
            init_opts+=" ${pt_exp}/${pt_model}:ctc:ctc"
            log "fine-tuning: encoder and CTC head from ${pt_exp}/${pt_model} (--most_init_ctc false: the encoder only), feature statistics from ${ssl_stats_dir}"
        else
            log "fine-tuning: encoder from ${pt_exp}/${pt_model}, feature statistics from ${ssl_stats_dir}"
        fi
        bestrq_health "${ssl_exp}"
    fi
    train_yaml=${asr_config}
    if [ -n "${init_encoder}" ]; then
        train_yaml=${ft_config}
        log "fine-tuning: frontend and encoder from ${init_encoder} (config: ${asr_exp}/train_config.input.yaml)"
    fi
    train 7 "${asr_exp}" "${train_yaml}" "${python} -m usm_espnet.bin.asr_train --config ${asr_exp}/train_config.input.yaml ${tokenized_opts} \
        ${train_data_opts} ${norm_opts} \
        --train_shape_file ${stats_dir}/train/speech_shape \
        --valid_shape_file ${stats_dir}/valid/speech_shape ${init_opts} \
        --ngpu ${ngpu} ${ddp_opts} --resume true --output_dir ${asr_exp} ${asr_args}"
    end_stage 7 "${asr_exp}"
fi

# decode EXP MODEL DATA OUT [greedy]: decode DATA (a formatted dir) with EXP/MODEL into OUT
# (OUT/1best_recog/text); ESPnet's beam search with --inference_config, else (or with
# "greedy", which also writes each hypothesis' confidence) batched greedy CTC.
# decode_opts DATA [greedy]: the asr_inference options decode uses for DATA (stage 12 passes
# them to usm_espnet.bin.noisy_student)
decode_opts() {
    local data=$1 mode=${2:-}
    local opts="--batch_size ${decode_batch_size} --ctc_greedy true"
    if [ -n "${inference_config}" ] && [ "${mode}" != greedy ]; then
        opts="--batch_size 1 --config ${inference_config}"
    elif [ "${decode_lang_mask}" = true ] && [ -f "${data}/utt2lang" ]; then
        opts+=" --utt2lang ${data}/utt2lang --lang_token_sets ${token_dir}/lang_token_sets.json"
    fi
    if [ -z "${inference_config}" ] && [ "${mode}" != greedy ] && [ "${decode_token_lm_order}" -gt 0 ]; then
        opts+=" --token_lm_order ${decode_token_lm_order} --token_lm_text ${dump_dir}/raw/${train_set}/text ${decode_token_lm_args}"
    fi
    [ "${mode}" = greedy ] || opts+=" ${inference_args}"
    echo "${opts}"
}
decode() {
    local exp=$1 model=$2 data=$3 out=$4 mode=${5:-} opts
    rm -rf "${out}.tmp"
    opts=$(decode_opts "${data}" "${mode}")
    # shellcheck disable=SC2086
    ${python} -m usm_espnet.bin.asr_inference ${opts} \
        --asr_train_config "${exp}/config.yaml" --asr_model_file "${exp}/${model}" \
        --data_path_and_name_and_type "${data}/wav.scp,speech,sound" \
        --ngpu "${ngpu}" --output_dir "${out}.tmp" > "${out}.log" 2>&1 \
        || { tail -20 "${out}.log" >&2; die "decoding failed; see ${out}.log"; }
    rm -rf "${out}" && mv "${out}.tmp" "${out}" && mv "${out}.log" "${out}/decode.log"
}
# score DATA OUT TITLE [SECTION]: WER/CER (metric=bleu: BLEU/chrF) of OUT/1best_recog/text
# against DATA/text into OUT/score (and, with SECTION, into the recipe's RESULTS.md)
score() {
    local data=$1 out=$2 title=$3 section=${4:-} opts="" scorer=score_asr
    [ "${metric}" = bleu ] && scorer=score_st
    [ -n "${paper}" ] && [ -n "${section}" ] && opts+=" --paper ${paper}"
    [ -n "${section}" ] && opts+=" --recipe_results ${results_md} --section_id ${section}"
    # shellcheck disable=SC2086
    ${python} -m usm_espnet.bin.${scorer} --ref "${data}/text" \
        --hyp "${out}/1best_recog/text" --utt2lang "${data}/utt2lang" \
        --strip_tags true --out_dir "${out}/score" --standin "${standin}" --title "${title}" ${opts}
}

if run_stage 8 "${asr_exp}"; then
    begin 8 "decoding ${test_sets} with ${inference_model}$([ -n "${inference_config}" ] && echo " (beam search: ${inference_config})")$([ -z "${inference_config}" ] && [ "${decode_token_lm_order}" -gt 0 ] && echo " (CTC prefix beam search + ${decode_token_lm_order}-gram LM of ${train_set}'s transcripts)")"
    need 7 "${asr_exp}"; need 2 "${dump_dir}/raw"
    [ -n "${longform_sets}" ] && need 1 "${data_dir}"
    [ -n "${inference_config}" ] && [ "${decode_lang_mask}" = true ] \
        && log "decode_lang_mask applies to greedy CTC only; beam search decodes without it"
    for s in ${test_sets}; do
        decode "${asr_exp}" "${inference_model}" "${dump_dir}/raw/${s}" "${asr_exp}/decode_${s}"
    done
    for s in ${longform_sets}; do  # long recordings as they are (any rate), window by window
        out=${asr_exp}/decode_${s}
        rm -rf "${out}.tmp"
        # shellcheck disable=SC2086
        ${python} -m usm_espnet.bin.longform_inference --asr_train_config "${asr_exp}/config.yaml" \
            --asr_model_file "${asr_exp}/${inference_model}" --wav_scp "${data_dir}/${s}/wav.scp" \
            --device "$([ "${ngpu}" -gt 0 ] && echo cuda || echo cpu)" \
            --output_dir "${out}.tmp" ${longform_args} > "${out}.log" 2>&1 \
            || { tail -20 "${out}.log" >&2; die "long-form decoding failed; see ${out}.log"; }
        rm -rf "${out}" && mv "${out}.tmp" "${out}" && mv "${out}.log" "${out}/decode.log"
        column -t "${out}/stats.tsv" >&2 || cat "${out}/stats.tsv" >&2
    done
    end_stage 8 "${asr_exp}"
fi

if run_stage 9 "${asr_exp}"; then
    begin 9 "scoring"
    need 8 "${asr_exp}"
    for s in ${test_sets}; do
        out=${asr_exp}/decode_${s}
        score "${dump_dir}/raw/${s}" "${out}" "${corpus}${standin_mark} ${s}: ${asr_tag}" "asr_${asr_tag}_${s}" \
            | tee "${out}/score_table.txt"
        cp "${out}/score/RESULTS.md" "${asr_exp}/RESULTS_${s}.md"
    done
    for s in ${longform_sets}; do
        out=${asr_exp}/decode_${s}
        ${python} -m usm_espnet.bin.score_longform --ref "${data_dir}/${s}/text" \
            --hyp "${out}/text" --utt2lang "${data_dir}/${s}/utt2lang" --utt2dur "${data_dir}/${s}/utt2dur" \
            --out_dir "${out}/score" --standin "${standin}" --title "${corpus}${standin_mark} ${s}: ${asr_tag}" \
            --recipe_results "${results_md}" --section_id "asr_${asr_tag}_${s}" \
            --plot "results/asr_${asr_tag}_${s}.png" > /dev/null
        cp "${out}/score/RESULTS.md" "${asr_exp}/RESULTS_${s}.md"
        log "long-form ${s}: ${out}/score/scores.json"
    done
    # recipe-specific scoring (as egs2's local/score.sh): the template's directories, then
    # --local_score_opts (which may override them)
    if [ -f local/score.sh ]; then
        log "recipe scoring: local/score.sh ${local_score_opts}"
        # shellcheck disable=SC2086
        local/score.sh --data_dir "${data_dir}" --dump_dir "${dump_dir}" --asr_exp "${asr_exp}" \
            --asr_tag "${asr_tag}" --test_sets "${test_sets}" --longform_sets "${longform_sets}" \
            --standin "${standin}" --results_md "${results_md}" ${local_score_opts} \
            || die "local/score.sh failed"
    fi
    scored=true
    end_stage 9 "${asr_exp}"
fi

# ------------------------------------------ unseen languages (stages 10-12): adapt_stages.sh
# shellcheck source=adapt_stages.sh
. "${template_dir}/adapt_stages.sh"

if [ "${scored}" = true ]; then  # the tables once more, at the end
    for s in ${test_sets}; do
        echo "${corpus}${standin_mark} ${s}: ${asr_tag} (${asr_exp}/decode_${s}/score)"
        cat "${asr_exp}/decode_${s}/score_table.txt"
    done
    log "Tables: ${results_md} (plots in $(dirname "${results_md}")/results/)"
fi
log "Successfully finished stages ${stage}-${stop_stage}. Results: ${asr_exp}"
