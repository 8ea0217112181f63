"""usm_espnet.nets.chunk_conformer under torch.compile: one graph (no breaks), same outputs as eager."""

import pytest
import torch

from usm_espnet.nets.chunk_conformer import ChunkConformerEncoder


def _enc(attention_type, **kw):
    torch.manual_seed(0)
    return ChunkConformerEncoder(20, output_size=32, attention_heads=4, linear_units=64,
                                 num_blocks=2, attention_type=attention_type, dropout_rate=0.0,
                                 **kw)


@pytest.mark.slow
@pytest.mark.parametrize("attention_type,kw", [
    ("chunk", dict(chunk_seconds=0.28)),  # 7-frame chunks: a shorter last chunk
    ("local", dict(left_context=5, right_context=3)),
])
def test_fullgraph_compile_matches_eager(attention_type, kw):
    torch._dynamo.reset()
    enc = _enc(attention_type, **kw).train()
    x = torch.randn(2, 203, 20)
    lens = torch.tensor([203, 150])
    # aot_eager: Dynamo (graph breaks fail with fullgraph=True) and AOTAutograd tracing of
    # forward and backward, without the minutes of C++ code generation inductor needs on
    # CPU; the GPU bench (bench/gpu_train.py --compile) runs inductor
    compiled = torch.compile(enc, fullgraph=True, dynamic=False, backend="aot_eager")
    out, olens, _ = compiled(x, lens)
    ref, rlens, _ = enc(x, lens)
    assert torch.equal(olens, rlens)
    assert (out - ref).abs().max() < 1e-4
    # gradients through the compiled graph match eager ones
    g = torch.randn_like(ref)
    (out * g).sum().backward()
    got = {n: p.grad.clone() for n, p in enc.named_parameters()}
    enc.zero_grad()
    (ref * g).sum().backward()
    for n, p in enc.named_parameters():
        assert (got[n] - p.grad).abs().max() < 1e-4, n


@pytest.mark.slow
def test_activation_checkpointing_gives_the_same_gradients():
    enc = _enc("chunk", chunk_seconds=0.28).train()
    x = torch.randn(2, 203, 20)
    lens = torch.tensor([203, 150])
    out, _, _ = enc(x, lens)
    out.square().sum().backward()
    ref = {n: p.grad.clone() for n, p in enc.named_parameters()}
    enc.zero_grad()
    enc.activation_checkpointing = True
    out2, _, _ = enc(x, lens)
    assert torch.equal(out, out2)
    out2.square().sum().backward()
    for n, p in enc.named_parameters():
        assert (ref[n] - p.grad).abs().max() < 1e-5, n


def test_subsampling_in_segments_is_exact():
    from usm_espnet.nets.chunk_conformer import Conv2dSubsampling4

    torch.manual_seed(0)
    m = Conv2dSubsampling4(20, 16)
    for T in (7, 43, 44, 45, 46, 203):
        x = torch.randn(2, T, 20)
        m.segment = 10 ** 9
        ref, _ = m(x)
        m.segment = 3  # output frames per convolution call
        out, _ = m(x)
        assert out.shape == ref.shape and (out - ref).abs().max() < 1e-5, T
