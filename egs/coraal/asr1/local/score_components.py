#!/usr/bin/env python3
"""CORAAL WER per component and overall, on test segments and on whole test interviews.

    python local/score_components.py --seg_ref dump/raw/test/text \\
        --seg_hyp exp/asr_x/decode_test/1best_recog/text --seg_utt2component data/test/utt2component \\
        --lf_ref data/test_longform/text --lf_hyp exp/asr_x/decode_test_longform/text \\
        --lf_utt2component data/test_longform/utt2component --lf_utt2dur data/test_longform/utt2dur \\
        --out_dir exp/asr_x/score_coraal [--results_md RESULTS.md --section_id coraal_x] \\
        [--prep_json data/coraal_prep.json] [--standin true] \\
        [--lf_ctm exp/asr_x/decode_test_longform/words.ctm --lf_unscored data/test_longform/unscored_spans]

Run by run.sh after the template's stage 9. The template scores per *language* (one
language here); CORAAL's breakdown is per *component*, read from the ``utt2component``
files that ``prepare_coraal`` writes. Reference and hypothesis go through
``usm_espnet.scoring.normalize.normalize_text`` and are aligned by jiwer
(``usm_espnet.scoring.asr.score_utterance``); rates are pooled (errors / reference words)
per component and overall, and ``macro_average`` is the unweighted mean over components.
A reference without a hypothesis is scored as an empty output and counted
(``missing_hyp``). A whole interview's reference cannot hold the speech of rows dropped
as mostly unintelligible; with ``--lf_ctm`` and ``--lf_unscored`` the hypothesis is read
from the CTM without the words whose midpoint lies in those rows' time (``unscored_spans``
of ``prepare_coraal``), as NIST scoring ignores untranscribed regions. Writes
``<out_dir>/scores.json`` and ``<out_dir>/RESULTS.md`` (and the
section in ``--results_md``); prints the table.
"""

import argparse
import json
import os
import shlex
import sys
from typing import Dict, List, Optional, Tuple

from usm_espnet.corpora.coraal import COMPONENTS
from usm_espnet.data.kaldi import read_kaldi_map
from usm_espnet.report.results import update_recipe_results
from usm_espnet.scoring.asr import ErrorCounts, score_utterance
from usm_espnet.utils import atomic_write_text, str2bool

STANDIN_LABEL = (
    "**Synthetic stand-in corpus:** these numbers were measured on a synthetic stand-in for "
    "CORAAL (two-speaker interviews spoken by espeak-ng voices from templated text, with "
    "CORAAL's transcript markup), by a model trained on that stand-in. They say nothing about "
    "African American English and are NOT comparable with any result on real CORAAL."
)


def _counts_dict(c: ErrorCounts, missing: int) -> Dict[str, object]:
    d = c.to_dict()
    d["wer"] = d.pop("rate")
    d["missing_hyp"] = missing
    return d


def score_grouped(refs: Dict[str, str], hyps: Dict[str, str], utt2comp: Dict[str, str]
                  ) -> Tuple[Dict[str, Dict], Dict[str, object], Dict[str, Dict]]:
    """(per component, overall, per utterance) WER of ``refs`` (every one is scored).

    Args:
        refs: Utterance -> reference.
        hyps: Utterance -> hypothesis (missing: scored as empty).
        utt2comp: Utterance -> component; must cover every reference.

    Raises:
        ValueError: A reference without a component.
    """
    no_comp = sorted(set(refs) - set(utt2comp))
    if no_comp:
        raise ValueError(f"no component for {len(no_comp)} utterance(s): {', '.join(no_comp[:5])}")
    per: Dict[str, ErrorCounts] = {}
    missing: Dict[str, int] = {}
    total, total_missing = ErrorCounts(), 0
    per_utt: Dict[str, Dict] = {}
    for utt in sorted(refs):
        comp = utt2comp[utt]
        wer, _, _, _ = score_utterance(refs[utt], hyps.get(utt, ""), "en_us")
        per.setdefault(comp, ErrorCounts()).add(wer)
        miss = int(utt not in hyps)
        missing[comp] = missing.get(comp, 0) + miss
        total.add(wer)
        total_missing += miss
        per_utt[utt] = {"component": comp, "wer": round(wer.rate, 4), "errors": wer.errors,
                        "ref_len": wer.ref_len, "missing_hyp": bool(miss)}
    comps = {c: _counts_dict(per[c], missing[c]) for c in sorted(per)}
    overall = _counts_dict(total, total_missing)
    overall["macro_average"] = round(sum(c.rate for c in per.values()) / len(per), 4) if per else 0.0
    return comps, overall, per_utt


