"""Where MOST's speech encoder ends and its shared encoder starts: one ASR encoder, split.

:class:`~usm_espnet.ssl.most.model.MOSTModel` holds ONE ordinary ASR encoder
(``usm_conformer`` = ESPnet's ``ConformerEncoder``, or ``chunk_conformer``) of exactly
the configuration ASR fine-tuning uses, under the attribute ``encoder``, and splits
it, without copying or wrapping any weight, at block
``k = MOSTConfig.speech_encoder_layers`` (1, as in USM):

    speech encoder = encoder.embed (conv subsampling) + blocks[:k]      -> (B, T', D)
    text encoder   = embedding + duration upsampler + 1 Conformer block -> (B, T', D)
    shared encoder = blocks[k:] (+ ESPnet's after_norm)                 -> (B, T', D)

Both fronts produce D-dim features at the encoder-frame rate at the shared
encoder's input; the shared encoder is the rest of the stack and takes those
already-subsampled features (rel-pos embeddings / masks are rebuilt for the text
path, :func:`state_from_features`). We chose this split over a second encoder built
with a no-op ``input_layer`` because

* ``MOSTModel.encoder.state_dict()`` IS an ASR encoder's state_dict: every name
  matches, so ``--init_param most.pth:encoder:encoder`` loads the speech AND shared
  encoders (subsampling included) into fine-tuning, strictly, nothing left behind;
  a separate no-op-input encoder would leave fine-tuning's subsampling and speech
  layer untrained and its names would not match a ``conv2d`` ASR encoder;
* a BEST-RQ checkpoint loads unchanged (encoder + quantizer + softmax heads, same
  attribute names as ``ESPnetBestRQModel``, see ``MOSTModel.load_best_rq``), and
  the BEST-RQ loss is computed on the same full-encoder output it was trained on, so
  the inherited heads stay meaningful;
* speech inference cost and depth are the ASR model's: the speech encoder's one
  Conformer layer is the stack's first block, not an extra layer.

The functions here run parts of either encoder kind (``kind`` is
:func:`encoder_kind`'s answer) on a :class:`HiddenState` passed between them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Tuple

import torch
from espnet2.asr.encoder.conformer_encoder import (
    ConformerEncoder,
    Conv2dSubsampling,
    Conv2dSubsampling1,
    Conv2dSubsampling2,
    Conv2dSubsampling6,
    Conv2dSubsampling8,
)
from espnet2.legacy.nets.pytorch_backend.nets_utils import make_pad_mask
from torch import nn

from usm_espnet.nets.chunk_conformer import ChunkConformerEncoder
from usm_espnet.ssl.most.checks import valid_mask


@dataclass
class HiddenState:
    """Hidden state between encoder blocks.

    Attributes:
        x: (B, T, D) features.
        lens: (B,) valid frames.
        masks: ESPnet (B, 1, T) bool masks (ESPnet encoders only).
        pos_emb: ESPnet relative-position embeddings, or None.
        valid: (B, T) bool (ChunkConformer only).
    """

    x: torch.Tensor
    lens: torch.Tensor
    masks: Optional[torch.Tensor] = None
    pos_emb: Optional[torch.Tensor] = None
    valid: Optional[torch.Tensor] = None


_ESPNET_MASKED_EMBEDS = (Conv2dSubsampling, Conv2dSubsampling1, Conv2dSubsampling2,
                         Conv2dSubsampling6, Conv2dSubsampling8)


def encoder_kind(encoder: nn.Module) -> str:
    """``chunk`` or ``espnet``; TypeError / ValueError for encoders MOST cannot split.

    Args:
        encoder: The ASR encoder.
    """
    if isinstance(encoder, ChunkConformerEncoder):
        return "chunk"
    if isinstance(encoder, ConformerEncoder):
        if len(encoder.interctc_layer_idx) > 0:
            raise ValueError("MOST does not support encoders with intermediate CTC")
        return "espnet"
    raise TypeError(f"MOST needs a ConformerEncoder (usm_conformer) or a "
                    f"ChunkConformerEncoder (chunk_conformer), got {type(encoder).__name__}")


def encoder_blocks(encoder: nn.Module, kind: str) -> List[nn.Module]:
    """The encoder's Conformer blocks in order."""
    return list(encoder.blocks if kind == "chunk" else encoder.encoders)


