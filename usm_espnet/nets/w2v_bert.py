"""w2v-BERT 2.0's Conformer and front end as ESPnet classes, to start from its open weights.

w2v-BERT 2.0 (Seamless, arXiv 2312.05187; MIT licence; ``facebook/w2v-bert-2.0``) is the
closest open relative of USM's encoder: a 600M-parameter Conformer pre-trained on 4.5M
hours in 143 languages. ``python -m usm_espnet.bin.import_encoder`` converts its
transformers checkpoint (``Wav2Vec2BertModel``) into the two classes here; the
conversion is exact (see ``tests/nets/test_import_encoder.py``).

What differs from :mod:`usm_espnet.nets.chunk_conformer` (and why this is a sibling
class, not options of it -- only the block layout is shared):

* Front end (:class:`W2VBertFbankFrontend`): 80-dim Kaldi fbank of the waveform scaled
  to 16-bit range (25 ms Povey window, 10 ms hop, pre-emphasis 0.97, DC removal,
  ``snip_edges``), normalised per utterance and mel bin (mean, variance with
  Bessel's correction, ``+1e-7``), then 2 consecutive frames stacked to 160 dims
  (20 ms frames; an odd last frame is dropped). As transformers'
  ``SeamlessM4TFeatureExtractor``, but batched in torch (float64).
* No convolutional subsampling: a feature projection (LayerNorm + Linear, 160 -> d).
* Relative positions as *relative keys* (Shaw et al.): one learned embedding per
  clamped offset ``j - i`` in ``[-left_max_position, right_max_position]`` (64 / 8),
  shared by the heads; the score of query ``i`` and key ``j`` is
  ``q_i . (k_j + e[clamp(j - i)]) / sqrt(d_k)``. No content/position biases.
* Convolution module: LayerNorm inside, bias-free pointwise/depthwise convolutions,
  a *causal* depthwise convolution (kernel 31, all padding on the left), LayerNorm
  after it.
* Feed-forward: Linear, swish, Linear (4 d); macaron halves and a final LayerNorm, as
  ours.

The attention can be switched to USM's ``chunk`` attention (or ``local``) for
fine-tuning and long recordings, as ``encoder_conf.attention_type``; the imported
model itself uses ``global`` attention.
"""

from __future__ import annotations

import math
from typing import Optional, Tuple, Union

import torch
import torch.nn.functional as F
from espnet2.asr.encoder.abs_encoder import AbsEncoder
from espnet2.asr.frontend.abs_frontend import AbsFrontend
from torch import nn
from torch.utils.checkpoint import checkpoint

from usm_espnet.nets.chunk_conformer import ATTENTION_TYPES, check_attention_options

ACTIVATIONS = {"swish": nn.SiLU, "silu": nn.SiLU, "gelu": nn.GELU, "relu": nn.ReLU}


def _activation(name: str) -> nn.Module:
    if name not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {name!r}")
    return ACTIVATIONS[name]()


def parse_fs(fs: Union[int, str]) -> int:
    """A sampling rate in Hz from ESPnet's ``fs`` option: ``16000``, ``"16000"`` or ``"16k"``."""
    if isinstance(fs, str):  # ESPnet's asr.sh passes fs=16k
        s = fs.strip().lower()
        return int(float(s[:-1]) * 1000) if s.endswith("k") else int(float(s))
    return int(fs)


