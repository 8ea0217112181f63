"""Tests for usm_espnet.corpora.earnings (Earnings-21/22 layout) and its two entry points."""

import hashlib
import os
import re
import shutil
import time
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np
import pytest
import soundfile as sf
from shared_data import real_speech

from usm_espnet.bin import make_standin_longform as standin_bin
from usm_espnet.bin import prepare_longform as prepare_bin
from usm_espnet.corpora.earnings import NLP_COLUMNS, prepare_longform, read_nlp, write_nlp
from usm_espnet.corpora.fleurs import fleurs_normalize
from usm_espnet.data.kaldi import DataDirError, read_datadir, validate_datadir
from usm_espnet.standin.espeak import split_speakers
from usm_espnet.standin.longform import make_standin_longform, minutes_label, recording_id
from usm_espnet.standin.synth import synthesize

REAL_EARNINGS = real_speech("whisperstt")  # ../shared/real_speech from the repository root, or $USM_REAL_SPEECH
REAL_CLIP = "earnings22_1_4482311_3_62"

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


# ---------------------------------------------------------------- id formatting


def test_minutes_label_and_ids() -> None:
    assert [minutes_label(m) for m in (1, 5.0, 0.5, 60, 0.25)] == ["1", "5", "0.5", "60", "0.25"]
    assert recording_id("en_us", 1.0) == "en_us_1min"
    assert recording_id("en_us", 0.5) == "en_us_0.5min"


# ----------------------------------------------------------------------- stand-in


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


# ------------------------------------------------------------------- preparation


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


def _make_corpus(root: Path, recs: Dict[str, Tuple[str, Sequence[str]]],
                 metadata: str = "") -> Path:
    """A tiny Earnings-layout corpus: ``{id: (extension, words)}``, 0.5 s of tone each."""
    (root / "media").mkdir(parents=True, exist_ok=True)
    (root / "transcripts" / "nlp_references").mkdir(parents=True, exist_ok=True)
    tone = 0.1 * np.sin(np.arange(8000) * 2 * np.pi * 440 / 16000)
    for rec, (ext, words) in recs.items():
        fmt = {"wav": "WAV", "flac": "FLAC", "mp3": "MP3"}[ext]
        sf.write(str(root / "media" / f"{rec}.{ext}"), tone, 16000, format=fmt)
        write_nlp(root / "transcripts" / "nlp_references" / f"{rec}.nlp", words)
    if metadata:
        (root / "metadata.tsv").write_text(metadata, encoding="utf-8")
    return root


META = "id\tlang\tminutes\tseconds\tnum_sentences\n"


def test_prepare_formats_and_metadata(tmp_path: Path) -> None:
    recs = {"a1": ("wav", ["Hello,", "world."]), "b2": ("flac", ["hallo", "welt"]),
            "c3": ("mp3", ["one"])}
    root = _make_corpus(tmp_path / "c", recs, META + "b2\tde_de\t\t\t\n")
    (root / "media" / "README.txt").write_text("not audio")  # ignored with a warning
    st = prepare_longform(root, tmp_path / "d", lang="fr_fr")
    assert st["per_lang"] == {"de_de": 1, "fr_fr": 2} and st["num_words"] == 5
    data = read_datadir(tmp_path / "d")
    assert data.text == {"a1": "Hello, world.", "b2": "hallo welt", "c3": "one"}
    assert data.utt2lang == {"a1": "fr_fr", "b2": "de_de", "c3": "fr_fr"}
    assert data.utt2dur["a1"] == pytest.approx(0.5) and data.utt2dur["b2"] == pytest.approx(0.5)
    assert data.utt2dur["c3"] == pytest.approx(0.5, abs=0.1)  # mp3 frames include codec padding
    assert data.wav_scp["c3"] == str(root / "media" / "c3.mp3")
    assert prepare_bin.main(["--root", str(root), "--out_dir", str(tmp_path / "e"), "--quiet"]) == 0


def test_read_write_nlp(tmp_path: Path) -> None:
    path = tmp_path / "x.nlp"
    write_nlp(path, [("Good", "1", "0.5", "0.9", ",", "UC", "[]", "[]"), "morning"])
    lines = path.read_text().splitlines()
    assert lines == [HEADER + "|wer_tags", "Good|1|0.5|0.9|,|UC|[]|[]", "morning|||||||"]
    assert read_nlp(path) == ["Good", "morning"]
    path.write_bytes(("\ufeff" + HEADER + "\r\nHi|2|||||[]\r\n\r\n").encode("utf-8"))
    assert read_nlp(path) == ["Hi"]  # BOM, CRLF and blank lines are fine
    path.write_text(HEADER + "\n")
    assert read_nlp(path) == []
    for rows in (["two words"], [""], ["a|b"], [tuple("123456789")]):
        with pytest.raises(ValueError):
            write_nlp(tmp_path / "bad.nlp", rows)


