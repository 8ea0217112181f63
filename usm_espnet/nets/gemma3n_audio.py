"""Gemma 3n's USM-based audio encoder and its mel front end as ESPnet classes.

Google's Gemma 3n (Gemma licence; ``google/gemma-3n-E2B`` / ``-E4B``) carries an audio
encoder described as based on USM: a Conformer with chunked local attention, in
transformers as ``Gemma3nAudioEncoder`` (config ``Gemma3nAudioConfig``, model type
``gemma3n_audio``; in a full Gemma 3n checkpoint it is ``model.audio_tower``).
``python -m usm_espnet.bin.import_encoder`` converts it into the two classes here; the
conversion is exact (``tests/nets/test_gemma3n_audio.py``).

A sibling of :mod:`usm_espnet.nets.w2v_bert`: the masking and blocking of global, local
and chunk attention is that module's :class:`~usm_espnet.nets.w2v_bert.RelKeySelfAttention`
(only the score of a query-key pair differs), ``fs`` is parsed the same way. What is
Gemma 3n's own:

* Front end (:class:`Gemma3nMelFrontend`, as ``Gemma3nAudioFeatureExtractor``, batched in
  torch, float64): frames of 32 ms + 1 sample every 10 ms, HTK-style pre-emphasis (0.97;
  the frame's extra sample is read but not used), periodic Hann window, |rFFT| of twice
  the next power of two (1024), HTK mel filters 125-7600 Hz (128 bins), ``log(max(mel,
  1e-5))``, optional per-bin mean / stddev. No per-utterance normalisation. As the
  extractor, the batch is zero-padded to a multiple of 128 samples and frame ``t`` is
  valid when its first sample is (``t * hop < n``): a shorter utterance's last valid
  frames read into the zero padding, and the frame count of a batch depends on its
  longest member. transformers' 30 s truncation (``max_length=480000``) is not copied.
* Sub-sampling (:class:`Gemma3nSubsampling`): two Conv2d over (time, mel) with stride
  (2, 2), no bias, padding "reverse causal" in time (``k - 1`` frames *after*) and 1 bin
  each side in frequency, each followed by a *cumulative* group norm (mean and variance
  over (freq, channels) accumulated over time; scale, no bias) and ReLU; then a Linear
  (no bias) to d. 4x in time.
* Conformer block (:class:`Gemma3nBlock`), pre- *and* post-RMSNorm around each module
  (``x * (mean(x^2) + eps)^-1/2 * w``), values clipped to +-``clip_value`` (1e10) around
  them, as the source: feed-forward (d -> 4d, SiLU, -> d, no biases) added with weight
  0.5, attention, padding zeroed, light convolution (GLU, *causal* depthwise kernel 5,
  RMSNorm, SiLU), feed-forward, RMSNorm.
* Attention (:class:`Gemma3nRelPosSelfAttention`): local, each frame over itself and the
  ``conf_attention_context_left - 1`` (12) frames before it (``right_context`` 0); the
  source computes it in chunks of 12 query frames, which does not change the result.
  Queries are scaled per dimension (``softplus(per_dim_scale) / softplus(0) /
  sqrt(d_k)``); the position term is ``q_i . P s(i - j)`` with ``s`` the sinusoidal
  signal (``[sin, cos]`` halves) of the distance and ``P`` a learned projection (per
  head); the logits are soft-capped, ``50 tanh(l / 50)``. No biases.
* Output: every 4th frame of the last block (``conf_reduction_factor``), so 16x in all
  (160 ms frames); padding set to 0.

The encoder can be switched to ``chunk`` (or ``global``) attention as
``encoder_conf.attention_type``; the position term is then clamped to the pre-trained
distances (as w2v-BERT's relative keys are).

Long-form decoding (:mod:`usm_espnet.longform.encode`, ``stream`` mode): the cumulative
group norm makes every sub-sampled frame depend on the whole recording before it, so the
encoder has the *stateful* long-form interface: :meth:`Gemma3nConformerEncoder.stream_embedder`
sub-samples a recording fed piece by piece, carrying each norm's running count and sums
(:class:`Gemma3nSubsamplingStream`); the blocks (local or chunk attention, causal
convolution: a finite receptive field) and the output reduction are streamed by the
long-form code. The frontend's frames depend on their own samples only
(:class:`Gemma3nLongFormFeatures`).
"""

from __future__ import annotations

import math
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from espnet2.asr.encoder.abs_encoder import AbsEncoder
from espnet2.asr.frontend.abs_frontend import AbsFrontend
from torch import nn
from torch.utils.checkpoint import checkpoint

from usm_espnet.nets.chunk_conformer import check_attention_options
from usm_espnet.nets.w2v_bert import RelKeySelfAttention, parse_fs

# ------------------------------------------------------------------ front end


