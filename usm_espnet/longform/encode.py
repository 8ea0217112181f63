"""Window-by-window encoding of arbitrarily long audio with bounded memory.

A chunk-wise (or local) attention Conformer has a finite receptive field, but
it grows with depth: each block's convolution leaks ``(kernel - 1) / 2`` frames
into the neighbouring chunk and the next block's attention spreads them over
that whole chunk, so the worst case is one chunk per block. :func:`input_range`
computes, for an output range, exactly which encoder-rate frames it depends on,
by walking the blocks backwards (attention: round out to the chunk grid, or
add the local context; convolution: add the kernel's half width).

:class:`LongFormEncoder` then encodes output windows aligned to the global
chunk grid:

* ``exact``: each window is encoded with its whole dependency range, so the
  concatenated output equals a one-pass encoding (up to float rounding);
* ``fast``: each window gets ``overlap_seconds`` of context on each side
  (rounded out to the chunk grid), cheaper but approximate;
* ``stream`` (chunk attention only): exact *without* recomputation -- every
  block runs chunk by chunk with one chunk of look-ahead, keeping only the
  ``(kernel - 1) / 2`` frames of its neighbours that its convolution needs, so
  time per audio second and memory do not depend on the recording's length
  (for an encoder with a running state, below: local or chunk attention);
* ``onepass``: the whole recording at once (any attention type, global
  included; memory grows with length -- quadratically for global attention).

Audio is read from the file span by span (``soundfile`` seek + read), features
are computed per span with enough STFT margin that every kept frame is the
frame a one-pass frontend would compute, and only one window's features and
activations live at a time.

Which models: any encoder with the long-form interface -- ``attention_type``,
``chunk_frames``, ``left_context``/``right_context``, ``attention_kwargs()``,
``subsampling``, ``num_output_frames(n)``, ``feature_range(s, e)``,
``stream_embed(feats)``, ``conv_context()`` and ``blocks`` whose items have
``conv_context()``, ``stream_pre_conv(x, valid=None, **att)`` (``valid``: padding of a batch
of recordings, out of attention and zero in the conv input) and ``stream_post_conv(x, u)``
(:class:`~usm_espnet.nets.chunk_conformer.ChunkConformerEncoder`,
:class:`~usm_espnet.nets.w2v_bert.W2VBertConformerEncoder`); as frontend ESPnet's
default STFT frontend (with ``global_mvn`` or no normalisation), or a frontend
with ``longform_features()`` (:class:`~usm_espnet.nets.w2v_bert.W2VBertFbankFrontend`,
whose per-recording normalisation is computed in a first pass over the audio;
:class:`~usm_espnet.nets.gemma3n_audio.Gemma3nMelFrontend`).

Encoders with a running state (the stateful interface, ``STATEFUL_INTERFACE``:
:class:`~usm_espnet.nets.gemma3n_audio.Gemma3nConformerEncoder`, whose sub-sampling
normalises with statistics accumulated from the start of the recording) have
``stream_embedder()`` in place of ``stream_embed``: an object whose ``push(feats)``
takes the next feature frames of the recording and returns the embedded frames that
are final, carrying the state, and ``finish()`` the rest. No window can then be
encoded on its own (``exact`` / ``fast`` are refused); ``stream`` feeds the features
window by window (default 10 s: a window's features and activations are the
memory it needs, and larger buffers leave the allocator more to fragment) through
it, then through each block as a
:class:`_WindowBlockStream` (local or chunk attention: each block recomputes only
its own receptive field, ``left + conv`` frames, at a window's edge), and outputs every
``reduction_factor``-th block frame; the result equals one pass, memory is bounded
by the window.
"""

from __future__ import annotations

import math
from typing import Iterator, Optional, Tuple

import numpy as np
import torch

SAMPLE_RATE = 16000

#: what LongFormEncoder needs of an encoder (see the module docstring)
ENCODER_INTERFACE = ("attention_type", "chunk_frames", "left_context", "right_context",
                     "attention_kwargs", "subsampling", "num_output_frames", "feature_range",
                     "stream_embed", "conv_context", "blocks")
