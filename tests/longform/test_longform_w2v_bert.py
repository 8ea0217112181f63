"""Long-form decoding (usm_espnet.longform) on an imported w2v-BERT 2.0 encoder.

A tiny random ``Wav2Vec2BertModel`` (transformers, ``save_pretrained`` in a temporary
directory; no download) is imported with ``usm_espnet.bin.import_encoder`` and switched
to chunk (or local) attention. Window-by-window encoding -- ``stream`` and ``exact`` --
must equal a one-pass encoding of the whole recording (w2v-BERT's frontend normalises
over the whole recording: the long-form path computes those statistics in a first pass),
and a 5-minute recording decodes in stream mode with memory that does not grow with it.
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

from tiny_w2v_bert import tiny_w2v_bert_import  # noqa: E402

from usm_espnet.registry import register  # noqa: E402

register(["espnet2.tasks.asr"])

from espnet2.tasks.asr import ASRTask  # noqa: E402
from espnet2.torch_utils.load_pretrained_model import load_pretrained_model  # noqa: E402

from usm_espnet.longform.encode import (  # noqa: E402
    AudioReader,
    LongFormEncoder,
    LongFormError,
    input_range,
)

TOKENS = ["<blank>", "<unk>", "<space>", "a", "b", "<sos/eos>"]
TOL = 1e-4


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """A tiny w2v-BERT 2.0 (kernel 31, as the real one: 30 frames of causal context) imported."""
    return tiny_w2v_bert_import(tmp_path_factory.mktemp("w2v"))


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


def _one_pass(model, x, reference=False):
    with torch.no_grad():
        feats, lens = model.frontend(torch.from_numpy(x)[None], torch.tensor([x.size]))
        out, _, _ = model.encoder(feats, lens, reference_attention=reference)
    return out[0]


def _signal(seconds: float, seed: int = 0) -> np.ndarray:
    """Noise with a slow loudness change (so per-recording normalisation matters)."""
    rng = np.random.default_rng(seed)
    n = int(16000 * seconds)
    env = 0.05 + 0.1 * (1 + np.sin(np.arange(n) / 16000 * 2 * np.pi / 7.0))
    return (env * rng.standard_normal(n)).astype(np.float32)


# 1.0 s: 50 frames; 0.2 s: 10 < the 30-frame causal context (~55 s: full tier only)
@pytest.mark.parametrize("chunk_seconds", [1.0, pytest.param(0.2, marks=pytest.mark.slow)])
def test_stream_and_exact_equal_one_pass_chunk_attention(imported, tmp_path, chunk_seconds):
    model, _ = _model(imported, tmp_path, attention_type="chunk", chunk_seconds=chunk_seconds)
    assert model.encoder.conv_context() == (30, 0)
    x = _signal(37.3)
    wav = tmp_path / "long.wav"
    sf.write(wav, x, 16000, subtype="FLOAT")
    ref = _one_pass(model, x)
    full = _one_pass(model, x, reference=True)  # chunk attention as a block-diagonal mask
    torch.testing.assert_close(ref, full, atol=1e-5, rtol=1e-5)
    reader = AudioReader(str(wav))
    for window, mode in ((None, "auto"), (3.0, "stream"), (10.0, "exact")):
        lf = LongFormEncoder(model, window, mode)
        assert lf.mode == ("stream" if mode == "auto" else mode)
        assert lf.num_frames(reader.num_samples) == ref.size(0) == 1864  # 20 ms frames
        parts = list(lf.encode(reader))
        assert [a for a, _ in parts] == list(range(0, ref.size(0), lf.window))
        out = torch.cat([p for _, p in parts])
        assert out.shape == ref.shape
        assert float((out - ref).abs().max()) < TOL, (mode, window)
    # fast mode with less context than the receptive field (0.5 s: one chunk on each side;
    # the two causal blocks reach back two chunks) is approximate
    fast = torch.cat([p for _, p in LongFormEncoder(model, 10.0, "fast", 0.5).encode(reader)])
    assert fast.shape == ref.shape and float((fast - ref).abs().max()) > 1e-3


def test_exact_equals_one_pass_local_attention(imported, tmp_path):
    model, _ = _model(imported, tmp_path, attention_type="local", left_context=16, right_context=4)
    x = _signal(21.0, seed=1)
    ref = _one_pass(model, x)
    lf = LongFormEncoder(model, window_seconds=4.0)
    assert lf.mode == "exact"
    # receptive field: per block 30 (conv) + 16 (attention) frames left, 0 + 4 right
    assert input_range(model.encoder, 500, 600, 1000) == (500 - 2 * 46, 600 + 2 * 4)
    out = torch.cat([p for _, p in lf.encode(AudioReader(samples=x))])
    assert out.shape == ref.shape and float((out - ref).abs().max()) < TOL
    with pytest.raises(LongFormError, match="stream needs chunk attention"):
        LongFormEncoder(model, mode="stream")


def test_global_attention_is_refused_but_onepass_equals(imported, tmp_path):
    model, _ = _model(imported, tmp_path)  # as imported: global attention
    with pytest.raises(LongFormError, match="chunk or local"):
        LongFormEncoder(model)
    x = _signal(6.0, seed=2)
    (part,) = list(LongFormEncoder(model, mode="onepass").encode(AudioReader(samples=x)))
    assert float((part[1] - _one_pass(model, x)).abs().max()) < TOL


# Peak memory of one decode, measured in a fresh interpreter: a pytest worker that has
# run other tests first carries their allocator state (free lists, fragmentation), which
# moved the figures by 30-40 MB under load in CI (one 1-minute stream decode measured
# 92.9 MB there, 57.7 MB alone). Each child imports, decodes a 12 s warm-up recording
# (imports and one-time allocations), hands freed heap back (malloc_trim), resets the
# kernel's high-water mark (clear_refs 5) and prints VmHWM - VmRSS after the measured
# decode.
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


@pytest.mark.slow  # ~80 s (three fresh interpreters): full tier (make test-all)
def test_five_minutes_decode_in_stream_mode_with_bounded_memory(imported, tmp_path):
    if not os.access("/proc/self/clear_refs", os.W_OK):
        pytest.skip("needs /proc/self/clear_refs to measure peak memory")
    model, args = _model(imported, tmp_path, attention_type="chunk", chunk_seconds=2.0)
    ckpt = tmp_path / "model.pth"
    torch.save(model.state_dict(), ckpt)
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
    # stream: the same memory for 5 minutes as for 1 (the margin is the allocator's noise:
    # differences of 2-17 MB measured, each decode in its own process); one pass holds the
    # whole recording's features and activations (about 600 MB)
    assert grow["five", "stream"] < min(120.0, grow["one", "stream"] + 40.0), grow
    assert grow["five", "stream"] < 0.25 * grow["five", "onepass"], grow


def test_batch_of_recordings_keeps_each_recordings_normalisation(imported, tmp_path):
    """encode_batch over recordings of different lengths and loudness: every recording keeps its
    own normalisation statistics (the frontend's prepare() pass) and equals its one-pass encoding."""
    model, _ = _model(imported, tmp_path, attention_type="chunk", chunk_seconds=1.0)
    xs = [_signal(9.3, seed=1), 3.0 * _signal(4.1, seed=2), _signal(0.6, seed=3)]
    refs = [_one_pass(model, x) for x in xs]
    lf = LongFormEncoder(model, 3.0, "stream")
    got = [[] for _ in xs]
    for _, out, n in lf.encode_batch([AudioReader(samples=x) for x in xs]):
        for i, k in enumerate(n):
            got[i].append(out[i, :k])
    for ref, parts in zip(refs, got):
        out = torch.cat(parts)
        assert out.shape == ref.shape
        assert float((out - ref).abs().max()) < TOL
