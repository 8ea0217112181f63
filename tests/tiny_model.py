"""A one-block chunk-attention CTC model (untrained), with its config and token list.

Shared by the tests that decode with it (the bad-input matrix, the ESPnet drop-in tests).
"""

from __future__ import annotations

from pathlib import Path

TOKENS = ["<blank>", "<unk>", "<space>", *"abcdefghijklmnopqrstuvwxyz", "<sos/eos>"]


def tiny_chunk_conformer(d: Path) -> Path:
    """Write ``tokens.txt``, ``config.yaml`` and untrained weights ``model.pth`` into ``d``."""
    import torch
    import yaml

    from usm_espnet.registry import register

    register(["espnet2.tasks.asr"])
    from espnet2.tasks.asr import ASRTask

    d.mkdir(parents=True, exist_ok=True)
    (d / "tokens.txt").write_text("\n".join(TOKENS) + "\n")
    cfg = dict(frontend="default", frontend_conf=dict(n_fft=256, hop_length=160, n_mels=20),
               normalize="none", encoder="chunk_conformer",
               encoder_conf=dict(output_size=16, attention_heads=2, linear_units=32,
                                 num_blocks=1, cnn_module_kernel=5, attention_type="chunk",
                                 chunk_seconds=2),
               decoder="none", model_conf=dict(ctc_weight=1.0))
    (d / "in.yaml").write_text(yaml.safe_dump(cfg))
    args = ASRTask.get_parser().parse_args(
        ["--config", str(d / "in.yaml"), "--token_list", str(d / "tokens.txt"),
         "--token_type", "char", "--output_dir", str(d)])
    torch.manual_seed(0)
    torch.save(ASRTask.build_model(args).state_dict(), d / "model.pth")
    (d / "config.yaml").write_text(yaml.safe_dump(vars(args)))
    return d
