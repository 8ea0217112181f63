"""Tests for usm_espnet.standin.longform (the Earnings-shaped long-form stand-in) and make_standin_longform."""

import hashlib
import os
import time
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np
import pytest
import soundfile as sf

from usm_espnet.bin import make_standin_longform as standin_bin
from usm_espnet.corpora.earnings import NLP_COLUMNS, prepare_longform, read_nlp
from usm_espnet.corpora.fleurs import fleurs_normalize
from usm_espnet.data.kaldi import DataDirError, read_datadir, validate_datadir
from usm_espnet.standin.espeak import split_speakers
from usm_espnet.standin.longform import make_standin_longform, minutes_label, recording_id
from usm_espnet.standin.synth import synthesize

STANDIN_ARGS = dict(langs=["en_us", "ru_ru"], minutes=(0.2, 0.5), seed=1, nj=1,
                    snr_db=20.0, num_train_speakers=12, num_test_speakers=4, progress=False)
HEADER = "|".join(NLP_COLUMNS)


def _table(path: Path) -> List[Dict[str, str]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    head = lines[0].split("\t")
    return [dict(zip(head, line.split("\t"))) for line in lines[1:]]


def _digests(root: Path) -> Dict[str, Tuple[str, int]]:
    """Relative path -> (sha256, mtime_ns) of every file under ``root``."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file():
            out[str(p.relative_to(root))] = (hashlib.sha256(p.read_bytes()).hexdigest(),
                                             p.stat().st_mtime_ns)
    return out


def _corpus_files(root: Path) -> Dict[str, str]:
    return {k: v[0] for k, v in _digests(root).items() if not k.endswith(".done")}


def test_minutes_label_and_ids() -> None:
    assert [minutes_label(m) for m in (1, 5.0, 0.5, 60, 0.25)] == ["1", "5", "0.5", "60", "0.25"]
    assert recording_id("en_us", 1.0) == "en_us_1min"
    assert recording_id("en_us", 0.5) == "en_us_0.5min"


@pytest.fixture(scope="module")
def standin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("standin") / "longform"
    stats = make_standin_longform(root, **STANDIN_ARGS)
    assert not stats.reused and stats.num_skipped == 0
    assert stats.synth_speed > 0 and "4 recordings" in stats.summary()
    return root


def test_standin_layout_and_durations(standin: Path) -> None:
    ids = sorted(recording_id(lang, m) for lang in STANDIN_ARGS["langs"]
                 for m in STANDIN_ARGS["minutes"])
    assert ids == ["en_us_0.2min", "en_us_0.5min", "ru_ru_0.2min", "ru_ru_0.5min"]
    assert sorted(os.listdir(standin / "media")) == [f"{i}.wav" for i in ids]
    assert sorted(os.listdir(standin / "transcripts" / "nlp_references")) == [f"{i}.nlp" for i in ids]
    assert not [p for p in standin.parent.iterdir() if p.name.startswith(".")]  # no temp dirs
    meta = _table(standin / "metadata.tsv")
    assert (standin / "metadata.tsv").read_text().splitlines()[0] == \
        "id\tlang\tminutes\tseconds\tnum_sentences"
    assert [r["id"] for r in meta] == ids
    for row in meta:
        info = sf.info(str(standin / "media" / f"{row['id']}.wav"))
        assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
        target = float(row["minutes"]) * 60
        assert target <= info.duration < target + 10.0  # ends with the sentence crossing it
        assert float(row["seconds"]) == pytest.approx(info.duration, abs=1e-3)
        assert row["lang"] == row["id"][:5]


def test_standin_reference_is_the_spoken_sentences(standin: Path) -> None:
    sentences = _table(standin / "sentences.tsv")
    train, test = split_speakers(12, 4, STANDIN_ARGS["seed"])
    test_ids = {s.id: s for s in test}
    train_variants = {s.variant for s in train}
    meta = {r["id"]: r for r in _table(standin / "metadata.tsv")}
    for rec, row in meta.items():
        rows = [s for s in sentences if s["id"] == rec]
        assert len(rows) == int(row["num_sentences"]) >= 1
        words = [w for s in rows for w in fleurs_normalize(s["text"]).split()]
        assert read_nlp(standin / "transcripts" / "nlp_references" / f"{rec}.nlp") == words
        starts = [float(s["start"]) for s in rows]
        ends = [float(s["end"]) for s in rows]
        assert all(a < b for a, b in zip(starts, ends))
        assert all(b < a for b, a in zip(ends, starts[1:]))  # pauses between sentences
        assert ends[-1] == pytest.approx(float(row["seconds"]), abs=1e-3)
        # every voice is a dev/test voice, with a timbre never used in training
        assert {s["speaker_id"] for s in rows} <= set(test_ids)
        assert not {test_ids[s["speaker_id"]].variant for s in rows} & train_variants
        # nlp columns: token, speaker = voice, ts/endTs = the sentence's times
        lines = (standin / "transcripts" / "nlp_references" / f"{rec}.nlp").read_text().splitlines()
        assert lines[0] == HEADER
        first = lines[1].split("|")
        assert first[1:4] == [rows[0]["speaker_id"], rows[0]["start"], rows[0]["end"]]
        assert first[4:] == ["", "", ""]
    for lang in STANDIN_ARGS["langs"]:
        texts = [fleurs_normalize(s["text"]) for s in sentences if s["id"].startswith(lang)]
        assert len(texts) == len(set(texts))  # no sentence twice in a language


def test_standin_audio_holds_the_sentences(standin: Path) -> None:
    rec = "en_us_0.2min"
    x, sr = sf.read(str(standin / "media" / f"{rec}.wav"), dtype="float64")
    rows = [s for s in _table(standin / "sentences.tsv") if s["id"] == rec]
    speakers = {s.id: s for s in split_speakers(12, 4, STANDIN_ARGS["seed"])[1]}
    first = rows[0]
    clean = synthesize(first["text"], "en_us", speakers[first["speaker_id"]]).astype(np.float64)
    start = int(round(float(first["start"]) * sr))  # rounded to 1 ms: search +-16 samples
    corr = max(np.corrcoef(x[start + lag:start + lag + len(clean)], clean)[0, 1]
               for lag in range(-16, 17))
    assert corr > 0.9  # the listed sentence, in the listed voice
    # stationary noise snr_db below the speech: pauses hold noise only
    bounds = [(int(round(float(s["start"]) * sr)), int(round(float(s["end"]) * sr))) for s in rows]
    speech = np.concatenate([x[a + 16:b - 16] for a, b in bounds])
    pauses = np.concatenate([x[b + 16:a - 16] for (_, b), (a, _) in zip([(0, 0)] + bounds, bounds)])
    snr = 10 * np.log10(np.mean(speech ** 2) / np.mean(pauses ** 2) - 1)
    assert snr == pytest.approx(STANDIN_ARGS["snr_db"], abs=2.0)


def test_standin_rerun_is_fast_and_identical(standin: Path) -> None:
    before = _digests(standin)
    t = time.perf_counter()
    stats = make_standin_longform(standin, **STANDIN_ARGS)
    assert stats.reused and time.perf_counter() - t < 2.0
    assert _digests(standin) == before
    assert sorted(stats.recordings) == ["en_us_0.2min", "en_us_0.5min", "ru_ru_0.2min",
                                        "ru_ru_0.5min"]


def test_standin_deterministic_and_rebuilt_on_change(standin: Path, tmp_path: Path) -> None:
    other = tmp_path / "again"
    stats = make_standin_longform(other, **{**STANDIN_ARGS, "nj": 2})  # nj does not matter
    assert not stats.reused
    assert _corpus_files(other) == _corpus_files(standin)
    stats = make_standin_longform(other, **{**STANDIN_ARGS, "snr_db": None})
    assert not stats.reused  # other parameters: rebuilt in place
    new, old = _corpus_files(other), _corpus_files(standin)
    assert new["transcripts/nlp_references/en_us_0.2min.nlp"] == \
        old["transcripts/nlp_references/en_us_0.2min.nlp"]
    assert new["media/en_us_0.2min.wav"] != old["media/en_us_0.2min.wav"]


def test_standin_excludes_text(standin: Path, tmp_path: Path) -> None:
    rows = [s for s in _table(standin / "sentences.tsv") if s["id"].startswith("en_us")]
    banned = [rows[0]["text"], rows[1]["text"]]
    text = tmp_path / "text"  # a Kaldi text file: raw and normalised forms both match
    text.write_text(f"utt1 {banned[0]}\nutt2 {fleurs_normalize(banned[1])}\n", encoding="utf-8")
    out = tmp_path / "excl"
    make_standin_longform(out, langs=["en_us"], minutes=(0.2,), seed=1, nj=1,
                          exclude_text=str(text), progress=False)
    spoken = {fleurs_normalize(s["text"]) for s in _table(out / "sentences.tsv")}
    assert spoken and not spoken & {fleurs_normalize(b) for b in banned}
    nlp = " ".join(read_nlp(out / "transcripts" / "nlp_references" / "en_us_0.2min.nlp"))
    assert fleurs_normalize(banned[0]) not in nlp and fleurs_normalize(banned[1]) not in nlp


def test_standin_bad_arguments(tmp_path: Path) -> None:
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "x").write_text("x")
    with pytest.raises(ValueError, match="not made by make_standin_longform"):
        make_standin_longform(busy, ["en_us"], minutes=(0.1,), progress=False)
    with pytest.raises(ValueError, match="did you mean 'en_us'"):
        make_standin_longform(tmp_path / "s", ["en"], progress=False)
    with pytest.raises(ValueError, match="minutes must be positive"):
        make_standin_longform(tmp_path / "s", ["en_us"], minutes=(0,), progress=False)
    with pytest.raises(ValueError, match="pause_s"):
        make_standin_longform(tmp_path / "s", ["en_us"], pause_s=(1.0, 0.5), progress=False)
    with pytest.raises(DataDirError, match="file not found"):
        make_standin_longform(tmp_path / "s", ["en_us"], exclude_text=str(tmp_path / "none"),
                              progress=False)
    assert not (tmp_path / "s").exists()


def test_standin_bin(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    argv = ["--out_root", str(tmp_path / "lf"), "--langs", "en_us", "--minutes", "0.05",
            "--nj", "1", "--snr_db", "15", "--no_progress"]
    assert standin_bin.main(argv) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "1 recordings" in out
    assert (tmp_path / "lf" / "media" / "en_us_0.05min.wav").is_file()
    assert standin_bin.main(argv) == 0
    assert "already built, reused" in capsys.readouterr().out
    for bad in (["--langs", "xx_yy"], ["--minutes", "1,abc"], ["--minutes", "0"],
                ["--snr_db", "loud"], ["--pause_s", "1"]):
        assert standin_bin.main(["--out_root", str(tmp_path / "bad")] + bad) == 1
        err = capsys.readouterr().err
        assert err.startswith("ERROR: ") and err.strip().count("\n") == 0


def test_prepare_standin_roundtrip(standin: Path, tmp_path: Path) -> None:
    st = prepare_longform(standin, tmp_path / "data")
    assert st["num_recordings"] == 4 and st["per_lang"] == {"en_us": 2, "ru_ru": 2}
    validate_datadir(tmp_path / "data", check_audio=True)  # 16 kHz, readable
    data = read_datadir(tmp_path / "data")
    meta = {r["id"]: r for r in _table(standin / "metadata.tsv")}
    sentences = _table(standin / "sentences.tsv")
    assert sorted(data.wav_scp) == sorted(meta)
    for rec, row in meta.items():
        assert data.wav_scp[rec] == str(standin / "media" / f"{rec}.wav")
        assert data.text[rec] == " ".join(fleurs_normalize(s["text"]) for s in sentences
                                          if s["id"] == rec)
        assert data.utt2lang[rec] == row["lang"]
        assert data.utt2dur[rec] == pytest.approx(float(row["seconds"]), abs=1e-3)
        assert data.utt2spk[rec] == rec
    assert st["hours"] == pytest.approx(sum(data.utt2dur.values()) / 3600)
    assert st["num_words"] == sum(len(t.split()) for t in data.text.values())
