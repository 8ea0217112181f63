"""MOST's text encoder: token embedding, duration upsampler, one Conformer block.

Its output has the shared encoder's width at the encoder-frame rate, so it can
enter the shared encoder in place of the speech encoder's (see
:mod:`usm_espnet.ssl.most.encoder_split`).
"""

from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import nn

from usm_espnet.nets.chunk_conformer import ConformerBlock
from usm_espnet.ssl.best_rq import check_int
from usm_espnet.ssl.most.checks import check_tokens, valid_mask
from usm_espnet.ssl.most.durations import DurationModel, upsample


class TextEncoder(nn.Module):
    """Token embedding -> duration upsampler -> one Conformer block.

    The upsampled sequence is at the encoder-frame rate with the shared
    encoder's width, so its output can enter the shared encoder in place of
    the speech encoder's. Masked frames (text reconstruction) are replaced
    by a learned vector before the Conformer block. The duration model reads
    detached embeddings: its loss trains only the duration model.

    Args:
        vocab_size: Token inventory (ESPnet's token list, blank included).
        dim: Model dimension D (the shared encoder's).
        attention_heads: Heads of the Conformer block.
        linear_units: Its feed-forward size (None: 4 D).
        cnn_module_kernel: Its depthwise kernel.
        dropout_rate: Dropout in the block and the duration model.
        duration_hidden: Duration model width (None: D).
        duration_kernel: Duration model kernel.
        duration_layers: Duration model layers.
    """

    def __init__(self, vocab_size: int, dim: int, attention_heads: int = 4,
                 linear_units: Optional[int] = None, cnn_module_kernel: int = 5,
                 dropout_rate: float = 0.1, duration_hidden: Optional[int] = None,
                 duration_kernel: int = 3, duration_layers: int = 2) -> None:
        super().__init__()
        check_int("vocab_size", vocab_size, 2)
        check_int("dim", dim, 1)
        self.vocab_size = vocab_size
        self.dim = dim
        self.embed = nn.Embedding(vocab_size, dim)
        self.duration_model = DurationModel(dim, duration_hidden, duration_kernel,
                                            duration_layers, dropout_rate)
        self.mask_embedding = nn.Parameter(torch.empty(dim).uniform_(-0.1, 0.1))
        self.block = ConformerBlock(dim, attention_heads, linear_units or 4 * dim,
                                    cnn_module_kernel, dropout_rate, 0.0, "layer_norm")

    def output_size(self) -> int:
        """Output dimension D."""
        return self.dim

    def embed_tokens(self, tokens: torch.Tensor, token_lens: torch.Tensor) -> torch.Tensor:
        """Token embeddings, zero at padding.

        Args:
            tokens: (B, L) ids (padding arbitrary, e.g. -1).
            token_lens: (B,) token counts, each >= 1.

        Returns:
            (B, L, D) embeddings.
        """
        check_tokens(tokens, token_lens, self.vocab_size)
        valid = valid_mask(token_lens.to(tokens.device), tokens.size(1))
        emb = self.embed(tokens.masked_fill(~valid, 0).long())
        return emb.masked_fill(~valid[..., None], 0.0)

    def predict_log_durations(self, tokens: torch.Tensor,
                              token_lens: torch.Tensor) -> torch.Tensor:
        """Duration model output on (detached) token embeddings.

        Args:
            tokens: (B, L) ids.
            token_lens: (B,) token counts.

        Returns:
            (B, L) predicted log-durations, 0 at padding.
        """
        return self.duration_model(self.embed_tokens(tokens, token_lens).detach(), token_lens)

    def forward(self, tokens: torch.Tensor, token_lens: torch.Tensor, durations: torch.Tensor,
                frame_mask: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor]:
        """Encode text into encoder-rate frames.

        Args:
            tokens: (B, L) ids.
            token_lens: (B,) token counts, each >= 1.
            durations: (B, L) integer frames per token (>= 0).
            frame_mask: Optional (B, T) bool, True at upsampled frames to mask.

        Returns:
            (B, T, D) features (zero at padding) and (B,) frame lengths
            ``durations.sum(1)``.

        Raises:
            ValueError: Bad shapes, empty text, negative durations, or an
                utterance upsampled to zero frames.
        """
        emb = self.embed_tokens(tokens, token_lens)
        x, frame_lens = upsample(emb, durations, token_lens.to(emb.device))
        if int(frame_lens.min()) == 0:
            raise ValueError(f"an utterance was upsampled to 0 frames (lengths "
                             f"{frame_lens.tolist()})")
        valid = valid_mask(frame_lens, x.size(1))
        if frame_mask is not None:
            if frame_mask.shape != valid.shape:
                raise ValueError(f"frame_mask {tuple(frame_mask.shape)} does not match the "
                                 f"upsampled frames {tuple(valid.shape)}")
            m = frame_mask.to(x.device) & valid
            x = torch.where(m[..., None], self.mask_embedding.to(x.dtype), x)
        x = self.block(x, valid, attention_type="global")
        return x.masked_fill(~valid[..., None], 0.0), frame_lens