def read_unscored(path: str) -> Dict[str, List[Tuple[float, float]]]:
    """``<recording> <start> <end>`` lines -> spans per recording.

    Raises:
        ValueError: A malformed line (``path:line: ...``).
    """
    spans: Dict[str, List[Tuple[float, float]]] = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            cols = line.split()
            if not cols:
                continue
            try:
                st, en = float(cols[1]), float(cols[2])
                if len(cols) != 3 or not 0 <= st < en:
                    raise ValueError
            except (ValueError, IndexError):
                raise ValueError(f"{path}:{n}: expected '<recording> <start> <end>' with "
                                 f"0 <= start < end, got {line.strip()!r}") from None
            spans.setdefault(cols[0], []).append((st, en))
    return spans


def masked_hyps(ctm_path: str, unscored: Dict[str, List[Tuple[float, float]]]
                ) -> Tuple[Dict[str, str], int]:
    """Hypotheses from a CTM (``<rec> 1 <start> <dur> <word>``) without the words whose
    midpoint lies in an unscored span of their recording; returns (hyps, words dropped).

    Raises:
        ValueError: A malformed CTM line (``path:line: ...``).
    """
    words: Dict[str, List[Tuple[float, str]]] = {}
    dropped = 0
    with open(ctm_path, encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            cols = line.split()
            if not cols:
                continue
            try:
                if len(cols) != 5:
                    raise ValueError
                st, dur = float(cols[2]), float(cols[3])
            except ValueError:
                raise ValueError(f"{ctm_path}:{n}: expected '<rec> <channel> <start> <dur> <word>', "
                                 f"got {line.strip()!r}") from None
            mid = st + dur / 2
            if any(a <= mid < b for a, b in unscored.get(cols[0], ())):
                dropped += 1
                continue
            words.setdefault(cols[0], []).append((st, cols[4]))
    return {rec: " ".join(w for _, w in ws) for rec, ws in words.items()}, dropped


def _read(path: str, allow_empty: bool = True) -> Dict[str, str]:
    return dict(read_kaldi_map(path, allow_empty_value=allow_empty).items())


def _markdown(doc: Dict, title: str, standin: bool, command: str, prep: Optional[Dict]) -> str:
    seg, lf = doc["segments"], doc["interviews"]
    lines = [f"## {title}", ""]
    if standin:
        lines += [f"> {STANDIN_LABEL}", ""]
    lines += ["| Component | Place | Segments | Words | Segment WER (%) | Interviews | Words "
              "| Whole-interview WER (%) |",
              "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    comps = sorted(set(seg["per_component"]) | set(lf["per_component"]))
    for c in comps:
        s, w = seg["per_component"].get(c), lf["per_component"].get(c)
        cells = [c, COMPONENTS.get(c, "")]
        cells += [str(s["num_utts"]), str(s["ref_len"]), f"{s['wer']:.2f}"] if s else ["0", "0", "-"]
        cells += [str(w["num_utts"]), str(w["ref_len"]), f"{w['wer']:.2f}"] if w else ["0", "0", "-"]
        lines.append("| " + " | ".join(cells) + " |")
    so, wo = seg["overall"], lf["overall"]
    lines.append(f"| **Overall (pooled)** | {len(comps)} components | {so['num_utts']} | {so['ref_len']} "
                 f"| **{so['wer']:.2f}** | {wo['num_utts']} | {wo['ref_len']} | **{wo['wer']:.2f}** |")
    lines.append(f"| Mean over components | | | | {so['macro_average']:.2f} | | | "
                 f"{wo['macro_average']:.2f} |")
    lines += ["", "WER over words after `usm_espnet.scoring.normalize.normalize_text` on both sides, "
              "pooled (errors / reference words). References are CORAAL's `Content` normalised by "
              "`usm_espnet.corpora.coraal.normalize_coraal` (markup removed, masked spans dropped). "
              "Segments: one per transcript row, decoded one by one (greedy CTC); whole "
              "interviews: each test recording decoded window by window "
              "(`usm_espnet.bin.longform_inference`) against all its rows' words, both speakers."]
    if "hyp_words_unscored" not in lf["overall"]:
        lines[-1] += (" Rows dropped as mostly unintelligible were not masked: their speech is "
                      "scored against their few legible words.")
    lines += ["", "Errors (substitutions / deletions / insertions): segments "
              f"{so['substitutions']} / {so['deletions']} / {so['insertions']}, whole interviews "
              f"{wo['substitutions']} / {wo['deletions']} / {wo['insertions']}."]
    if "hyp_words_unscored" in wo:
        lines += ["", f"Whole interviews: {wo['hyp_words_unscored']} hypothesis word(s) fell in "
                  "unscored spans (rows dropped as mostly unintelligible: speech in the audio "
                  "whose words the reference cannot hold; `unscored_spans` of `prepare_coraal`) "
                  "and were left out, as were those rows' legible words from the reference."]
    miss = so["missing_hyp"] + wo["missing_hyp"]
    if miss:
        lines += ["", f"**{miss} reference(s) had no hypothesis** and were scored as empty output."]
    if prep:
        st = prep.get("stats", {})
        dropped = ", ".join(f"{k} {v}" for k, v in st.get("rows_dropped", {}).items() if v) or "none"
        lines += ["", f"- **data**: {st.get('rows_in', 0)} transcript rows, {st.get('rows_kept', 0)} "
                  f"kept as segments; dropped: {dropped} (`coraal_prep.json`, `coraal_skipped.tsv`)"]
    lines += [f"- **command**: `{command}`", ""]
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seg_ref", required=True)
    p.add_argument("--seg_hyp", required=True)
    p.add_argument("--seg_utt2component", required=True)
    p.add_argument("--lf_ref", required=True)
    p.add_argument("--lf_hyp", required=True)
    p.add_argument("--lf_utt2component", required=True)
    p.add_argument("--lf_utt2dur", default=None)
    p.add_argument("--lf_ctm", default=None,
                   help="words.ctm of the long-form decoding; with --lf_unscored, the hypothesis "
                   "is read from it without the words inside unscored spans")
    p.add_argument("--lf_unscored", default=None,
                   help="unscored_spans of prepare_coraal: speech in the audio that the reference "
                   "leaves out (mostly unintelligible rows)")
    p.add_argument("--prep_json", default=None, help="coraal_prep.json of prepare_coraal (for the note)")
    p.add_argument("--out_dir", required=True)
    p.add_argument("--results_md", default=None)
    p.add_argument("--section_id", default=None)
    p.add_argument("--title", default="CORAAL test")
    p.add_argument("--standin", type=str2bool, default=False)
    a = p.parse_args(argv)
    command = "local/score_components.py " + " ".join(
        shlex.quote(x) for x in (argv if argv is not None else sys.argv[1:]))
    try:
        for path in (a.seg_hyp, a.lf_hyp):
            if not os.path.isfile(path):
                raise ValueError(f"{path}: no decoding output (run stage 8 first)")
        seg_refs = _read(a.seg_ref)
        seg_c, seg_o, seg_u = score_grouped(seg_refs, _read(a.seg_hyp), _read(a.seg_utt2component, False))
        lf_hyp, masked = _read(a.lf_hyp), None
        if a.lf_unscored:
            if not a.lf_ctm:
                raise ValueError("--lf_unscored needs --lf_ctm (the word times of the hypothesis)")
            for path in (a.lf_ctm, a.lf_unscored):
                if not os.path.isfile(path):
                    raise ValueError(f"{path}: no such file")
            lf_hyp, masked = masked_hyps(a.lf_ctm, read_unscored(a.lf_unscored))
        lf_c, lf_o, lf_u = score_grouped(_read(a.lf_ref), lf_hyp, _read(a.lf_utt2component, False))
        if masked is not None:
            lf_o["hyp_words_unscored"] = masked
        if a.lf_utt2dur:
            for rec, dur in _read(a.lf_utt2dur, False).items():
                if rec in lf_u:
                    lf_u[rec]["seconds"] = float(dur)
        prep = None
        if a.prep_json and os.path.isfile(a.prep_json):
            with open(a.prep_json, encoding="utf-8") as f:
                prep = json.load(f)
    except (ValueError, OSError) as e:
        print(f"ERROR: {e}", file=sys.stderr)
        return 1
    doc = {"conventions": "normalize_text on ref and hyp; WER over words, pooled per component "
                          "and overall; macro_average = unweighted mean over components",
           "segments": {"per_component": seg_c, "overall": seg_o, "per_utterance": seg_u},
           "interviews": {"per_component": lf_c, "overall": lf_o, "per_recording": lf_u}}
    os.makedirs(a.out_dir, exist_ok=True)
    atomic_write_text(os.path.join(a.out_dir, "scores.json"), json.dumps(doc, indent=1) + "\n")
    md = _markdown(doc, a.title, a.standin, command, prep)
    atomic_write_text(os.path.join(a.out_dir, "RESULTS.md"), md)
    if a.results_md:
        update_recipe_results(a.results_md, a.section_id or "coraal", md)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