@pytest.mark.parametrize("content,message", [
    ("Hello|1|||||[]\n", r":1: missing header: expected 'token\|speaker"),
    (HEADER + "\nHello|1|||||[]\nworld|1|||[]\n", r":3: expected 7 '\|'-separated columns"),
    (HEADER + "|wer_tags\nHello|1|||||[]|[]\nworld|1|||||[]\n",
     r":3: expected 8 '\|'-separated columns"),
    (HEADER + "\nHello|1|||||[]\n  |1|||||[]\n", r":3: empty token"),
    ("", r": empty file: missing header"),
])
def test_malformed_nlp_names_file_and_line(tmp_path: Path, content: str, message: str) -> None:
    root = _make_corpus(tmp_path / "c", {"a": ("wav", ["x"]), "b": ("wav", ["y"])})
    nlp = root / "transcripts" / "nlp_references" / "b.nlp"
    nlp.write_text(content, encoding="utf-8")
    with pytest.raises(DataDirError, match=f"^{re.escape(str(nlp))}{message}"):
        prepare_longform(root, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_missing_and_empty_files_are_named(tmp_path: Path) -> None:
    root = _make_corpus(tmp_path / "c", {"a": ("wav", ["x"]), "b": ("wav", ["y"])})
    media = root / "media" / "b.wav"
    nlp = root / "transcripts" / "nlp_references" / "b.nlp"
    media.rename(tmp_path / "b.wav")  # transcript without media
    with pytest.raises(DataDirError, match=f"^{nlp}: no media file .*media/b"):
        prepare_longform(root, tmp_path / "out")
    (tmp_path / "b.wav").rename(media)
    nlp.rename(tmp_path / "b.nlp")  # media without transcript
    with pytest.raises(DataDirError, match=f"^{media}: no transcript .*nlp_references/b.nlp"):
        prepare_longform(root, tmp_path / "out")
    nlp.write_text(HEADER + "\n")  # header only
    with pytest.raises(DataDirError, match=f"^{nlp}: empty transcript"):
        prepare_longform(root, tmp_path / "out")
    sf.write(str(root / "media" / "b.flac"), np.zeros(100), 16000)
    with pytest.raises(DataDirError, match="recording 'b' has two media files"):
        prepare_longform(root, tmp_path / "out")
    shutil.rmtree(root / "media")
    with pytest.raises(DataDirError, match="media: directory not found"):
        prepare_longform(root, tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("lines,message", [
    ("a\ten_us\t\t\t\nb\txx_yy\t\t\t\n", r":3: unknown FLEURS language code 'xx_yy'"),
    ("a\ten\t\t\t\n", r":2: unknown FLEURS language code 'en'; did you mean 'en_us'"),
    ("a\ten_us\t\t\t\na\tfr_fr\t\t\t\n", r":3: recording 'a' listed twice"),
    ("a\ten_us\n", r":2: expected 5 tab-separated columns, got 2"),
    ("zz\ten_us\t\t\t\n", r":2: recording 'zz' has no media file"),
])
def test_bad_metadata_names_line(tmp_path: Path, lines: str, message: str) -> None:
    root = _make_corpus(tmp_path / "c", {"a": ("wav", ["x"]), "b": ("wav", ["y"])}, META + lines)
    with pytest.raises(DataDirError, match=f"^{re.escape(str(root / 'metadata.tsv'))}{message}"):
        prepare_longform(root, tmp_path / "out")
    (root / "metadata.tsv").write_text("name\tlanguage\n")
    with pytest.raises(DataDirError, match=r"metadata.tsv:1: expected a tab-separated header"):
        prepare_longform(root, tmp_path / "out")


def test_prepare_bin_errors(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = _make_corpus(tmp_path / "c", {"a": ("wav", ["x"])})
    (root / "transcripts" / "nlp_references" / "a.nlp").write_text("oops\n")
    assert prepare_bin.main(["--root", str(root), "--out_dir", str(tmp_path / "d")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ERROR: ") and err.strip().count("\n") == 0 and "a.nlp:1" in err
    assert prepare_bin.main(["--root", str(tmp_path / "none"), "--out_dir", str(tmp_path / "d")]) == 1
    assert prepare_bin.main(["--root", str(root), "--out_dir", str(tmp_path / "d"),
                             "--lang", "english"]) == 1
    assert "unknown FLEURS language code 'english'" in capsys.readouterr().err


@pytest.mark.skipif(not (REAL_EARNINGS / f"{REAL_CLIP}.wav").is_file(),
                    reason=f"real Earnings clip not found in {REAL_EARNINGS} (set USM_REAL_SPEECH)")
def test_real_earnings22_clip(tmp_path: Path) -> None:
    root = tmp_path / "earnings22"
    (root / "media").mkdir(parents=True)
    shutil.copy(REAL_EARNINGS / f"{REAL_CLIP}.wav", root / "media" / f"{REAL_CLIP}.wav")
    words = (REAL_EARNINGS / f"{REAL_CLIP}.txt").read_text(encoding="utf-8").split()
    nlp = root / "transcripts" / "nlp_references" / f"{REAL_CLIP}.nlp"
    write_nlp(nlp, [(w, "1", "", "", "", "", "[]", "[]") for w in words])  # Earnings-22 form
    assert read_nlp(nlp) == words
    st = prepare_longform(root, tmp_path / "data")
    assert st["num_recordings"] == 1 and st["num_words"] == len(words) > 50
    data = read_datadir(tmp_path / "data")
    assert data.utt2dur[REAL_CLIP] == pytest.approx(60.0, abs=1.0)  # 24 kHz, 59.62 s
    assert data.text[REAL_CLIP] == " ".join(words)
    assert data.text[REAL_CLIP].startswith("We are gathered to review")
    assert data.utt2lang[REAL_CLIP] == "en_us"
