"""usm_espnet.corpora.unspoken_text: the MOST text stream's data preparation."""

import json

import pytest

from usm_espnet.corpora.unspoken_text import format_unspoken_text, prepare_unspoken_text
from usm_espnet.data.kaldi import DataDirError


def _lines(path):
    return path.read_text(encoding="utf-8").splitlines()


def test_prepare_normalises_counts_every_line_and_leaves_out_transcripts(tmp_path):
    root = tmp_path / "text"
    root.mkdir()
    (root / "en_us.txt").write_text(
        "Hello, World!\n\nhello world\n...\nThe test sentence.\nA new one\n", encoding="utf-8")
    (root / "ru_ru.txt").write_text("Привет, мир.\r\n", encoding="utf-8")
    train = tmp_path / "train"
    train.mkdir()
    (train / "text").write_text("u1 the test sentence\n", encoding="utf-8")
    stats = prepare_unspoken_text(str(root), str(tmp_path / "out"), exclude=[str(train)])
    en = stats["langs"]["en_us"]
    assert en == {"lines": 6, "kept": 2, "blank": 1, "empty_after_normalisation": 1,
                  "duplicate": 1, "in_transcripts": 1}
    assert stats["langs"]["ru_ru"]["kept"] == 1
    assert _lines(tmp_path / "out" / "text") == [
        "text-en_us-0000001 hello world", "text-en_us-0000006 a new one",
        "text-ru_ru-0000001 привет мир"]
    assert _lines(tmp_path / "out" / "utt2lang") == [
        "text-en_us-0000001 en_us", "text-en_us-0000006 en_us", "text-ru_ru-0000001 ru_ru"]
    assert json.loads((tmp_path / "out" / "stats.json").read_text()) == stats
    # only some languages, capped
    stats = prepare_unspoken_text(str(root), str(tmp_path / "out2"), langs=["en_us"],
                                  max_per_lang=1)
    assert stats["langs"]["en_us"]["kept"] == 1 and "ru_ru" not in stats["langs"]
    assert _lines(tmp_path / "out2" / "text") == ["text-en_us-0000001 hello world"]
    # stage 2's copy with language tokens
    assert format_unspoken_text(str(tmp_path / "out"), str(tmp_path / "dump"), True) == 3
    assert _lines(tmp_path / "dump" / "text")[0] == "text-en_us-0000001 <en_us> hello world"
    assert (tmp_path / "dump" / "stats.json").exists()


@pytest.mark.parametrize("name,content,langs,match", [
    ("en_us.txt", b"good line\n\xff\xfe bad\n", None, r"en_us\.txt:2: line is not valid UTF-8"),
    ("xx_yy.txt", b"some text\n", None, r"xx_yy\.txt: unknown language 'xx_yy'"),
    ("en_us.txt", b"some text\n", ["hi_in"], r"no hi_in\.txt"),
    ("en_us.txt", b"\n...\n", None, r"no sentence kept"),
])
def test_prepare_bad_input_names_the_file(tmp_path, name, content, langs, match):
    root = tmp_path / "text"
    root.mkdir()
    (root / name).write_bytes(content)
    with pytest.raises(DataDirError, match=match):
        prepare_unspoken_text(str(root), str(tmp_path / "out"), langs=langs)
    assert not (tmp_path / "out").exists()  # nothing half-written


def test_prepare_and_format_missing_inputs(tmp_path):
    with pytest.raises(DataDirError, match="unspoken-text directory not found"):
        prepare_unspoken_text(str(tmp_path / "nope"), str(tmp_path / "out"))
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "text").write_text("t1 abc\nt2 def\n")
    (tmp_path / "d" / "utt2lang").write_text("t1 en_us\n")
    with pytest.raises(DataDirError, match=r"utt2lang: no language for 't2'"):
        format_unspoken_text(str(tmp_path / "d"), str(tmp_path / "out"))


def test_cli_prints_one_error_line(tmp_path, capsys):
    from usm_espnet.bin.prepare_unspoken_text import main

    assert main(["--root", str(tmp_path / "nope"), "--out_dir", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("ERROR: ") and "nope" in err[0]