#: default window of stream mode for an encoder with a running state (module docstring)
STATEFUL_WINDOW_SECONDS = 10.0
#: the same for an encoder whose embedding carries a state from the start of the recording
STATEFUL_INTERFACE = ("attention_type", "chunk_frames", "left_context", "right_context",
                      "attention_kwargs", "subsampling", "num_output_frames", "feature_range",
                      "stream_embedder", "conv_context", "blocks")


class LongFormError(ValueError):
    """Audio or a model that long-form encoding cannot handle; the message says which."""


def input_range(encoder, start: int, end: int, total: int) -> Tuple[int, int]:
    """Encoder-rate frames ``[s, e)`` that outputs ``[start, end)`` depend on.

    Args:
        encoder: The chunk / local attention encoder (the long-form interface).
        start, end: Output frame range (encoder rate).
        total: Number of encoder frames of the whole recording.

    Raises:
        LongFormError: Global attention (every output depends on every frame).
    """
    if encoder.attention_type == "global":
        return 0, total
    att, conv = encoder.attention_kwargs(), encoder.conv_context()
    s, e = start, end
    for _ in encoder.blocks:  # backwards through each block: conv, then attention
        s, e = block_input_range(att, conv, s, e)
        s, e = max(0, s), min(total, e)
    return s, e


