"""Long-form encoding (usm_espnet.longform) equals one-pass encoding; CTC decoders; bad audio."""

import itertools
import math

import numpy as np
import pytest
import soundfile as sf
import torch
import yaml

from usm_espnet.registry import register

register(["espnet2.tasks.asr"])

from espnet2.tasks.asr import ASRTask  # noqa: E402

from usm_espnet.bin import longform_inference  # noqa: E402
from usm_espnet.longform.ctc import (  # noqa: E402
    StreamingGreedy,
    StreamingPrefixBeam,
    split_at_gaps,
    words_with_times,
)
from usm_espnet.longform.encode import (  # noqa: E402
    AudioReader,
    LongFormEncoder,
    LongFormError,
    input_range,
    receptive_field_frames,
)

TOKENS = ["<blank>", "<unk>", "<space>", "a", "b", "<sos/eos>"]


def _model(tmp_path, attention_type="chunk", blocks=3, normalize="none"):
    tok = tmp_path / "tokens.txt"
    tok.write_text("\n".join(TOKENS) + "\n")
    cfg = dict(frontend="default",
               frontend_conf=dict(n_fft=512, win_length=400, hop_length=160, n_mels=20),
               normalize=normalize,
               encoder="chunk_conformer",
               encoder_conf=dict(output_size=32, attention_heads=4, linear_units=64,
                                 num_blocks=blocks, cnn_module_kernel=5,
                                 attention_type=attention_type, chunk_seconds=2,
                                 left_context=8, right_context=8),
               decoder="none", model_conf=dict(ctc_weight=1.0))
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    args = ASRTask.get_parser().parse_args(
        ["--config", str(tmp_path / "config.yaml"), "--token_list", str(tok),
         "--token_type", "char", "--output_dir", str(tmp_path)])
    torch.manual_seed(0)
    model = ASRTask.build_model(args).eval()
    return model, args


def _one_pass(model, x):
    with torch.no_grad():
        feats, lens = model.frontend(torch.from_numpy(x)[None], torch.tensor([x.size]))
        out, _, _ = model.encoder(feats, lens)
    return out[0]


@pytest.mark.parametrize("attention_type", ["chunk", "local"])
def test_windowed_exact_equals_one_pass_on_3_minutes_from_file(tmp_path, attention_type):
    model, _ = _model(tmp_path, attention_type)
    x = (0.1 * np.random.default_rng(0).standard_normal(16000 * 180)).astype(np.float32)
    wav = tmp_path / "long.wav"
    sf.write(wav, x, 16000, subtype="FLOAT")
    ref = _one_pass(model, x)
    lf = LongFormEncoder(model, window_seconds=20, mode="exact")
    assert lf.mode == "exact"
    reader = AudioReader(str(wav))
    assert lf.num_frames(reader.num_samples) == ref.size(0)
    parts = list(lf.encode(reader))
    assert [a for a, _ in parts] == list(range(0, ref.size(0), lf.window))
    out = torch.cat([p for _, p in parts])
    assert out.shape == ref.shape
    assert (out - ref).abs().max() < 1e-4
    # stream mode (the default for chunk attention): exact without recomputation
    if attention_type == "chunk":
        lf = LongFormEncoder(model, window_seconds=6)
        assert lf.mode == "stream"
        out = torch.cat([p for _, p in lf.encode(reader)])
        assert out.shape == ref.shape and (out - ref).abs().max() < 1e-4
    else:
        assert LongFormEncoder(model).mode == "exact"
        with pytest.raises(LongFormError, match="stream needs chunk attention"):
            LongFormEncoder(model, mode="stream")
    # fast mode: approximate, but close, and the same length
    fast = torch.cat([p for _, p in LongFormEncoder(model, 20, "fast", 0.5).encode(reader)])
    assert fast.shape == ref.shape and (fast - ref).abs().max() > 0


