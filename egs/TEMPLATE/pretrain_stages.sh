# shellcheck shell=bash disable=SC2154  # the options and helpers come from asr.sh
# Stages 4-5 of the stage template: self-supervised pre-training. Sourced by asr.sh (after
# stage 3, before stage 6), never run by itself.
#   4  pre-training data: format ${data_dir}/${ssl_train_set} (untranscribed audio) and collect
#      feature statistics into ${ssl_stats_dir}
#   5  BEST-RQ pre-training into ${ssl_exp}; then, with --most_config, MOST from that model
#      (untranscribed + paired + unspoken text) into ${most_exp}, marker key 5most
# Stage 7 (asr.sh) fine-tunes from stage 5's model and normalises with stage 4's statistics.
#
# Expects from asr.sh: the parsed options (asr_options.sh) and derive_names' ssl_exp,
# ssl_stats_dir, most_exp; tokenized_opts, ddp_opts and token_dir; the helpers log, die,
# run_stage, need, begin, end_stage and train. Defines bestrq_health (stage 7 calls it too).

if [ -z "${ssl_config}" ] && [ "${stage}" -le 5 ] && [ "${stop_stage}" -ge 4 ]; then
    if [ -n "${init_encoder}" ]; then
        log "Stages 4-5: skipped (no --ssl_config: the encoder starts from --init_encoder ${init_encoder})"
    else
        log "Stages 4-5: skipped (no --ssl_config: the ASR model starts from scratch)"
    fi
fi
if [ -n "${ssl_config}" ] && run_stage 4 "${ssl_stats_dir}"; then
    begin 4 "pre-training data (${data_dir}/${ssl_train_set}) and statistics -> ${ssl_stats_dir}"
    need 1 "${data_dir}"; need 2 "${dump_dir}/raw"
    [ -f "${data_dir}/${ssl_train_set}/wav.scp" ] || die "no ${data_dir}/${ssl_train_set}/wav.scp: \
put untranscribed audio under <root>/<lang>/wav.lst and run python -m usm_espnet.bin.prepare_untranscribed \
--root <root> --out_dir ${data_dir}/${ssl_train_set}, or pretrain on labelled audio with --ssl_train_set ${train_set}"
    if [[ " ${train_set} ${valid_set} ${test_sets} " == *" ${ssl_train_set} "* ]]; then
        log "pre-training on ${dump_dir}/raw/${ssl_train_set} as formatted by stage 2"
    else
        ${python} -m usm_espnet.bin.format_data --in_dir "${data_dir}/${ssl_train_set}" \
            --out_dir "${dump_dir}/raw/${ssl_train_set}" --min_dur "${min_dur}" --max_dur "${max_dur}" \
            --require_text false --nj "${nj}"
    fi
    rm -rf "${ssl_stats_dir}.tmp"; mkdir -p "$(dirname "${ssl_stats_dir}")"
    # shellcheck disable=SC2086
    ${python} -m usm_espnet.bin.ssl_train --collect_stats true --config "${ssl_config}" \
        --train_data_path_and_name_and_type "${dump_dir}/raw/${ssl_train_set}/wav.scp,speech,sound" \
        --valid_data_path_and_name_and_type "${dump_dir}/raw/${valid_set}/wav.scp,speech,sound" \
        --train_shape_file "${dump_dir}/raw/${ssl_train_set}/utt2num_samples" \
        --valid_shape_file "${dump_dir}/raw/${valid_set}/utt2num_samples" \
        --ngpu 0 --num_workers 0 --output_dir "${ssl_stats_dir}.tmp" > "${ssl_stats_dir}.log" 2>&1 \
        || { tail -20 "${ssl_stats_dir}.log" >&2; die "collect_stats failed; see ${ssl_stats_dir}.log"; }
    rm -rf "${ssl_stats_dir}" && mv "${ssl_stats_dir}.tmp" "${ssl_stats_dir}"
    mv "${ssl_stats_dir}.log" "${ssl_stats_dir}/collect_stats.log"
    end_stage 4 "${ssl_stats_dir}"