def block_input_range(att: dict, conv: Tuple[int, int], start: int, end: int) -> Tuple[int, int]:
    """Input frames ``[s, e)`` (not clipped to the recording) that one block's outputs ``[start, end)``
    depend on: its convolution's context ``conv`` (left, right), then its chunk or local attention
    (``att``: the encoder's ``attention_kwargs()``)."""
    kl, kr = conv
    s, e = start - kl, end + kr
    if att["attention_type"] == "chunk":
        C = att["chunk"]
        return (s // C) * C, -(-e // C) * C
    return s - att["left"], e + att["right"]


def receptive_field_frames(encoder) -> Tuple[int, int]:
    """Worst-case left and right context (encoder frames) over positions on the chunk grid."""
    C = encoder.chunk_frames if encoder.attention_type == "chunk" else 1
    big = 10 ** 9
    lo, hi = 0, 0
    for off in range(C):  # outputs at every offset within a chunk
        a = big + off
        s, e = input_range(encoder, a, a + 1, 2 * big)
        lo, hi = max(lo, a - s), max(hi, e - a - 1)
    return lo, hi


class StftFeatures:
    """ESPnet's default (STFT) frontend's features of a long recording, span by span.

    A frame depends on ``n_fft`` samples around it (``center=True``): each span is read
    with that margin, so every kept frame is the frame a one-pass frontend computes.
    (The interface of :class:`usm_espnet.nets.w2v_bert.W2VBertLongFormFeatures`.)
    """

    def __init__(self, frontend) -> None:
        stft = getattr(frontend, "stft", None)
        fs = getattr(getattr(frontend, "logmel", None), "mel_options", {}).get("sr", SAMPLE_RATE)
        if stft is None or fs != SAMPLE_RATE:
            raise LongFormError("long-form encoding needs ESPnet's default (STFT) frontend at 16 kHz, "
                                "or a frontend with longform_features() (w2v_bert_fbank)")
        if not stft.center:
            raise LongFormError("the frontend must use center=True (ESPnet's default)")
        self.frontend = frontend
        self.n_fft, self.hop = stft.n_fft, stft.hop_length
        self.fs = SAMPLE_RATE

    def num_frames(self, num_samples: int) -> int:
        return 1 + num_samples // self.hop

    def sample_span(self, f0: int, f1: int, num_samples: int) -> Tuple[int, int]:
        """Samples ``[x0, x1)`` from which feature frames ``[f0, f1)`` are computed exactly."""
        margin = -(-(self.n_fft // 2) // self.hop) + 1
        return max(0, (f0 - margin) * self.hop), min(num_samples, (f1 + margin) * self.hop)

    def prepare(self, reader, device) -> None:
        """Nothing to do: each frame depends on its own samples only."""

    @torch.no_grad()
    def features(self, samples, x0: int, f0: int, f1: int, device) -> torch.Tensor:
        wav = torch.as_tensor(samples, dtype=torch.float32, device=device)[None]
        feats, _ = self.frontend(wav, torch.tensor([wav.size(1)], device=device))
        j0 = f0 - x0 // self.hop
        return feats[:, j0: j0 + (f1 - f0)]


class LongFormEncoder:
    """Encode long recordings window by window with an ESPnet ASR model.

    Args:
        model: ESPnet ASR model (``frontend``, ``normalize``, ``encoder``) whose encoder
            has the long-form interface (module docstring) and chunk or local attention.
        window_seconds: Output window length (rounded to whole chunks); default one
            chunk in ``stream`` mode (it recomputes nothing, so small windows are
            free and keep memory lowest; on a GPU, windows of several chunks -- e.g.
            64 s -- run each block on all their chunks at once, far fewer kernel
            launches, memory still bounded by the window), 10 s in ``stream`` mode for an
            encoder with a running state (module docstring), 60 s otherwise (fewer
            recomputed edges).
        mode: ``auto`` (``stream`` for chunk attention, else ``exact``),
            ``exact``, ``stream``, ``fast`` or ``onepass``.
        overlap_seconds: Context on each side in ``fast`` mode.
    """

    def __init__(self, model, window_seconds: Optional[float] = None, mode: str = "auto",
                 overlap_seconds: float = 2.0) -> None:
        from usm_espnet import espnet_fixes

        espnet_fixes.apply()  # ESPnet's frontend masks in linear time: long windows stay cheap
        enc = model.encoder
        stateful = hasattr(enc, "stream_embedder")
        missing = [a for a in (STATEFUL_INTERFACE if stateful else ENCODER_INTERFACE)
                   if not hasattr(enc, a)]
        if missing:
            raise LongFormError(f"long-form encoding needs encoder: chunk_conformer, w2v_bert_conformer "
                                f"or gemma3n_conformer (the long-form interface), got {type(enc).__name__} "
                                f"(it lacks {', '.join(missing[:3])})")
        if mode == "auto":
            mode = "stream" if enc.attention_type == "chunk" or stateful else "exact"
        if mode not in ("exact", "stream", "fast", "onepass"):
            raise LongFormError(f"mode must be auto, exact, stream, fast or onepass, got {mode!r}")
        if stateful:
            if enc.attention_type == "global" and mode != "onepass":
                raise LongFormError("window-by-window encoding needs chunk or local attention, not global "
                                    "(set encoder_conf.attention_type: local or chunk, or use mode onepass)")
            if mode in ("exact", "fast"):
                why = getattr(enc, "longform_state", "its embedding carries a state from the start "
                              "of the recording")
                raise LongFormError(f"mode {mode} encodes each window on its own, which "
                                    f"{type(enc).__name__} cannot do: {why}; use mode stream (it "
                                    "carries that state from window to window and equals one pass) "
                                    "or onepass")
        elif mode == "stream" and enc.attention_type != "chunk":
            raise LongFormError("mode stream needs chunk attention; use exact for local attention")
        elif enc.attention_type == "global" and mode != "onepass":
            raise LongFormError("window-by-window encoding needs chunk or local attention, not global "
                                "(set encoder_conf.attention_type: chunk, or use mode onepass)")
        if getattr(model, "preencoder", None) is not None or getattr(model, "postencoder", None) is not None:
            raise LongFormError("pre-/post-encoders are not supported in long-form encoding")
        norm = getattr(model, "normalize", None)
        if norm is not None and type(norm).__name__ != "GlobalMVN":
            raise LongFormError(f"normalize {type(norm).__name__} depends on the whole utterance; "
                                "long-form encoding needs global_mvn or none")
        fe = model.frontend
        make = getattr(fe, "longform_features", None)
        # a recording's features (a frontend may hold per-recording state: prepare())
        self.new_features = make if callable(make) else (lambda: StftFeatures(fe))
        self.fe = self.new_features()
        if self.fe.fs != SAMPLE_RATE:
            raise LongFormError(f"long-form encoding reads 16 kHz audio; the frontend expects {self.fe.fs} Hz")
        self.model, self.encoder = model, enc
        self.mode, self.stateful = mode, stateful
        # (a stateful stream takes pieces of any length: no chunk grid for its windows)
        unit = enc.chunk_frames if enc.attention_type == "chunk" and not stateful else 1
        frame_s = self.fe.hop * enc.subsampling / SAMPLE_RATE
        self.frame_seconds = frame_s
        if window_seconds is None:
            if mode == "stream":
                window_seconds = STATEFUL_WINDOW_SECONDS if stateful else unit * frame_s
            else:
                window_seconds = 60.0
        self.window = max(unit, int(round(window_seconds / frame_s / unit)) * unit)
        self.overlap = int(math.ceil(overlap_seconds / frame_s))
        self.unit = unit

    # ------------------------------------------------------------------ frames
    def num_feature_frames(self, num_samples: int) -> int:
        return self.fe.num_frames(num_samples)

    def num_frames(self, num_samples: int) -> int:
        """Encoder frames of a recording of ``num_samples`` samples."""
        return self.encoder.num_output_frames(self.num_feature_frames(num_samples))

    def windows(self, total: int) -> Iterator[Tuple[int, int, int, int]]:
        """(out_start, out_end, in_start, in_end) in encoder frames, in order."""
        if total <= 0:
            return
        if self.mode == "onepass":
            yield 0, total, 0, total
            return
        if self.mode == "stream":  # no context: the block streams carry it
            for a in range(0, total, self.window):
                yield a, min(a + self.window, total), a, min(a + self.window, total)
            return
        for a in range(0, total, self.window):
            b = min(a + self.window, total)
            if self.mode == "exact":
                s, e = input_range(self.encoder, a, b, total)
            else:
                s = max(0, ((a - self.overlap) // self.unit) * self.unit)
                e = min(total, -(-(b + self.overlap) // self.unit) * self.unit)
            yield a, b, s, e

    def sample_span(self, s: int, e: int, num_samples: int) -> Tuple[int, int, int, int]:
        """Samples to read for encoder frames ``[s, e)`` and the feature frames they give.

        Returns:
            (x0, x1, f0, f1): read samples ``[x0, x1)``; the features computed from them
            are the one-pass feature frames ``[f0, f1)``.
        """
        f0, f1 = self.encoder.feature_range(s, e)
        f1 = min(self.num_feature_frames(num_samples), f1)
        x0, x1 = self.fe.sample_span(f0, f1, num_samples)
        return x0, x1, f0, f1

    # ------------------------------------------------------------------ encode
    @torch.no_grad()
    def _features(self, samples: np.ndarray, x0: int, f0: int, f1: int, fe=None):
        """Normalised one-pass feature frames ``[f0, f1)`` from ``samples`` read at ``x0``
        (``fe``: the recording's features object, default ``self.fe``)."""
        dev = next(self.model.parameters()).device
        feats = (fe or self.fe).features(samples, x0, f0, f1, dev)
        lens = torch.tensor([feats.size(1)], device=dev)
        if self.model.normalize is not None:
            feats, lens = self.model.normalize(feats, lens)
        return feats, lens

    @torch.no_grad()
    def encode_window(self, samples: np.ndarray, x0: int, f0: int, f1: int) -> torch.Tensor:
        """Encoder output (T, d) for the features ``[f0, f1)`` computed from ``samples`` read at ``x0``."""
        out, olens, _ = self.encoder(*self._features(samples, x0, f0, f1))
        return out[0, : int(olens[0])]

    def encode(self, reader: "AudioReader", progress=None) -> Iterator[Tuple[int, torch.Tensor]]:
        """Yield (first encoder frame, encoder output of the window) for the whole recording."""
        total = self.num_frames(reader.num_samples)
        if self.mode == "stream" and not self.stateful:
            yield from self._stream(reader, progress)  # (encode_batch prepares the features)
            return
        self.fe.prepare(reader, next(self.model.parameters()).device)
        if self.mode == "stream":
            yield from self._stream_stateful(reader, total, progress)
            return
        for a, b, s, e in self.windows(total):
            x0, x1, f0, f1 = self.sample_span(s, e, reader.num_samples)
            out = self.encode_window(reader.read(x0, x1), x0, f0, f1)
            if out.size(0) < b - s:
                raise RuntimeError(f"window [{s}, {e}) gave {out.size(0)} frames, expected >= {b - s}")
            if progress is not None:
                progress(b - a)
            yield a, out[a - s: b - s]

    def _stream(self, reader, progress):
        """Exact streaming encoding (chunk attention): :meth:`encode_batch` of one recording."""
        for offset, out, n in self.encode_batch([reader], progress):
            yield offset, out[0, : n[0]]

    def check_batchable(self) -> None:
        """Raise :class:`LongFormError` unless :meth:`encode_batch` can run (stream mode, chunk
        attention, an encoder without a running state)."""
        if self.mode != "stream" or self.stateful:
            raise LongFormError("decoding several recordings as one batch needs mode stream with "
                                "chunk attention (an encoder without a running state); got mode "
                                f"{self.mode}{' and a stateful encoder' if self.stateful else ''}")

    def encode_batch(self, readers, progress=None, failed: Optional[dict] = None
                     ) -> Iterator[Tuple[int, torch.Tensor, list]]:
        """Stream mode over several recordings at once, window by window in lockstep.

        Each window's features are computed per recording, padded and stacked; every block
        then runs on the whole batch (more work per kernel: on a GPU, fewer launches per
        audio second). Recordings that are shorter are padding once they end (left out of
        attention, zero in the convolutions), so each recording's output equals its own
        :meth:`encode` (and a one-pass encoding). Sorting recordings by length keeps the
        padding small; memory is bounded by one window of the batch.

        Args:
            readers: :class:`AudioReader` per recording.
            progress: Called with the number of new output frames (all recordings).
            failed: If given, a recording whose audio cannot be read mid-stream
                (:class:`LongFormError`) is recorded here (index -> error) and is padding
                from then on, while the others go on; otherwise the error is raised.

        Yields:
            (first encoder frame, outputs (B, L, d), frames per recording): row ``i``'s first
            ``n[i]`` frames are recording ``i``'s frames ``offset .. offset + n[i] - 1``
            (``n[i]`` is 0 once it has ended or failed).
        """
        self.check_batchable()
        enc = self.encoder
        dev = next(self.model.parameters()).device
        totals = [self.num_frames(r.num_samples) for r in readers]
        fes = [self.fe] if len(readers) == 1 else [self.new_features() for _ in readers]
        for i, (fe, r) in enumerate(zip(fes, readers)):
            try:
                fe.prepare(r, dev)  # (a first pass over the audio for some frontends)
            except LongFormError as e:
                if failed is None:
                    raise
                failed[i] = e
        lengths: list = []  # per window, in order: valid frames per recording

        def pieces():
            for a, _, _, _ in self.windows(max(totals, default=0)):  # the longest one's windows
                n = [max(0, min(self.window, t - a)) for t in totals]
                feats = []
                for i, (r, k) in enumerate(zip(readers, n)):
                    if k == 0 or (failed is not None and i in failed):
                        n[i] = 0
                        feats.append(None)
                        continue
                    x0, x1, f0, f1 = self.sample_span(a, a + k, r.num_samples)
                    try:
                        feats.append(self._features(r.read(x0, x1), x0, f0, f1, fes[i])[0][0])
                    except LongFormError as e:
                        if failed is None:
                            raise
                        failed[i], n[i] = e, 0
                        feats.append(None)
                if not any(n):  # every recording has ended or failed
                    return
                width = max(f.size(0) for f in feats if f is not None)
                like = next(f for f in feats if f is not None)
                x = torch.stack([like.new_zeros(width, like.size(1)) if f is None
                                 else torch.nn.functional.pad(f, (0, 0, 0, width - f.size(0)))
                                 for f in feats])
                # the live recordings' longest piece: a whole window, or (when every live
                # recording ends in it) the last piece, whatever longer ones have failed
                L = max(n)
                valid = torch.arange(L, device=dev)[None, :] < torch.tensor(n, device=dev)[:, None]
                y = enc.stream_embed(x)[:, :L]
                lengths.append(n)
                yield y.masked_fill(~valid[..., None], 0.0), valid

        offset = 0
        with torch.no_grad():
            for out, _ in _stream_blocks(enc, pieces()):
                n = lengths.pop(0)
                if progress is not None:
                    progress(sum(n))
                yield offset, out, n
                offset += out.size(1)

    def _stream_stateful(self, reader, total, progress):
        """Exact streaming encoding (stateful interface): features window by window through the
        encoder's ``stream_embedder()``, blocks as :class:`_WindowBlockStream`, every
        ``reduction_factor``-th block frame out."""
        enc = self.encoder
        n_feat = self.num_feature_frames(reader.num_samples)
        step = self.window * enc.subsampling  # feature frames per window
        embed = enc.stream_embedder()

        def pieces():
            for f0 in range(0, n_feat, step):
                f1 = min(n_feat, f0 + step)
                x0, x1 = self.fe.sample_span(f0, f1, reader.num_samples)
                feats, _ = self._features(reader.read(x0, x1), x0, f0, f1)
                y = embed.push(feats)
                if y is not None and y.size(1):
                    yield y
            y = embed.finish()
            if y is not None and y.size(1):
                yield y

        r = int(getattr(enc, "reduction_factor", 1))
        att, conv = dict(enc.attention_kwargs()), enc.conv_context()
        streams = [_WindowBlockStream(b, att, conv) for b in enc.blocks]
        seen = offset = 0  # block frames in, output frames out
        with torch.no_grad():
            for x in _pipeline(streams, pieces()):
                out = x[0, (-seen) % r:: r]
                seen += x.size(1)
                if out.size(0):
                    if progress is not None:
                        progress(out.size(0))
                    yield offset, out
                    offset += out.size(0)
        if offset != total:
            raise RuntimeError(f"the stream gave {offset} encoder frames, expected {total}")


class AudioReader:
    """Random access to a long audio file, 16 kHz mono, without loading it all.

    Other sample rates are resampled span by span (with a margin so the
    resampling filter never sees the span edge); multi-channel audio is
    averaged to mono. Also accepts an in-memory array (``samples=``).

    Args:
        path: Audio file readable by ``soundfile``.
        samples: 1-D float array at 16 kHz instead of a file.

    Raises:
        LongFormError: Unreadable, empty or truncated file (naming it).
    """

    MARGIN = 4096  # original-rate samples of resampling context on each side

    def __init__(self, path: Optional[str] = None, samples: Optional[np.ndarray] = None) -> None:
        self.path = path
        self._array = None
        if samples is not None:
            x = np.asarray(samples, dtype=np.float32)
            if x.ndim != 1:
                raise LongFormError("samples must be a 1-D array")
            self._array, self.sr, n = x, SAMPLE_RATE, x.shape[0]
        else:
            import soundfile as sf

            try:
                info = sf.info(path)
            except Exception as e:  # soundfile raises several types
                raise LongFormError(f"{path}: cannot read audio ({e})") from None
            self.sr, self.channels, n = info.samplerate, info.channels, info.frames
            if self.sr <= 0:
                raise LongFormError(f"{path}: bad sample rate {self.sr}")
        self.num_samples = n if self.sr == SAMPLE_RATE else int(n * SAMPLE_RATE // self.sr)
        self._orig_frames = n
        if self.num_samples == 0:
            raise LongFormError(f"{path or 'samples'}: no audio (0 samples)")

    def _read_orig(self, a: int, b: int) -> np.ndarray:
        import soundfile as sf

        try:
            with sf.SoundFile(self.path) as f:
                f.seek(a)
                x = f.read(b - a, dtype="float32", always_2d=True)
        except Exception as e:
            raise LongFormError(f"{self.path}: cannot read samples {a}-{b} ({e})") from None
        if x.shape[0] != b - a:
            raise LongFormError(f"{self.path}: truncated: got {x.shape[0]} of {b - a} samples at {a}")
        return x.mean(axis=1)

    def read(self, x0: int, x1: int) -> np.ndarray:
        """16 kHz mono samples ``[x0, x1)``."""
        if self._array is not None:
            return self._array[x0:x1]
        if self.sr == SAMPLE_RATE:
            return self._read_orig(x0, x1)
        import torchaudio.functional as AF

        # Start the span on a sample where both rates' grids meet (a multiple of
        # sr / gcd in the original), so every span is resampled in the same phase
        # as a one-pass resampling of the whole file.
        g = math.gcd(self.sr, SAMPLE_RATE)
        so, st = self.sr // g, SAMPLE_RATE // g
        a = max(0, (x0 // st) * so - (-(-self.MARGIN // so)) * so)
        b = min(self._orig_frames, int(math.ceil(x1 * self.sr / SAMPLE_RATE)) + self.MARGIN)
        y = AF.resample(torch.from_numpy(self._read_orig(a, b)), self.sr, SAMPLE_RATE).numpy()
        off = x0 - a * SAMPLE_RATE // self.sr
        out = y[off: off + (x1 - x0)]
        if out.shape[0] < x1 - x0:
            out = np.pad(out, (0, x1 - x0 - out.shape[0]))
        return out


class _BlockStream:
    """One Conformer block of a chunk-attention encoder, run chunk by chunk (or by groups of chunks).

    Feed-forward modules work per frame and attention inside a chunk, so a
    chunk's attention output is final as soon as the chunk has arrived; only
    the depthwise convolution looks into the neighbouring chunks: ``kl`` frames
    to the left and ``kr`` to the right (the block's ``conv_context()``: ``k2, k2``
    for a centred kernel, ``kernel - 1, 0`` for a causal one). The stream therefore
    holds one piece back until the next one arrives (for its first ``kr`` frames),
    keeps the last ``kl`` convolution inputs before it, and feeds the convolution
    exactly what a one-pass run would (zeros beyond the recording's ends).

    Pieces are (x (B, L, d), valid (B, L)): a batch of recordings in lockstep, where a
    recording that has ended is padding (``valid`` False: out of attention, zero conv
    input -- so its neighbours see zeros beyond its end, as in one pass).
    """

    def __init__(self, block, att_kwargs: dict) -> None:
        self.b = block
        self.att = att_kwargs
        self.kl, self.kr = block.conv_context()
        if att_kwargs["chunk"] < self.kr:
            raise LongFormError(f"chunks of {att_kwargs['chunk']} frames are shorter than the "
                                f"convolution's right context {self.kr}")
        self.left: Optional[torch.Tensor] = None  # (B, d, <= kl) conv inputs before the held piece
        self.held: Optional[Tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = None  # (residual, conv input, valid)

    def _context(self, u, left, right):
        """``u`` (B, d, T) with ``kl`` frames before it and ``kr`` after (zeros where there are none)."""
        nl = 0 if left is None else left.size(2)
        nr = 0 if right is None else right.size(2)
        B, d = u.shape[:2]
        parts = [u.new_zeros(B, d, self.kl - nl), left, u, right, u.new_zeros(B, d, self.kr - nr)]
        return torch.cat([p for p in parts if p is not None and p.size(2)], 2)

    def push(self, piece: Optional[Tuple[torch.Tensor, torch.Tensor]]
             ) -> Optional[Tuple[torch.Tensor, torch.Tensor]]:
        """Give the next piece (x (B, L, d), valid (B, L)) of block input, or None at the end;
        get a finished piece (the one before), with its ``valid``."""
        new = None
        if piece is not None:
            x, valid = piece
            new = (*self.b.stream_pre_conv(x, valid=valid, **self.att), valid)
        out = None
        if self.held is not None:
            res, u, valid = self.held
            # pieces before the last are whole chunks, >= kr frames (checked at construction)
            right = new[1][:, :, : self.kr] if new is not None and self.kr else None
            out = self.b.stream_post_conv(res, self._context(u, self.left, right)), valid
            if self.kl:
                self.left = (u if self.left is None else torch.cat([self.left, u], 2))[:, :, -self.kl:]
        self.held = new
        return out


def _stream_blocks(encoder, pieces):
    """Run ``encoder``'s blocks over an iterator of embedded pieces (x (B, L, d), valid (B, L)), L a
    multiple of the chunk, on the chunk grid (the last may be shorter); yield output pieces
    (out, valid) of the same lengths."""
    att = dict(encoder.attention_kwargs())
    yield from _pipeline([_BlockStream(b, att) for b in encoder.blocks], pieces)


class _WindowBlockStream:
    """One Conformer block (local or chunk attention) over a stream of pieces of any length.

    A block output frame depends on a finite range of its input frames
    (:func:`block_input_range`: the convolution's context, then the attention's). The
    stream keeps the input from the first frame the next outputs depend on; each push
    runs the block (its ``forward(x, valid, **att)``) over the kept frames and returns the
    outputs whose whole dependency range has arrived (at the end, all the rest). Frames
    before the kept ones are never needed again: the recomputed margin is one receptive
    field of the block (``left + kernel - 1`` frames for causal local attention, up to a
    chunk more for chunk attention) per push. A piece computed from frame ``s > 0``
    attends and convolves as if the recording started at ``s``; only outputs that
    cannot see that edge are kept, and at the recording's real start and end the block
    sees what a one-pass run sees.
    """

    def __init__(self, block, att_kwargs: dict, conv_context: Tuple[int, int]) -> None:
        if att_kwargs["attention_type"] not in ("local", "chunk"):
            raise LongFormError(f"streaming needs local or chunk attention, not {att_kwargs['attention_type']}")
        self.b, self.att, self.conv = block, att_kwargs, conv_context
        self.buf: Optional[torch.Tensor] = None  # block input frames [start, n)
        self.start = self.n = self.done = 0  # outputs [0, done) given out

    def _final(self, n: int) -> int:
        """Outputs ``[0, b)`` final once inputs ``[0, n)`` have arrived (more to come)."""
        kl, kr = self.conv
        if self.att["attention_type"] == "chunk":
            C = self.att["chunk"]
            return (n // C) * C - kr
        return n - self.att["right"] - kr

    def push(self, x: Optional[torch.Tensor]) -> Optional[torch.Tensor]:
        """Give the next input frames (1, T, d), or None at the end; get the outputs now final."""
        if x is not None:
            self.buf = x if self.buf is None else torch.cat([self.buf, x], 1)
            self.n += x.size(1)
        b = self.n if x is None else min(self.n, self._final(self.n))
        if self.buf is None or b <= self.done:
            return None
        s, e = block_input_range(self.att, self.conv, self.done, b)
        s, e = max(0, s), min(self.n, e)
        seg = self.buf[:, s - self.start: e - self.start]
        valid = torch.ones(seg.shape[:2], dtype=torch.bool, device=seg.device)
        out = self.b(seg, valid, **self.att)[:, self.done - s: b - s]
        self.done = b
        keep = max(0, block_input_range(self.att, self.conv, b, b + 1)[0])
        self.buf, self.start = self.buf[:, keep - self.start:], keep
        return out


def _pipeline(streams, chunks):
    """Pieces from ``chunks`` through block streams (``push(x)``; ``push(None)`` at the end) in turn."""

    def through(i, x):
        if i == len(streams):
            if x is not None:
                yield x
            return
        y = streams[i].push(x)
        if y is not None:
            yield from through(i + 1, y)
        if x is None:  # end of input: flush the rest of the pipeline
            yield from through(i + 1, None)

    for c in chunks:
        yield from through(0, c)
    yield from through(0, None)
