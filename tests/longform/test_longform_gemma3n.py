"""Long-form decoding (usm_espnet.longform) on an imported Gemma 3n audio encoder.

A tiny random ``Gemma3nAudioEncoder`` (transformers, ``save_pretrained`` in a temporary
directory; no download) is imported with ``usm_espnet.bin.import_encoder``. Its
sub-sampling normalises with statistics accumulated from the start of the recording
(``CumulativeGroupNorm``), so no window can be encoded on its own: ``stream`` mode feeds
the features window by window through the encoder's ``stream_embedder()`` (the running
statistics carried over) and each block as a window stream (its local attention and
causal convolution reach a finite number of frames back). The output must equal a
one-pass encoding of the whole recording, and a 5-minute recording decodes with memory
that does not grow with it; ``exact`` / ``fast`` are refused with one message.
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
import yaml

transformers = pytest.importorskip("transformers")

from tiny_gemma3n import tiny_gemma3n_import  # noqa: E402

from usm_espnet.registry import register  # noqa: E402

register(["espnet2.tasks.asr"])

from espnet2.tasks.asr import ASRTask  # noqa: E402
from espnet2.torch_utils.load_pretrained_model import load_pretrained_model  # noqa: E402

from usm_espnet.bin import longform_inference  # noqa: E402
from usm_espnet.longform.encode import AudioReader, LongFormEncoder, LongFormError  # noqa: E402

TOKENS = ["<blank>", "<unk>", "<space>", "a", "b", "<sos/eos>"]
TOL = 1e-4


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """The tiny Gemma 3n as imported: local attention over the frame and 4 before it, kernel 5."""
    return tiny_gemma3n_import(tmp_path_factory.mktemp("gemma3n"))


def _model(imported: Path, tmp_path: Path, **encoder_conf):
    """An ESPnet ASR model (CTC head) whose frontend + encoder are the imported ones."""
    frag = yaml.safe_load((imported / "encoder.yaml").read_text())
    cfg = {k: frag[k] for k in ("frontend", "frontend_conf", "normalize", "encoder", "encoder_conf")}
    cfg["encoder_conf"] = dict(cfg["encoder_conf"], **encoder_conf)
    del cfg["encoder_conf"]["input_size"]  # ESPnet passes the frontend's output size itself
    cfg.update(decoder="none", model_conf=dict(ctc_weight=1.0))
    tok = tmp_path / "tokens.txt"
    tok.write_text("\n".join(TOKENS) + "\n")
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    args = ASRTask.get_parser().parse_args(
        ["--config", str(tmp_path / "config.yaml"), "--token_list", str(tok),
         "--token_type", "char", "--output_dir", str(tmp_path)])
    torch.manual_seed(1)
    model = ASRTask.build_model(args)
    (init_param,) = frag["init_param"]
    load_pretrained_model(init_param, model, ignore_init_mismatch=False)
    return model.eval(), args


def _one_pass(model, x):
    with torch.no_grad():
        feats, lens = model.frontend(torch.from_numpy(x)[None], torch.tensor([x.size]))
        out, olens, _ = model.encoder(feats, lens)
    assert int(olens[0]) == out.size(1)
    return out[0]


def _signal(seconds: float, seed: int = 0) -> np.ndarray:
    """Noise with a slow loudness change (so the running statistics keep moving)."""
    rng = np.random.default_rng(seed)
    n = int(16000 * seconds)
    env = 0.05 + 0.1 * (1 + np.sin(np.arange(n) / 16000 * 2 * np.pi / 7.0))
    return (env * rng.standard_normal(n)).astype(np.float32)


def _stream(model, x_or_reader, window, mode="auto"):
    lf = LongFormEncoder(model, window, mode)
    reader = x_or_reader if isinstance(x_or_reader, AudioReader) else AudioReader(samples=x_or_reader)
    parts = list(lf.encode(reader))
    starts = [a for a, _ in parts]
    ends = [a + p.size(0) for a, p in parts]
    assert starts == [0] + ends[:-1]  # contiguous, in order
    return lf, torch.cat([p for _, p in parts])


def test_stream_equals_one_pass_local_attention(imported, tmp_path):
    model, _ = _model(imported, tmp_path)
    enc = model.encoder
    assert (enc.attention_type, enc.left_context, enc.right_context) == ("local", 4, 0)
    assert enc.conv_context() == (4, 0) and enc.subsampling == 16
    x = _signal(37.3)
    wav = tmp_path / "long.wav"
    sf.write(wav, x, 16000, subtype="FLOAT")
    ref = _one_pass(model, x)
    reader = AudioReader(str(wav))
    worst = 0.0
    for window in (None, 60.0, 3.3, 1.0):  # 10 s (the default: 4 windows), 60 s (one), 12 and 38
        lf, out = _stream(model, reader, window)
        assert lf.mode == "stream" and lf.frame_seconds == 0.16
        assert lf.num_frames(reader.num_samples) == ref.size(0) == 233  # 160 ms frames
        assert out.shape == ref.shape
        diff = float((out - ref).abs().max())
        worst = max(worst, diff)
        assert diff < TOL, (window, diff)
    print(f"\ngemma3n long-form stream vs one pass, 37.3 s, windows 10/60/3.3/1 s: max_abs_diff={worst:.3e}")
    _, whole = _stream(model, reader, None, "onepass")
    assert float((whole - ref).abs().max()) < TOL


@pytest.mark.parametrize("source,conf", [
    (dict(conf_attention_context_right=2), {}),  # local attention with 2 frames of look-ahead
    ({}, dict(attention_type="chunk", chunk_seconds=0.32)),  # switched to 8-frame chunks
])
def test_stream_equals_one_pass_right_context_and_chunk_attention(tmp_path, source, conf):
    imported = tiny_gemma3n_import(tmp_path / "src", seed=1, **source)
    model, _ = _model(imported, tmp_path, **conf)
    x = _signal(13.1, seed=1)
    ref = _one_pass(model, x)
    for window in (1.0, 2.7):
        _, out = _stream(model, x, window)
        assert out.shape == ref.shape and float((out - ref).abs().max()) < TOL, window


def test_subsampling_stream_carries_the_running_statistics(imported, tmp_path):
    """Pieces of any length (0 and 1 frames included) give the one-pass sub-sampling; a piece
    encoded on its own (statistics restarted) does not."""
    model, _ = _model(imported, tmp_path)
    embed = model.encoder.embed
    g = torch.Generator().manual_seed(0)
    feats = torch.randn(1, 203, 32, generator=g) * torch.linspace(0.5, 3.0, 203)[None, :, None]
    with torch.no_grad():
        ref = embed(feats)
        stream, got, a = model.encoder.stream_embedder(), [], 0
        for n in (0, 1, 2, 5, 1, 17, 0, 64, 3, 110):
            y = stream.push(feats[:, a: a + n])
            a += n
            got += [y] if y is not None else []
        got.append(stream.finish())
        out = torch.cat(got, 1)
        assert a == 203 and out.shape == ref.shape == (1, 51, 64)
        assert float((out - ref).abs().max()) < 1e-5
        alone = embed(feats[:, 100:])  # statistics from frame 100 only
    assert float((alone[:, 2:] - ref[:, 27:]).abs().max()) > 1e-2


def test_modes_that_cannot_work_are_refused_with_one_message(imported, tmp_path):
    model, args = _model(imported, tmp_path)
    for mode in ("exact", "fast"):
        with pytest.raises(LongFormError, match=f"mode {mode} encodes each window on its own, which "
                           "Gemma3nConformerEncoder cannot do: its sub-sampling's cumulative group norm"):
            LongFormEncoder(model, mode=mode)
    glob, _ = _model(imported, tmp_path, attention_type="global")
    for mode in ("auto", "stream"):
        with pytest.raises(LongFormError, match="needs chunk or local attention, not global"):
            LongFormEncoder(glob, mode=mode)
    x = _signal(5.0, seed=2)
    (part,) = list(LongFormEncoder(glob, mode="onepass").encode(AudioReader(samples=x)))
    assert part[0] == 0 and float((part[1] - _one_pass(glob, x)).abs().max()) < TOL


def test_cli_decodes_in_stream_mode_and_refuses_exact_in_one_line(imported, tmp_path, capsys):
    model, args = _model(imported, tmp_path)
    torch.save(model.state_dict(), tmp_path / "model.pth")
    (tmp_path / "train.yaml").write_text(yaml.safe_dump(vars(args)))  # as ESPnet saves config.yaml
    sf.write(tmp_path / "a.wav", _signal(12.0, seed=3), 16000)
    (tmp_path / "wav.scp").write_text(f"a {tmp_path / 'a.wav'}\n")
    argv = ["--asr_train_config", str(tmp_path / "train.yaml"), "--asr_model_file",
            str(tmp_path / "model.pth"), "--wav_scp", str(tmp_path / "wav.scp")]
    assert longform_inference.main(argv + ["--output_dir", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "stats.tsv").read_text().splitlines()[1].startswith("a\t12.0")
    capsys.readouterr()
    rc = longform_inference.main(argv + ["--output_dir", str(tmp_path / "ex"), "--mode", "exact"])
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert rc == 1 and not (tmp_path / "ex").exists()
    errors = [ln for ln in err if "ERROR" in ln]
    assert len(errors) == 1 and "use mode stream" in errors[0], err


# Peak memory of one decode in a fresh interpreter (as tests/longform/test_longform_w2v_bert.py:
# a warm-up decode, malloc_trim, the kernel's high-water mark reset, VmHWM - VmRSS after).
_MEASURE = """
import ctypes, sys
from usm_espnet.bin import longform_inference

