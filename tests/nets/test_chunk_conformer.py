"""usm_espnet.nets.chunk_conformer: chunk / local attention against a masked full-attention reference."""

import pytest
import torch

from usm_espnet.nets.chunk_conformer import ChunkConformerEncoder, RelPosSelfAttention

FEAT = 20


def _enc(attention_type, **kw):
    torch.manual_seed(0)
    return ChunkConformerEncoder(FEAT, output_size=32, attention_heads=4, linear_units=64,
                                 num_blocks=2, attention_type=attention_type, dropout_rate=0.0,
                                 **kw)


CASES = [
    ("chunk", dict(chunk_seconds=0.4)),       # 10 encoder frames per chunk
    ("chunk", dict(chunk_seconds=0.28)),      # 7: chunks do not divide the length
    ("local", dict(left_context=5, right_context=3)),
    ("local", dict(left_context=0, right_context=4)),
    ("local", dict(left_context=6, right_context=6)),
    ("global", {}),
]


@pytest.mark.parametrize("attention_type,kw", CASES)
@pytest.mark.parametrize("train", [False, True])
def test_equals_masked_full_attention_with_padding(attention_type, kw, train):
    enc = _enc(attention_type, **kw).train(train)
    x = torch.randn(3, 203, FEAT)
    lens = torch.tensor([203, 150, 37])
    out, olens, _ = enc(x, lens)
    ref, rlens, _ = enc(x, lens, reference_attention=True)
    assert torch.equal(olens, rlens) and olens.tolist() == [50, 36, 8]
    assert out.shape == (3, 50, 32)
    assert (out - ref).abs().max() < 1e-5
    assert not out[1, 36:].any() and not out[2, 8:].any()  # padding zeroed


@pytest.mark.parametrize("attention_type,kw", CASES)
def test_output_independent_of_batch_padding(attention_type, kw):
    enc = _enc(attention_type, **kw).eval()
    x = torch.randn(2, 160, FEAT)
    lens = torch.tensor([160, 61])
    with torch.no_grad():
        batch, olens, _ = enc(x, lens)
        alone, _, _ = enc(x[1:, :61], lens[1:])
    assert (batch[1, : olens[1]] - alone[0]).abs().max() < 1e-5


def test_chunk_attention_does_not_look_across_chunks_but_convolution_does():
    torch.manual_seed(0)
    att = RelPosSelfAttention(16, 2)
    x = torch.randn(1, 40, 16)
    valid = torch.ones(1, 40, dtype=torch.bool)
    a = att(x, valid, "chunk", chunk=10)
    x2 = x.clone()
    x2[:, 20:] += 1.0  # change chunks 2 and 3 only
    b = att(x2, valid, "chunk", chunk=10)
    assert torch.equal(a[:, :20], b[:, :20]) and not torch.equal(a[:, 20:], b[:, 20:])
    # the whole encoder: kernel-5 convolutions leak 2 frames per layer into the previous chunk
    enc = _enc("chunk", chunk_seconds=0.4).eval()  # 10-frame chunks, 2 blocks
    feats = torch.randn(1, 4 * 40 + 3, FEAT)
    lens = torch.tensor([feats.size(1)])
    with torch.no_grad():
        o1, _, _ = enc(feats, lens)
        f2 = feats.clone()
        f2[:, 4 * 30:] += 1.0  # input frames of encoder chunk 3 (and the edge of 2)
        o2, _, _ = enc(f2, lens)
    changed = ((o1 - o2).abs().amax(-1) > 0)[0]
    # encoder frame 29 sees input frames 116..122, so chunk 2 changes in block 1; its
    # convolution leaks into frames 18-19, which block 2's attention spreads over chunk 1,
    # and block 2's convolution leaks further into frames 8-9: one chunk per layer.
    assert changed.nonzero()[0].item() == 8 and changed[8:].all()


def test_bad_options():
    with pytest.raises(ValueError, match="attention_type"):
        _enc("sparse")
    with pytest.raises(ValueError, match="chunk_seconds"):
        _enc("chunk", chunk_seconds=0)
    with pytest.raises(ValueError, match="local attention"):
        _enc("local", left_context=0, right_context=0)
    with pytest.raises(ValueError, match="divisible"):
        ChunkConformerEncoder(FEAT, output_size=30, attention_heads=4)
    with pytest.raises(ValueError, match="odd"):
        ChunkConformerEncoder(FEAT, output_size=32, attention_heads=4, cnn_module_kernel=4)


def test_chunk_frames_from_seconds():
    assert _enc("chunk", chunk_seconds=8).chunk_frames == 200  # 10 ms features, 4x subsampling
    assert _enc("chunk", chunk_seconds=8, input_frame_shift_ms=8).chunk_frames == 250


def test_chunk_trains_as_global_attention_on_inputs_within_one_chunk():
    # an input no longer than a chunk is one chunk: the chunk model's training step is the
    # global model's, to the bit (the long-form recipe's chunk and global models, trained on
    # segments of at most 8 s, come out identical; they differ only in how they decode)
    x = torch.randn(3, 203, FEAT)
    lens = torch.tensor([203, 150, 37])  # 50 encoder frames at most; chunks of 50 and 60
    params = []
    for attention_type, kw in (("global", {}), ("chunk", dict(chunk_seconds=2.0)),
                               ("chunk", dict(chunk_seconds=2.4))):
        enc = _enc(attention_type, **kw).train()
        opt = torch.optim.Adam(enc.parameters(), lr=1e-2)
        for _ in range(2):
            out, olens, _ = enc(x, lens)
            opt.zero_grad()
            out.square().mean().backward()
            opt.step()
        params.append([p.detach().clone() for p in enc.parameters()])
    for other in params[1:]:
        assert all(torch.equal(a, b) for a, b in zip(params[0], other))
    # and a chunk shorter than the input is not global attention
    enc_g, enc_c = _enc("global").eval(), _enc("chunk", chunk_seconds=0.4).eval()
    with torch.no_grad():
        assert (enc_g(x, lens)[0] - enc_c(x, lens)[0]).abs().max() > 1e-3


def test_subsampling_channels():
    x, lens = torch.randn(2, 120, FEAT), torch.tensor([120, 77])
    full, narrow = _enc("chunk", chunk_seconds=0.4), _enc("chunk", chunk_seconds=0.4, subsampling_channels=8)
    assert narrow.embed.conv[0].out_channels == narrow.embed.conv[2].out_channels == 8
    assert full.embed.conv[2].out_channels == 32  # default: the model dimension
    assert sum(p.numel() for p in narrow.parameters()) < sum(p.numel() for p in full.parameters())
    out, olens, _ = narrow(x, lens)
    assert out.shape == (2, 29, 32) and olens.tolist() == [29, 18]
    with pytest.raises(ValueError, match="subsampling_channels"):
        _enc("chunk", subsampling_channels=0)