def htk_mel_banks(n_mels: int, n_fft: int, fs: int, f_min: float, f_max: float) -> torch.Tensor:
    """HTK-scale triangular mel filters (``2595 log10(1 + f / 700)``), float64, (n_fft // 2 + 1, n_mels).

    Triangles in Hz between mel-spaced corner frequencies, unnormalised (peak 1), as
    torchaudio's ``melscale_fbanks(norm=None, mel_scale="htk")``.
    """
    freqs = torch.arange(n_fft // 2 + 1, dtype=torch.float64) * (fs / n_fft)

    def mel(f: float) -> float:
        return 2595.0 * math.log10(1.0 + f / 700.0)

    m = torch.linspace(mel(f_min), mel(f_max), n_mels + 2, dtype=torch.float64)
    corners = 700.0 * (10.0 ** (m / 2595.0) - 1.0)  # (n_mels + 2,)
    widths = corners[1:] - corners[:-1]
    rel = corners[None, :] - freqs[:, None]  # (n_freqs, n_mels + 2)
    rising = -rel[:, :-2] / widths[:-1]
    falling = rel[:, 2:] / widths[1:]
    return torch.clamp(torch.minimum(rising, falling), min=0.0)


class Gemma3nMelFrontend(AbsFrontend):
    """Gemma 3n's log-mel features of a waveform batch (``Gemma3nAudioFeatureExtractor``).

    Args:
        fs: Sampling rate (16 kHz; ``"16k"`` accepted).
        n_mels: Mel bins (128).
        frame_length_ms, hop_length_ms: Window and hop (32, 10).
        min_frequency, max_frequency: Mel filter range in Hz (125, 7600).
        preemphasis: Pre-emphasis coefficient (0.97; 0 disables it).
        preemphasis_htk_flavor: HTK style (the first sample scaled by ``1 - p``, the
            others ``x[i] - p x[i - 1]`` within the frame) or the frame's extra sample
            used as the previous one.
        fft_overdrive: FFT length twice the next power of two of the window (1024).
        input_scale_factor: The waveform is multiplied by it first.
        mel_floor: ``log(max(mel, mel_floor))``.
        per_bin_mean, per_bin_stddev: Optional fixed normalisation per mel bin.
        pad_to_multiple_of: The batch is zero-padded to a multiple of this many samples
            before framing (128, as the extractor; 0: not rounded up). Frames are valid
            while their first sample is.

    The input waveform is in [-1, 1] (as ESPnet reads it). The features of padding
    frames are those of zeros (``log(mel_floor)``), as in the source.
    """

    def __init__(self, fs: Union[int, str] = 16000, n_mels: int = 128, frame_length_ms: float = 32.0,
                 hop_length_ms: float = 10.0, min_frequency: float = 125.0,
                 max_frequency: float = 7600.0, preemphasis: float = 0.97,
                 preemphasis_htk_flavor: bool = True, fft_overdrive: bool = True,
                 input_scale_factor: float = 1.0, mel_floor: float = 1e-5,
                 per_bin_mean: Optional[Sequence[float]] = None,
                 per_bin_stddev: Optional[Sequence[float]] = None,
                 pad_to_multiple_of: int = 128) -> None:
        super().__init__()
        self.fs = parse_fs(fs)
        self.n_mels = int(n_mels)
        if not 0.0 <= min_frequency < max_frequency <= self.fs / 2:
            raise ValueError(f"need 0 <= min_frequency < max_frequency <= fs / 2, got "
                             f"{min_frequency}, {max_frequency} at fs {self.fs}")
        if pad_to_multiple_of < 0:
            raise ValueError(f"pad_to_multiple_of must be >= 0, got {pad_to_multiple_of}")
        self.win = int(round(self.fs * frame_length_ms / 1000.0))
        self.hop = int(round(self.fs * hop_length_ms / 1000.0))
        self.n_fft = (1 << (self.win - 1).bit_length()) * (2 if fft_overdrive else 1)
        self.preemphasis, self.htk = float(preemphasis), bool(preemphasis_htk_flavor)
        self.input_scale_factor, self.mel_floor = float(input_scale_factor), float(mel_floor)
        self.pad_to_multiple_of = int(pad_to_multiple_of)
        n = torch.arange(self.win, dtype=torch.float64)
        self.register_buffer("window", 0.5 - 0.5 * torch.cos(2 * math.pi * n / self.win),
                             persistent=False)  # periodic Hann
        self.register_buffer("banks", htk_mel_banks(self.n_mels, self.n_fft, self.fs,
                                                    min_frequency, max_frequency), persistent=False)
        for name, values in (("mean", per_bin_mean), ("stddev", per_bin_stddev)):
            t = None
            if values is not None:
                t = torch.as_tensor(values, dtype=torch.float64).reshape(-1)
                if t.numel() != self.n_mels:
                    raise ValueError(f"per_bin_{name} has {t.numel()} values, n_mels is {self.n_mels}")
            self.register_buffer(f"per_bin_{name}", t, persistent=False)

    def output_size(self) -> int:
        return self.n_mels

    def num_frames(self, input_lengths: torch.Tensor) -> Tuple[torch.Tensor, int]:
        """Valid frames of each waveform of ``input_lengths`` samples in one batch, and the batch's frames."""
        lens = input_lengths.to(torch.long)
        longest = int(lens.max()) if lens.numel() else 0
        m = self.pad_to_multiple_of
        padded = -(-longest // m) * m if m else longest
        total = max(0, (padded - self.win - 1) // self.hop + 1)
        return torch.clamp(-(-lens // self.hop), max=total), total

    def forward(self, input: torch.Tensor, input_lengths: torch.Tensor
                ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Waveforms (B, N) in [-1, 1] -> log-mel features (B, T, n_mels) float32, lengths (B,)."""
        with torch.no_grad():
            lens, T = self.num_frames(input_lengths)
            B = input.size(0)
            if T == 0:
                return input.new_zeros(B, 0, self.n_mels), lens
            need = (T - 1) * self.hop + self.win + 1
            x = input[:, :need].to(torch.float64)
            samples = torch.arange(x.size(1), device=x.device)[None, :]
            x = x.masked_fill(samples >= input_lengths.to(x.device)[:, None], 0.0)
            feats = self.log_mel(x, T)
        return feats, lens

    def log_mel(self, x: torch.Tensor, num_frames: int) -> torch.Tensor:
        """The first ``num_frames`` frames of waveforms ``x`` (B, N) float64, zero-padded at the end
        as needed -> (B, num_frames, n_mels) float32. Frame ``t`` reads samples ``[t hop, t hop + win]``."""
        need = (num_frames - 1) * self.hop + self.win + 1
        x = F.pad(x[:, :need], (0, max(0, need - x.size(1)))) * self.input_scale_factor
        frames = x.unfold(1, self.win + 1, self.hop)  # (B, T, win + 1)
        p = self.preemphasis
        if p > 0 and self.htk:
            frames = torch.cat([frames[..., :1] * (1.0 - p),
                                frames[..., 1:-1] - p * frames[..., :-2]], -1)
        elif p > 0:
            frames = frames[..., 1:] - p * frames[..., :-1]
        else:
            frames = frames[..., :-1]
        mag = torch.fft.rfft(frames * self.window, n=self.n_fft).abs()
        feats = torch.log(torch.clamp(torch.matmul(mag, self.banks), min=self.mel_floor))
        if self.per_bin_mean is not None:
            feats = feats - self.per_bin_mean
        if self.per_bin_stddev is not None:
            feats = feats / self.per_bin_stddev
        return feats.to(torch.float32)

    def longform_features(self) -> "Gemma3nLongFormFeatures":
        """Span-by-span features of long recordings (usm_espnet.longform.encode)."""
        return Gemma3nLongFormFeatures(self)


class Gemma3nLongFormFeatures:
    """The frontend's features of one long recording, span by span (usm_espnet.longform.encode).

    A frame depends only on its own ``win + 1`` samples (zeros past the end of the
    recording, as the extractor's padding), so the features computed from a span of the
    audio are the frames a one-pass frontend computes; nothing is computed per recording.
    """

    def __init__(self, frontend: Gemma3nMelFrontend) -> None:
        self.fe = frontend
        self.hop, self.fs = frontend.hop, frontend.fs

    def num_frames(self, num_samples: int) -> int:
        """Feature frames of a recording of ``num_samples`` samples (one pass: all valid)."""
        lens, _ = self.fe.num_frames(torch.tensor([num_samples]))
        return int(lens[0])

    def sample_span(self, f0: int, f1: int, num_samples: int) -> Tuple[int, int]:
        """Samples ``[x0, x1)`` from which feature frames ``[f0, f1)`` are computed exactly."""
        return f0 * self.hop, min(num_samples, max(f0, f1 - 1) * self.hop + self.fe.win + 1)

    def prepare(self, reader, device) -> None:
        """Nothing to do: each frame depends on its own samples only."""

    @torch.no_grad()
    def features(self, samples, x0: int, f0: int, f1: int, device) -> torch.Tensor:
        """Feature frames ``[f0, f1)`` (1, f1 - f0, n_mels) from ``samples`` read at ``x0``."""
        assert x0 == f0 * self.hop
        if f1 <= f0:
            return torch.zeros(1, 0, self.fe.n_mels, device=device)
        x = torch.as_tensor(samples, device=device).to(torch.float64)[None]
        return self.fe.log_mel(x, f1 - f0)


# -------------------------------------------------------------------- modules


class RMSNorm(nn.Module):
    """``x (mean(x^2) + eps)^-1/2 w`` in float32 (Gemma's RMSNorm; the scale is ``w``, not ``1 + w``)."""

    def __init__(self, dim: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = float(eps)
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x.float()
        y = y * torch.pow(y.pow(2).mean(-1, keepdim=True) + self.eps, -0.5)
        return (y * self.weight.float()).type_as(x)


class CumulativeGroupNorm(nn.Module):
    """Group norm (one group) over (freq, channels) with statistics accumulated over time.

    For input (B, T, F, C): ``n_t = (t + 1) F C``, ``mean_t = sum_{s<=t} x_s / n_t``,
    ``var_t = sum_{s<=t} |x_s - mean_s|^2 / n_t`` (each frame against the running mean of
    its own time, as the source), ``y_t = (x_t - mean_t) / sqrt(var_t + eps) * w``.
    Causal: a frame never depends on later (padding) frames.
    """

    def __init__(self, channels: int, eps: float = 1e-3) -> None:
        super().__init__()
        self.eps = float(eps)
        self.weight = nn.Parameter(torch.ones(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x.float()
        dims = tuple(range(2, y.dim()))
        count = torch.cumsum(torch.full((y.size(1),), float(math.prod(y.shape[2:])),
                                        device=y.device), 0).view(1, -1, *([1] * len(dims)))
        mean = torch.cumsum(y.sum(dims, keepdim=True), 1) / count
        var = torch.cumsum((y - mean).pow(2).sum(dims, keepdim=True), 1) / count
        return ((y - mean) * torch.rsqrt(var + self.eps) * self.weight.float()).to(x.dtype)

    def stream(self, x: torch.Tensor, state: Optional[Tuple[float, torch.Tensor, torch.Tensor]]
               ) -> Tuple[torch.Tensor, Tuple[float, torch.Tensor, torch.Tensor]]:
        """:meth:`forward` of the next frames ``x`` (B, T, F, C) of a recording, carrying its state.

        ``state``: (elements so far, sum of the values, sum of the squared deviations),
        the sums float64 (B,), from the previous call (None at the start). Feeding a
        recording piece by piece gives the frames :meth:`forward` gives for the whole of it
        (the running sums are kept in float64, as torch's CPU cumsum accumulates).
        """
        y = x.float()
        dims = tuple(range(2, y.dim()))
        shape = (-1, 1) + (1,) * len(dims)
        n_prev, s_prev, q_prev = state if state is not None else (0.0, None, None)
        per = float(math.prod(y.shape[2:]))
        count = (n_prev + per * torch.arange(1, y.size(1) + 1, device=y.device,
                                             dtype=torch.float64)).view(1, -1, *([1] * len(dims)))
        sums = torch.cumsum(y.sum(dims, keepdim=True).double(), 1)
        if s_prev is not None:
            sums = sums + s_prev.view(shape)
        mean = (sums.float() / count.float())
        sq = torch.cumsum((y - mean).pow(2).sum(dims, keepdim=True).double(), 1)
        if q_prev is not None:
            sq = sq + q_prev.view(shape)
        var = sq.float() / count.float()
        out = ((y - mean) * torch.rsqrt(var + self.eps) * self.weight.float()).to(x.dtype)
        if y.size(1) == 0:
            return out, (n_prev, s_prev, q_prev)
        return out, (n_prev + per * y.size(1), sums[:, -1].reshape(-1), sq[:, -1].reshape(-1))


class Gemma3nSubsampling(nn.Module):
    """Conv2d + cumulative group norm + ReLU per layer over (time, freq), then a Linear to d.

    Args:
        idim: Mel bins.
        odim: Model dimension.
        channels, kernels, strides: Per layer (Gemma 3n: (128, 32), 3x3, 2x2), as
            (time, freq) pairs.
        eps: Group norm epsilon.
    """

    def __init__(self, idim: int, odim: int, channels: Sequence[int], kernels: Sequence[Sequence[int]],
                 strides: Sequence[Sequence[int]], eps: float = 1e-3) -> None:
        super().__init__()
        if not len(channels) == len(kernels) == len(strides) or not channels:
            raise ValueError(f"subsampling needs one channels/kernel/stride entry per layer, got "
                             f"{list(channels)}, {list(kernels)}, {list(strides)}")
        self.convs, self.norms, self.pads = nn.ModuleList(), nn.ModuleList(), []
        f, cin = int(idim), 1
        for c, (kt, kf), (st, sf) in zip(channels, kernels, strides):
            self.convs.append(nn.Conv2d(cin, int(c), (int(kt), int(kf)), (int(st), int(sf)), bias=False))
            self.norms.append(CumulativeGroupNorm(int(c), eps))
            self.pads.append((1, 1, 0, int(kt) - 1))  # freq: 1 each side; time: kt - 1 after
            f = (f + 2 - int(kf)) // int(sf) + 1
            if f < 1:
                raise ValueError(f"subsampling leaves no frequency bins of {idim} mel bins")
            cin = int(c)
        self.time_stride = math.prod(int(s[0]) for s in strides)
        self.out = nn.Linear(cin * f, odim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, idim) -> (B, ceil(T / time_stride), odim)."""
        x = x.unsqueeze(1)  # (B, 1, T, F)
        for conv, norm, pad in zip(self.convs, self.norms, self.pads):
            x = conv(F.pad(x, pad).to(conv.weight.dtype))
            x = F.relu(norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2))
        B, C, T, Fq = x.shape
        return self.out(x.permute(0, 2, 3, 1).reshape(B, T, Fq * C))

    def stream(self) -> "Gemma3nSubsamplingStream":
        """A stateful sub-sampling of one recording fed piece by piece (long-form encoding)."""
        return Gemma3nSubsamplingStream(self)


class Gemma3nSubsamplingStream:
    """:class:`Gemma3nSubsampling` of one recording whose features arrive piece by piece.

    Each convolution's output ``i`` reads input frames ``[s i, s i + k)`` (zeros after the
    end of the recording), so a layer keeps the input frames from ``s i`` of its next
    output ``i`` until they have all arrived; its cumulative group norm carries its running
    statistics (:meth:`CumulativeGroupNorm.stream`). :meth:`push` returns the sub-sampled
    frames that are final, :meth:`finish` the rest (zero padding at the end, as one pass):
    together they equal :meth:`Gemma3nSubsampling.forward` of the whole recording.
    Memory: a few input frames per layer, whatever the recording's length.
    """

    def __init__(self, sub: Gemma3nSubsampling) -> None:
        self.sub = sub
        self.bufs: list = [None] * len(sub.convs)  # (1, C, t, F) inputs from s i on
        self.states: list = [None] * len(sub.convs)

    def _layer(self, i: int, x: Optional[torch.Tensor], end: bool) -> Optional[torch.Tensor]:
        conv, norm, pad = self.sub.convs[i], self.sub.norms[i], self.sub.pads[i]
        kt, st = conv.kernel_size[0], conv.stride[0]
        buf = self.bufs[i]
        if x is not None and x.size(2):
            buf = x if buf is None else torch.cat([buf, x], 2)
        if buf is None:
            return None
        if end and buf.size(2):  # the "reverse causal" padding after the last frame
            buf = F.pad(buf, (0, 0, 0, pad[3]))
        m = (buf.size(2) - kt) // st + 1 if buf.size(2) >= kt else 0
        if end and m:  # only outputs that start on a real frame exist
            m = min(m, (buf.size(2) - pad[3] - 1) // st + 1)
        self.bufs[i] = None if end else buf[:, :, m * st:]
        if m == 0:
            return None
        y = conv(F.pad(buf[:, :, : (m - 1) * st + kt], (pad[0], pad[1], 0, 0)).to(conv.weight.dtype))
        z, self.states[i] = norm.stream(y.permute(0, 2, 3, 1), self.states[i])
        return F.relu(z).permute(0, 3, 1, 2)

    def _run(self, x: Optional[torch.Tensor], end: bool) -> Optional[torch.Tensor]:
        for i in range(len(self.sub.convs)):
            x = self._layer(i, x, end)
        if x is None:
            return None
        B, C, T, Fq = x.shape
        return self.sub.out(x.permute(0, 2, 3, 1).reshape(B, T, Fq * C))

    def push(self, feats: torch.Tensor) -> Optional[torch.Tensor]:
        """The next feature frames (1, T, idim) -> the sub-sampled frames now final (1, T', odim) or None."""
        return self._run(feats.unsqueeze(1), end=False)

    def finish(self) -> Optional[torch.Tensor]:
        """End of the recording: the remaining sub-sampled frames (1, T', odim), or None."""
        return self._run(None, end=True)


class Gemma3nRelPosSelfAttention(RelKeySelfAttention):
    """Self-attention scored as Gemma 3n's audio attention, masked as :class:`RelKeySelfAttention`.

    The score of query ``i`` and key ``j`` (before soft-capping) is ``q'_i . (k_j + P
    s(i - j))``, ``q' = q softplus(per_dim_scale) / softplus(0) / sqrt(d_k)``, ``s(r)`` the
    ``[sin(r w), cos(r w)]`` signal (``w``: d / 2 timescales 1 .. 1e-4), ``P`` a learned
    d x d projection split by head, and ``i - j`` clamped to ``[-right_max_position,
    left_max_position]``; then ``cap tanh(score / cap)``. Global, local (Gemma 3n:
    ``left`` 12, ``right`` 0) and chunk masking come from the parent class.

    Args:
        dim: Model dimension.
        heads: Heads.
        left_max_position, right_max_position: Distances with a position term (12, 0).
        logit_cap: Soft cap of the logits (50; 0: none).
        dropout: Attention-probability dropout.
    """

    def __init__(self, dim: int, heads: int, left_max_position: int = 12,
                 right_max_position: int = 0, logit_cap: float = 50.0, dropout: float = 0.0) -> None:
        nn.Module.__init__(self)
        if dim % heads or dim % 2:
            raise ValueError(f"model dim {dim} must be even and divisible by {heads} heads")
        if left_max_position < 0 or right_max_position < 0:
            raise ValueError("left/right_max_position must be >= 0")
        self.dim, self.heads, self.dk = dim, heads, dim // heads
        self.left_max, self.right_max = int(left_max_position), int(right_max_position)
        self.logit_cap = float(logit_cap)
        self.dropout = dropout
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.out = nn.Linear(dim, dim, bias=False)
        self.pos_proj = nn.Linear(dim, dim, bias=False)
        self.per_dim_scale = nn.Parameter(torch.zeros(self.dk))
        half = dim // 2
        inv = torch.exp(torch.arange(half, dtype=torch.float32)
                        * -(math.log(1.0e4) / max(half - 1, 1)))
        self.register_buffer("inv_timescales", inv, persistent=False)
        # the same float32 rounding as the source: (d_k^-1/2) * (1 / softplus(0))
        self.register_buffer("q_scale", self.dk ** -0.5 * (1.0 / F.softplus(torch.tensor(0.0))),
                             persistent=False)

    def position_table(self, dtype: torch.dtype) -> torch.Tensor:
        """``P s(-o)`` per head for offsets ``o = j - i`` in ``[-left_max, right_max]``: (H, L+R+1, d_k)."""
        offsets = torch.arange(-self.left_max, self.right_max + 1, device=self.inv_timescales.device)
        ang = (-offsets).float()[:, None] * self.inv_timescales[None, :]
        signal = torch.cat([torch.sin(ang), torch.cos(ang)], -1).to(dtype)
        return self.pos_proj(signal).view(-1, self.heads, self.dk).transpose(0, 1)

    def _attend(self, q, k, v, base: int, valid):
        """Queries q (..., H, Tq, dk) over keys k, v (..., H, Tk, dk) at offsets ``j - i + base``."""
        tq, tk = q.size(-2), k.size(-2)
        dev = q.device
        q = q * self.q_scale * F.softplus(self.per_dim_scale)
        offs = torch.arange(tk, device=dev)[None, :] - torch.arange(tq, device=dev)[:, None] + base
        idx = offs.clamp(-self.left_max, self.right_max) + self.left_max  # (Tq, Tk)
        qe = torch.matmul(q, self.position_table(q.dtype).transpose(-1, -2))  # (..., H, Tq, L+R+1)
        logits = torch.matmul(q, k.transpose(-1, -2))
        logits = logits + torch.gather(qe, -1, idx.expand(*qe.shape[:-2], tq, tk))
        if self.logit_cap > 0:
            logits = torch.tanh(logits / self.logit_cap) * self.logit_cap
        logits = logits.masked_fill(~valid, torch.finfo(logits.dtype).min)
        probs = torch.softmax(logits, -1, dtype=torch.float32).to(v.dtype)
        if self.training and self.dropout > 0:
            probs = F.dropout(probs, self.dropout)
        return torch.matmul(probs, v)


class Gemma3nFeedForward(nn.Module):
    """Clip, RMSNorm, Linear (4 d), SiLU, Linear, clip, RMSNorm; added with ``residual_weight``."""

    def __init__(self, dim: int, hidden: int, eps: float, clip: float, residual_weight: float,
                 dropout: float) -> None:
        super().__init__()
        self.pre_norm = RMSNorm(dim, eps)
        self.w1 = nn.Linear(dim, hidden, bias=False)
        self.w2 = nn.Linear(hidden, dim, bias=False)
        self.post_norm = RMSNorm(dim, eps)
        self.clip, self.weight = clip, residual_weight
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.w2(F.silu(self.w1(self.pre_norm(x.clamp(-self.clip, self.clip)))))
        return x + self.weight * self.drop(self.post_norm(y.clamp(-self.clip, self.clip)))


class Gemma3nLightConv(nn.Module):
    """RMSNorm, Linear to 2 d + GLU, causal depthwise conv, clip, RMSNorm, SiLU, Linear (no biases)."""

    def __init__(self, dim: int, kernel: int, eps: float, clip: float) -> None:
        super().__init__()
        if kernel < 1:
            raise ValueError(f"cnn_module_kernel must be >= 1, got {kernel}")
        self.kernel, self.clip = kernel, clip
        self.pre_norm = RMSNorm(dim, eps)
        self.pw1 = nn.Linear(dim, 2 * dim, bias=False)
        self.dw = nn.Conv1d(dim, dim, kernel, groups=dim, bias=False)
        self.norm = RMSNorm(dim, eps)
        self.pw2 = nn.Linear(dim, dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.glu(self.pw1(self.pre_norm(x)), dim=-1).transpose(1, 2)  # (B, C, T)
        y = self.dw(F.pad(y, (self.kernel - 1, 0))).transpose(1, 2)
        return self.pw2(F.silu(self.norm(y.clamp(-self.clip, self.clip))))


class Gemma3nBlock(nn.Module):
    """Gemma 3n's Conformer block: 1/2 FFN, attention, light conv, 1/2 FFN, RMSNorm."""

    def __init__(self, dim: int, heads: int, ffn: int, kernel: int, left_max_position: int,
                 right_max_position: int, logit_cap: float, eps: float, conv_eps: float,
                 clip: float, residual_weight: float, dropout: float,
                 attention_dropout: float) -> None:
        super().__init__()
        self.clip = clip
        self.ff1 = Gemma3nFeedForward(dim, ffn, eps, clip, residual_weight, dropout)
        self.norm_att = RMSNorm(dim, eps)
        self.att = Gemma3nRelPosSelfAttention(dim, heads, left_max_position, right_max_position,
                                              logit_cap, attention_dropout)
        self.norm_att_post = RMSNorm(dim, eps)
        self.conv = Gemma3nLightConv(dim, kernel, conv_eps, clip)
        self.ff2 = Gemma3nFeedForward(dim, ffn, eps, clip, residual_weight, dropout)
        self.norm_out = RMSNorm(dim, eps)
        self.drop = nn.Dropout(dropout)

    def forward(self, x, valid, **att):
        c = self.clip
        x = self.ff1(x)
        a = self.att(self.norm_att(x.clamp(-c, c)), valid, **att)
        x = x + self.drop(self.norm_att_post(a.clamp(-c, c)))
        x = x.masked_fill(~valid[..., None], 0.0)
        x = x + self.drop(self.conv(x))
        x = self.ff2(x)
        return self.norm_out(x.clamp(-c, c))


class Gemma3nConformerEncoder(AbsEncoder):
    """Gemma 3n's audio encoder (ESPnet encoder); defaults are ``Gemma3nAudioConfig()``'s shape.

    Args:
        input_size: Mel bins (128).
        output_size: Model dimension d (1536).
        attention_heads: Heads (8).
        linear_units: Feed-forward hidden size (4 d = 6144 in Gemma 3n).
        num_blocks: Conformer blocks (12).
        cnn_module_kernel: Causal depthwise kernel (5).
        subsample_channels: Output channels of the sub-sampling convolutions ((128, 32)).
        subsample_kernels, subsample_strides: Their (time, freq) kernels and strides
            (3x3 and 2x2 each).
        group_norm_eps: Cumulative group norm epsilon (1e-3).
        attention_type: ``local`` (as pre-trained), ``chunk`` or ``global``.
        left_context, right_context: Frames for ``local`` attention (Gemma 3n: 12 and 0;
            its ``conf_attention_context_left`` (13) counts the frame itself).
        left_max_position, right_max_position: Distances with their own position term
            (12, 0; larger ones are clamped).
        chunk_seconds: Chunk length for ``chunk`` attention.
        input_frame_shift_ms: Feature frame shift (10 ms), to turn seconds into frames.
        logit_cap: Attention logit soft cap (50).
        reduction_factor: Only every n-th frame of the last block is output (4).
        residual_weight: Weight of the feed-forward branches (0.5).
        clip_value: Activations are clipped to +- this around each module (1e10).
        norm_eps: Epsilon of the RMSNorms of the feed-forward and attention modules and
            the block's (1e-6 in transformers' code, whatever the config says).
        conv_norm_eps: Epsilon of the light convolution's RMSNorms (``rms_norm_eps``).
        feature_pad_value: When set (one value, or one per mel bin), input frames past
            ``ilens`` are set to it first. The sub-sampling convolution reads 2 frames
            past a frame, so the last valid outputs depend on the padding; Gemma 3n pads
            with the features of silence, ``log(mel_floor)`` (what the import writes),
            whatever the frontend fills in.
        dropout_rate: Dropout of the module outputs.
        attention_dropout_rate: Attention-probability dropout.
        activation_checkpointing: Recompute each block in backward (training).
    """

    def __init__(
        self,
        input_size: int = 128,
        output_size: int = 1536,
        attention_heads: int = 8,
        linear_units: int = 6144,
        num_blocks: int = 12,
        cnn_module_kernel: int = 5,
        subsample_channels: Sequence[int] = (128, 32),
        subsample_kernels: Sequence[Sequence[int]] = ((3, 3), (3, 3)),
        subsample_strides: Sequence[Sequence[int]] = ((2, 2), (2, 2)),
        group_norm_eps: float = 1e-3,
        attention_type: str = "local",
        left_context: int = 12,
        right_context: int = 0,
        left_max_position: int = 12,
        right_max_position: int = 0,
        chunk_seconds: float = 8.0,
        input_frame_shift_ms: float = 10.0,
        logit_cap: float = 50.0,
        reduction_factor: int = 4,
        residual_weight: float = 0.5,
        clip_value: float = 1e10,
        norm_eps: float = 1e-6,
        conv_norm_eps: float = 1e-6,
        feature_pad_value: Optional[Union[float, Sequence[float]]] = None,
        dropout_rate: float = 0.0,
        attention_dropout_rate: float = 0.0,
        activation_checkpointing: bool = False,
    ) -> None:
        super().__init__()
        check_attention_options(attention_type, chunk_seconds, left_context, right_context)
        if reduction_factor < 1:
            raise ValueError(f"reduction_factor must be >= 1, got {reduction_factor}")
        self._dim = output_size
        self.embed = Gemma3nSubsampling(input_size, output_size, subsample_channels,
                                        subsample_kernels, subsample_strides, group_norm_eps)
        self.reduction_factor = int(reduction_factor)
        #: input frames per output frame (16 for Gemma 3n: 160 ms)
        self.subsampling = self.embed.time_stride * self.reduction_factor
        self.attention_type = attention_type
        self.chunk_frames = max(1, int(round(chunk_seconds * 1000.0
                                             / (input_frame_shift_ms * self.embed.time_stride))))
        self.left_context, self.right_context = left_context, right_context
        self.cnn_module_kernel = cnn_module_kernel
        pad_value = None
        if feature_pad_value is not None:
            pad_value = torch.as_tensor(feature_pad_value, dtype=torch.float32).reshape(-1)
            if pad_value.numel() not in (1, input_size):
                raise ValueError(f"feature_pad_value needs 1 or input_size ({input_size}) values, "
                                 f"got {pad_value.numel()}")
        self.register_buffer("feature_pad_value", pad_value, persistent=False)
        self.activation_checkpointing = bool(activation_checkpointing)
        # as the source's init: the clip value is at most the dtype's largest finite value
        clip = min(float(clip_value), torch.finfo(torch.float32).max)
        self.blocks = nn.ModuleList(
            Gemma3nBlock(output_size, attention_heads, linear_units, cnn_module_kernel,
                         left_max_position, right_max_position, logit_cap, norm_eps,
                         conv_norm_eps, clip, residual_weight, dropout_rate,
                         attention_dropout_rate)
            for _ in range(num_blocks))

    def output_size(self) -> int:
        return self._dim

    def attention_kwargs(self) -> dict:
        return dict(attention_type=self.attention_type, chunk=self.chunk_frames,
                    left=self.left_context, right=self.right_context)

    def num_output_frames(self, num_feature_frames: int) -> int:
        """Output frames of an utterance of ``num_feature_frames`` valid feature frames."""
        sub = -(-max(0, num_feature_frames) // self.embed.time_stride)
        return -(-sub // self.reduction_factor)

    # Stateful long-form interface (usm_espnet.longform.encode): the sub-sampling's
    # cumulative group norm depends on every frame since the start of the recording, so
    # this encoder has no stateless stream_embed(); stream_embedder() carries that state
    # from piece to piece instead, and the blocks (finite receptive field: local or chunk
    # attention, causal convolution) are streamed by the long-form code from
    # attention_kwargs() and conv_context(); every reduction_factor-th block frame is output.
    #: why windows cannot be encoded on their own (long-form error messages)
    longform_state = ("its sub-sampling's cumulative group norm accumulates statistics from the "
                      "start of the recording")

    def conv_context(self) -> Tuple[int, int]:
        """Frames (left, right) of its input each block's (causal) depthwise convolution reads."""
        return self.cnn_module_kernel - 1, 0

    def feature_range(self, start: int, end: int) -> Tuple[int, int]:
        """Feature frames ``[f0, f1)`` that output frames ``[start, end)`` are embedded from (the
        sub-sampling's look-ahead included; not its running statistics, which go back to 0)."""
        ahead, stride = 0, 1
        for conv in self.embed.convs:
            ahead += (conv.kernel_size[0] - 1) * stride
            stride *= conv.stride[0]
        return self.subsampling * start, self.subsampling * end + ahead

    def stream_embedder(self) -> Gemma3nSubsamplingStream:
        """The sub-sampling of one recording fed piece by piece (``push(feats)``, ``finish()``)."""
        return self.embed.stream()

    def forward(
        self,
        xs_pad: torch.Tensor,
        ilens: torch.Tensor,
        prev_states: Optional[torch.Tensor] = None,
        reference_attention: bool = False,
    ) -> Tuple[torch.Tensor, torch.Tensor, Optional[torch.Tensor]]:
        """Encode padded features (B, T, input_size) -> (B, T', d), lengths (B,), None.

        A sub-sampled frame is valid when the feature frame it starts at is; so is an
        output frame. ``reference_attention``: masked O(T^2) attention (tests).
        """
        ilens = ilens.to(torch.long)
        if self.feature_pad_value is not None:
            pad = torch.arange(xs_pad.size(1), device=xs_pad.device)[None, :] >= ilens[:, None]
            xs_pad = torch.where(pad[..., None], self.feature_pad_value.to(xs_pad.dtype), xs_pad)
        x = self.embed(xs_pad)
        stride = self.embed.time_stride
        lens = torch.clamp(torch.div(ilens + stride - 1, stride, rounding_mode="floor"), max=x.size(1))
        valid = torch.arange(x.size(1), device=x.device)[None, :] < lens[:, None]
        att = dict(self.attention_kwargs(), reference=reference_attention)
        ckpt = self.activation_checkpointing and self.training and torch.is_grad_enabled()
        for block in self.blocks:
            if ckpt:
                x = checkpoint(block, x, valid, use_reentrant=False, **att)
            else:
                x = block(x, valid, **att)
        r = self.reduction_factor
        if r > 1:
            x, valid = x[:, ::r], valid[:, ::r]
            lens = torch.div(lens + r - 1, r, rounding_mode="floor")
        return x.masked_fill(~valid[..., None], 0.0), lens, None
