"""Every training yaml under conf/ and egs/*/*/conf/ is checked.

Small models are dry-run (built, one batch forward and backward); models too big
for a CPU test (the paper's 0.6B and 2B encoders) are built on the meta device
and their parameter counts checked against the size in their file name.
"""

import re
from pathlib import Path

import pytest
import torch
import yaml

from usm_espnet.registry import register

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted(
    p for p in list(ROOT.glob("conf/**/*.yaml")) + list(ROOT.glob("egs/*/*/conf/**/*.yaml"))
    if "presets" not in p.parts
)
#: Encoders above this many parameters are not run on CPU in tests.
DRY_RUN_MAX_PARAMS = 50e6


def _cfg(p):
    return yaml.safe_load(p.read_text())


def _is_ssl(cfg):
    return "num_quantizers" in (cfg.get("model_conf") or {})


def _configs(ssl):
    # MOST yamls (most_conf) are dry-run with MOSTTask in tests/bin/test_most_train.py
    return [p for p in CONFIGS
            if isinstance(_cfg(p), dict) and "encoder" in _cfg(p) and "most_conf" not in _cfg(p)
            and _is_ssl(_cfg(p)) == ssl]


def _encoder_params(cfg):
    register(["espnet2.tasks.asr"])
    from espnet2.tasks.asr import encoder_choices, frontend_choices

    # the encoder's input is the frontend's output (w2v_bert_fbank: 80 mels x 2 stacked frames)
    frontend = frontend_choices.get_class(cfg.get("frontend") or "default")(**(cfg.get("frontend_conf") or {}))
    with torch.device("meta"):
        enc = encoder_choices.get_class(cfg["encoder"])(input_size=frontend.output_size(),
                                                         **cfg["encoder_conf"])
    return sum(p.numel() for p in enc.parameters())


def _ids(p):
    return str(p.relative_to(ROOT))


def test_some_configs_exist():
    assert len(_configs(ssl=False)) >= 3
    assert len(_configs(ssl=True)) >= 3


@pytest.mark.parametrize("path", [p for p in CONFIGS if re.search(r"_(\d+(?:\.\d+)?)b[_.]", p.name)],
                         ids=_ids)
def test_paper_size_configs_have_their_size(path):
    size = float(re.search(r"_(\d+(?:\.\d+)?)b[_.]", path.name).group(1)) * 1e9
    n = _encoder_params(_cfg(path))
    assert 0.85 * size <= n <= 1.15 * size, f"{path.name}: {n / 1e9:.3f}B encoder parameters"


@pytest.mark.parametrize("path", _configs(ssl=False), ids=_ids)
def test_asr_config_dry_run(path, tmp_path):
    if _encoder_params(_cfg(path)) > DRY_RUN_MAX_PARAMS:
        pytest.skip("too big for a CPU dry run; size checked on the meta device")
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


@pytest.mark.parametrize("path", _configs(ssl=True), ids=_ids)
def test_pretrain_config_dry_run(path, tmp_path):
    if _encoder_params(_cfg(path)) > DRY_RUN_MAX_PARAMS:
        pytest.skip("too big for a CPU dry run; size checked on the meta device")
    from usm_espnet.tasks.best_rq import BestRQTask

    args = BestRQTask.get_parser().parse_args(
        ["--config", str(path), "--output_dir", str(tmp_path / "exp")])
    torch.manual_seed(0)
    model = BestRQTask.build_model(args)
    model.train()
    speech = torch.randn(2, 48000)
    lengths = torch.tensor([48000, 30000])
    loss, stats, _ = model(speech, lengths)
    assert torch.isfinite(loss), f"{path}: loss {loss}"
    loss.backward()
    assert all(p.grad is not None for p in model.encoder.parameters() if p.requires_grad)
    assert not any(isinstance(b, torch.nn.Parameter) for b in model.quantizer.buffers())


@pytest.mark.parametrize("path", [p for p in CONFIGS if isinstance(_cfg(p), dict)
                                  and "most_conf" in _cfg(p)], ids=_ids)
def test_most_config_dry_run(path, tmp_path):
    """MOST yamls: built by MOSTTask, one step with all three streams (the alignment gate open),
    forward and backward."""
    from usm_espnet.tasks.most import MOSTTask

    tok = tmp_path / "tokens.txt"
    tok.write_text("\n".join(["<blank>", "<unk>", "<space>", "a", "b", "c", "<sos/eos>"]) + "\n")
    args = MOSTTask.get_parser().parse_args(
        ["--config", str(path), "--token_list", str(tok), "--token_type", "char",
         "--output_dir", str(tmp_path / "exp")])
    torch.manual_seed(0)
    model = MOSTTask.build_model(args)
    model.train()
    model.most_step.fill_(model.config.text_start_step)  # all three streams
    # an untrained CTC head never passes the alignment gate (align_max_cer): open it as a
    # trained one would, so the consistency, duration and text losses run too
    model.align_ready_step.fill_(0)
    g = torch.Generator().manual_seed(0)
    text = torch.tensor([[3, 4, 5, 2, 3], [4, 5, -1, -1, -1]])
    lens = torch.tensor([5, 2])
    loss, stats, _ = model(
        speech=torch.randn(2, 16000, generator=g), speech_lengths=torch.tensor([16000, 12000]),
        paired_speech=torch.randn(2, 16000, generator=g),
        paired_speech_lengths=torch.tensor([16000, 14000]),
        paired_text=text, paired_text_lengths=lens, text=text, text_lengths=lens)
    assert torch.isfinite(loss).all() and "loss_text_recon" in stats
    loss.sum().backward()
