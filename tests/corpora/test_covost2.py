"""CoVoST 2 parsing and preparation on fixtures in the released formats (tests/fixtures/covost2).

``covost/covost_v2.fr_en.tsv`` has every column (path, sentence, translation, client_id,
split) with the release's escapes (``\\"``, ``\\\\``, an escaped line break and an escaped
tab); ``covost/covost_v2.de_en.tsv`` has only path, translation and split, so sentence and
speaker come from ``cv/de/validated.tsv``. The clips are written by the tests as real mp3.
"""

import shutil
import tarfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from usm_espnet.corpora.covost2 import (
    CovostFormatError,
    prepare_covost2,
    read_covost_tsv,
    read_cv_validated,
    read_escaped_tsv,
    utt_id_of,
    write_escaped_tsv,
)
from usm_espnet.data.kaldi import read_datadir, read_kaldi_map

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "covost2"
MISSING = "common_voice_fr_17299388.mp3"   # listed, never written
CORRUPT = "common_voice_fr_17299389.mp3"   # written as bytes that are not mp3


def _corpus(tmp_path: Path) -> Path:
    """Copy the fixture tsvs and write a 48 kHz mp3 for every clip they list."""
    root = tmp_path / "corpus"
    shutil.copytree(FIX / "covost", root / "covost")
    shutil.copytree(FIX / "cv", root / "cv")
    for lang in ("fr", "de"):
        clips = root / "cv" / lang / "clips"
        clips.mkdir()
        names = {r["path"] for r in read_escaped_tsv(root / "cv" / lang / "validated.tsv").rows}
        for i, name in enumerate(sorted(names)):
            if name == MISSING:
                continue
            if name == CORRUPT:
                (clips / name).write_bytes(b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\x00garbage" * 64)
                continue
            sec = 0.5 + 0.25 * i
            t = np.arange(int(48000 * sec)) / 48000
            sf.write(clips / name, 0.3 * np.sin(2 * np.pi * (200 + 40 * i) * t), 48000, format="MP3")
    return root


def test_escaped_tsv_reads_the_release_escapes():
    table = read_escaped_tsv(FIX / "covost" / "covost_v2.fr_en.tsv", required=("path", "split"))
    assert table.header == ["path", "sentence", "translation", "client_id", "split"]
    rows = {r["path"]: r for r in table.rows}
    assert rows["common_voice_fr_17299384.mp3"]["translation"] == 'He said "yes".'
    assert rows["common_voice_fr_17299385.mp3"]["translation"] == "The file is in C:\\temp."
    assert rows["common_voice_fr_17299386.mp3"]["sentence"] == "Une phrase sur\ndeux lignes."
    assert rows["common_voice_fr_17299391.mp3"]["translation"] == '"Goodbye," she said.'
    assert rows["common_voice_fr_17299392.mp3"]["translation"] == "The weather is\tnice today."
    # the record with an escaped line break spans lines 4-5; the next one starts on 6
    assert table.lines[:5] == [2, 3, 4, 6, 7]
    assert len(table.rows) == 10 and table.lines[-1] == 12


def test_write_then_read_round_trip(tmp_path):
    rows = [["a\tb", 'say "hi"', "back\\slash", "two\nlines", ""], ["x", "y", "z", "w", "v"]]
    header = ["c1", "c2", "c3", "c4", "c5"]
    write_escaped_tsv(tmp_path / "t.tsv", header, rows)
    table = read_escaped_tsv(tmp_path / "t.tsv")
    assert table.header == header and [list(r.values()) for r in table.rows] == rows


@pytest.mark.parametrize("name,line,message", [
    ("missing_field.tsv", 3, "expected 5 tab-separated fields"),
    ("extra_field.tsv", 3, "got 6"),
    ("unknown_split.tsv", 3, "unknown split 'validation'"),
    ("no_translation_column.tsv", 1, "header lacks column(s) translation"),
    ("bad_path.tsv", 3, "bad path 'clips/common_voice_fr_2.mp3'"),
    ("trailing_escape.tsv", 3, "unexpected end of data"),
    ("multiline_then_missing_field.tsv", 4, "expected 5 tab-separated fields"),
])
def test_malformed_covost_rows_name_file_and_line(name, line, message):
    path = FIX / "malformed" / name
    with pytest.raises(CovostFormatError) as e:
        read_covost_tsv(path)
    assert str(e.value).startswith(f"{path}:{line}: ") and message in str(e.value), str(e.value)


def test_invalid_utf8_and_empty_file(tmp_path):
    p = tmp_path / "covost_v2.fr_en.tsv"
    p.write_bytes(b"path\ttranslation\tsplit\na.mp3\tok\ttrain\nb.mp3\t\xff\xfe\ttrain\n")
    with pytest.raises(CovostFormatError, match=r"covost_v2.fr_en.tsv:3: not valid UTF-8"):
        read_covost_tsv(p)
    p.write_text("")
    with pytest.raises(CovostFormatError, match=r":1: empty file"):
        read_covost_tsv(p)
    with pytest.raises(CovostFormatError, match="not found"):
        read_covost_tsv(tmp_path / "nope.tsv")


def test_covost_rows_and_validated():
    rows, header = read_covost_tsv(FIX / "covost" / "covost_v2.fr_en.tsv")
    assert "sentence" in header
    by = {r.path: r for r in rows}
    assert by["common_voice_fr_17299385.mp3"].split == "train"
    assert by["common_voice_fr_17299385.mp3"].raw_split == "train_covost"
    assert by["common_voice_fr_17299386.mp3"].sentence == "Une phrase sur deux lignes."
    assert by["common_voice_fr_17299392.mp3"].translation == "The weather is nice today."
    assert by["common_voice_fr_17299390.mp3"].where.endswith("covost_v2.fr_en.tsv:10")
    cv = read_cv_validated(FIX / "cv" / "de" / "validated.tsv")
    assert cv["common_voice_de_18000002.mp3"][0] == "Ich mag Kaffee."
    assert "common_voice_de_18000003.mp3" not in cv


def test_prepare_counts_skips_and_writes_translations(tmp_path, caplog):
    root = _corpus(tmp_path)
    out = tmp_path / "data"
    with caplog.at_level("WARNING"):
        res = prepare_covost2(root / "covost", root / "cv", out)
    tr = res["train"]
    fr_tsv = root / "covost" / "covost_v2.fr_en.tsv"
    assert tr.reasons == {"empty translation": 1, "clip not found": 1, "clip unreadable": 1,
                          "duplicate clip": 1, "not in validated.tsv": 1}
    assert tr.num_rows == 10 and tr.num_utts == 5 and tr.num_rows == tr.num_utts + tr.num_skipped
    assert tr.per_lang == {"fr": 3, "de": 2}
    # each skip names the tsv line (and the clip for audio problems), and is logged
    msgs = "\n".join(tr.skipped)
    assert f"{fr_tsv}:6: empty translation" in msgs
    assert f"{fr_tsv}:7: clip {MISSING} not found" in msgs
    assert f"{fr_tsv}:8: clip {root / 'cv' / 'fr' / 'clips' / CORRUPT} cannot be decoded" in msgs
    assert f"{fr_tsv}:9: common_voice_fr_17299384.mp3 already listed at {fr_tsv}:2" in msgs
    assert "covost_v2.de_en.tsv:4: common_voice_de_18000003.mp3 is not in" in msgs
    assert sum("skipping:" in r.message for r in caplog.records) == 5

    d = read_datadir(out / "train")
    fr1 = utt_id_of("fr", "common_voice_fr_17299384.mp3")
    assert fr1 == "fr-common_voice_fr_17299384"
    assert d.text[fr1] == 'He said "yes".'
    assert d.text["fr-common_voice_fr_17299385"] == "The file is in C:\\temp."
    assert d.utt2lang[fr1] == "fr" and d.utt2lang["de-common_voice_de_18000001"] == "de"
    assert d.utt2spk[fr1].startswith("1f7c6bd8") and d.utt2spk["de-common_voice_de_18000001"].startswith("9e2d")
    assert d.wav_scp[fr1] == str(root / "cv" / "fr" / "clips" / "common_voice_fr_17299384.mp3")
    assert all(0.4 < x < 3.0 for x in d.utt2dur.values())
    src = read_kaldi_map(out / "train" / "utt2src")
    assert src["de-common_voice_de_18000002"] == "Ich mag Kaffee."  # from validated.tsv
    test = read_datadir(out / "test")
    assert test.text["fr-common_voice_fr_17299391"] == '"Goodbye," she said.'
    assert test.text["fr-common_voice_fr_17299392"] == "The weather is nice today."
    assert set(test.utt2lang.values()) == {"fr", "de"}

    # a cap per language and split; rows over it are counted, not lost
    res = prepare_covost2(root / "covost", root / "cv", tmp_path / "capped", langs=["fr"],
                          splits=["train"], max_utts_per_lang=2, check_audio="decode")
    st = res["train"]
    # the cap applies before clips are probed: 384, 385 kept; 386 and the corrupt 389 capped
    assert st.num_utts == 2 and st.num_capped == 2 and st.num_rows == 7
    assert st.num_rows == st.num_utts + st.num_skipped + st.num_capped


def test_prepare_reads_the_downloaded_archive(tmp_path):
    root = _corpus(tmp_path)
    tsv = root / "covost" / "covost_v2.de_en.tsv"
    with tarfile.open(str(tsv) + ".tar.gz", "w:gz") as tar:
        tar.add(tsv, arcname=tsv.name)
    tsv.unlink()
    res = prepare_covost2(root / "covost", root / "cv", tmp_path / "data", langs=["de"])
    assert res["train"].per_lang == {"de": 2} and res["test"].num_utts == 1
    assert "covost_v2.de_en.tsv.tar.gz[covost_v2.de_en.tsv]:4:" in res["train"].skipped[0]


def test_prepare_errors(tmp_path):
    root = _corpus(tmp_path)
    with pytest.raises(CovostFormatError, match=r"covost_v2.fr_en.tsv:6: empty translation"):
        prepare_covost2(root / "covost", root / "cv", tmp_path / "d", on_empty="error")
    for kw, msg in (({"check_audio": "fast"}, "check_audio must be one of none, header, decode"),
                    ({"on_empty": "drop"}, "on_empty must be one of skip, error"),
                    ({"langs": ["fr_fr"]}, "unknown CoVoST 2 source language 'fr_fr'"),
                    ({"splits": ["validation"]}, "unknown split")):
        with pytest.raises(ValueError, match=msg):
            prepare_covost2(root / "covost", root / "cv", tmp_path / "d", **kw)
    with pytest.raises(CovostFormatError, match=r"covost_v2.es_en.tsv: not found"):
        prepare_covost2(root / "covost", root / "cv", tmp_path / "d", langs=["fr", "es"])
    (root / "cv" / "de" / "validated.tsv").unlink()  # de's tsv lacks sentence/client_id
    with pytest.raises(CovostFormatError, match=r"cv/de/validated.tsv: file not found"):
        prepare_covost2(root / "covost", root / "cv", tmp_path / "d")
    assert not (tmp_path / "d").exists()  # nothing written before the files were checked
    # a language all of whose clips are unusable is an error, not an empty language
    for clip in (root / "cv" / "fr" / "clips").iterdir():
        clip.unlink()
    with pytest.raises(CovostFormatError, match=r"covost_v2.fr_en.tsv: none of its 7 train rows"):
        prepare_covost2(root / "covost", root / "cv", tmp_path / "d", langs=["fr"])
