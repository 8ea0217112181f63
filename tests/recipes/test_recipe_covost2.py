"""egs/covost2/st1 end to end on a tiny stand-in (debug preset): X -> En, BLEU per source language."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RECIPE = ROOT / "egs" / "covost2" / "st1"


def _env(**extra):
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1",
               USM_VENV=str(Path(sys.executable).parent.parent))
    for k in ("COVOST2", "COMMONVOICE", "UNTRANSCRIBED"):
        env.pop(k, None)
    env.update(extra)
    return env


def _run(tmp_path, args=(), data="data", check=True, **env):
    r = subprocess.run(
        ["./run.sh", "--preset", "debug", "--data_dir", str(tmp_path / data),
         "--dump_dir", str(tmp_path / "dump"), "--exp_dir", str(tmp_path / "exp"),
         "--results_md", str(tmp_path / "RESULTS.md"),
         "--local_data_opts", f"--standin_sentences 8 --standin_train_speakers 2 "
         f"--standin_test_speakers 1 --standin_dir {tmp_path / 'standin'}", *args],
        cwd=RECIPE, env=_env(**env), capture_output=True, text=True, timeout=900)
    if check:
        assert r.returncode == 0, f"run.sh {args} failed:\n{r.stderr[-5000:]}"
    return r


@pytest.mark.timeout(1000)
def test_covost2_recipe_debug(tmp_path):
    import soundfile as sf
    from sacrebleu.metrics import BLEU, CHRF

    from usm_espnet.corpora.covost2 import read_covost_tsv
    from usm_espnet.data.kaldi import read_datadir

    _run(tmp_path)
    standin = tmp_path / "standin"

    # stand-in: real layout, mp3 at 48 kHz, parallel translations, unseen test sentences/voices
    rows = {}
    for lang in ("fr", "de"):
        clips = sorted((standin / "cv" / lang / "clips").iterdir())
        assert clips and all(c.suffix == ".mp3" for c in clips)
        assert sf.info(str(clips[0])).samplerate == 48000
        assert (standin / "cv" / lang / "validated.tsv").exists()
        rows[lang] = read_covost_tsv(standin / "covost" / f"covost_v2.{lang}_en.tsv")[0]
    by_split = {(lang, s): {r.translation for r in rows[lang] if r.split == s}
                for lang in rows for s in ("train", "dev", "test")}
    assert by_split["fr", "test"] == by_split["de", "test"]  # the same sentences, translated once
    assert not by_split["fr", "test"] & by_split["fr", "train"]
    spk = {s: {r.client_id for lang in rows for r in rows[lang] if r.split == s} for s in ("train", "test")}
    assert not spk["train"] & spk["test"]

    # data dirs: text = English translation, utt2lang = source language, mp3 in wav.scp
    test = read_datadir(tmp_path / "data" / "test")
    want = {f"{lang}-{r.path[:-4]}": r.translation for lang in rows for r in rows[lang] if r.split == "test"}
    assert test.text == want and set(test.utt2lang.values()) == {"fr", "de"}
    assert all(p.endswith(".mp3") for p in test.wav_scp.values())
    dump = read_datadir(tmp_path / "dump" / "raw" / "test")
    assert sf.info(next(iter(dump.wav_scp.values()))).samplerate == 16000

    # the model: attention decoder + CTC, decoded by beam search
    exp = tmp_path / "exp" / "asr_debug"
    assert "decoder: transformer" in (exp / "config.yaml").read_text()
    assert "BatchBeamSearch" in (exp / "decode_test" / "decode.log").read_text()

    # BLEU per source language, recomputed from the written files with sacrebleu
    score = exp / "decode_test" / "score"
    doc = json.loads((score / "scores.json").read_text())
    assert set(doc["languages"]) == {"fr", "de"}
    hyps = {}
    for line in (exp / "decode_test" / "1best_recog" / "text").read_text().splitlines():
        utt, _, text = line.partition(" ")
        hyps[utt] = " ".join(text.split())
    for lang, entry in doc["languages"].items():
        ids = sorted(u for u, l in dump.utt2lang.items() if l == lang)
        hyp = (score / f"hyp.{lang}.txt").read_text().splitlines()
        ref = (score / f"ref.{lang}.txt").read_text().splitlines()
        assert hyp == [hyps.get(u, "") for u in ids] and ref == [dump.text[u] for u in ids]
        assert entry["bleu"] == round(BLEU().corpus_score(hyp, [ref]).score, 4)
        assert entry["chrf"] == round(CHRF().corpus_score(hyp, [ref]).score, 4)
        assert entry["num_utts"] == len(ids)
    results = (tmp_path / "RESULTS.md").read_text()
    section = results[results.index("<!-- asr_debug_test start -->"):results.index("<!-- asr_debug_test end -->")]
    assert "stand-in" in section.lower() and "| USM-M | 30.7 |" in section
    for lang, entry in doc["languages"].items():
        assert re.search(rf"^\| {lang} \| \w+ \| {entry['num_utts']} \| {entry['bleu']:.2f} \| "
                         rf"{entry['chrf']:.2f} \|$", section, re.M), section
    assert (exp / "RESULTS_test.md").exists()

    # the real-corpus path (COVOST2/COMMONVOICE set) reads the same files into the same data
    _run(tmp_path, ["--stage", "1", "--stop_stage", "1"], data="data_real",
         COVOST2=str(standin / "covost"), COMMONVOICE=str(standin / "cv"))
    for f in ("text", "utt2lang", "wav.scp", "utt2spk"):
        assert (tmp_path / "data_real" / "test" / f).read_text() == (tmp_path / "data" / "test" / f).read_text()

    # one corpus variable without the other, or a bad metric: one clear error
    r = _run(tmp_path, ["--stage", "1", "--stop_stage", "1"], data="d2", check=False,
             COVOST2=str(standin / "covost"))
    assert r.returncode != 0 and "COVOST2 is set but COMMONVOICE is not" in r.stderr
    r = _run(tmp_path, ["--metric", "ter"], data="d2", check=False)
    assert r.returncode != 0 and "--metric must be wer or bleu, got 'ter'" in r.stderr


def test_default_encoder_can_load_the_pretrained_one():
    """run.sh's default: the BEST-RQ 0.6B encoder initialises the LAS model's (stage 7 checks it)."""
    from usm_espnet.bin.check_encoder_compat import main

    text = (RECIPE / "run.sh").read_text()
    asr = re.search(r"^asr_config=(\S+)", text, re.M).group(1)
    ssl = re.search(r"^ssl_config=(\S+)", text, re.M).group(1)
    assert "las" in asr and "best_rq" in ssl
    assert main(["--pretrained", str(RECIPE / ssl), "--config", str(RECIPE / asr)]) == 0
