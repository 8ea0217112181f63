"""USMConformerEncoder's narrow subsampling (``subsampling_channels``)."""

import pytest
import torch

from usm_espnet.nets.usm_conformer import NarrowConv2dSubsampling, USMConformerEncoder


def _enc(**kw):
    torch.manual_seed(0)
    return USMConformerEncoder(20, output_size=16, attention_heads=2, linear_units=32,
                               num_blocks=1, **kw).eval()


def test_narrow_subsampling_keeps_lengths_and_padding():
    wide, narrow = _enc(), _enc(subsampling_channels=4)
    assert isinstance(narrow.embed, NarrowConv2dSubsampling)
    assert narrow.embed.conv[0].out_channels == 4 and narrow.embed.conv[2].out_channels == 4
    n_wide = sum(p.numel() for p in wide.embed.parameters())
    n_narrow = sum(p.numel() for p in narrow.embed.parameters())
    assert n_narrow < n_wide / 4
    x, lens = torch.randn(2, 37, 20), torch.tensor([37, 21])
    y_w, l_w, _ = wide(x, lens)
    y_n, l_n, _ = narrow(x, lens)
    assert y_n.shape == y_w.shape and torch.equal(l_n, l_w)
    # frames beyond an utterance's length do not change its output (the mask is subsampled)
    x2 = x.clone()
    x2[1, 21:] = 100.0
    y2, _, _ = narrow(x2, lens)
    assert torch.allclose(y2[1, :l_n[1]], y_n[1, :l_n[1]], atol=1e-5)
    # a saved model loads back
    again = _enc(subsampling_channels=4)
    again.load_state_dict(narrow.state_dict())
    assert torch.allclose(again(x, lens)[0], y_n)


@pytest.mark.parametrize("kw, msg", [({"subsampling_channels": 0}, "positive integer"),
                                     ({"subsampling_channels": 8, "input_layer": "linear"},
                                      "needs input_layer: conv2d")])
def test_narrow_subsampling_bad_options(kw, msg):
    with pytest.raises(ValueError, match=msg):
        _enc(**kw)
