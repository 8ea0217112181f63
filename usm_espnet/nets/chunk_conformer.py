"""Conformer with global, local (banded) or chunk-wise relative-position self-attention.

USM (arXiv 2303.01037, Sec. 3.5) limits self-attention to fixed chunks (8 s) so a
model trained on short clips keeps the same receptive field on hours of audio;
BEST-RQ pre-training uses local attention (128 frames left and right). Only the
attention is chunked: feed-forward and convolution modules run on the whole
sequence, so convolutions see frames of the neighbouring chunks.

* ``attention_type: chunk``: the sequence is cut on a fixed grid of
  ``chunk_frames`` encoder frames (from ``chunk_seconds``) and the whole chunks
  are folded into the batch (a shorter last chunk attends on its own, not padded
  to a full chunk), so time and memory grow linearly with length.
* ``attention_type: local``: query blocks of ``max(left, right)`` frames attend
  to their own block and both neighbours (a fixed-size window) with a band
  mask ``-left <= j - i <= right``; also linear in length, no T x T mask.
* ``attention_type: global``: ordinary full attention.

Positions are relative only (Transformer-XL style: content bias ``u``,
position bias ``v``, sinusoidal offsets projected per layer), so the encoder is
translation invariant -- what exact window-by-window long-form encoding needs.
Attention runs through ``torch.nn.functional.scaled_dot_product_attention``
with the position term as its additive mask; the position scores are computed
only for the offsets a chunk (or block) spans and rearranged with the
Transformer-XL relative shift (a strided view), all shapes static -- no host
syncs, and ``torch.compile(fullgraph=True)`` traces the encoder in one graph.
Pointwise convolutions run as matmuls in (B, T, C) layout. For hour-long
training inputs, ``activation_checkpointing`` recomputes each block in backward.
"""

from __future__ import annotations

import math
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from espnet2.asr.encoder.abs_encoder import AbsEncoder
from torch import nn
from torch.utils.checkpoint import checkpoint

ATTENTION_TYPES = ("global", "local", "chunk")


def check_attention_options(attention_type: str, chunk_seconds: float, left_context: int,
                            right_context: int) -> None:
    """The encoders' attention options (this module's, w2v-BERT's, Gemma 3n's): one check, one message.

    Raises:
        ValueError: An unknown ``attention_type``, chunks of <= 0 s, or local attention
            with a negative context or none on either side.
    """
    if attention_type not in ATTENTION_TYPES:
        raise ValueError(f"attention_type must be one of {ATTENTION_TYPES}, got {attention_type!r}")
    if attention_type == "chunk" and chunk_seconds <= 0:
        raise ValueError(f"chunk_seconds must be > 0, got {chunk_seconds}")
    if attention_type == "local" and (left_context < 0 or right_context < 0
                                      or left_context + right_context == 0):
        raise ValueError(f"local attention needs left/right context >= 0, not both 0 "
                         f"(got {left_context}, {right_context})")


def _sinusoids(first: int, count: int, dim: int, device=None, dtype=torch.float32) -> torch.Tensor:
    """Sinusoidal embeddings of the offsets ``first .. first + count - 1`` (count, dim)."""
    pos = torch.arange(first, first + count, device=device, dtype=torch.float32)[:, None]
    inv = torch.exp(torch.arange(0, dim, 2, device=device, dtype=torch.float32)
                    * (-math.log(10000.0) / dim))
    ang = pos * inv  # (count, dim / 2)
    # interleave: even columns sin, odd columns cos
    return torch.stack([torch.sin(ang), torch.cos(ang)], dim=-1).reshape(count, dim).to(dtype)


def sinusoid_offsets(max_offset: int, dim: int, device=None, dtype=torch.float32) -> torch.Tensor:
    """Sinusoidal embeddings of offsets ``-max_offset .. max_offset`` (row r = offset r - max_offset).

    Args:
        max_offset: Largest absolute offset.
        dim: Embedding dimension (even).
    """
    return _sinusoids(-max_offset, 2 * max_offset + 1, dim, device, dtype)


