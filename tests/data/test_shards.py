"""usm_espnet.data.shards and prepare_untranscribed --num_shards: ESPnet split-scp shards."""

import numpy as np
import pytest
import soundfile as sf

from usm_espnet.bin import prepare_untranscribed as cli
from usm_espnet.corpora.untranscribed import prepare_untranscribed
from usm_espnet.data.kaldi import DataDirError, read_datadir
from usm_espnet.data.shards import shard_problem, write_shards


def _corpus(root, langs=("en_us", "hi_in"), n=5):
    for lang in langs:
        d = root / lang
        d.mkdir(parents=True)
        for i in range(n):
            sf.write(d / f"{lang}_{i}.wav", np.zeros(1600 + 160 * i, np.float32), 16000)
        (d / "wav.lst").write_text("".join(f"{lang}_{i}.wav\n" for i in range(n)))
    return root


def _read(path):
    return [line.split(maxsplit=1) for line in path.read_text().splitlines()]


def test_shards_cover_every_utterance_once_and_mix_languages(tmp_path):
    out = tmp_path / "out"
    prepare_untranscribed(str(_corpus(tmp_path / "u")), str(out))
    summary = write_shards(str(out), 3)
    assert (summary.num_shards, summary.utterances, summary.skipped) == (3, 10, {})
    assert summary.seconds == pytest.approx(sum(1600 + 160 * i for i in range(5)) * 2 / 16000)
    seen = []
    for name in ("wav.scp", "speech_shape"):
        assert (out / "shards" / name / "num_splits").read_text() == "3"
    for i in range(3):
        scp = _read(out / "shards" / "wav.scp" / f"split.{i}")
        shape = _read(out / "shards" / "speech_shape" / f"split.{i}")
        assert [k for k, _ in scp] == [k for k, _ in shape]
        assert {k.split("-")[1] for k, _ in scp} == {"en_us", "hi_in"}  # both languages
        for k, n in shape:
            assert int(n) == sf.info(dict(scp)[k]).frames
        assert shard_problem([str(out / "shards" / n) for n in ("wav.scp", "speech_shape")],
                             i) is None
        seen += [k for k, _ in scp]
    assert sorted(seen) == sorted(read_datadir(out, require_text=False).wav_scp)
    # the data dir itself still validates with shards/ inside it
    read_datadir(out, validate=True, require_text=False)


def test_unusable_files_are_counted_skips(tmp_path, caplog):
    out = tmp_path / "out"
    root = _corpus(tmp_path / "u", langs=("en_us",), n=5)
    sf.write(root / "en_us" / "en_us_1.wav", np.zeros(1600, np.float32), 8000)
    sf.write(root / "en_us" / "en_us_2.wav", np.zeros((1600, 2), np.float32), 16000)
    (root / "en_us" / "en_us_3.wav").write_bytes(b"RIFF not really")
    prepare_untranscribed(str(root), str(out))
    summary = write_shards(str(out), 2)
    assert summary.utterances == 2
    assert sorted(summary.skipped) == [f"untranscribed-en_us-en_us_{i}" for i in (1, 2, 3)]
    assert "8000 Hz" in summary.skipped["untranscribed-en_us-en_us_1"]
    assert "2 channels" in summary.skipped["untranscribed-en_us-en_us_2"]
    assert "header not readable" in summary.skipped["untranscribed-en_us-en_us_3"]
    assert "wav.scp:4: utterance untranscribed-en_us-en_us_3 left out" in caplog.text
    assert "(3 skipped so far)" in caplog.text
    with pytest.raises(DataDirError, match=r"wav.scp: 2 usable audio files \(3 skipped\) for 3"):
        write_shards(str(out), 3)
    assert (out / "shards" / "wav.scp" / "num_splits").read_text() == "2"  # left as it was


def test_shard_problem_names_file_and_line(tmp_path):
    a, b = tmp_path / "wav.scp", tmp_path / "speech_shape"
    a.mkdir()
    b.mkdir()
    (a / "split.0").write_text("u1 /x.wav\nu2 /y.wav\n")
    (b / "split.0").write_text("u1 10\nu2 20\n")
    dirs = [str(a), str(b)]
    assert shard_problem(dirs, 0) is None
    assert "split.1: No such file" in shard_problem(dirs, 1)
    (b / "split.0").write_bytes(b"u1 10\nu2 \xff\n")
    assert shard_problem(dirs, 0).endswith("speech_shape/split.0:2: not valid UTF-8 (invalid start byte)")
    (b / "split.0").write_text("u1 10\nu3 20\n")
    assert "lists other utterances than" in shard_problem(dirs, 0)
    (b / "split.0").write_text("u1\n")
    assert shard_problem(dirs, 0).endswith("split.0:1: expected '<utterance> <value>'")
    (b / "split.0").write_text("")
    assert shard_problem(dirs, 0).endswith("split.0: empty")


def test_cli_num_shards(tmp_path, capsys):
    root = _corpus(tmp_path / "u")
    out = tmp_path / "out"
    assert cli.main(["--root", str(root), "--out_dir", str(out), "--num_shards", "4"]) == 0
    assert "10 utterances (0.00 h) in 4 shards, 0 files skipped" in capsys.readouterr().out
    assert (out / "shards" / "wav.scp" / "split.3").is_file()
    assert cli.main(["--root", str(root), "--out_dir", str(out), "--num_shards", "1"]) == 1
    assert "at least 2" in capsys.readouterr().err
    assert cli.main(["--root", str(root), "--out_dir", str(out), "--num_shards", "11"]) == 1
    assert capsys.readouterr().err.startswith("ERROR: ")