def kaldi_mel_banks(n_mels: int, n_fft: int, fs: int, low_freq: float = 20.0,
                    high_freq: float = 0.0) -> torch.Tensor:
    """Kaldi's triangular mel filters (triangles in mel space), float64, (n_fft // 2 + 1, n_mels).

    ``high_freq <= 0`` is relative to the Nyquist frequency (Kaldi's convention); the
    Nyquist bin gets weight 0, as in Kaldi.
    """
    nyquist = fs / 2.0
    high = high_freq if high_freq > 0 else nyquist + high_freq

    def mel(f):
        return 1127.0 * torch.log1p(torch.as_tensor(f, dtype=torch.float64) / 700.0)

    lo, hi = mel(low_freq), mel(high)
    delta = (hi - lo) / (n_mels + 1)
    b = torch.arange(n_mels, dtype=torch.float64)[None, :]
    left, center, right = lo + b * delta, lo + (b + 1) * delta, lo + (b + 2) * delta
    f = mel(torch.arange(n_fft // 2, dtype=torch.float64)[:, None] * fs / n_fft)
    up, down = (f - left) / (center - left), (right - f) / (right - center)
    banks = torch.clamp(torch.minimum(up, down), min=0.0)
    return F.pad(banks, (0, 0, 0, 1))  # the Nyquist bin


class W2VBertFbankFrontend(AbsFrontend):
    """w2v-BERT 2.0's features: Kaldi fbank, per-utterance normalisation, frame stacking.

    Batched and in float64 (as transformers' numpy extractor), so the features match
    ``SeamlessM4TFeatureExtractor`` to float32 rounding; the fbank equals torchaudio's
    ``compliance.kaldi.fbank`` with the same options (tested).

    Args:
        fs: Sampling rate (16 kHz for w2v-BERT 2.0; ``"16k"`` accepted).
        n_mels: Mel bins (80).
        stack: Consecutive frames concatenated (2: 160 dims every 20 ms).
        frame_length_ms, frame_shift_ms: Kaldi window and hop (25, 10; ``snip_edges``).
        preemphasis: Kaldi pre-emphasis coefficient (0.97).
        low_freq: Lowest mel frequency in Hz (20; the highest is Nyquist).
        normalize: Zero mean, unit variance per utterance and mel bin (as
            ``SeamlessM4TFeatureExtractor(do_normalize_per_mel_bins=True)``: the
            variance with Bessel's correction).
        eps: Added to the variance.

    The input waveform is in [-1, 1] (as ESPnet reads it); it is scaled to 16-bit range.
    """

    def __init__(self, fs: Union[int, str] = 16000, n_mels: int = 80, stack: int = 2,
                 frame_length_ms: float = 25.0, frame_shift_ms: float = 10.0,
                 preemphasis: float = 0.97, low_freq: float = 20.0, normalize: bool = True,
                 eps: float = 1e-7) -> None:
        super().__init__()
        if stack < 1:
            raise ValueError(f"stack must be >= 1, got {stack}")
        self.fs = parse_fs(fs)
        self.n_mels, self.stack = int(n_mels), int(stack)
        self.preemphasis = float(preemphasis)
        self.normalize, self.eps = bool(normalize), float(eps)
        self.win = int(round(self.fs * frame_length_ms / 1000.0))
        self.hop = int(round(self.fs * frame_shift_ms / 1000.0))
        self.n_fft = 1 << (self.win - 1).bit_length()  # Kaldi: round up to a power of two
        n = torch.arange(self.win, dtype=torch.float64)
        window = (0.5 - 0.5 * torch.cos(2 * math.pi * n / (self.win - 1))) ** 0.85  # Povey
        self.register_buffer("window", window, persistent=False)
        self.register_buffer("banks", kaldi_mel_banks(self.n_mels, self.n_fft, self.fs, low_freq),
                             persistent=False)

    def output_size(self) -> int:
        return self.n_mels * self.stack

    def num_fbank_frames(self, num_samples: torch.Tensor) -> torch.Tensor:
        """Fbank frames (before stacking) of waveforms of ``num_samples`` samples."""
        n = torch.div(num_samples - self.win, self.hop, rounding_mode="floor") + 1
        return torch.where(num_samples >= self.win, n, torch.zeros_like(n))

    def num_frames(self, num_samples: torch.Tensor) -> torch.Tensor:
        """Output frames (after stacking) of waveforms of ``num_samples`` samples."""
        return torch.div(self.num_fbank_frames(num_samples), self.stack, rounding_mode="floor")

    def fbank(self, wav: torch.Tensor, lens: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Log-mel fbank (B, T, n_mels) in float64 of waveforms (B, N) in [-1, 1], and frame counts."""
        nfr = self.num_fbank_frames(lens.to(torch.long))
        T = max(0, (wav.size(1) - self.win) // self.hop + 1)
        x = wav.to(torch.float64) * 32768.0
        if T == 0:
            return x.new_zeros(wav.size(0), 0, self.n_mels), nfr
        frames = x[:, : (T - 1) * self.hop + self.win].unfold(1, self.win, self.hop)  # (B, T, win)
        frames = frames - frames.mean(-1, keepdim=True)  # DC offset
        prev = torch.cat([frames[..., :1], frames[..., :-1]], -1)
        # (the buffers are float64, but ESPnet's trainer casts the model to float32)
        frames = (frames - self.preemphasis * prev) * self.window.to(torch.float64)
        power = torch.fft.rfft(frames, n=self.n_fft).abs() ** 2  # (B, T, n_fft/2 + 1)
        mel = torch.matmul(power, self.banks.to(device=power.device, dtype=power.dtype))
        return torch.log(mel.clamp(min=torch.finfo(torch.float32).eps)), nfr

    def longform_features(self) -> W2VBertLongFormFeatures:
        """Span-by-span features of long recordings (usm_espnet.longform.encode)."""
        return W2VBertLongFormFeatures(self)

    def forward(self, input: torch.Tensor, input_lengths: torch.Tensor
                ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Waveforms (B, N) in [-1, 1] -> features (B, T, n_mels * stack) float32, lengths (B,).

        Multi-channel input (B, N, C) -- ESPnet's layout, which its additive-noise
        augmentation produces with C = 1 -- uses one channel, as ESPnet's default frontend
        does: a random one in training, the first otherwise.
        """
        if input.dim() == 3:
            C = input.size(2)
            ch = int(torch.randint(C, ())) if self.training and C > 1 else 0
            input = input[:, :, ch]
        with torch.no_grad():
            feats, nfr = self.fbank(input, input_lengths)
            valid = torch.arange(feats.size(1), device=feats.device)[None, :] < nfr[:, None]
            if self.normalize:
                m = valid[..., None].to(feats.dtype)
                n = m.sum(1, keepdim=True)
                mean = (feats * m).sum(1, keepdim=True) / n.clamp(min=1)
                var = (((feats - mean) * m) ** 2).sum(1, keepdim=True) / (n - 1).clamp(min=1)
                feats = (feats - mean) / torch.sqrt(var + self.eps)
            feats = feats.masked_fill(~valid[..., None], 0.0)
            olens = torch.div(nfr, self.stack, rounding_mode="floor")
            T = int(olens.max()) if olens.numel() else 0
            B = feats.size(0)
            out = feats[:, : T * self.stack].reshape(B, T, self.output_size())
        return out.to(torch.float32), olens


class W2VBertLongFormFeatures:
    """The frontend's features of a long recording, span by span (usm_espnet.longform.encode).

    Fbank frames depend only on their own 25 ms of samples; the normalisation uses the
    mean and variance over the whole recording, which :meth:`prepare` computes in a first
    pass over the audio (span by span, float64, merged with Chan et al.'s update), so
    every span's features equal the frames a one-pass frontend computes for the whole
    recording.
    """

    SPAN = 1500  # fbank frames per span of the statistics pass (15 s)

    def __init__(self, frontend: "W2VBertFbankFrontend") -> None:
        self.fe = frontend
        self.hop = frontend.hop * frontend.stack  # samples per (stacked) feature frame
        self.fs = frontend.fs
        self.mean: Optional[torch.Tensor] = None
        self.std: Optional[torch.Tensor] = None

    def num_frames(self, num_samples: int) -> int:
        return int(self.fe.num_frames(torch.tensor(num_samples)))

    def sample_span(self, f0: int, f1: int, num_samples: int) -> Tuple[int, int]:
        """Samples ``[x0, x1)`` whose fbank frames are exactly feature frames ``[f0, f1)``."""
        fe = self.fe
        return f0 * self.hop, min(num_samples, (fe.stack * f1 - 1) * fe.hop + fe.win)

    def _fbank(self, samples, device) -> torch.Tensor:
        wav = torch.as_tensor(samples, dtype=torch.float32, device=device)[None]
        feats, _ = self.fe.fbank(wav, torch.tensor([wav.size(1)], device=device))
        return feats[0]  # (T, n_mels) float64

    @torch.no_grad()
    def prepare(self, reader, device) -> None:
        """Mean and standard deviation of the recording's fbank frames (a pass over the audio)."""
        fe = self.fe
        if not fe.normalize:
            self.mean = self.std = None
            return
        total = int(fe.num_fbank_frames(torch.tensor(reader.num_samples)))
        n, mean, m2 = 0, None, None
        for a in range(0, total, self.SPAN):
            b = min(total, a + self.SPAN)
            x = self._fbank(reader.read(a * fe.hop, (b - 1) * fe.hop + fe.win), device)[: b - a]
            nb, mb = x.size(0), x.mean(0)
            m2b = ((x - mb) ** 2).sum(0)
            if mean is None:
                n, mean, m2 = nb, mb, m2b
            else:
                d = mb - mean
                m2 = m2 + m2b + d * d * (n * nb / (n + nb))
                mean = mean + d * (nb / (n + nb))
                n += nb
        if mean is None:
            self.mean = self.std = None
            return
        self.mean = mean
        self.std = torch.sqrt(m2 / max(n - 1, 1) + fe.eps)

    @torch.no_grad()
    def features(self, samples, x0: int, f0: int, f1: int, device) -> torch.Tensor:
        """Feature frames ``[f0, f1)`` (1, f1 - f0, n_mels * stack) from ``samples`` read at ``x0``."""
        fe = self.fe
        if fe.normalize and self.mean is None:
            raise RuntimeError("prepare(reader) first: the features are normalised per recording")
        assert x0 == f0 * self.hop
        x = self._fbank(samples, device)[: fe.stack * (f1 - f0)]
        if fe.normalize:
            x = (x - self.mean) / self.std
        return x.reshape(1, f1 - f0, fe.output_size()).to(torch.float32)


class RelKeySelfAttention(nn.Module):
    """Multi-head self-attention with relative-key positions and global/local/chunk masking.

    The score of query ``i`` and key ``j`` is ``q_i . (k_j + e[clamp(j - i, -L, R)]) /
    sqrt(d_k)``, ``e`` one learned (L + R + 1, d_k) table shared by the heads.

    Args:
        dim: Model dimension.
        heads: Heads.
        left_max_position, right_max_position: L and R.
        dropout: Attention-probability dropout.
    """

    def __init__(self, dim: int, heads: int, left_max_position: int = 64,
                 right_max_position: int = 8, dropout: float = 0.0) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"model dim {dim} is not divisible by {heads} heads")
        if left_max_position < 0 or right_max_position < 0:
            raise ValueError("left/right_max_position must be >= 0")
        self.dim, self.heads, self.dk = dim, heads, dim // heads
        self.left_max, self.right_max = int(left_max_position), int(right_max_position)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.distance = nn.Embedding(self.left_max + self.right_max + 1, self.dk)
        self.dropout = dropout

    def _attend(self, q, k, v, base: int, valid):
        """Queries q (..., H, Tq, dk) over keys k, v (..., H, Tk, dk) at offsets ``j - i + base``."""
        tq, tk = q.size(-2), k.size(-2)
        dev = q.device
        offs = torch.arange(tk, device=dev)[None, :] - torch.arange(tq, device=dev)[:, None] + base
        idx = offs.clamp(-self.left_max, self.right_max) + self.left_max  # (Tq, Tk)
        scale = 1.0 / math.sqrt(self.dk)
        qe = torch.matmul(q, self.distance.weight.to(q.dtype).t())  # (..., H, Tq, L+R+1)
        bias = torch.gather(qe, -1, idx.expand(*qe.shape[:-2], tq, tk)) * scale
        bias = bias.masked_fill(~valid, torch.finfo(bias.dtype).min)
        return F.scaled_dot_product_attention(
            q, k, v, attn_mask=bias, dropout_p=self.dropout if self.training else 0.0)

    def forward(self, x: torch.Tensor, valid: torch.Tensor, attention_type: str = "global",
                chunk: int = 0, left: int = 0, right: int = 0,
                reference: bool = False) -> torch.Tensor:
        """Self-attention over ``x`` (B, T, dim); ``valid`` (B, T) False at padding.

        ``chunk``: chunk frames (chunk attention); ``left``/``right``: context frames (local
        attention); ``reference``: local/chunk attention as full attention with a (T, T)
        mask (O(T^2), for tests).
        """
        B, T, _ = x.shape
        H, dk = self.heads, self.dk
        qkv = self.qkv(x)
        dev = x.device

        def split(t):  # (N, L, 3 dim) -> q, k, v (N, H, L, dk)
            return t.view(t.size(0), t.size(1), 3, H, dk).permute(2, 0, 3, 1, 4).unbind(0)

        if attention_type == "global" or reference:
            q, k, v = split(qkv)
            allowed = valid[:, None, :]
            if attention_type != "global":
                pos = torch.arange(T, device=dev)
                offsets = pos[None, :] - pos[:, None]
                if attention_type == "chunk":
                    allowed = allowed & ((pos[:, None] // chunk) == (pos[None, :] // chunk))
                elif attention_type == "local":
                    allowed = allowed & (offsets >= -left) & (offsets <= right)
                else:
                    raise ValueError(f"attention_type must be one of {ATTENTION_TYPES}, "
                                     f"got {attention_type!r}")
            out = self._attend(q, k, v, 0, allowed[:, None]).transpose(1, 2).reshape(B, T, self.dim)
        elif attention_type == "chunk":
            # whole chunks folded into the batch; a shorter last chunk attends on its own
            n, r = T // chunk, T % chunk
            outs = []
            if n:
                full = qkv[:, : n * chunk].reshape(B, n, chunk, 3, H, dk).permute(3, 0, 1, 4, 2, 5)
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
            # query blocks of W frames over their own and both neighbouring key blocks
            q, k, v = split(qkv)
            W = max(left, right, 1)
            n = -(-T // W)
            pad = n * W - T

            def blocks(t):  # (B, H, T, dk) -> (B n, H, 3W, dk)
                t = F.pad(t, (0, 0, W, pad + W)).unfold(2, 3 * W, W)  # (B, H, n, dk, 3W)
                return t.permute(0, 2, 1, 4, 3).reshape(B * n, H, 3 * W, dk)

            qb = F.pad(q, (0, 0, 0, pad)).view(B, H, n, W, dk).transpose(1, 2).reshape(B * n, H, W, dk)
            kv = F.pad(valid, (W, pad + W)).unfold(1, 3 * W, W).reshape(B * n, 1, 3 * W)
            offsets = torch.arange(3 * W, device=dev)[None, :] - W - torch.arange(W, device=dev)[:, None]
            band = (offsets >= -left) & (offsets <= right)
            out = self._attend(qb, blocks(k), blocks(v), -W, (kv & band[None])[:, None])
            out = out.view(B, n, H, W, dk).transpose(1, 2).reshape(B, H, n * W, dk)[:, :, :T]
            out = out.transpose(1, 2).reshape(B, T, self.dim)
        else:
            raise ValueError(f"attention_type must be one of {ATTENTION_TYPES}, got {attention_type!r}")
        return self.out(out)


class CausalConvModule(nn.Module):
    """w2v-BERT's convolution: LayerNorm, pointwise + GLU, causal depthwise, LayerNorm, act, pointwise.

    Args:
        dim: Model dimension.
        kernel: Depthwise kernel (odd; 31 in w2v-BERT 2.0).
        causal: All ``kernel - 1`` padding on the left (w2v-BERT) or centred.
        eps: LayerNorm epsilon.
        activation: ``swish`` (w2v-BERT), ``gelu`` or ``relu``.
    """

    def __init__(self, dim: int, kernel: int = 31, causal: bool = True, eps: float = 1e-5,
                 activation: str = "swish") -> None:
        super().__init__()
        if kernel % 2 != 1:
            raise ValueError(f"cnn_module_kernel must be odd, got {kernel}")
        self.kernel, self.causal = kernel, bool(causal)
        self.norm_in = nn.LayerNorm(dim, eps=eps)
        self.pw1 = nn.Linear(dim, 2 * dim, bias=False)
        self.dw = nn.Conv1d(dim, dim, kernel, groups=dim, bias=False)
        self.norm = nn.LayerNorm(dim, eps=eps)
        self.act = _activation(activation)
        self.pw2 = nn.Linear(dim, dim, bias=False)

    def forward(self, x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        y = self.norm_in(x).masked_fill(~valid[..., None], 0.0)
        y = F.glu(self.pw1(y), dim=-1).transpose(1, 2)  # (B, C, T)
        pad = (self.kernel - 1, 0) if self.causal else ((self.kernel - 1) // 2,) * 2
        y = self.dw(F.pad(y, pad)).transpose(1, 2)
        return self.pw2(self.act(self.norm(y)))


class W2VBertBlock(nn.Module):
    """Macaron Conformer block: 1/2 FFN, MHSA, conv, 1/2 FFN, final LayerNorm (pre-norm)."""

    def __init__(self, dim: int, heads: int, ffn: int, kernel: int, left_max_position: int,
                 right_max_position: int, eps: float, activation: str, causal_conv: bool,
                 dropout: float, attention_dropout: float) -> None:
        super().__init__()

        def ffn_module():
            return nn.Sequential(nn.LayerNorm(dim, eps=eps), nn.Linear(dim, ffn), _activation(activation),
                                 nn.Dropout(dropout), nn.Linear(ffn, dim))

        self.ff1, self.ff2 = ffn_module(), ffn_module()
        self.norm_att = nn.LayerNorm(dim, eps=eps)
        self.att = RelKeySelfAttention(dim, heads, left_max_position, right_max_position,
                                       attention_dropout)
        self.conv = CausalConvModule(dim, kernel, causal_conv, eps, activation)
        self.norm_out = nn.LayerNorm(dim, eps=eps)
        self.drop = nn.Dropout(dropout)

    def forward(self, x, valid, **att):
        x = x + 0.5 * self.drop(self.ff1(x))
        x = x + self.drop(self.att(self.norm_att(x), valid, **att))
        x = x + self.drop(self.conv(x, valid))
        x = x + 0.5 * self.drop(self.ff2(x))
        return self.norm_out(x)

    # The block split around its depthwise convolution, for streaming long-form encoding
    # (the interface of usm_espnet.nets.chunk_conformer.ConformerBlock; eval mode).
    def conv_context(self) -> Tuple[int, int]:
        """Frames (left, right) of its input the depthwise convolution reads around a frame."""
        k = self.conv.kernel
        return (k - 1, 0) if self.conv.causal else ((k - 1) // 2, (k - 1) // 2)

    def stream_pre_conv(self, x: torch.Tensor, valid: Optional[torch.Tensor] = None,
                        **att) -> Tuple[torch.Tensor, torch.Tensor]:
        """Up to the depthwise convolution: residual stream (B, T, d), conv input (B, d, T);
        ``valid`` (B, T) as in ChunkConformer's ``ConformerBlock.stream_pre_conv``."""
        if valid is None:
            valid = torch.ones(x.shape[:2], dtype=torch.bool, device=x.device)
        x = x + 0.5 * self.ff1(x)
        x = x + self.att(self.norm_att(x), valid, **att)
        u = F.glu(self.conv.pw1(self.conv.norm_in(x).masked_fill(~valid[..., None], 0.0)), dim=-1)
        return x, u.transpose(1, 2)

    def stream_post_conv(self, x: torch.Tensor, u_ctx: torch.Tensor) -> torch.Tensor:
        """The rest of the block, given the conv input with its ``conv_context`` frames around it."""
        c = self.conv
        y = F.conv1d(u_ctx, c.dw.weight, None, groups=c.dw.groups).transpose(1, 2)
        x = x + c.pw2(c.act(c.norm(y)))
        x = x + 0.5 * self.ff2(x)
        return self.norm_out(x)


class W2VBertConformerEncoder(AbsEncoder):
    """w2v-BERT 2.0's Conformer (ESPnet encoder); defaults are ``facebook/w2v-bert-2.0``'s shape.

    Args:
        input_size: Feature dimension (160: two stacked 80-dim fbank frames).
        output_size: Model dimension d (1024).
        attention_heads: Heads (16).
        linear_units: Feed-forward hidden size (4096).
        num_blocks: Conformer blocks (24).
        cnn_module_kernel: Depthwise kernel (31).
        causal_conv: Causal depthwise convolution (w2v-BERT: True).
        left_max_position, right_max_position: Clamp of the relative-key offsets (64, 8).
        layer_norm_eps: LayerNorm epsilon (1e-5).
        activation: Feed-forward and convolution activation (``swish``).
        attention_type: ``global`` (as pre-trained), ``chunk`` or ``local``.
        chunk_seconds: Chunk length for ``chunk`` attention.
        left_context, right_context: Encoder frames for ``local`` attention.
        input_frame_shift_ms: Feature frame shift (20 ms after stacking), to turn
            seconds into frames.
        dropout_rate: Dropout of the feature projection, feed-forward, attention and
            convolution outputs.
        attention_dropout_rate: Attention-probability dropout.
        activation_checkpointing: Recompute each block in backward (training).
    """

    subsampling = 1  # relative to the (already stacked) input features

    def __init__(
        self,
        input_size: int = 160,
        output_size: int = 1024,
        attention_heads: int = 16,
        linear_units: int = 4096,
        num_blocks: int = 24,
        cnn_module_kernel: int = 31,
        causal_conv: bool = True,
        left_max_position: int = 64,
        right_max_position: int = 8,
        layer_norm_eps: float = 1e-5,
        activation: str = "swish",
        attention_type: str = "global",
        chunk_seconds: float = 8.0,
        left_context: int = 64,
        right_context: int = 8,
        input_frame_shift_ms: float = 20.0,
        dropout_rate: float = 0.0,
        attention_dropout_rate: float = 0.0,
        activation_checkpointing: bool = False,
    ) -> None:
        super().__init__()
        check_attention_options(attention_type, chunk_seconds, left_context, right_context)
        _activation(activation)
        self._dim = output_size
        self.attention_type = attention_type
        self.chunk_frames = max(1, int(round(chunk_seconds * 1000.0 / (input_frame_shift_ms
                                                                       * self.subsampling))))
        self.left_context, self.right_context = left_context, right_context
        self.cnn_module_kernel = cnn_module_kernel
        self.activation_checkpointing = bool(activation_checkpointing)
        self.proj_norm = nn.LayerNorm(input_size, eps=layer_norm_eps)
        self.proj = nn.Linear(input_size, output_size)
        self.drop = nn.Dropout(dropout_rate)
        self.blocks = nn.ModuleList(
            W2VBertBlock(output_size, attention_heads, linear_units, cnn_module_kernel,
                         left_max_position, right_max_position, layer_norm_eps, activation,
                         causal_conv, dropout_rate, attention_dropout_rate)
            for _ in range(num_blocks))

    def output_size(self) -> int:
        return self._dim

    def attention_kwargs(self) -> dict:
        return dict(attention_type=self.attention_type, chunk=self.chunk_frames,
                    left=self.left_context, right=self.right_context)

    # Long-form interface (usm_espnet.longform.encode), as on ChunkConformerEncoder
    def num_output_frames(self, num_feature_frames: int) -> int:
        """Encoder frames of ``num_feature_frames`` input frames (no subsampling)."""
        return max(0, num_feature_frames)

    def feature_range(self, start: int, end: int) -> Tuple[int, int]:
        """Feature frames ``[f0, f1)`` that encoder frames ``[start, end)`` are embedded from."""
        return start, end

    def stream_embed(self, feats: torch.Tensor) -> torch.Tensor:
        """The feature projection (+ dropout) of features (B, T, F) -> (B, T, d)."""
        return self.drop(self.proj(self.proj_norm(feats)))

    def conv_context(self) -> Tuple[int, int]:
        return self.blocks[0].conv_context() if len(self.blocks) else (0, 0)

    def forward(
        self,
        xs_pad: torch.Tensor,
        ilens: torch.Tensor,
        prev_states: Optional[torch.Tensor] = None,
        reference_attention: bool = False,
    ) -> Tuple[torch.Tensor, torch.Tensor, Optional[torch.Tensor]]:
        """Encode padded features (B, T, input_size) -> (B, T, d), lengths (B,), None.

        ``reference_attention``: masked O(T^2) attention instead of the folded one (tests).
        """
        olens = ilens.to(torch.long)
        valid = torch.arange(xs_pad.size(1), device=xs_pad.device)[None, :] < olens[:, None]
        x = self.drop(self.proj(self.proj_norm(xs_pad)))
        x = x.masked_fill(~valid[..., None], 0.0)
        att = dict(self.attention_kwargs(), reference=reference_attention)
        ckpt = self.activation_checkpointing and self.training and torch.is_grad_enabled()
        for block in self.blocks:
            if ckpt:
                x = checkpoint(block, x, valid, use_reentrant=False, **att)
            else:
                x = block(x, valid, **att)
        x = x.masked_fill(~valid[..., None], 0.0)
        return x, olens, None