def positional_encoding(encoder: nn.Module) -> Optional[nn.Module]:
    """The positional-encoding module inside an ESPnet encoder's ``embed``, if any."""
    found = None
    for m in encoder.embed.modules():
        name = type(m).__name__
        if name.endswith("PositionalEncoding") or name.endswith("PositionalEmbedding"):
            found = m
    return found


def run_front(encoder: nn.Module, kind: str, xs: torch.Tensor,
              ilens: torch.Tensor) -> HiddenState:
    """Run the encoder's input layer (subsampling) only.

    Args:
        encoder: The ASR encoder.
        kind: ``encoder_kind(encoder)``.
        xs: (B, T, F) features.
        ilens: (B,) lengths.
    """
    if kind == "chunk":
        if xs.size(1) < 7:
            raise ValueError(f"{xs.size(1)} frames are too short for 4x subsampling (need 7)")
        x, _ = encoder.embed(xs)
        olens = encoder.embed.out_lengths(ilens).clamp(min=0)
        return HiddenState(encoder.drop(x), olens, valid=valid_mask(olens, x.size(1)))
    masks = (~make_pad_mask(ilens, maxlen=xs.size(1))[:, None, :]).to(xs.device)
    if isinstance(encoder.embed, _ESPNET_MASKED_EMBEDS):
        from espnet2.legacy.nets.pytorch_backend.transformer.subsampling import check_short_utt

        short, limit = check_short_utt(encoder.embed, xs.size(1))
        if short:
            raise ValueError(f"{xs.size(1)} frames are too short for subsampling "
                             f"(need {limit})")
        h, masks = encoder.embed(xs, masks)
    else:
        h = encoder.embed(xs)
    x, pos = (h[0], h[1]) if isinstance(h, tuple) else (h, None)
    return HiddenState(x, masks.squeeze(1).sum(1), masks=masks, pos_emb=pos)


def state_from_features(encoder: nn.Module, kind: str, x: torch.Tensor,
                   lens: torch.Tensor) -> HiddenState:
    """Wrap encoder-rate features (the text encoder's) as a hidden state.

    Args:
        encoder: The ASR encoder.
        kind: ``encoder_kind(encoder)``.
        x: (B, T, D) features.
        lens: (B,) lengths.
    """
    if kind == "chunk":
        return HiddenState(x, lens, valid=valid_mask(lens, x.size(1)))
    masks = (~make_pad_mask(lens, maxlen=x.size(1))[:, None, :]).to(x.device)
    pos = None
    pe = positional_encoding(encoder)
    if pe is not None:
        out = pe(x)  # relative encodings return (scaled x, pos_emb): keep pos_emb only
        if isinstance(out, tuple):
            pos = out[1]
    return HiddenState(x, lens, masks=masks, pos_emb=pos)


def run_blocks(encoder: nn.Module, kind: str, h: HiddenState, start: int,
                end: Optional[int] = None) -> HiddenState:
    """Run blocks ``start:end`` of the encoder on a hidden state.

    Args:
        encoder: The ASR encoder.
        kind: ``encoder_kind(encoder)``.
        h: Hidden state.
        start: First block.
        end: One past the last block (None: to the end).
    """
    blocks = encoder_blocks(encoder, kind)[start:end]
    if kind == "chunk":
        x = h.x
        att = encoder.attention_kwargs()
        for block in blocks:
            x = block(x, h.valid, **att)
        return HiddenState(x, h.lens, valid=h.valid)
    x, masks = h.x, h.masks
    for layer in blocks:
        out, masks = layer((x, h.pos_emb) if h.pos_emb is not None else x, masks)
        x = out[0] if isinstance(out, tuple) else out
    return HiddenState(x, h.lens, masks=masks, pos_emb=h.pos_emb)


def finish_encoder(encoder: nn.Module, kind: str,
                   h: HiddenState) -> Tuple[torch.Tensor, torch.Tensor]:
    """The encoder's output processing after its last block.

    Args:
        encoder: The ASR encoder.
        kind: ``encoder_kind(encoder)``.
        h: Hidden state after the last block.

    Returns:
        (B, T, D) output and (B,) lengths, as ``encoder.forward`` returns them.
    """
    if kind == "chunk":
        return h.x.masked_fill(~h.valid[..., None], 0.0), h.lens
    x = encoder.after_norm(h.x) if encoder.normalize_before else h.x
    return x, h.masks.squeeze(1).sum(1)
