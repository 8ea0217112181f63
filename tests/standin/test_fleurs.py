"""Tests for usm_espnet.standin.fleurs and make_standin_fleurs: layout, round trip through prepare_fleurs, reruns."""

import io
import json
import os
import tarfile
from pathlib import Path
from typing import Dict, List

import pytest
import soundfile as sf

from usm_espnet.bin import make_standin_fleurs as standin_bin
from usm_espnet.corpora.fleurs import (
    fleurs_chars,
    fleurs_normalize,
    prepare_fleurs,
    read_fleurs_tsv,
    utt_id_of,
)
from usm_espnet.data.kaldi import read_datadir, validate_datadir
from usm_espnet.standin.fleurs import make_standin_fleurs

STANDIN_ARGS = dict(langs=["en_us", "hi_in", "ru_ru"], num_sentences=20, utts_per_sentence=1,
                    num_train_speakers=3, num_test_speakers=2, seed=3, nj=2,
                    snr_db=(20.0, 30.0), extra_untranscribed=1,
                    fractions={"train": 0.6, "dev": 0.2, "test": 0.2}, progress=False)


def _table(path: Path) -> List[Dict[str, str]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    head = lines[0].split("\t")
    return [dict(zip(head, line.split("\t"))) for line in lines[1:]]


@pytest.fixture(scope="module")
def standin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("standin") / "fleurs"
    stats = make_standin_fleurs(root, **STANDIN_ARGS)
    assert not stats.reused and stats.num_skipped == 0
    assert all(stats.num_utts[s] >= 3 * 2 for s in ("train", "dev", "test"))
    return root


def test_standin_layout(standin: Path) -> None:
    for lang in STANDIN_ARGS["langs"]:
        archives = sorted(os.listdir(standin / lang / "audio"))
        assert archives == ["dev.tar.gz", "test.tar.gz", "train.tar.gz"]
        for split in ("train", "dev", "test"):
            rows = read_fleurs_tsv(standin / lang / f"{split}.tsv")
            with tarfile.open(standin / lang / "audio" / f"{split}.tar.gz") as tar:
                names = tar.getnames()
                assert sorted(names) == sorted(f"{split}/{r.file_name}" for r in rows)
                for r in rows[:1]:
                    x, sr = sf.read(io.BytesIO(tar.extractfile(f"{split}/{r.file_name}").read()))
                    assert (sr, len(x)) == (16000, r.num_samples)
            for r in rows:
                assert r.file_name[:-4].isdigit() and r.file_name.endswith(".wav")
                assert r.transcription == fleurs_normalize(r.raw_transcription)
                assert r.chars == fleurs_chars(r.transcription)
                assert r.gender in ("MALE", "FEMALE", "OTHER")
        untr = standin / "untranscribed" / lang
        listed = (untr / "wav.lst").read_text().split()
        assert len(listed) == 1 and (untr / listed[0]).is_file()
    # sentence ids are shared across languages, as in FLEURS
    ids = {lang: {r.id for r in read_fleurs_tsv(standin / lang / "test.tsv")}
           for lang in STANDIN_ARGS["langs"]}
    assert ids["en_us"] == ids["hi_in"] == ids["ru_ru"]
    assert any("\u0900" <= c <= "\u097f" for r in read_fleurs_tsv(standin / "hi_in" / "train.tsv")
               for c in r.transcription)


def test_standin_roundtrip_and_disjoint(standin: Path, tmp_path: Path) -> None:
    stats = prepare_fleurs(standin, tmp_path / "data")  # discovers langs, ignores untranscribed/
    assert sorted(stats["test"].per_lang) == sorted(STANDIN_ARGS["langs"])
    assert all(st.num_skipped == 0 for st in stats.values())
    data = {s: read_datadir(tmp_path / "data" / s) for s in ("train", "dev", "test")}
    validate_datadir(tmp_path / "data" / "test", check_audio=True)
    train_text = set(data["train"].text.values())
    for split in ("dev", "test"):
        assert not train_text & set(data[split].text.values())
    # speakers: utterances.tsv bookkeeping against speakers.tsv roles
    speakers = {r["speaker_id"]: r for r in _table(standin / "speakers.tsv")}
    utts = _table(standin / "utterances.tsv")
    splits = ("train", "dev", "test")
    spk_of = {s: {u["speaker_id"] for u in utts if u["split"] == s} for s in splits}
    assert spk_of["train"] and not spk_of["train"] & (spk_of["dev"] | spk_of["test"])
    assert {speakers[s]["role"] for s in spk_of["train"]} == {"train"}
    assert {speakers[s]["role"] for s in spk_of["test"] | spk_of["dev"]} == {"dev_test"}
    train_variants = {speakers[s]["variant"] for s in spk_of["train"]}
    assert not train_variants & {speakers[s]["variant"] for s in spk_of["test"]}  # unseen timbres
    sent_of = {s: {u["sentence_id"] for u in utts if u["split"] == s} for s in splits}
    assert not sent_of["train"] & sent_of["test"] and not sent_of["train"] & sent_of["dev"]
    # the utterance ids prepare_fleurs uses cover utterances.tsv exactly
    expected = {utt_id_of(u["lang"], u["split"], u["file_name"]) for u in utts}
    assert expected == set().union(*(d.wav_scp for d in data.values()))
    for u in utts:
        snr = float(u["snr_db"])
        assert 20.0 <= snr <= 30.0


def test_standin_rerun_is_noop(standin: Path, capsys: pytest.CaptureFixture) -> None:
    marker = standin / ".done"
    before = marker.stat().st_mtime_ns
    stats = make_standin_fleurs(standin, **STANDIN_ARGS)
    assert stats.reused and marker.stat().st_mtime_ns == before
    assert json.loads(marker.read_text())["params"]["langs"] == STANDIN_ARGS["langs"]


def test_standin_bin_unarchived_rerun_and_rebuild(
    tmp_path: Path, capsys: pytest.CaptureFixture, caplog: pytest.LogCaptureFixture
) -> None:
    root = tmp_path / "s"
    argv = ["--out_root", str(root), "--langs", "en_us,ru_ru,hi_in", "--num_sentences", "10",
            "--num_train_speakers", "2", "--num_test_speakers", "1", "--nj", "1",
            "--no_archive", "--no_progress"]
    assert standin_bin.main(argv) == 0
    assert "reused" not in capsys.readouterr().out
    assert sorted(os.listdir(root / "en_us" / "audio")) == ["dev", "test", "train"]
    stats = prepare_fleurs(root, tmp_path / "data", splits=["test"])  # audio used in place
    data = read_datadir(tmp_path / "data" / "test")
    for utt, path in data.wav_scp.items():
        assert path.startswith(str(root / data.utt2lang[utt] / "audio" / "test"))
    assert stats["test"].per_lang == {
        lang: len(read_fleurs_tsv(root / lang / "test.tsv")) for lang in ("en_us", "hi_in", "ru_ru")}
    assert min(stats["test"].per_lang.values()) >= 1
    # 10 sentences are too few for split_ids' character coverage: split without it, warned
    assert "too few" in caplog.text
    assert standin_bin.main(argv) == 0
    assert "reused" in capsys.readouterr().out
    first = (root / "en_us" / "train.tsv").read_text()
    assert standin_bin.main(argv + ["--seed", "1"]) == 0  # other parameters: rebuilt in place
    assert "reused" not in capsys.readouterr().out
    assert (root / "en_us" / "train.tsv").read_text() != first
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_standin_bad_options(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x").write_text("mine")
    with pytest.raises(ValueError, match="not made by make_standin_fleurs"):
        make_standin_fleurs(tmp_path / "busy", langs=["en_us"], num_sentences=10, progress=False)
    assert standin_bin.main(["--out_root", str(tmp_path / "s"), "--langs", "en_us,zz_zz"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ERROR: ") and "zz_zz" in err and err.strip().count("\n") == 0
    assert standin_bin.main(["--out_root", str(tmp_path / "s"), "--langs", "en_us",
                             "--num_sentences", "2"]) == 1
    assert "num_sentences" in capsys.readouterr().err
