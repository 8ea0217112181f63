"""Every training yaml under conf/ and egs/*/*/conf/ is dry-run: built, one batch."""

from pathlib import Path

import pytest
import torch

from usm_espnet.registry import register

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted(
    p for p in list(ROOT.glob("conf/**/*.yaml")) + list(ROOT.glob("egs/*/*/conf/**/*.yaml"))
    if "presets" not in p.parts
)


def _asr_configs():
    import yaml

    out = []
    for p in CONFIGS:
        cfg = yaml.safe_load(p.read_text())
        if isinstance(cfg, dict) and "encoder" in cfg and cfg.get("task", "asr") == "asr":
            out.append(p)
    return out


def test_some_configs_exist():
    assert len(_asr_configs()) >= 3


@pytest.mark.parametrize("path", _asr_configs(), ids=lambda p: str(p.relative_to(ROOT)))
def test_asr_config_dry_run(path, tmp_path):
    register(["espnet2.tasks.asr"])
    from espnet2.tasks.asr import ASRTask

    tokens = ["<blank>", "<unk>", "<space>", "a", "b", "c", "<sos/eos>"]
    tok = tmp_path / "tokens.txt"
    tok.write_text("\n".join(tokens) + "\n")
    args = ASRTask.get_parser().parse_args(
        ["--config", str(path), "--token_list", str(tok), "--token_type", "char",
         "--output_dir", str(tmp_path / "exp")]
    )
    torch.manual_seed(0)
    model = ASRTask.build_model(args)
    model.train()
    speech = torch.randn(2, 16000)
    lengths = torch.tensor([16000, 12000])
    text = torch.tensor([[3, 4, 2, 5], [4, 3, -1, -1]])
    text_lengths = torch.tensor([4, 2])
    loss, stats, _ = model(speech, lengths, text, text_lengths)
    assert torch.isfinite(loss), f"{path}: loss {loss}"
    loss.backward()
    assert any(p.grad is not None for p in model.parameters())
