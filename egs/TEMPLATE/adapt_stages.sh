# shellcheck shell=bash disable=SC2154  # the options and helpers come from asr.sh
# Stages 10-12 of the stage template: unseen languages (--adapt_langs), held out of stages
# 1-9's training and adapted to afterwards from stage 7's model. Sourced by asr.sh after
# stage 9, never run by itself.
#   10  per language: full fine-tuning and residual adapters on the frozen encoder
#       (<asr_exp>/adapt/<lang>_{full,adapters}; adapters also as adapters/<lang>.pth)
#   11  decode + score zero-shot, full and adapters; RESULTS_<lang>.md with trainable parameters
#   12  noisy student (python -m usm_espnet.bin.noisy_student), student_iterations rounds
#
# Expects from asr.sh: the parsed options (asr_options.sh), adapt_lang_list, adapt_dir,
# asr_exp, tokenized_opts, norm_opts, ddp_opts, standin_mark and stage_forced; the helpers
# log, die, run_stage, need, begin, end_stage, train, decode, decode_opts and score.
# Stage 2 (asr.sh) formats the languages' data into ${dump_dir}/raw/adapt_<lang>.

if [ -z "${adapt_langs}" ] && [ "${stop_stage}" -ge 10 ] && [ "${stage}" -le 12 ]; then
    log "Stages 10-12: skipped (no --adapt_langs)"
fi
test_set=${test_sets%% *}
base_model=${asr_exp}/${inference_model}
# minutes DIR: minutes of audio in DIR/utt2dur
minutes() { awk '{s+=$2} END {printf "%.1f", s/60}' "$1/utt2dur"; }
# adapt_opts: the asr_train options of every adaptation run (stages 10 and 12), before its
# --output_dir and the recipe's --adapt_args
adapt_opts() {
    # model: usm's head warm-up is for a new head; these runs start from stage 7's trained
    # one (with it, the first steps would leave the encoder and the adapters untouched)
    local warm=""
    grep -qE '^ +head_warmup_steps:' "${asr_exp}/train_config.input.yaml" && warm="--model_conf head_warmup_steps=0"
    echo "${tokenized_opts} ${norm_opts} --init_param ${base_model} --ngpu ${ngpu} ${ddp_opts} --resume true ${warm}"
}
# adapt_train N EXP LANG TRAIN_DIR EXTRA: fine-tune stage 7's model on one unseen language
adapt_train() {
    local n=$1 exp=$2 l=$3 train_dir=$4 extra=$5
    local d=${dump_dir}/raw/adapt_${l}
    [ -f "${base_model}" ] || die "no ${base_model}: run stage 7 first"
    # the yaml stage 7 trained with (not its dumped config.yaml, whose data lists would add up)
    train "${n}" "${exp}" "${asr_exp}/train_config.input.yaml" "${python} -m usm_espnet.bin.asr_train \
        --config ${exp}/train_config.input.yaml \
        --train_data_path_and_name_and_type ${train_dir}/wav.scp,speech,sound \
        --train_data_path_and_name_and_type ${train_dir}/text,text,text \
        --valid_data_path_and_name_and_type ${d}/${valid_set}/wav.scp,speech,sound \
        --valid_data_path_and_name_and_type ${d}/${valid_set}/text,text,text \
        --train_shape_file ${train_dir}/utt2num_samples --valid_shape_file ${d}/${valid_set}/utt2num_samples \
        $(adapt_opts) --output_dir ${exp} ${adapt_args} ${extra}"
    local save=()  # adapters also go to their own small file, <lang>.pth
    [[ " ${extra} " == *" adapter_language="* ]] && save=(--save_adapters "${adapt_dir}/adapters")
    ${python} -m usm_espnet.bin.model_info --asr_train_config "${exp}/config.yaml" \
        --asr_model_file "${exp}/${inference_model}" "${save[@]}" --out_json "${exp}/params.json" > /dev/null
}

if [ -n "${adapt_langs}" ] && run_stage 10 "${adapt_dir}"; then
    begin 10 "adaptation to ${adapt_langs} from ${base_model}: full fine-tuning and adapters"
    need 7 "${asr_exp}"
    for l in "${adapt_lang_list[@]}"; do
        d=${dump_dir}/raw/adapt_${l}
        log "${l}: $(wc -l < "${d}/${train_set}/text") labelled utterances, $(minutes "${d}/${train_set}") min"
        adapt_train 10 "${adapt_dir}/${l}_full" "${l}" "${d}/${train_set}" ""
        adapt_train 10 "${adapt_dir}/${l}_adapters" "${l}" "${d}/${train_set}" \
            "--model usm --model_conf adapter_language=${l} --model_conf freeze_encoder=true ${adapter_args}"
        log "${l}: adapters in ${adapt_dir}/adapters/${l}.pth ($(du -h "${adapt_dir}/adapters/${l}.pth" | cut -f1))"
    done
    end_stage 10 "${adapt_dir}"
