"""Long-form training data: packing to the chunk length, pauses, noise at an SNR, the data dir."""

import json
import random

import numpy as np
import pytest
import soundfile as sf

from usm_espnet.data.kaldi import DataDir, read_datadir, write_datadir
from usm_espnet.standin.longform_train import make_longform_train, pack_utterances, render_segment

SR = 16000


def _tone(seconds, gap_at=None):
    t = np.arange(int(seconds * SR)) / SR
    x = 0.3 * np.sin(2 * np.pi * 220 * t)
    if gap_at is not None:  # a word gap: 0.1 s of silence
        a = int(gap_at * SR)
        x[a:a + int(0.1 * SR)] = 0.0
    return x.astype(np.float32)


@pytest.fixture
def short_dir(tmp_path):
    wavs = tmp_path / "wavs"
    wavs.mkdir()
    data = DataDir(wav_scp={})
    for lang in ("en_us", "ru_ru"):
        for i in range(6):
            utt = f"{lang}-{i:02d}"
            sec = 1.5 + 0.5 * (i % 4)
            sf.write(wavs / f"{utt}.wav", _tone(sec, gap_at=0.7), SR, subtype="PCM_16")
            data.wav_scp[utt] = str(wavs / f"{utt}.wav")
            data.text[utt] = f"w{i} {lang[:2]}"
            data.utt2lang[utt] = lang
            data.utt2spk[utt] = f"spk{i % 2}"
            data.utt2dur[utt] = sec
    write_datadir(tmp_path / "train", data)
    return tmp_path / "train"


@pytest.mark.parametrize("chunk", [4.0, 8.0])
def test_pack_keeps_order_and_chunk_length(chunk):
    durs = [1.0, 2.5, 0.8, 3.0, 9.5, 1.2, 2.0]
    packed = pack_utterances(durs, chunk, random.Random(0), (0.2, 0.5), (0.1, 0.3))
    assert sorted(i for idx, _, _, _ in packed for i in idx) == list(range(len(durs)))
    for idx, pauses, lead, trail in packed:
        assert len(pauses) == len(idx) - 1
        total = lead + trail + sum(pauses) + sum(durs[i] for i in idx)
        # only a lone utterance longer than the chunk is longer, with no silence around it
        if len(idx) == 1 and durs[idx[0]] > chunk:
            assert lead == trail == 0.0
        else:
            assert total <= chunk + 1e-9
    assert any(len(idx) > 1 for idx, _, _, _ in packed)
    # first fit: the 9.5 s utterance is alone, and a later short one fills an earlier gap
    assert [4] in [idx for idx, _, _, _ in packed]


def test_pack_shrinks_the_silence_around_a_long_utterance():
    # 7.4 s + up to 1 s on each side would be a 9.4 s segment: the edges shrink to 0.6 s
    # in all, in proportion, so that chunk-wise attention sees it as one chunk in training
    packed = pack_utterances([7.4, 7.9, 3.0], 8.0, random.Random(1), (0.2, 0.5), (0.8, 1.0))
    assert [idx for idx, _, _, _ in packed] == [[0], [1], [2]]
    for (idx, _, lead, trail), dur in zip(packed, [7.4, 7.9, 3.0]):
        assert lead > 0 and trail > 0
        assert lead + dur + trail <= 8.0 + 1e-9
    (_, _, lead, trail), = packed[:1]
    assert abs(lead + trail - 0.6) < 1e-9
    assert packed[2][2] >= 0.8 and packed[2][3] >= 0.8  # a short one keeps its drawn edges


def test_render_segment_pauses_and_snr():
    clips = [_tone(1.0), _tone(2.0)]
    y, silence = render_segment(clips, [0.5], lead=0.25, trail=0.75, snr_db=None, seed=1)
    assert len(y) == int(4.5 * SR) and silence == int(1.5 * SR)
    assert np.all(y[:int(0.25 * SR)] == 0) and np.all(y[-int(0.75 * SR):] == 0)
    noisy, _ = render_segment(clips, [0.5], 0.25, 0.75, snr_db=10.0, seed=1)
    noise = noisy.astype(np.float64) - y
    speech = np.concatenate(clips).astype(np.float64)
    snr = 10 * np.log10(np.mean(speech ** 2) / np.mean(noise ** 2))
    assert abs(snr - 10.0) < 0.2
    assert np.std(noisy[:int(0.25 * SR)]) > 0  # noise in the pauses too
    # an internal pause goes into the clip's word gap and adds silence
    long, sil = render_segment([_tone(1.5, gap_at=0.7)], [], 0.0, 0.0, None, seed=3,
                               internal_pauses=[0.5])
    assert len(long) == int(2.0 * SR) and sil == int(0.5 * SR)
    with pytest.raises(ValueError):
        render_segment(clips, [], 0.1, 0.1, None, seed=0)
    with pytest.raises(ValueError):
        render_segment(clips, [0.5], 0.1, 0.1, None, seed=0, internal_pauses=[0.5])