def rel_shift(scores: torch.Tensor, tq: int, tk: int) -> torch.Tensor:
    """Turn scores over a table of offsets into (query, key) scores (Transformer-XL's relative shift).

    Args:
        scores: (..., tq, tq + tk); column ``c`` of row ``i`` is the score of the
            offset ``c - (tq - 1) + base`` (a table of offsets
            ``base - (tq - 1) .. base + tk``, the last one unused).

    Returns:
        (..., tq, tk) with ``out[..., i, j] = scores[..., i, j - i + tq - 1]``: the
        score of offset ``j - i + base``. A flat view skewed by one element per
        row -- no index tensor, no gather, no host sync; its backward is a copy.
    """
    w = tq + tk
    lead = scores.shape[:-2]
    flat = scores.reshape(*lead, tq * w)
    return flat.narrow(-1, tq - 1, tq * (w - 1)).view(*lead, tq, w - 1)[..., :tk]


class RelPosSelfAttention(nn.Module):
    """Multi-head self-attention with relative positions and global/local/chunk masking.

    Args:
        dim: Model dimension.
        heads: Number of heads.
        dropout: Attention-probability dropout.
    """

    def __init__(self, dim: int, heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"model dim {dim} is not divisible by {heads} heads")
        self.dim, self.heads, self.dk = dim, heads, dim // heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.pos = nn.Linear(dim, dim, bias=False)
        self.pos_bias_u = nn.Parameter(torch.zeros(heads, self.dk))
        self.pos_bias_v = nn.Parameter(torch.zeros(heads, self.dk))
        nn.init.xavier_uniform_(self.pos_bias_u)
        nn.init.xavier_uniform_(self.pos_bias_v)
        self.dropout = dropout

    def _attend(self, q, k, v, base: int, valid):
        """Attention of queries q over keys k whose offset (key - query position) is ``j - i + base``.

        Args:
            q: (..., H, Tq, dk); k, v: (..., H, Tk, dk).
            base: Offset of key 0 from query 0 (0, or ``-W`` for local blocks).
            valid: bool, broadcastable to (..., H, Tq, Tk), True where a query may
                attend to a key.

        The offsets spanned are known from the shapes, so nothing waits for the
        device; the position scores are computed for the ``Tq + Tk`` offsets of the
        span only and rearranged by :func:`rel_shift`.
        """
        tq, tk = q.size(-2), k.size(-2)
        table = _sinusoids(base - (tq - 1), tq + tk, self.dim, q.device, q.dtype)
        p = self.pos(table).view(tq + tk, self.heads, self.dk).permute(1, 2, 0)  # (H, dk, Tq+Tk)
        scale = 1.0 / math.sqrt(self.dk)
        qv = (q + self.pos_bias_v[:, None, :].to(q.dtype)) * scale
        qu = q + self.pos_bias_u[:, None, :].to(q.dtype)
        bd = rel_shift(torch.matmul(qv, p), tq, tk)  # (..., H, Tq, Tk)
        bias = bd.masked_fill(~valid, torch.finfo(bd.dtype).min)
        return F.scaled_dot_product_attention(
            qu, k, v, attn_mask=bias, dropout_p=self.dropout if self.training else 0.0)

    def forward(self, x: torch.Tensor, valid: torch.Tensor, attention_type: str = "global",
                chunk: int = 0, left: int = 0, right: int = 0,
                reference: bool = False) -> torch.Tensor:
        """Self-attention over ``x``.

        Args:
            x: (B, T, dim).
            valid: (B, T) bool, False at padding.
            attention_type: ``global``, ``local`` or ``chunk``.
            chunk: Chunk length in frames (chunk attention).
            left, right: Context in frames (local attention).
            reference: Compute local/chunk attention as full attention with a
                (T, T) mask -- O(T^2), for tests.
        """
        B, T, _ = x.shape
        H, dk = self.heads, self.dk
        qkv = self.qkv(x)  # (B, T, 3 dim)
        dev = x.device

        def split(t):  # (N, L, 3 dim) -> q, k, v (N, H, L, dk)
            return t.view(t.size(0), t.size(1), 3, H, dk).permute(2, 0, 3, 1, 4).unbind(0)

        if attention_type == "global" or reference:
            q, k, v = split(qkv)
            if attention_type == "global":
                allowed = valid[:, None, :]
            else:
                pos = torch.arange(T, device=dev)
                offsets = pos[None, :] - pos[:, None]
                allowed = valid[:, None, :] & torch.ones(T, T, dtype=torch.bool, device=dev)
                if attention_type == "chunk":
                    allowed = allowed & ((pos[:, None] // chunk) == (pos[None, :] // chunk))
                elif attention_type == "local":
                    allowed = allowed & (offsets >= -left) & (offsets <= right)
            out = self._attend(q, k, v, 0, allowed[:, None]).transpose(1, 2).reshape(B, T, self.dim)
        elif attention_type == "chunk":
            # whole chunks folded into the batch (strided views of the qkv output; a copy
            # only when a shorter last chunk breaks the stride); that last chunk attends
            # on its own (no padding). 4-D, as the fused SDPA kernels need.
            n, r = T // chunk, T % chunk
            outs = []
            if n:
                full = qkv[:, : n * chunk].view(B, n, chunk, 3, H, dk).permute(3, 0, 1, 4, 2, 5)
                q, k, v = (t.flatten(0, 1) for t in full.unbind(0))  # (B n, H, C, dk)
                kvalid = valid[:, : n * chunk].reshape(B * n, 1, 1, chunk)
                o = self._attend(q, k, v, 0, kvalid).view(B, n, H, chunk, dk)
                outs.append(o.permute(0, 1, 3, 2, 4).reshape(B, n * chunk, self.dim))
            if r:
                o = self._attend(*split(qkv[:, n * chunk:]), 0, valid[:, None, None, n * chunk:])
                outs.append(o.transpose(1, 2).reshape(B, r, self.dim))
            if not outs:  # empty input
                return self.out(x)
            out = outs[0] if len(outs) == 1 else torch.cat(outs, 1)
        elif attention_type == "local":
            q, k, v = split(qkv)
            W = max(left, right, 1)
            n = -(-T // W)
            pad = n * W - T

            def blocks(t):  # keys/values: (B, H, T, dk) -> (B*n, H, 3W, dk)
                t = F.pad(t, (0, 0, W, pad + W))
                t = t.unfold(2, 3 * W, W)  # (B, H, n, dk, 3W)
                return t.permute(0, 2, 1, 4, 3).reshape(B * n, H, 3 * W, dk)

            qb = F.pad(q, (0, 0, 0, pad)).view(B, H, n, W, dk).transpose(1, 2).reshape(B * n, H, W, dk)
            kv = F.pad(valid, (W, pad + W)).unfold(1, 3 * W, W).reshape(B * n, 1, 3 * W)
            qi = torch.arange(W, device=dev)[:, None]
            kj = torch.arange(3 * W, device=dev)[None, :]
            offsets = kj - W - qi
            band = (offsets >= -left) & (offsets <= right)
            out = self._attend(qb, blocks(k), blocks(v), -W, (kv & band[None])[:, None])
            out = out.view(B, n, H, W, dk).transpose(1, 2).reshape(B, H, n * W, dk)[:, :, :T]
            out = out.transpose(1, 2).reshape(B, T, self.dim)
        else:
            raise ValueError(f"attention_type must be one of {ATTENTION_TYPES}, got {attention_type!r}")
        return self.out(out)


class ConvModule(nn.Module):
    """Conformer convolution: pointwise + GLU, depthwise (padding zeroed), norm, swish, pointwise.

    Args:
        dim: Model dimension.
        kernel: Depthwise kernel size (odd).
        norm: ``layer_norm`` (padding-independent) or ``batch_norm``.
    """

    def __init__(self, dim: int, kernel: int = 5, norm: str = "layer_norm") -> None:
        super().__init__()
        if kernel % 2 != 1:
            raise ValueError(f"cnn_module_kernel must be odd, got {kernel}")
        self.pw1 = nn.Conv1d(dim, 2 * dim, 1)
        self.dw = nn.Conv1d(dim, dim, kernel, padding=kernel // 2, groups=dim)
        if norm == "layer_norm":
            self.norm = nn.LayerNorm(dim)
        elif norm == "batch_norm":
            self.norm = nn.BatchNorm1d(dim)
        else:
            raise ValueError(f"conv_norm must be layer_norm or batch_norm, got {norm!r}")
        self.pw2 = nn.Conv1d(dim, dim, 1)

    def forward(self, x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        # pointwise convolutions as matmuls in (B, T, C) layout: only the depthwise
        # convolution needs channels first
        y = F.glu(F.linear(x, self.pw1.weight.squeeze(-1), self.pw1.bias), dim=-1)
        y = y.masked_fill(~valid[..., None], 0.0)
        y = self.dw(y.transpose(1, 2))
        if isinstance(self.norm, nn.LayerNorm):
            y = self.norm(y.transpose(1, 2))
        else:
            y = self.norm(y).transpose(1, 2)
        return F.linear(F.silu(y), self.pw2.weight.squeeze(-1), self.pw2.bias)


class ConformerBlock(nn.Module):
    """Macaron Conformer block: 1/2 FFN, MHSA, conv, 1/2 FFN, final LayerNorm (pre-norm)."""

    def __init__(self, dim: int, heads: int, ffn: int, kernel: int, dropout: float,
                 attention_dropout: float, conv_norm: str) -> None:
        super().__init__()

        def ffn_module():
            return nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, ffn), nn.SiLU(),
                                 nn.Dropout(dropout), nn.Linear(ffn, dim))

        self.ff1, self.ff2 = ffn_module(), ffn_module()
        self.norm_att = nn.LayerNorm(dim)
        self.att = RelPosSelfAttention(dim, heads, attention_dropout)
        self.norm_conv = nn.LayerNorm(dim)
        self.conv = ConvModule(dim, kernel, conv_norm)
        self.norm_out = nn.LayerNorm(dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, x, valid, **att):
        x = x + 0.5 * self.drop(self.ff1(x))
        x = x + self.drop(self.att(self.norm_att(x), valid, **att))
        x = x + self.drop(self.conv(self.norm_conv(x), valid))
        x = x + 0.5 * self.drop(self.ff2(x))
        return self.norm_out(x)

    # The block split around its depthwise convolution, for streaming long-form encoding
    # (usm_espnet.longform.encode; eval mode, one unpadded recording). The same interface
    # is on usm_espnet.nets.w2v_bert.W2VBertBlock.
    def conv_context(self) -> Tuple[int, int]:
        """Frames (left, right) of its input the depthwise convolution reads around a frame."""
        k2 = (self.conv.dw.kernel_size[0] - 1) // 2
        return k2, k2

    def stream_pre_conv(self, x: torch.Tensor, valid: Optional[torch.Tensor] = None,
                        **att) -> Tuple[torch.Tensor, torch.Tensor]:
        """Up to the depthwise convolution: residual stream (B, T, d), conv input (B, d, T).

        ``valid`` (B, T), default all True: padding (a recording of a batch that ended) is
        left out of attention and zero in the conv input, as in :meth:`forward`.
        """
        if valid is None:
            valid = torch.ones(x.shape[:2], dtype=torch.bool, device=x.device)
        x = x + 0.5 * self.ff1(x)
        x = x + self.att(self.norm_att(x), valid, **att)
        c = self.conv
        u = F.glu(F.linear(self.norm_conv(x), c.pw1.weight.squeeze(-1), c.pw1.bias), dim=-1)
        return x, u.masked_fill(~valid[..., None], 0.0).transpose(1, 2)

    def stream_post_conv(self, x: torch.Tensor, u_ctx: torch.Tensor) -> torch.Tensor:
        """The rest of the block, given the conv input with its ``conv_context`` frames around it."""
        c = self.conv
        y = F.conv1d(u_ctx, c.dw.weight, c.dw.bias, groups=c.dw.groups)  # no padding
        if isinstance(c.norm, nn.LayerNorm):
            y = c.norm(y.transpose(1, 2))
        else:
            y = c.norm(y).transpose(1, 2)
        x = x + F.linear(F.silu(y), c.pw2.weight.squeeze(-1), c.pw2.bias)
        x = x + 0.5 * self.ff2(x)
        return self.norm_out(x)


class Conv2dSubsampling4(nn.Module):
    """4x time subsampling by two 3x3 stride-2 convolutions ('valid' padding), then a linear layer.

    Output frame i depends on input frames ``4 i .. 4 i + 6`` only.
    """

    def __init__(self, idim: int, dim: int, channels: Optional[int] = None) -> None:
        super().__init__()
        c = channels or dim  # the convolutions' channels (default: the model dimension)
        self.conv = nn.Sequential(nn.Conv2d(1, c, 3, 2), nn.ReLU(), nn.Conv2d(c, c, 3, 2), nn.ReLU())
        self.linear = nn.Linear(c * (((idim - 1) // 2 - 1) // 2), dim)

    @staticmethod
    def out_lengths(lens: torch.Tensor) -> torch.Tensor:
        return torch.div(torch.div(lens - 1, 2, rounding_mode="floor") - 1, 2, rounding_mode="floor")

    #: Output frames per convolution call: longer inputs are cut into overlapping
    #: segments (exact: output frame i needs input frames 4 i .. 4 i + 6), so the first
    #: convolution's output stays far below 2^31 elements (an hour of features at
    #: d 1024 would be 7e9) and transient memory stays bounded.
    segment = 8192

    def _frames(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x.unsqueeze(1))  # (B, C, T', F')
        B, C, T, Fd = y.shape
        return y.transpose(1, 2).reshape(B, T, C * Fd)

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None):
        n = ((x.size(1) - 1) // 2 - 1) // 2
        if n <= self.segment:
            y = self._frames(x)
        else:
            y = torch.cat([self._frames(x[:, 4 * a: 4 * min(n, a + self.segment) + 3])
                           for a in range(0, n, self.segment)], 1)
        return self.linear(y), mask


class ChunkConformerEncoder(AbsEncoder):
    """USM's Conformer with chunk-wise, local or global self-attention (ESPnet encoder).

    Args:
        input_size: Feature dimension.
        output_size: Model dimension d.
        attention_heads: Heads.
        linear_units: Feed-forward hidden size (USM: 4 d).
        num_blocks: Conformer blocks.
        cnn_module_kernel: Depthwise kernel (USM: 5).
        attention_type: ``chunk`` (USM fine-tuning/inference), ``local`` (USM
            pre-training) or ``global``.
        chunk_seconds: Chunk length for ``chunk`` attention.
        left_context, right_context: Encoder frames for ``local`` attention.
        input_frame_shift_ms: Feature frame shift, to turn seconds into frames.
        dropout_rate, attention_dropout_rate: Dropout.
        conv_norm: ``layer_norm`` or ``batch_norm`` in the convolution module.
        activation_checkpointing: In training, recompute each block (and the
            subsampling) in the backward pass instead of keeping its activations:
            about a third more compute, activation memory of one block -- for
            very long inputs (an hour in one batch element).
        subsampling_channels: Channels of the two subsampling convolutions (default
            ``output_size``). 32 makes the long-form recipe's 2.6M model's forward +
            backward 2.4x faster on one CPU thread (the second convolution dominates), but
            there it learned more slowly per step: dev CER 0.75 after 1,300 steps against
            0.27 after 800 steps with the default (seed 0; egs/youtube_longform RESULTS.md).
    """

    subsampling = 4

    def __init__(
        self,
        input_size: int,
        output_size: int = 256,
        attention_heads: int = 4,
        linear_units: int = 1024,
        num_blocks: int = 12,
        cnn_module_kernel: int = 5,
        attention_type: str = "chunk",
        chunk_seconds: float = 8.0,
        left_context: int = 128,
        right_context: int = 128,
        input_frame_shift_ms: float = 10.0,
        dropout_rate: float = 0.1,
        attention_dropout_rate: float = 0.0,
        conv_norm: str = "layer_norm",
        activation_checkpointing: bool = False,
        subsampling_channels: Optional[int] = None,
    ) -> None:
        super().__init__()
        if subsampling_channels is not None and subsampling_channels < 1:
            raise ValueError(f"subsampling_channels must be >= 1, got {subsampling_channels}")
        check_attention_options(attention_type, chunk_seconds, left_context, right_context)
        self._dim = output_size
        self.attention_type = attention_type
        frame_ms = input_frame_shift_ms * self.subsampling
        self.chunk_frames = max(1, int(round(chunk_seconds * 1000.0 / frame_ms)))
        self.left_context, self.right_context = left_context, right_context
        self.cnn_module_kernel = cnn_module_kernel
        self.activation_checkpointing = bool(activation_checkpointing)
        self.embed = Conv2dSubsampling4(input_size, output_size, subsampling_channels)
        self.drop = nn.Dropout(dropout_rate)
        self.blocks = nn.ModuleList(
            ConformerBlock(output_size, attention_heads, linear_units, cnn_module_kernel,
                           dropout_rate, attention_dropout_rate, conv_norm)
            for _ in range(num_blocks))

    def output_size(self) -> int:
        return self._dim

    def attention_kwargs(self) -> dict:
        return dict(attention_type=self.attention_type, chunk=self.chunk_frames,
                    left=self.left_context, right=self.right_context)

    # Long-form interface (usm_espnet.longform.encode), shared with W2VBertConformerEncoder:
    # how encoder frames map to feature frames, the embedding alone, and the blocks'
    # convolution context.
    def num_output_frames(self, num_feature_frames: int) -> int:
        """Encoder frames of ``num_feature_frames`` input frames."""
        return max(0, ((num_feature_frames - 1) // 2 - 1) // 2)

    def feature_range(self, start: int, end: int) -> Tuple[int, int]:
        """Feature frames ``[f0, f1)`` that encoder frames ``[start, end)`` are embedded from."""
        return 4 * start, 4 * end + 3

    def stream_embed(self, feats: torch.Tensor) -> torch.Tensor:
        """The embedding (subsampling + dropout) of features (B, T, F) -> (B, T', d)."""
        x, _ = self.embed(feats)
        return self.drop(x)

    def conv_context(self) -> Tuple[int, int]:
        return self.blocks[0].conv_context() if len(self.blocks) else (0, 0)

    def forward(
        self,
        xs_pad: torch.Tensor,
        ilens: torch.Tensor,
        prev_states: Optional[torch.Tensor] = None,
        reference_attention: bool = False,
    ) -> Tuple[torch.Tensor, torch.Tensor, Optional[torch.Tensor]]:
        """Encode padded features.

        Args:
            xs_pad: (B, T, input_size).
            ilens: (B,) lengths.
            prev_states: Unused (ESPnet interface).
            reference_attention: Masked O(T^2) attention instead of the folded
                one (tests compare the two).

        Returns:
            (B, T', d) output, (B,) output lengths, None.
        """
        ckpt = self.activation_checkpointing and self.training and torch.is_grad_enabled()
        if ckpt:
            x, _ = checkpoint(self.embed, xs_pad, use_reentrant=False)
        else:
            x, _ = self.embed(xs_pad)
        olens = Conv2dSubsampling4.out_lengths(ilens).clamp(min=0)
        valid = torch.arange(x.size(1), device=x.device)[None, :] < olens[:, None]
        x = self.drop(x)
        att = dict(self.attention_kwargs(), reference=reference_attention)
        for block in self.blocks:
            if ckpt:
                x = checkpoint(block, x, valid, use_reentrant=False, **att)
            else:
                x = block(x, valid, **att)
        x = x.masked_fill(~valid[..., None], 0.0)
        return x, olens, None
