"""usm_espnet.corpora.untranscribed and its CLI: <root>/<lang>/wav.lst -> text-less Kaldi dir."""

import numpy as np
import pytest
import soundfile as sf

from usm_espnet.bin import prepare_untranscribed as cli
from usm_espnet.corpora.untranscribed import prepare_untranscribed
from usm_espnet.data.kaldi import DataDirError, read_datadir


def _corpus(root, langs=("en_us", "hi_in"), n=3):
    for lang in langs:
        d = root / lang
        d.mkdir(parents=True)
        names = []
        for i in range(n):
            sf.write(d / f"{lang}_{i}.wav", np.zeros(1600, np.float32), 16000)
            names.append(f"{lang}_{i}.wav")
        (d / "wav.lst").write_text("\n".join(names) + "\n")
    return root


def test_prepare_writes_textless_dir(tmp_path):
    root = _corpus(tmp_path / "u")
    counts = prepare_untranscribed(str(root), str(tmp_path / "out"))
    assert counts == {"en_us": 3, "hi_in": 3}
    data = read_datadir(tmp_path / "out", validate=True, require_text=False)
    assert len(data.wav_scp) == 6 and not data.text
    assert data.utt2lang["untranscribed-hi_in-hi_in_2"] == "hi_in"
    assert prepare_untranscribed(str(root), str(tmp_path / "o2"), ["hi_in"]) == {"hi_in": 3}


@pytest.mark.parametrize("lines,msg", [
    ("en_us_0.wav\n\n", r"wav.lst:2: empty line"),
    ("en_us_0.wav\nen_us_0.wav\n", r"wav.lst:2: 'en_us_0.wav' listed twice \(first at line 1\)"),
    ("en_us_0.wav\nmissing.wav\n", r"wav.lst:2: audio file .*missing.wav not found"),
    ("", r"wav.lst: lists no audio"),
])
def test_bad_lists_name_file_and_line(tmp_path, lines, msg):
    root = _corpus(tmp_path / "u", langs=("en_us",))
    (root / "en_us" / "wav.lst").write_text(lines)
    with pytest.raises(DataDirError, match=msg):
        prepare_untranscribed(str(root), str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def test_unknown_and_absent_languages(tmp_path):
    root = _corpus(tmp_path / "u", langs=("en_us",))
    (root / "xx_yy").mkdir()
    (root / "xx_yy" / "wav.lst").write_text("a.wav\n")
    with pytest.raises(DataDirError, match="unknown language directory 'xx_yy'"):
        prepare_untranscribed(str(root), str(tmp_path / "out"))
    with pytest.raises(DataDirError, match="no <lang>/wav.lst for hi_in"):
        prepare_untranscribed(str(root), str(tmp_path / "out"), ["hi_in"])
    with pytest.raises(DataDirError, match="not found"):
        prepare_untranscribed(str(tmp_path / "nowhere"), str(tmp_path / "out"))


def test_cli(tmp_path, capsys):
    root = _corpus(tmp_path / "u")
    assert cli.main(["--root", str(root), "--out_dir", str(tmp_path / "out")]) == 0
    assert "6 untranscribed utterances in 2 languages" in capsys.readouterr().out
    assert cli.main(["--root", str(tmp_path / "none"), "--out_dir", str(tmp_path / "o")]) == 1
    assert capsys.readouterr().err.startswith("ERROR: ")
