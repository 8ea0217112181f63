#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR/..
# What each whole-interview fix changes, on a finished run (run.sh through stage 9): the test
# interviews are decoded again with and without the word-gap split (--word_gap_seconds), and
# each decoding is scored two ways:
#   all_words: against every legible word of every row (the reference prepare_coraal wrote before
#              unscored spans), the hypothesis as decoded (no masking);
#   masked:    against the recipe's reference (rows dropped as mostly unintelligible left out)
#              with the hypothesis words inside their time (unscored_spans) left out.
# Segment WER is the run's (stage 8), the same in every row. Writes <out_dir>/<variant>/scores.json
# and <out_dir>/summary.tsv (S/D/I, WER and whole/segment ratio per variant).
#   local/longform_ablation.sh --exp_dir exp_demo/asr_demo --data_dir data_demo --dump_dir dump_demo \
#       --corpus_dir standin/coraal_demo --out_dir exp_demo/asr_demo/longform_ablation
set -euo pipefail
exp_dir=exp_demo/asr_demo     # the run's experiment (config.yaml, valid.loss.ave.pth)
data_dir=data_demo            # prepare_coraal's output of the run
dump_dir=dump_demo            # the template's dump dir of the run (segment references)
corpus_dir=standin/coraal_demo   # the corpus prepare_coraal read (for the all_words reference)
model=valid.loss.ave.pth      # checkpoint in exp_dir
gaps="0 0.3"                  # --word_gap_seconds values to decode with (0: off)
out_dir=                      # default: <exp_dir>/longform_ablation
while [ $# -gt 0 ]; do
    name=${1#--}
    grep -qE "^${name}=" "$0" || { echo "local/longform_ablation.sh: unknown option $1" >&2; exit 1; }
    [ $# -ge 2 ] || { echo "local/longform_ablation.sh: option $1 needs a value" >&2; exit 1; }
    printf -v "${name}" '%s' "$2"; shift 2
done
. ./path.sh
out_dir=${out_dir:-${exp_dir}/longform_ablation}
lf=${data_dir}/test_longform
mkdir -p "${out_dir}"

# the reference as prepare_coraal wrote it before unscored spans: every row's legible words
"${USM_PYTHON}" - "${corpus_dir}" "${lf}" "${out_dir}/ref_all_words" <<'EOF'
import glob, os, sys
import soundfile as sf
from usm_espnet.corpora.coraal import MAX_OVERSHOOT_S, CoraalFormatError, normalize_coraal, read_coraal_transcript
from usm_espnet.data.kaldi import read_kaldi_map
corpus, lf, out = sys.argv[1:]
recs = dict(read_kaldi_map(os.path.join(lf, "wav.scp")).items())
lines = []
for rec, wav in sorted(recs.items()):
    txt, = glob.glob(os.path.join(corpus, "**", f"{rec}.txt"), recursive=True)
    seconds = sf.info(wav).duration
    words = []
    for row in read_coraal_transcript(txt):
        if row.start >= seconds or row.end > seconds + MAX_OVERSHOOT_S:
            continue
        try:
            norm = normalize_coraal(row.content)
        except CoraalFormatError:
            continue
        if norm.text:
            words.append(norm.text)
    lines.append(f"{rec} {' '.join(words)}\n")
with open(out, "w", encoding="utf-8") as f:
    f.writelines(lines)
EOF

printf 'variant\tseg_S\tseg_D\tseg_I\tseg_ref\tseg_wer\tlf_S\tlf_D\tlf_I\tlf_ref\tlf_wer\tratio\thyp_words_unscored\n' \
    > "${out_dir}/summary.tsv"
for gap in ${gaps}; do
    dec=${out_dir}/decode_gap${gap}
    if [ ! -f "${dec}/words.ctm" ]; then
        rm -rf "${dec}.tmp"
        "${USM_PYTHON}" -m usm_espnet.bin.longform_inference --asr_train_config "${exp_dir}/config.yaml" \
            --asr_model_file "${exp_dir}/${model}" --wav_scp "${lf}/wav.scp" --device cpu \
            --word_gap_seconds "${gap}" --output_dir "${dec}.tmp" > "${dec}.log" 2>&1 \
            || { tail -20 "${dec}.log" >&2; exit 1; }
        mv "${dec}.tmp" "${dec}"
    fi
    for how in all_words masked; do
        v=gap${gap}_${how}
        if [ "${how}" = all_words ]; then
            opts=(--lf_ref "${out_dir}/ref_all_words" --lf_hyp "${dec}/text")
        else
            opts=(--lf_ref "${lf}/text" --lf_hyp "${dec}/text" --lf_ctm "${dec}/words.ctm"
                  --lf_unscored "${lf}/unscored_spans")
        fi
        "${USM_PYTHON}" local/score_components.py --seg_ref "${dump_dir}/raw/test/text" \
            --seg_hyp "${exp_dir}/decode_test/1best_recog/text" \
            --seg_utt2component "${data_dir}/test/utt2component" \
            --lf_utt2component "${lf}/utt2component" "${opts[@]}" --out_dir "${out_dir}/${v}" > /dev/null
        "${USM_PYTHON}" - "${out_dir}/${v}/scores.json" "${v}" >> "${out_dir}/summary.tsv" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
s, w = d["segments"]["overall"], d["interviews"]["overall"]
cols = [sys.argv[2]] + [s[k] for k in ("substitutions", "deletions", "insertions", "ref_len", "wer")]
cols += [w[k] for k in ("substitutions", "deletions", "insertions", "ref_len", "wer")]
cols += [round(w["wer"] / s["wer"], 3), w.get("hyp_words_unscored", "")]
print("\t".join(str(c) for c in cols))
EOF
    done
done
column -t "${out_dir}/summary.tsv"
