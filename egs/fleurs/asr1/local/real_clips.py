#!/usr/bin/env python3
"""Decode real FLEURS recordings with a model trained here and score them.

    local/real_clips.py --exp exp/asr_demo [--model latest.pth] \\
        [--clips ../../../../shared/real_speech/fleurs_cuttledoc] [--out exp/asr_demo/decode_real_clips]

The stand-in is espeak-ng speech; this asks how much of what a model learned from it
carries over to people reading FLEURS sentences. ``--clips`` holds ``fleurs-<lang>-NNN.ogg``
(16 kHz) with a ``.txt`` transcript each (``../shared/real_speech/fleurs_cuttledoc``: 20
clips each of de, en, es, fr, pt). They become a Kaldi data dir (the ogg files are read
by ESPnet's ``sound`` loader directly), are decoded with greedy CTC restricted to each
language's characters (as ``make demo`` decodes), and scored with
``usm_espnet.bin.score_asr``; the table is printed and written to ``<out>/score``.
"""

import argparse
import os
import subprocess
import sys
from pathlib import Path
from typing import List, Optional

#: two-letter code of the clip files -> FLEURS language code of the stand-in
LANGS = {"de": "de_de", "en": "en_us", "es": "es_419", "fr": "fr_fr", "pt": "pt_br"}


def write_data_dir(clips: Path, out: Path) -> int:
    """``wav.scp``, ``text``, ``utt2lang``, ``utt2spk`` for every ``fleurs-<l>-N.ogg`` with a transcript.

    Raises:
        ValueError: No clips, a clip without a transcript, or a language not in LANGS.
    """
    rows = []
    for ogg in sorted(clips.glob("fleurs-*-*.ogg")):
        lang = ogg.stem.split("-")[1]
        if lang not in LANGS:
            raise ValueError(f"{ogg}: language '{lang}' is not one of {sorted(LANGS)}")
        txt = ogg.with_suffix(".txt")
        if not txt.is_file():
            raise ValueError(f"{ogg}: no transcript {txt.name} beside it")
        text = " ".join(txt.read_text(encoding="utf-8").split())
        if not text:
            raise ValueError(f"{txt}:1: empty transcript")
        rows.append((f"{LANGS[lang]}-{ogg.stem}", str(ogg.resolve()), text, LANGS[lang]))
    if not rows:
        raise ValueError(f"{clips}: no fleurs-<lang>-NNN.ogg clips")
    out.mkdir(parents=True, exist_ok=True)
    for name, col in (("wav.scp", 1), ("text", 2), ("utt2lang", 3), ("utt2spk", 0)):
        (out / name).write_text("".join(f"{r[0]} {r[col]}\n" for r in rows), encoding="utf-8")
    return len(rows)


def main(argv: Optional[List[str]] = None) -> int:
    here = Path(__file__).resolve().parent.parent
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--exp", required=True, help="experiment dir with config.yaml and the model")
    p.add_argument("--model", default="latest.pth")
    p.add_argument("--clips", default=str(here.parents[2] / ".." / "shared" / "real_speech" / "fleurs_cuttledoc"))
    p.add_argument("--token_sets", default="data/token_list/char/lang_token_sets.json",
                   help="per-language token sets for the language mask ('': no mask)")
    p.add_argument("--out", default=None, help="default <exp>/decode_real_clips")
    a = p.parse_args(argv)
    exp, out = Path(a.exp), Path(a.out or os.path.join(a.exp, "decode_real_clips"))
    py = sys.executable
    try:
        for f in (exp / "config.yaml", exp / a.model, *([Path(a.token_sets)] if a.token_sets else [])):
            if not f.is_file():
                raise ValueError(f"{f}: not found")
        n = write_data_dir(Path(a.clips), out / "data")
    except ValueError as e:
        print(f"ERROR: {e}", file=sys.stderr)
        return 1
    print(f"{n} real clips from {a.clips}", file=sys.stderr)
    mask = ["--utt2lang", str(out / "data" / "utt2lang"), "--lang_token_sets", a.token_sets] if a.token_sets else []
    subprocess.run([py, "-m", "usm_espnet.bin.asr_inference", "--batch_size", "8", "--ctc_greedy", "true", *mask,
                    "--asr_train_config", str(exp / "config.yaml"), "--asr_model_file", str(exp / a.model),
                    "--data_path_and_name_and_type", f"{out / 'data' / 'wav.scp'},speech,sound",
                    "--ngpu", "0", "--output_dir", str(out / "decode")], check=True)
    subprocess.run([py, "-m", "usm_espnet.bin.score_asr", "--ref", str(out / "data" / "text"),
                    "--hyp", str(out / "decode" / "1best_recog" / "text"),
                    "--utt2lang", str(out / "data" / "utt2lang"), "--strip_tags", "true",
                    "--out_dir", str(out / "score"), "--paper", "fleurs",
                    "--title", f"real FLEURS clips ({a.clips}), model {exp}/{a.model}"], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
