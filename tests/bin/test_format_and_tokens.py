"""Stages 2 and 3 of the template: format_data and make_token_list; language masks."""

import json

import numpy as np
import pytest
import soundfile as sf
import torch

from usm_espnet.bin.format_data import format_data
from usm_espnet.bin.make_token_list import make_token_list
from usm_espnet.data.kaldi import DataDir, DataDirError, read_datadir, write_datadir
from usm_espnet.decode.ctc_greedy import greedy_ids, load_lang_masks


def _datadir(tmp_path, rates=(16000, 22050, 16000, 16000), durs=(1.0, 1.0, 0.1, 1.0)):
    wav, text, lang = {}, {}, {}
    texts = ["hello world", "привет мир", "ab", "नमस्ते"]
    langs = ["en_us", "ru_ru", "en_us", "hi_in"]
    for i, (sr, d) in enumerate(zip(rates, durs)):
        x = 0.1 * np.sin(2 * np.pi * 220 * np.arange(int(sr * d)) / sr)
        p = tmp_path / f"w{i}.wav"
        sf.write(p, x.astype(np.float32), sr)
        wav[f"u{i}"] = str(p)
        text[f"u{i}"] = texts[i]
        lang[f"u{i}"] = langs[i]
    write_datadir(tmp_path / "data", DataDir(wav_scp=wav, text=text, utt2lang=lang))
    return tmp_path / "data"


def test_format_resamples_filters_and_adds_lang_tokens(tmp_path):
    src = _datadir(tmp_path)
    counts = format_data(str(src), str(tmp_path / "dump"), min_dur=0.3, max_dur=20,
                         lang_token=True, nj=1)
    assert counts == {"kept": 3, "too_short": 1, "too_long": 0, "bad_audio": 0}
    out = read_datadir(tmp_path / "dump")
    assert out.text["u0"] == "<en_us> hello world"
    # the 22.05 kHz file was resampled and written as 16 kHz; the 16 kHz ones are referenced
    info = sf.info(out.wav_scp["u1"])
    assert info.samplerate == 16000 and abs(info.frames - 16000) <= 1
    assert out.wav_scp["u0"] == str(tmp_path / "w0.wav")
    n = dict(l.split() for l in (tmp_path / "dump" / "utt2num_samples").read_text().splitlines())
    assert int(n["u0"]) == 16000


def test_format_counts_corrupt_audio_as_skip(tmp_path):
    src = _datadir(tmp_path)
    (tmp_path / "w3.wav").write_bytes(b"RIFF not really a wav")
    counts = format_data(str(src), str(tmp_path / "dump"), nj=1)
    assert counts["bad_audio"] == 1 and "u3" not in read_datadir(tmp_path / "dump").text


def test_format_refuses_when_nothing_is_left(tmp_path):
    src = _datadir(tmp_path)
    with pytest.raises(DataDirError, match="no utterance left"):
        format_data(str(src), str(tmp_path / "dump"), min_dur=5, nj=1)


@pytest.mark.parametrize("lang_token", [False, True])
def test_char_token_list_and_lang_sets(tmp_path, lang_token):
    src = _datadir(tmp_path)
    format_data(str(src), str(tmp_path / "dump"), min_dur=0.0, lang_token=lang_token, nj=1)
    toks = make_token_list(str(tmp_path / "dump" / "text"), str(tmp_path / "tok"), "char",
                           lang_token=lang_token, utt2lang=str(tmp_path / "dump" / "utt2lang"))
    assert toks[0] == "<blank>" and toks[1] == "<unk>" and toks[-1] == "<sos/eos>"
    assert "<space>" in toks and "п" in toks and "न" in toks
    assert ("<ru_ru>" in toks) == lang_token
    sets = json.loads((tmp_path / "tok" / "lang_token_sets.json").read_text())
    ru = {toks[i] for i in sets["ru_ru"]}
    assert "п" in ru and "h" not in ru and "न" not in ru


def test_bpe_token_list(tmp_path):
    src = _datadir(tmp_path)
    format_data(str(src), str(tmp_path / "dump"), min_dur=0.0, nj=1)
    toks = make_token_list(str(tmp_path / "dump" / "text"), str(tmp_path / "tok"), "bpe",
                           nbpe=30, utt2lang=str(tmp_path / "dump" / "utt2lang"))
    assert (tmp_path / "tok" / "bpe.model").exists() and len(toks) > 5


def test_greedy_and_language_mask(tmp_path):
    # frames: a a blank b b -> [a, b]
    V = 4
    seq = [1, 1, 0, 2, 2, 3]
    logp = torch.full((1, len(seq), V), -10.0)
    for t, k in enumerate(seq):
        logp[0, t, k] = 0.0
    assert greedy_ids(logp, torch.tensor([5])) == [[1, 2]]
    (tmp_path / "sets.json").write_text(json.dumps({"xx": [0, 1]}))
    (tmp_path / "utt2lang").write_text("u1 xx\n")
    masks, u2l = load_lang_masks(str(tmp_path / "sets.json"), str(tmp_path / "utt2lang"), V)
    masked = logp.masked_fill(~masks["xx"][None, None, :], float("-inf"))
    assert greedy_ids(masked, torch.tensor([6])) == [[1]]
    (tmp_path / "utt2lang").write_text("u1 yy\n")
    with pytest.raises(ValueError, match="no token set"):
        load_lang_masks(str(tmp_path / "sets.json"), str(tmp_path / "utt2lang"), V)