def status_mb(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024.0
    raise KeyError(key)

def decode(name, mode):
    rc = longform_inference.main(
        ["--asr_train_config", tmp + "/train.yaml", "--asr_model_file", tmp + "/model.pth",
         "--wav_scp", tmp + "/" + name + ".scp", "--mode", mode,
         "--output_dir", tmp + "/" + name + "_" + mode])
    if rc != 0:
        sys.exit(rc)

tmp, name, mode = sys.argv[1:4]
decode("warm", "stream")
try:
    ctypes.CDLL("libc.so.6").malloc_trim(0)
except (OSError, AttributeError):
    pass
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")
base = status_mb("VmRSS")
decode(name, mode)
print("growth_mb=%.3f" % (status_mb("VmHWM") - base))
"""


def _peak_growth_mb(tmp_path: Path, name: str, mode: str) -> float:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join(
        [str(Path(__file__).resolve().parents[2])] + [p for p in [env.get("PYTHONPATH")] if p])
    proc = subprocess.run([sys.executable, "-c", _MEASURE, str(tmp_path), name, mode],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("growth_mb=")]
    assert lines, proc.stdout[-2000:] + proc.stderr[-2000:]
    return float(lines[-1].split("=", 1)[1])


@pytest.mark.slow  # three fresh interpreters: full tier (make test-all)
def test_five_minutes_decode_in_stream_mode_with_bounded_memory(imported, tmp_path):
    if not os.access("/proc/self/clear_refs", os.W_OK):
        pytest.skip("needs /proc/self/clear_refs to measure peak memory")
    model, args = _model(imported, tmp_path)
    torch.save(model.state_dict(), tmp_path / "model.pth")
    (tmp_path / "train.yaml").write_text(yaml.safe_dump(vars(args)))  # as ESPnet saves config.yaml
    for name, minutes in (("warm", 0.2), ("one", 1), ("five", 5)):
        with sf.SoundFile(tmp_path / f"{name}.wav", "w", 16000, 1, subtype="PCM_16") as f:
            for m in range(int(np.ceil(minutes))):  # written minute by minute
                f.write(_signal(min(60.0, 60.0 * (minutes - m)), seed=10 + m))
        (tmp_path / f"{name}.scp").write_text(f"rec_{name} {tmp_path / name}.wav\n")
    grow = {(n, m): _peak_growth_mb(tmp_path, n, m)
            for n, m in (("one", "stream"), ("five", "stream"), ("five", "onepass"))}
    text = {m: (tmp_path / f"five_{m}" / "text").read_text() for m in ("stream", "onepass")}
    assert text["stream"].startswith("rec_five") and text["stream"] == text["onepass"]
    stats = (tmp_path / "five_stream" / "stats.tsv").read_text().splitlines()
    assert stats[1].startswith("rec_five\t300.0")
    print("peak RSS growth (MB): " + ", ".join(f"{n} min {m} {v:.1f}" for (n, m), v in grow.items()))
    # stream (10 s windows, the default): the same memory for 5 minutes as for 1 (the margin is the
    # allocator's noise); one pass holds the whole recording's features and activations
    assert grow["five", "stream"] < grow["one", "stream"] + 40.0, grow
    assert grow["five", "stream"] < 0.5 * grow["five", "onepass"], grow