def test_receptive_field_grows_one_chunk_per_block(tmp_path):
    rf = {}
    for blocks in (1, 2, 3):
        model, _ = _model(tmp_path, "chunk", blocks=blocks)
        enc = model.encoder
        C, k2 = enc.chunk_frames, 2  # 50 frames (2 s at 40 ms), kernel 5
        rf[blocks] = receptive_field_frames(enc)
        # a whole chunk depends on its neighbours' frames only through the convolutions
        s, e = input_range(enc, 2 * C, 3 * C, 100 * C)
        assert (s, e) == (max(0, (2 - blocks) * C), (3 + blocks) * C)
    # one block: a frame 1 into its chunk sees the previous chunk (its left edge
    # leaks through the kernel) -- C + 1 frames; symmetric on the right
    assert rf[1] == (C + 1, C + 1)
    assert rf[2][0] - rf[1][0] == C and rf[3][0] - rf[2][0] == C
    model, _ = _model(tmp_path, "local", blocks=3)
    assert receptive_field_frames(model.encoder) == (3 * (8 + k2), 3 * (8 + k2))
    assert input_range(model.encoder, 5, 10, 20) == (0, 20)


def test_global_attention_and_utterance_mvn_are_refused(tmp_path):
    model, _ = _model(tmp_path, "global")
    with pytest.raises(LongFormError, match="chunk or local"):
        LongFormEncoder(model)
    x = (0.1 * np.random.default_rng(2).standard_normal(16000 * 20)).astype(np.float32)
    parts = list(LongFormEncoder(model, mode="onepass").encode(AudioReader(samples=x)))
    assert len(parts) == 1 and (parts[0][1] - _one_pass(model, x)).abs().max() < 1e-5
    model, _ = _model(tmp_path, "chunk", normalize="utterance_mvn")
    with pytest.raises(LongFormError, match="UtteranceMVN"):
        LongFormEncoder(model)