fi

if [ -n "${adapt_langs}" ] && run_stage 11 "${adapt_dir}"; then
    begin 11 "decoding and scoring the adapted models on ${test_set}"
    need 10 "${adapt_dir}"
    for l in "${adapt_lang_list[@]}"; do
        d=${dump_dir}/raw/adapt_${l}/${test_set}
        rows=(); params=()
        for kind in zero_shot full adapters; do
            exp=${adapt_dir}/${l}_${kind}
            [ "${kind}" = zero_shot ] && exp=${asr_exp}
            out=${adapt_dir}/decode_${l}_${kind}
            decode "${exp}" "${inference_model}" "${d}" "${out}"
            score "${d}" "${out}" "${corpus}${standin_mark} ${l} (unseen): ${kind}" > /dev/null
            label=$(case ${kind} in zero_shot) echo "no adaptation (zero-shot)";; full) echo "full fine-tuning";;
                    adapters) echo "residual adapters, frozen encoder";; esac)
            rows+=(--row "${label}=${out}/score/scores.json")
            [ "${kind}" = zero_shot ] || params+=(--row_params "${label}=${exp}/params.json")
        done
        ${python} -m usm_espnet.bin.compare_results --recipe_results "${results_md}" \
            --section_id "adapt_${asr_tag}_${l}" --standin "${standin}" \
            --title "${corpus}${standin_mark} ${test_set}, unseen language ${l}: adaptation of ${asr_tag}" \
            "${rows[@]}" "${params[@]}" --plot "results/adapt_${asr_tag}_${l}.png" \
            --note "Labelled adaptation data: $(wc -l < "${dump_dir}/raw/adapt_${l}/${train_set}/text") utterances ($(minutes "${dump_dir}/raw/adapt_${l}/${train_set}") min). Both runs start from ${base_model}; options: ${adapt_args:-none} (adapters also: ${adapter_args:-none}). Trainable parameters: what got gradients in adaptation. Decoded: ${inference_model}." \
            > "${adapt_dir}/RESULTS_${l}.md"
        log "${l}: ${adapt_dir}/RESULTS_${l}.md"
    done
    end_stage 11 "${adapt_dir}"
fi

if [ -n "${adapt_langs}" ] && [ "${student_iterations}" -gt 0 ] && run_stage 12 "${adapt_dir}"; then
    begin 12 "noisy student: ${student_iterations} round(s) per unseen language"
    need 11 "${adapt_dir}"
    [ -f "${base_model}" ] || die "no ${base_model}: run stage 7 first"
    for l in "${adapt_lang_list[@]}"; do
        d=${dump_dir}/raw/adapt_${l}
        [ -f "${d}/untranscribed/wav.scp" ] || die "no untranscribed audio of ${l} (${d}/untranscribed): the noisy student needs it (local/data.sh must write ${data_dir}/adapt/${ssl_train_set})"
        # the rounds (usm_espnet/noisy_student.py): teacher decodes, confident hypotheses join
        # the labelled data, a student trains from stage 7's model with SpecAugment and noise
        ${python} -m usm_espnet.bin.noisy_student --lang "${l}" --adapt_dir "${adapt_dir}" \
            --lang_dump_dir "${d}" --train_set "${train_set}" --valid_set "${valid_set}" \
            --test_set "${test_set}" --teacher "${student_teacher}" --iterations "${student_iterations}" \
            --min_confidence "${pseudo_min_confidence}" --noise_scp "${noise_scp}" \
            --noise_dir "${dump_dir}/noise" --train_config "${asr_exp}/train_config.input.yaml" \
            --base_model "${base_model}" --inference_model "${inference_model}" \
            --train_args="$(adapt_opts)" --adapt_args="${adapt_args}" --student_args="${student_args}" \
            --pseudo_decode_args="$(decode_opts "${d}/untranscribed" greedy)" \
            --eval_decode_args="$(decode_opts "${d}/${test_set}")" --ngpu "${ngpu}" \
            --metric "${metric}" --standin "${standin}" --title_prefix "${corpus}${standin_mark}" \
            --asr_tag "${asr_tag}" --results_md "${results_md}" --force "${stage_forced}"
        log "${l}: ${adapt_dir}/RESULTS_student_${l}.md"
    done
    end_stage 12 "${adapt_dir}"
fi