def test_make_longform_train(short_dir, tmp_path):
    out = tmp_path / "train_longform"
    stats = make_longform_train(short_dir, out, chunk_seconds=8.0, copies=2, snr_db=[5, 20],
                                clean_prob=0.0, internal_pause_prob=1.0, seed=0)
    data = read_datadir(out)
    segs = [u for u in data.utt_ids() if "-lf" in u]
    assert stats.num_original == 12 and stats.num_segments == len(segs) > 0
    assert len(data.utt_ids()) == 12 + len(segs)
    words_in = sum(len(data.text[u].split()) for u in data.utt_ids() if "-lf" not in u)
    for copy in (0, 1):  # each copy holds every utterance once, within its language
        part = [u for u in segs if f"-lf{copy}-" in u]
        assert sum(len(data.text[u].split()) for u in part) == words_in
        for u in part:
            assert set(data.text[u].split()[1::2]) == {data.utt2lang[u][:2]}
    for u in segs:
        x, sr = sf.read(data.wav_scp[u])
        assert sr == SR and abs(len(x) / SR - data.utt2dur[u]) < 1e-3
        assert len(x) / SR <= 8.0 + 1e-3  # pauses (internal ones too) and edges included
        assert np.std(x[:int(0.05 * SR)]) > 0  # noise over the leading silence
    assert 0 < stats.pause_fraction < 1 and stats.utts_per_segment > 1
    again = make_longform_train(short_dir, out, chunk_seconds=8.0, copies=2, snr_db=[5, 20],
                                clean_prob=0.0, internal_pause_prob=1.0, seed=0)
    assert again.reused and again.num_segments == stats.num_segments
    marker = json.loads((out / ".done").read_text())
    assert marker["params"]["snr_db"] == [5.0, 20.0]


def test_make_longform_train_segments_fit_the_chunk(short_dir, tmp_path):
    # utterances of 1.5-3.0 s in 3 s chunks: internal pauses and edges are cut to fit, so
    # chunk-wise attention never splits a training segment; the 3.0 s ones get no silence
    out = tmp_path / "train_longform"
    make_longform_train(short_dir, out, chunk_seconds=3.0, copies=2, snr_db=[20],
                        clean_prob=1.0, internal_pause_prob=1.0, keep_original=False, seed=0)
    data = read_datadir(out)
    assert len(data.utt_ids()) > 0
    for u in data.utt_ids():
        x, _ = sf.read(data.wav_scp[u])
        assert len(x) / SR <= 3.0 + 1e-3, u


def test_make_longform_train_deterministic_and_options(short_dir, tmp_path):
    a = make_longform_train(short_dir, tmp_path / "a", copies=1, keep_original=False, seed=4)
    make_longform_train(short_dir, tmp_path / "b", copies=1, keep_original=False, seed=4)
    da, db = read_datadir(tmp_path / "a"), read_datadir(tmp_path / "b")
    assert da.text == db.text and a.num_original == 0
    u = da.utt_ids()[0]
    assert np.array_equal(sf.read(da.wav_scp[u])[0], sf.read(db.wav_scp[u])[0])
    for bad in (dict(chunk_seconds=0), dict(copies=-1), dict(snr_db=[]), dict(clean_prob=2),
                dict(pause_s=(1, 0.5)), dict(copies=0, keep_original=False)):
        with pytest.raises(ValueError):
            make_longform_train(short_dir, tmp_path / "c", **bad)


def test_cli(short_dir, tmp_path, capsys):
    from usm_espnet.bin.make_longform_train import main

    assert main(["--in_dir", str(short_dir), "--out_dir", str(tmp_path / "o"), "--copies", "1",
                 "--snr_db", "10,20", "--pause_s", "0.2,0.4"]) == 0
    assert "segments" in capsys.readouterr().out
    assert main(["--in_dir", str(tmp_path / "missing"), "--out_dir", str(tmp_path / "p")]) == 1
