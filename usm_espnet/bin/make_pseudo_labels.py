"""Noisy-student data: filter a teacher's hypotheses and join them with labelled data.

    python -m usm_espnet.bin.make_pseudo_labels --audio_dir dump/raw/adapt_sw_ke/untranscribed \
        --decode_dir exp/teacher/decode_untranscribed --labelled_dir dump/raw/adapt_sw_ke/train \
        --out_dir dump/raw/adapt_sw_ke/student1 --min_confidence 0.5

The teacher's greedy CTC decoding writes ``1best_recog/{text,confidence}``; each
hypothesis is kept or dropped by :func:`usm_espnet.decode.confidence.filter_pseudo_labels`
(confidence = mean posterior of the best path's non-blank frames, plus a
characters-per-second plausibility check). The output dir holds the labelled
utterances plus the kept pseudo-labelled ones (ids prefixed ``pseudo-``), in the
format stage 2 writes (``wav.scp``, ``text``, ``utt2lang``, ``utt2num_samples``), and
``pseudo_labels.tsv`` (every hypothesis: confidence, kept or the reason it was
dropped) and ``pseudo_labels.json`` (counts).
"""

import argparse
import json
import logging
import os
import sys
from typing import Dict, List, Optional

from usm_espnet.utils import replace_dir

logger = logging.getLogger("make_pseudo_labels")


def _read_map(path: str) -> Dict[str, str]:
    from usm_espnet.data.kaldi import read_kaldi_map

    return dict(read_kaldi_map(path, allow_empty_value=True))