def test_audio_reader_resamples_downmixes_and_reports_bad_files(tmp_path):
    t = np.arange(16000 * 3) / 16000
    tone = 0.3 * np.sin(2 * np.pi * 440 * t).astype(np.float32)
    for sr in (8000, 44100):
        n = int(3 * sr)
        y = 0.3 * np.sin(2 * np.pi * 440 * np.arange(n) / sr).astype(np.float32)
        stereo = np.stack([y, y], axis=1)
        sf.write(tmp_path / f"s{sr}.wav", stereo, sr)
        r = AudioReader(str(tmp_path / f"s{sr}.wav"))
        assert r.num_samples == 48000
        seg = r.read(16000, 32000)
        assert seg.shape == (16000,)
        assert np.abs(seg - tone[16000:32000]).max() < 0.02
    # broadband audio at 44.1 kHz: spans equal a one-pass resampling of the whole file
    import torchaudio.functional as AF

    noise = (0.1 * np.random.default_rng(3).standard_normal(44100 * 4)).astype(np.float32)
    sf.write(tmp_path / "n44.wav", noise, 44100, subtype="FLOAT")
    whole = AF.resample(torch.from_numpy(noise), 44100, 16000).numpy()
    r = AudioReader(str(tmp_path / "n44.wav"))
    for x0, x1 in ((0, 8000), (12345, 30001), (40000, 64000)):
        assert np.abs(r.read(x0, x1) - whole[x0:x1]).max() < 1e-4, (x0, x1)
    sf.write(tmp_path / "empty.wav", np.zeros(0, np.float32), 16000)
    with pytest.raises(LongFormError, match="empty.wav: no audio"):
        AudioReader(str(tmp_path / "empty.wav"))
    (tmp_path / "junk.wav").write_bytes(b"RIFF1234WAVEjunk")
    with pytest.raises(LongFormError, match="junk.wav: cannot read audio"):
        AudioReader(str(tmp_path / "junk.wav"))
    sf.write(tmp_path / "cut.wav", tone, 16000, subtype="PCM_16")
    data = (tmp_path / "cut.wav").read_bytes()
    (tmp_path / "cut.wav").write_bytes(data[: len(data) // 2])  # header still says 3 s
    r = AudioReader(str(tmp_path / "cut.wav"))
    assert r.read(0, 10000).shape == (10000,)  # the part that is there reads fine
    with pytest.raises(LongFormError, match="cut.wav: (truncated|cannot read samples 30000-40000)"):
        r.read(30000, 40000)


def test_short_audio_shorter_than_a_chunk(tmp_path):
    model, _ = _model(tmp_path, "chunk")
    x = (0.1 * np.random.default_rng(1).standard_normal(8000)).astype(np.float32)  # 0.5 s < 2 s chunk
    ref = _one_pass(model, x)
    for mode in ("stream", "exact"):
        lf = LongFormEncoder(model, 20, mode)
        out = torch.cat([p for _, p in lf.encode(AudioReader(samples=x))])
        assert (out - ref).abs().max() < 1e-4


def _prefix_probs(lp):
    """Exact CTC prefix probabilities by enumerating every alignment."""
    T, V = lp.shape
    probs = {}
    for path in itertools.product(range(V), repeat=T):
        p = sum(lp[t, s] for t, s in enumerate(path))
        out, prev = [], None
        for s in path:
            if s != 0 and s != prev:
                out.append(s)
            prev = s
        probs[tuple(out)] = np.logaddexp(probs.get(tuple(out), -np.inf), p)
    return probs


def test_prefix_beam_finds_the_most_probable_labelling_and_streams():
    rng = np.random.default_rng(0)
    for trial in range(5):
        lp = torch.log_softmax(torch.tensor(rng.standard_normal((5, 3)) * 2), -1)
        exact = _prefix_probs(lp.numpy())
        best = max(exact, key=exact.get)
        dec = StreamingPrefixBeam(beam=50, blank=0, token_prune=3)
        dec.feed(lp[:2], 0)  # two windows: the beam carries over
        dec.feed(lp[2:], 2)
        assert tuple(t for t, _, _ in dec.result()) == best
    # greedy over windows equals greedy over the whole
    lp = torch.log_softmax(torch.tensor(rng.standard_normal((40, 5))), -1)
    g1, g2 = StreamingGreedy(), StreamingGreedy()
    g1.feed(lp, 0)
    for a in range(0, 40, 7):
        g2.feed(lp[a: a + 7], a)
    assert g1.result() == g2.result()


def test_words_with_times():
    em = [(3, 0, 1), (4, 2, 2), (2, 3, 3), (4, 5, 6), (1, 7, 7), (3, 8, 8)]
    words = words_with_times(em, TOKENS, 0.04)
    assert [w for w, _, _ in words] == ["ab", "ba"]
    assert words[0][1] == 0.0 and math.isclose(words[0][2], 0.12)
    assert math.isclose(words[1][1], 0.2) and math.isclose(words[1][2], 0.36)


def test_pause_is_a_word_boundary():
    # "ab", a 1.1 s pause with no <space> (a model trained on single utterances ends one
    # without a separator), then "ba": two words, not "abba"
    em = [(3, 0, 1), (4, 2, 2), (4, 30, 30), (3, 31, 32)]
    assert [w for w, _, _ in words_with_times(em, TOKENS, 0.04)] == ["abba"]
    words = words_with_times(em, TOKENS, 0.04, word_gap_seconds=0.3)
    assert [w for w, _, _ in words] == ["ab", "ba"]
    assert math.isclose(words[1][1], 1.2) and math.isclose(words[1][2], 1.32)
    # a short gap inside a word stays one word; groups for detokenisation split the same way
    assert [w for w, _, _ in words_with_times([(3, 0, 0), (4, 5, 5)], TOKENS, 0.04, 0.3)] == ["ab"]
    assert split_at_gaps(em, 8) == [em[:2], em[2:]]
    assert split_at_gaps(em, None) == [em] and split_at_gaps([], 8) == []
    with pytest.raises(ValueError, match="max_gap_frames"):
        split_at_gaps(em, 0)


def test_cli_decodes_and_skips_bad_recordings(tmp_path):
    model, args = _model(tmp_path, "chunk")
    ckpt = tmp_path / "model.pth"
    torch.save(model.state_dict(), ckpt)
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(vars(args)))  # as ESPnet saves it
    x = (0.1 * np.random.default_rng(0).standard_normal(16000 * 30)).astype(np.float32)
    sf.write(tmp_path / "a.wav", x, 16000)
    (tmp_path / "bad.wav").write_bytes(b"not audio")
    (tmp_path / "wav.scp").write_text(f"a {tmp_path / 'a.wav'}\nbad {tmp_path / 'bad.wav'}\n")
    rc = longform_inference.main([
        "--asr_train_config", str(tmp_path / "config.yaml"), "--asr_model_file", str(ckpt),
        "--wav_scp", str(tmp_path / "wav.scp"), "--output_dir", str(tmp_path / "out"),
        "--window_seconds", "8"])
    assert rc == 1  # one recording skipped
    assert (tmp_path / "out" / "text").read_text().startswith("a")
    stats = (tmp_path / "out" / "stats.tsv").read_text().splitlines()
    assert len(stats) == 2 and stats[1].startswith("a\t30.0")
    assert (tmp_path / "out" / "words.ctm").exists()


class _FailingReader(AudioReader):
    """An in-memory recording whose samples after ``bad_from`` cannot be read (a file cut short)."""

    def __init__(self, samples, bad_from):
        super().__init__(samples=samples)
        self.bad_from = bad_from

    def read(self, x0, x1):
        if x1 > self.bad_from:
            raise LongFormError(f"truncated at {self.bad_from}")
        return super().read(x0, x1)


def test_batch_of_recordings_equals_each_one_pass(tmp_path):
    """encode_batch: recordings of different lengths (one shorter than a chunk, one ending mid-chunk,
    one a whole number of windows) in lockstep; each row equals that recording's one-pass encoding."""
    model, _ = _model(tmp_path, "chunk")
    rng = np.random.default_rng(3)
    secs = [31.3, 0.7, 12.0, 25.9]
    xs = [(0.1 * rng.standard_normal(int(16000 * s))).astype(np.float32) for s in secs]
    refs = [_one_pass(model, x) for x in xs]
    lf = LongFormEncoder(model, window_seconds=6)
    got = [[] for _ in xs]
    frames = []
    offsets = []
    for offset, out, n in lf.encode_batch([AudioReader(samples=x) for x in xs], progress=frames.append):
        offsets.append(offset)
        assert out.shape[:2] == (len(xs), max(n)) and len(n) == len(xs)
        for i, k in enumerate(n):
            got[i].append(out[i, :k])
    assert offsets == list(range(0, refs[0].size(0), lf.window))
    assert sum(frames) == sum(r.size(0) for r in refs)
    for x, ref, parts in zip(xs, refs, got):
        out = torch.cat(parts)
        assert out.shape == ref.shape
        assert float((out - ref).abs().max()) < 1e-4
    # one recording's audio fails mid-stream: it is recorded, the others are unchanged
    failed = {}
    readers = [AudioReader(samples=xs[0]), _FailingReader(xs[3], 16000 * 10)]
    got = [[], []]
    for offset, out, n in lf.encode_batch(readers, failed=failed):
        for i, k in enumerate(n):
            got[i].append(out[i, :k])
    assert list(failed) == [1] and "truncated" in str(failed[1])
    assert float((torch.cat(got[0]) - refs[0]).abs().max()) < 1e-4
    assert 0 < sum(p.size(0) for p in got[1]) < refs[3].size(0)
    with pytest.raises(LongFormError, match="truncated"):
        list(lf.encode_batch(readers))
    # the longest recording fails: the others' last piece ends where they do
    failed = {}
    readers = [_FailingReader(xs[0], 16000 * 10), AudioReader(samples=xs[3]), AudioReader(samples=xs[1])]
    got = [[], [], []]
    for offset, out, n in lf.encode_batch(readers, failed=failed):
        assert out.size(1) == max(n)
        for i, k in enumerate(n):
            got[i].append(out[i, :k])
    assert list(failed) == [0]
    for i, ref in ((1, refs[3]), (2, refs[1])):
        assert float((torch.cat(got[i]) - ref).abs().max()) < 1e-4
    # only stream mode batches
    with pytest.raises(LongFormError, match="needs mode stream"):
        list(LongFormEncoder(model, 20, "exact").encode_batch(readers))


def test_cli_batch_size_gives_each_recordings_own_decoding(tmp_path, capsys, monkeypatch, caplog):
    """--batch_size 3 over 4 recordings of different lengths (+ one unreadable, one with NaN
    samples mid-way): the same text and words.ctm as --batch_size 1, in wav.scp order; the bad
    ones are skipped and counted; other modes refuse batching with one error."""
    model, args = _model(tmp_path, "chunk")
    with torch.no_grad():  # a CTC layer that emits tokens, so the texts are not empty
        model.ctc.ctc_lo.bias[3:5] += 3.0
    ckpt = tmp_path / "model.pth"
    torch.save(model.state_dict(), ckpt)
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(vars(args)))
    rng = np.random.default_rng(5)
    lines = []
    # r5 (NaN) is the longest of its batch (r5, r2, r4): the others must not suffer from it
    for key, secs in (("r1", 7.5), ("r2", 21.0), ("r3", 0.8), ("r4", 13.3), ("r5", 25.1)):
        x = (0.1 * rng.standard_normal(int(16000 * secs))).astype(np.float32)
        if key == "r5":
            x[16000 * 9] = np.nan
        sf.write(tmp_path / f"{key}.wav", x, 16000, subtype="FLOAT")
        lines.append(f"{key} {tmp_path / f'{key}.wav'}")
    (tmp_path / "bad.wav").write_bytes(b"not audio")
    lines.insert(2, f"bad {tmp_path / 'bad.wav'}")
    (tmp_path / "wav.scp").write_text("\n".join(lines) + "\n")
    out = {}
    for bs in (1, 3):
        rc = longform_inference.main([
            "--asr_train_config", str(tmp_path / "config.yaml"), "--asr_model_file", str(ckpt),
            "--wav_scp", str(tmp_path / "wav.scp"), "--output_dir", str(tmp_path / f"bs{bs}"),
            "--window_seconds", "4", "--batch_size", str(bs)])
        assert rc == 1  # bad and r5 skipped
        out[bs] = {f: (tmp_path / f"bs{bs}" / f).read_text() for f in ("text", "words.ctm")}
        stats = (tmp_path / f"bs{bs}" / "stats.tsv").read_text().splitlines()
        assert [s.split("\t")[0] for s in stats[1:]] == ["r1", "r2", "r3", "r4"]
    assert [t.split()[0] for t in out[1]["text"].splitlines()] == ["r1", "r2", "r3", "r4"]
    assert all(len(t.split()) > 1 for t in out[1]["text"].splitlines())
    assert {c.split()[0] for c in out[1]["words.ctm"].splitlines()} == {"r1", "r2", "r3", "r4"}
    assert out[3] == out[1]
    # an error that is not a recording's own kind (a disk error, say) in one batch: its
    # recordings are decoded again one by one, so only the broken one is lost
    real_read = AudioReader.read

    def read(self, x0, x1):
        if self.path is not None and self.path.endswith("r2.wav") and x1 > 16000 * 5:
            raise OSError("disk error")
        return real_read(self, x0, x1)

    monkeypatch.setattr(AudioReader, "read", read)
    rc = longform_inference.main([
        "--asr_train_config", str(tmp_path / "config.yaml"), "--asr_model_file", str(ckpt),
        "--wav_scp", str(tmp_path / "wav.scp"), "--output_dir", str(tmp_path / "disk"),
        "--window_seconds", "4", "--batch_size", "3"])
    assert rc == 1
    assert "decoding its 3 recordings one by one" in caplog.text
    text = (tmp_path / "disk" / "text").read_text().splitlines()
    assert text == [t for t in out[1]["text"].splitlines() if not t.startswith("r2 ")]
    monkeypatch.undo()
    rc = longform_inference.main([
        "--asr_train_config", str(tmp_path / "config.yaml"), "--asr_model_file", str(ckpt),
        "--wav_scp", str(tmp_path / "wav.scp"), "--output_dir", str(tmp_path / "exact"),
        "--mode", "exact", "--batch_size", "2"])
    assert rc == 1 and not (tmp_path / "exact").exists()
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("ERROR")]
    assert len(err) == 1 and "needs mode stream" in err[0], err
