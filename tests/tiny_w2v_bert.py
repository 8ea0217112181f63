"""A tiny random w2v-BERT 2.0 (transformers ``Wav2Vec2BertModel``), saved and imported.

No download: the model is built from a small ``Wav2Vec2BertConfig``, every parameter moved
off its default (LayerNorm 1/0 ...), written with ``save_pretrained`` and imported with
``usm_espnet.bin.import_encoder`` (``tests/nets/test_import_encoder.py`` checks that the
import is exact). Used by the long-form, fine-tuning-config and recipe tests.
"""

from pathlib import Path

#: the tiny shape (the real one: hidden 1024, 24 layers, 16 heads, FFN 4096, kernel 31)
TINY = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
            conv_depthwise_kernel_size=31, left_max_position_embeddings=8,
            right_max_position_embeddings=4)


def tiny_w2v_bert_import(root: Path, seed: int = 0, **overrides) -> Path:
    """Save a tiny random Wav2Vec2BertModel under ``root/src``, import it to ``root/imported``."""
    import torch
    import transformers

    from usm_espnet.nets import import_encoder as ie

    torch.manual_seed(seed)
    model = transformers.Wav2Vec2BertModel(transformers.Wav2Vec2BertConfig(**dict(TINY, **overrides)))
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
    model.save_pretrained(root / "src")
    transformers.SeamlessM4TFeatureExtractor().save_pretrained(root / "src")
    ie.import_encoder(str(root / "src"), str(root / "imported"), log=lambda m: None)
    return root / "imported"