def make_pseudo_labels(audio_dir: str, decode_dir: str, out_dir: str,
                       labelled_dir: Optional[str] = None, min_confidence: float = 0.5,
                       min_chars_per_second: float = 2.0,
                       max_chars_per_second: float = 40.0) -> Dict[str, object]:
    """Write the student's training dir; return the filter's counts."""
    from usm_espnet.data.kaldi import DataDir, DataDirError, read_datadir, write_datadir
    from usm_espnet.decode.confidence import filter_pseudo_labels, summary

    audio = read_datadir(audio_dir, validate=True, require_text=False)
    hyp_path = os.path.join(decode_dir, "1best_recog", "text")
    conf_path = os.path.join(decode_dir, "1best_recog", "confidence")
    for p in (hyp_path, conf_path):
        if not os.path.isfile(p):
            raise DataDirError(f"{p}: not found (decode the audio with greedy CTC first: "
                               "asr_inference --ctc_greedy true writes it)")
    hyps = _read_map(hyp_path)
    conf: Dict[str, float] = {}
    from usm_espnet.data.kaldi import read_kaldi_map

    raw_conf = read_kaldi_map(conf_path)
    for u, v in raw_conf.items():
        try:
            conf[u] = float(v)
        except ValueError:
            raise DataDirError(f"{conf_path}:{raw_conf.lines.get(u, '?')}: "
                               f"confidence {v!r} of {u} is not a number") from None
    unknown = sorted(set(hyps) - set(audio.wav_scp))
    if unknown:
        raise DataDirError(f"{hyp_path}: {len(unknown)} hypotheses for utterances not in "
                           f"{audio_dir}/wav.scp (first: {unknown[0]})")
    undecoded = len(set(audio.wav_scp) - set(hyps))
    if undecoded:
        logger.warning("%d utterances of %s have no hypothesis (skipped by the decoder)",
                       undecoded, audio_dir)
    result = filter_pseudo_labels(hyps, conf, audio.utt2dur or None, min_confidence,
                                  min_chars_per_second, max_chars_per_second)
    kept, dropped, kinds = summary(result)

    nsamp_path = os.path.join(audio_dir, "utt2num_samples")
    nsamp = _read_map(nsamp_path) if os.path.isfile(nsamp_path) else {}
    wav, text, lang, spk, dur, num = {}, {}, {}, {}, {}, {}

    def add(data, nmap, ids, prefix):
        for u in ids:
            key = prefix + u
            wav[key], lang[key] = data.wav_scp[u], data.utt2lang.get(u, "")
            text[key] = result.kept[u] if prefix else data.text[u]
            spk[key] = key if prefix else data.utt2spk.get(u, u)
            if u in data.utt2dur:
                dur[key] = data.utt2dur[u]
            if u in nmap:
                num[key] = nmap[u]

    n_labelled = 0
    if labelled_dir:
        lab = read_datadir(labelled_dir, validate=True, require_text=True)
        lab_nsamp = os.path.join(labelled_dir, "utt2num_samples")
        add(lab, _read_map(lab_nsamp) if os.path.isfile(lab_nsamp) else {}, lab.utt_ids(), "")
        n_labelled = len(lab.utt_ids())
    add(audio, nsamp, sorted(result.kept), "pseudo-")
    if not wav:
        raise DataDirError(f"{decode_dir}: no pseudo-label passed the filter ({dict(kinds)}) "
                           "and no --labelled_dir: nothing to train on")
    if kept == 0:
        logger.warning("no pseudo-label of %s passed the filter (%s); the student sees the "
                       "labelled data only", decode_dir, dict(kinds))
    ids = sorted(wav)
    out = DataDir(wav_scp={u: wav[u] for u in ids}, text={u: text[u] for u in ids},
                  utt2spk={u: spk[u] for u in ids},
                  utt2lang={u: lang[u] for u in ids} if all(lang.values()) else {},
                  utt2dur={u: dur[u] for u in ids} if len(dur) == len(ids) else {})
    tmp = f"{out_dir}.tmp"
    write_datadir(tmp, out)
    if len(num) == len(ids):
        with open(os.path.join(tmp, "utt2num_samples"), "w", encoding="utf-8") as f:
            f.writelines(f"{u} {num[u]}\n" for u in ids)
    with open(os.path.join(tmp, "pseudo_labels.tsv"), "w", encoding="utf-8") as f:
        f.write("utt\tconfidence\tstatus\thypothesis\n")
        for u in sorted(hyps):
            status = "kept" if u in result.kept else f"dropped: {result.dropped[u]}"
            f.write(f"{u}\t{conf.get(u, float('nan')):.4f}\t{status}\t{hyps[u]}\n")
    hours = sum(float(num[u]) for u in num if u.startswith("pseudo-")) / 16000 / 3600 if num else 0.0
    counts = {"hypotheses": len(hyps), "kept": kept, "dropped": dropped,
              "dropped_by_reason": dict(kinds), "labelled": n_labelled,
              "pseudo_hours": round(hours, 4), "min_confidence": min_confidence,
              "min_chars_per_second": min_chars_per_second,
              "max_chars_per_second": max_chars_per_second}
    with open(os.path.join(tmp, "pseudo_labels.json"), "w", encoding="utf-8") as f:
        json.dump(counts, f, indent=1)
    replace_dir(tmp, out_dir)
    logger.info("%s: kept %d of %d hypotheses (dropped: %s) + %d labelled -> %s",
                decode_dir, kept, len(hyps), dict(kinds) or "none", n_labelled, out_dir)
    return counts


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m usm_espnet.bin.make_pseudo_labels",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--audio_dir", required=True, help="formatted untranscribed data dir")
    p.add_argument("--decode_dir", required=True, help="the teacher's greedy CTC output dir")
    p.add_argument("--out_dir", required=True)
    p.add_argument("--labelled_dir", default=None, help="labelled data dir joined with the pseudo-labels")
    p.add_argument("--min_confidence", type=float, default=0.5)
    p.add_argument("--min_chars_per_second", type=float, default=2.0)
    p.add_argument("--max_chars_per_second", type=float, default=40.0)
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s: %(message)s")
    from usm_espnet.data.kaldi import DataDirError

    try:
        counts = make_pseudo_labels(a.audio_dir, a.decode_dir, a.out_dir, a.labelled_dir,
                                    a.min_confidence, a.min_chars_per_second, a.max_chars_per_second)
    except (DataDirError, ValueError) as e:
        print(f"ERROR: {e}", file=sys.stderr)
        return 1
    print(json.dumps(counts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
