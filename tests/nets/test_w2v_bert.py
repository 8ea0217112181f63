"""w2v-BERT 2.0's encoder and front end as our classes (no transformers needed here).

The equivalence with transformers' model is in tests/nets/test_import_encoder.py.
"""

import pytest
import torch

from usm_espnet.nets import w2v_bert
from usm_espnet.nets.w2v_bert import W2VBertConformerEncoder, W2VBertFbankFrontend

TINY = dict(input_size=160, output_size=32, attention_heads=4, linear_units=64, num_blocks=2,
            cnn_module_kernel=5, left_max_position=6, right_max_position=3)


def _randomise(module, seed=0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(0.2 * torch.randn(p.shape, generator=g))
    return module


def test_fbank_equals_torchaudio_kaldi_fbank():
    kaldi = pytest.importorskip("torchaudio.compliance.kaldi")
    g = torch.Generator().manual_seed(0)
    wav = 0.1 * torch.randn(2, 8000, generator=g, dtype=torch.float64)
    lens = torch.tensor([8000, 5123])
    fe = W2VBertFbankFrontend(normalize=False)
    ours, nfr = fe.fbank(wav, lens)
    for b in range(2):
        ref = kaldi.fbank(wav[b:b + 1, : lens[b]] * 32768.0, num_mel_bins=80, dither=0.0,
                          energy_floor=0.0, sample_frequency=16000.0)
        assert int(nfr[b]) == ref.size(0)
        # torchaudio builds its mel filters in float32; ours are float64
        torch.testing.assert_close(ours[b, : nfr[b]], ref, atol=3e-4, rtol=0)


def test_mel_banks_are_kaldis():
    kaldi = pytest.importorskip("torchaudio.compliance.kaldi")
    ref, _ = kaldi.get_mel_banks(80, 512, 16000.0, 20.0, 0.0, 100.0, -500.0, 1.0)
    ours = w2v_bert.kaldi_mel_banks(80, 512, 16000, 20.0)
    assert ours.shape == (257, 80) and float(ours[-1].abs().max()) == 0.0
    torch.testing.assert_close(ours[:-1].T.float(), ref, atol=1e-4, rtol=0)


def test_frontend_shapes_normalisation_and_batch_independence():
    fe = W2VBertFbankFrontend(fs="16k")
    assert fe.output_size() == 160 and fe.fs == 16000
    g = torch.Generator().manual_seed(1)
    wav = 0.1 * torch.randn(3, 16000, generator=g)
    lens = torch.tensor([16000, 9999, 300])  # 300 samples: shorter than one window
    feats, olens = fe(wav, lens)
    # Kaldi frames 1 + (n - 400) // 160, then pairs
    assert olens.tolist() == [(1 + (16000 - 400) // 160) // 2, (1 + (9999 - 400) // 160) // 2, 0]
    assert feats.shape == (3, olens.max(), 160) and feats.dtype == torch.float32
    assert float(feats[1, olens[1]:].abs().max()) == 0.0 and float(feats[2].abs().max()) == 0.0
    # per utterance and mel bin: zero mean, unit variance (Bessel) over the frames kept
    alone, n = fe(wav[1:2, :9999], torch.tensor([9999]))
    torch.testing.assert_close(alone[0], feats[1, : n[0]])
    mel = fe.fbank(wav[:1], lens[:1])[0][0]
    z = (mel - mel.mean(0)) / torch.sqrt(mel.var(0) + 1e-7)
    nf = 2 * int(olens[0])
    torch.testing.assert_close(feats[0].reshape(-1, 80), z[:nf].float())


def test_frontend_runs_after_the_trainer_casts_the_model_to_float32():
    """ESPnet's trainer calls model.to(dtype=float32): the float64 filter buffers become
    float32; the features must still be computed (in float64) and stay the same."""
    fe = W2VBertFbankFrontend()
    wav = 0.1 * torch.randn(2, 8000, generator=torch.Generator().manual_seed(3))
    lens = torch.tensor([8000, 6000])
    ref, ref_lens = fe(wav, lens)
    cast = fe.to(dtype=torch.float32)
    assert cast.banks.dtype == torch.float32
    got, got_lens = cast(wav, lens)
    assert got_lens.tolist() == ref_lens.tolist()
    torch.testing.assert_close(got, ref, atol=1e-4, rtol=0)


def test_frontend_takes_espnets_multichannel_layout():
    """ESPnet's noise augmentation (the noisy student's) hands the frontend (B, N, 1)."""
    fe = W2VBertFbankFrontend()
    wav = 0.1 * torch.randn(2, 8000, generator=torch.Generator().manual_seed(4))
    lens = torch.tensor([8000, 5000])
    ref, ref_lens = fe(wav, lens)
    got, got_lens = fe(wav[..., None], lens)
    assert got_lens.tolist() == ref_lens.tolist() and torch.equal(got, ref)
    two = torch.stack([wav, torch.zeros_like(wav)], -1)
    assert torch.equal(fe.eval()(two, lens)[0], ref)  # not training: the first channel


@pytest.mark.parametrize("attention_type", ["chunk", "local"])
def test_folded_attention_equals_masked_full_attention(attention_type):
    torch.manual_seed(0)
    enc = _randomise(W2VBertConformerEncoder(**TINY, attention_type=attention_type,
                                             chunk_seconds=0.2, left_context=5,
                                             right_context=2)).eval()
    assert enc.chunk_frames == 10  # 0.2 s of 20 ms frames
    x = torch.randn(2, 37, 160)
    lens = torch.tensor([37, 23])
    with torch.no_grad():
        y, olens, _ = enc(x, lens)
        ref, _, _ = enc(x, lens, reference_attention=True)
    assert olens.tolist() == [37, 23] and y.shape == (2, 37, 32)
    torch.testing.assert_close(y, ref, atol=1e-5, rtol=1e-5)
    assert float(y[1, 23:].abs().max()) == 0.0


def test_relative_key_attention_against_explicit_scores():
    torch.manual_seed(0)
    att = _randomise(w2v_bert.RelKeySelfAttention(16, 2, left_max_position=3, right_max_position=2)).eval()
    x = torch.randn(1, 9, 16)
    valid = torch.ones(1, 9, dtype=torch.bool)
    with torch.no_grad():
        y = att(x, valid)
        q, k, v = att.qkv(x).view(1, 9, 3, 2, 8).permute(2, 0, 3, 1, 4)
        i = torch.arange(9)
        e = att.distance.weight[(i[None, :] - i[:, None]).clamp(-3, 2) + 3]  # (9, 9, 8)
        scores = (q @ k.transpose(-1, -2) + torch.einsum("bhid,ijd->bhij", q, e)) / 8 ** 0.5
        ref = att.out((scores.softmax(-1) @ v).transpose(1, 2).reshape(1, 9, 16))
    torch.testing.assert_close(y, ref, atol=1e-5, rtol=1e-5)


def test_padding_does_not_change_valid_outputs_and_backward_runs():
    torch.manual_seed(0)
    enc = _randomise(W2VBertConformerEncoder(**TINY)).eval()
    x = torch.randn(1, 20, 160)
    with torch.no_grad():
        alone, _, _ = enc(x, torch.tensor([20]))
        padded, _, _ = enc(torch.cat([x, torch.randn(1, 7, 160)], 1), torch.tensor([20]))
    torch.testing.assert_close(padded[:, :20], alone, atol=1e-5, rtol=1e-5)
    enc.train()
    y, _, _ = enc(x, torch.tensor([20]))
    y.sum().backward()
    assert all(p.grad is not None for p in enc.parameters())


def test_bad_options_raise():
    with pytest.raises(ValueError, match="attention_type"):
        W2VBertConformerEncoder(**TINY, attention_type="sliding")
    with pytest.raises(ValueError, match="activation"):
        W2VBertConformerEncoder(**TINY, activation="tanh")
    with pytest.raises(ValueError, match="odd"):
        W2VBertConformerEncoder(**dict(TINY, cnn_module_kernel=4))
    with pytest.raises(ValueError, match="stack"):
        W2VBertFbankFrontend(stack=0)


def test_registered_in_espnet():
    from usm_espnet import registry

    names = registry.register(["espnet2.tasks.asr"])
    assert "espnet2.tasks.asr:encoder_choices:w2v_bert_conformer" in names
    from espnet2.tasks.asr import encoder_choices, frontend_choices

    assert encoder_choices.get_class("w2v_bert_conformer") is W2VBertConformerEncoder
    assert frontend_choices.get_class("w2v_bert_fbank") is W2VBertFbankFrontend
