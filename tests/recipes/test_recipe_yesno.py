"""egs/yesno/asr1: real speech (Kaldi's yesno, 8 kHz) through every stage of the template."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from shared_data import RECIPES, real_speech

RECIPE = RECIPES["yesno"]
YESNO = real_speech("kaldi_yesno")


@pytest.mark.timeout(1800)
def test_yesno_trains_on_real_speech_and_decodes_the_test_half(tmp_path):
    if not YESNO.is_dir():
        pytest.skip(f"no Kaldi yesno recordings at {YESNO} (set USM_REAL_SPEECH)")
    env = dict(os.environ, PYTHONPATH=str(RECIPE.parents[2]), YESNO=str(YESNO),
               USM_VENV=str(Path(sys.executable).parent.parent))
    r = subprocess.run(
        ["./run.sh", "--data_dir", str(tmp_path / "data"), "--dump_dir", str(tmp_path / "dump"),
         "--exp_dir", str(tmp_path / "exp"), "--results_md", str(tmp_path / "RESULTS.md")],
        cwd=RECIPE, env=env, capture_output=True, text=True, timeout=1700)
    assert r.returncode == 0, r.stderr[-5000:]
    prep = json.loads((tmp_path / "data" / "yesno_prep.json").read_text())
    assert (prep["train"], prep["test"], prep["dev"]) == (31, 29, 4)
    # 8 kHz recordings, resampled by the format stage like every corpus
    assert "8000" not in (tmp_path / "dump" / "raw" / "test" / "wav.scp").read_text()
    scores = json.loads((tmp_path / "exp" / "asr_train_asr" / "decode_test" / "score"
                         / "scores.json").read_text())
    wer = scores["macro_average"]["wer"]
    assert wer <= 5.0, f"yesno test WER {wer:.2f} % (Kaldi reaches ~0 %)"


def test_yesno_reader_split_and_bad_names(tmp_path):
    import numpy as np
    import soundfile as sf

    from usm_espnet.corpora.yesno import prepare_yesno, transcript_of

    assert transcript_of("0_1_1_0.wav") == "NO YES YES NO"
    with pytest.raises(ValueError, match="not a yesno file name"):
        transcript_of("0_2.wav")
    src = tmp_path / "waves"
    src.mkdir()
    for name in ("0_0_1.wav", "0_1_1.wav", "1_0_0.wav", "1_1_1.wav", "yes.wav"):
        sf.write(src / name, np.zeros(800, np.int16), 8000, subtype="PCM_16")
    (src / "README").write_text("x")
    # 0_1_1.wav: three 0.3 s bursts in 0.4 s pauses -> two cropped copies; 0_0_1.wav (silent)
    # does not split into three words and stays whole only
    t = np.arange(int(0.3 * 8000)) / 8000
    burst = (8000 * np.sin(2 * np.pi * 300 * t)).astype(np.int16)
    pause = np.zeros(int(0.4 * 8000), np.int16)
    sf.write(src / "0_1_1.wav", np.concatenate([pause, burst, pause, burst, pause, burst, pause]),
             8000, subtype="PCM_16")
    st = prepare_yesno(str(src), str(tmp_path / "data"), num_dev=1)
    assert (st.train, st.dev, st.test) == (2, 1, 2) and list(st.skipped) == ["yes.wav"]
    assert (st.crops, st.crops_skipped) == (2, 1)
    train = dict(line.split(" ", 1) for line in
                 (tmp_path / "data" / "train" / "text").read_text().splitlines())
    assert train["yesno_0_1_1_from2"] == "YES YES" and train["yesno_0_1_1_from3"] == "YES"
    scp = dict(line.split(" ", 1) for line in
               (tmp_path / "data" / "train" / "wav.scp").read_text().splitlines())
    crop, fs = sf.read(scp["yesno_0_1_1_from2"], dtype="int16")
    # starts in the middle of the pause after word 1: 0.2 s of silence, then word 2
    assert fs == 8000 and abs(len(crop) - int((0.2 + 0.3 + 0.4 + 0.3 + 0.4) * 8000)) <= 160
    assert not np.any(crop[:int(0.15 * 8000)]) and np.any(crop[int(0.25 * 8000):int(0.45 * 8000)])
    assert "yesno_0_1_1_from2" not in (tmp_path / "data" / "dev" / "text").read_text()
    text = (tmp_path / "data" / "test" / "text").read_text().splitlines()
    assert text == ["yesno_1_0_0 YES NO NO", "yesno_1_1_1 YES YES YES"]
    assert (tmp_path / "data" / "train" / "utt2lang").read_text().split()[1] == "en_us"
    (src / "1_0_0.wav").unlink()
    (src / "1_1_1.wav").unlink()
    with pytest.raises(ValueError, match="no test recording"):
        prepare_yesno(str(src), str(tmp_path / "data2"))
