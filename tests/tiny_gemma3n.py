"""A tiny random Gemma 3n audio encoder (transformers ``Gemma3nAudioEncoder``), saved and imported.

No download: the model is built from a small ``Gemma3nAudioConfig`` (the shape of
``tests/nets/test_gemma3n_audio.py``: 2 layers, d 64, 32 mel bins, local attention over the
frame and the 4 before it), every parameter moved off its default, written with
``save_pretrained`` (+ the feature extractor's ``preprocessor_config.json``) and imported
with ``usm_espnet.bin.import_encoder`` (whose exactness ``tests/nets/test_gemma3n_audio.py``
checks). Used by the long-form tests.
"""

from pathlib import Path

#: the tiny shape (the real one: hidden 1536, 12 layers, 8 heads, 128 mel bins, 12 frames left)
TINY = dict(input_feat_size=32, hidden_size=64, conf_num_attention_heads=4, conf_num_hidden_layers=2,
            sscp_conv_channel_size=[16, 8], conf_attention_chunk_size=4,
            conf_attention_context_left=5, conf_attention_context_right=0)


def tiny_gemma3n_import(root: Path, seed: int = 0, **overrides) -> Path:
    """Save a tiny random Gemma3nAudioEncoder under ``root/src``, import it to ``root/imported``."""
    import torch
    import transformers

    from usm_espnet.nets import import_encoder as ie

    torch.manual_seed(seed)
    config = transformers.Gemma3nAudioConfig(**dict(TINY, **overrides))
    model = transformers.Gemma3nAudioEncoder(config)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
    model.save_pretrained(root / "src")
    transformers.Gemma3nAudioFeatureExtractor(feature_size=config.input_feat_size).save_pretrained(root / "src")
    ie.import_encoder(str(root / "src"), str(root / "imported"), log=lambda m: None)
    return root / "imported"
