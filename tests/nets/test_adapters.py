"""Per-language residual adapters (usm_espnet.nets.adapters) on a frozen encoder."""

import pytest
import torch

from usm_espnet.nets.adapters import Adapters
from usm_espnet.nets.chunk_conformer import ChunkConformerEncoder
from usm_espnet.nets.usm_conformer import USMConformerEncoder

FEAT = 20


def _chunk():
    torch.manual_seed(0)
    return ChunkConformerEncoder(FEAT, output_size=64, attention_heads=4, linear_units=256,
                                 num_blocks=2, dropout_rate=0.0, chunk_seconds=0.4).eval()


def _espnet():
    torch.manual_seed(0)
    return USMConformerEncoder(FEAT, output_size=64, attention_heads=4, linear_units=256,
                               num_blocks=2, dropout_rate=0.0, positional_dropout_rate=0.0,
                               attention_dropout_rate=0.0).eval()


@pytest.mark.parametrize("make", [_chunk, _espnet])
def test_default_size_is_about_two_percent(make):
    enc = make()
    n_enc = sum(p.numel() for p in enc.parameters())
    ad = Adapters.attach(enc)
    ad.add_language("en_us")
    assert ad.num_slots == 4  # two per block
    frac = ad.num_parameters("en_us") / n_enc
    assert 0.015 < frac < 0.025, frac


@pytest.mark.parametrize("make", [_chunk, _espnet])
def test_swap_changes_only_that_language_and_restores_exactly(make, tmp_path):
    enc = make()
    x, lens = torch.randn(2, 120, FEAT), torch.tensor([120, 90])
    with torch.no_grad():
        bare = enc(x, lens)[0]
    ad = Adapters.attach(enc)
    for lang in ("en_us", "sn_zw"):
        ad.add_language(lang)
    with torch.no_grad():
        ad.set_language("en_us")
        assert torch.equal(enc(x, lens)[0], bare)  # fresh adapters are the identity
        for p in ad.bank["sn_zw"].parameters():
            p.add_(0.05 * torch.randn_like(p))
        en_out = enc(x, lens)[0]
        assert torch.equal(en_out, bare)  # changing sn_zw does not touch en_us
        ad.set_language("sn_zw")
        sn_out = enc(x, lens)[0]
        assert not torch.allclose(sn_out, bare)
        ad.set_language("en_us")
        assert torch.equal(enc(x, lens)[0], en_out)  # swapping back restores exactly
        ad.set_language(None)
        assert torch.equal(enc(x, lens)[0], bare)
    # one language's adapters in a small file of their own; loading them reproduces the output
    path = tmp_path / "sn_zw.pth"
    ad.save_language("sn_zw", str(path))
    assert path.stat().st_size < 0.05 * sum(p.numel() * 4 for p in enc.parameters())
    enc2 = make()
    ad2 = Adapters.attach(enc2)
    ad2.load_language("sn_zw", str(path))
    ad2.set_language("sn_zw")
    with torch.no_grad():
        assert torch.equal(enc2(x, lens)[0], sn_out)
    with pytest.raises(KeyError, match="no adapters for language 'xx'"):
        ad2.set_language("xx")


def test_frozen_encoder_gets_no_gradient():
    enc = _chunk().train()
    ad = Adapters.attach(enc)
    ad.add_language("sn_zw")
    ad.set_language("sn_zw")
    ad.freeze_encoder()
    out, _, _ = enc(torch.randn(2, 100, FEAT), torch.tensor([100, 80]))
    out.pow(2).mean().backward()
    adapter_ids = {id(p) for p in ad.bank.parameters()}
    for name, p in enc.named_parameters():
        if id(p) in adapter_ids:
            continue
        assert p.grad is None and not p.requires_grad, name
    assert all(p.grad is not None for p in ad.parameters_of("sn_zw"))


def test_bad_uses():
    enc = _chunk()
    ad = Adapters.attach(enc, bottleneck=4)
    with pytest.raises(ValueError, match="already attached"):
        Adapters.attach(enc)
    ad.add_language("en_us")
    with pytest.raises(ValueError, match="already exist"):
        ad.add_language("en_us")
    with pytest.raises(ValueError, match="no feed-forward"):
        Adapters.attach(torch.nn.Linear(3, 3))