fi

# BEST-RQ health of a pre-training experiment: masked accuracy against the prior baseline,
# with a warning when pre-training learned nothing beyond the label prior.
bestrq_health() {  # $1: pre-training experiment dir
    [ -f "$1/bestrq_health.jsonl" ] || return 0
    local line
    while IFS= read -r line; do log "${line}"; done < <(${python} -m usm_espnet.bin.pretrain_health "$1")
}

if [ -n "${ssl_config}" ] && run_stage 5 "${ssl_exp}"; then
    begin 5 "BEST-RQ pre-training -> ${ssl_exp}"
    need 4 "${ssl_stats_dir}"
    train 5 "${ssl_exp}" "${ssl_config}" "${python} -m usm_espnet.bin.ssl_train --config ${ssl_exp}/train_config.input.yaml \
        --train_data_path_and_name_and_type ${dump_dir}/raw/${ssl_train_set}/wav.scp,speech,sound \
        --valid_data_path_and_name_and_type ${dump_dir}/raw/${valid_set}/wav.scp,speech,sound \
        --normalize global_mvn --normalize_conf stats_file=${ssl_stats_dir}/train/feats_stats.npz \
        --train_shape_file ${ssl_stats_dir}/train/speech_shape \
        --valid_shape_file ${ssl_stats_dir}/valid/speech_shape \
        --ngpu ${ngpu} ${ddp_opts} --resume true --output_dir ${ssl_exp} ${ssl_args}"
    end_stage 5 "${ssl_exp}"
    bestrq_health "${ssl_exp}"
fi

if [ -n "${most_config}" ] && run_stage 5 "${most_exp}" 5most; then
    begin 5 "MOST pre-training from ${ssl_exp}/${ssl_model} -> ${most_exp}"
    need 5 "${ssl_exp}"; need 3 "${token_dir}"
    [ -f "${ssl_exp}/${ssl_model}" ] || die "no ${ssl_exp}/${ssl_model}: MOST starts from the BEST-RQ model"
    [ -f "${ssl_stats_dir}/train/feats_stats.npz" ] || die "no ${ssl_stats_dir}: run stage 4 first"
    # the unspoken text as stage 2 would format it (language tokens), the third stream
    ${python} -m usm_espnet.bin.prepare_unspoken_text --in_dir "${data_dir}/${most_text_set}" \
        --out_dir "${dump_dir}/raw/${most_text_set}" --lang_token "${lang_token}" >&2
    log "streams: ${dump_dir}/raw/${ssl_train_set} (speech, $(wc -l < "${dump_dir}/raw/${ssl_train_set}/wav.scp")), ${dump_dir}/raw/${train_set} (paired, $(wc -l < "${dump_dir}/raw/${train_set}/text")), ${dump_dir}/raw/${most_text_set} (text, $(wc -l < "${dump_dir}/raw/${most_text_set}/text"))"
    train 5 "${most_exp}" "${most_config}" "${python} -m usm_espnet.bin.most_train --config ${most_exp}/train_config.input.yaml \
        ${tokenized_opts} --speech_data ${dump_dir}/raw/${ssl_train_set} \
        --paired_data ${dump_dir}/raw/${train_set} --text_data ${dump_dir}/raw/${most_text_set} \
        --valid_data_path_and_name_and_type ${dump_dir}/raw/${valid_set}/wav.scp,speech,sound \
        --valid_data_path_and_name_and_type ${dump_dir}/raw/${valid_set}/text,text,text \
        --valid_shape_file ${ssl_stats_dir}/valid/speech_shape \
        --normalize global_mvn --normalize_conf stats_file=${ssl_stats_dir}/train/feats_stats.npz \
        --init_param ${ssl_exp}/${ssl_model} \
        --ngpu ${ngpu} ${ddp_opts} --resume true --output_dir ${most_exp} ${most_args}"
    end_stage 5 "${most_exp}" 5most
fi
