"""The registry adds our classes to ESPnet's ClassChoices, idempotently."""

import pytest

from usm_espnet import registry


def test_register_adds_encoder_and_parser_accepts_it():
    names = registry.register(["espnet2.tasks.asr"])
    assert "espnet2.tasks.asr:encoder_choices:usm_conformer" in names
    from espnet2.tasks.asr import ASRTask, encoder_choices

    from usm_espnet.nets.usm_conformer import USMConformerEncoder

    assert encoder_choices.get_class("usm_conformer") is USMConformerEncoder
    args = ASRTask.get_parser().parse_args(["--encoder", "usm_conformer"])
    assert args.encoder == "usm_conformer"
    # idempotent
    assert registry.register(["espnet2.tasks.asr"]) == names


def test_register_refuses_to_shadow_an_espnet_key(monkeypatch):
    monkeypatch.setattr(
        registry, "REGISTRY",
        [("espnet2.tasks.asr", "encoder_choices", "conformer",
          "usm_espnet.nets.usm_conformer", "USMConformerEncoder")],
    )
    with pytest.raises(ValueError, match="already has 'conformer'"):
        registry.register(["espnet2.tasks.asr"])


def test_unregistered_key_is_rejected_by_espnet_parser():
    from espnet2.tasks.asr import ASRTask

    with pytest.raises(SystemExit):
        ASRTask.get_parser().parse_args(["--encoder", "no_such_encoder"])


def test_usm_conformer_defaults_forward():
    import torch

    from usm_espnet.nets.usm_conformer import USMConformerEncoder

    enc = USMConformerEncoder(input_size=20, output_size=16, attention_heads=2,
                              linear_units=32, num_blocks=2)
    assert enc.output_size() == 16
    x = torch.randn(2, 50, 20)
    lens = torch.tensor([50, 30])
    y, olens, _ = enc(x, lens)
    assert y.shape[0] == 2 and y.shape[2] == 16
    assert olens.tolist()[0] == y.shape[1]
    y.sum().backward()
