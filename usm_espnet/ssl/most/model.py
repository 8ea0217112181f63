"""MOST: multi-objective supervised pre-training with text injection (USM, arXiv 2303.01037).

USM's third training stage continues a BEST-RQ model on three data streams at once:
untranscribed speech (BEST-RQ), transcribed speech (ASR, CTC here) and unspoken text
(text reconstruction through the shared encoder), tied together by a consistency
loss between a text encoder and the speech encoder on the transcribed data. All of
it lives in this file, pure PyTorch on top of our own modules:

* :class:`MOSTConfig` -- the paper's defaults (loss weights, per-stream batch sizes,
  the 20k-step text warm-up, text masking, duration mode) in one place.
* :class:`DurationModel`, :func:`upsample`, :func:`ctc_durations`,
  :func:`alignment_to_durations`, :func:`fixed_durations`, :func:`random_durations`
  -- everything that turns a token sequence into an encoder-rate frame sequence.
* :class:`TextEncoder` -- token embedding, duration upsampler, one Conformer block.
* :class:`MOSTModel` -- the losses of all three streams around one encoder.
* :class:`StreamMixer` -- deterministic per-step mixing of the three streams' ids.

**Where the speech encoder ends and the shared encoder starts.** ``MOSTModel`` holds
ONE ordinary ASR encoder (``usm_conformer`` = ESPnet's ``ConformerEncoder``, or
``chunk_conformer``) of exactly the configuration ASR fine-tuning uses, under the
attribute ``encoder``, and splits it, without copying or wrapping any weight, at
block ``k = MOSTConfig.speech_encoder_layers`` (1, as in USM):

    speech encoder = encoder.embed (conv subsampling) + blocks[:k]      -> (B, T', D)
    text encoder   = embedding + duration upsampler + 1 Conformer block -> (B, T', D)
    shared encoder = blocks[k:] (+ ESPnet's after_norm)                 -> (B, T', D)

Both fronts produce D-dim features at the encoder-frame rate at the shared
encoder's input; the shared encoder is the rest of the stack and takes those
already-subsampled features (rel-pos embeddings / masks are rebuilt for the text
path). We chose this split over a second encoder built with a no-op ``input_layer``
because

* ``MOSTModel.encoder.state_dict()`` IS an ASR encoder's state_dict: every name
  matches, so ``--init_param most.pth:encoder:encoder`` loads the speech AND shared
  encoders (subsampling included) into fine-tuning, strictly, nothing left behind;
  a separate no-op-input encoder would leave fine-tuning's subsampling and speech
  layer untrained and its names would not match a ``conv2d`` ASR encoder;
* a BEST-RQ checkpoint loads unchanged (encoder + quantizer + softmax heads, same
  attribute names as ``ESPnetBestRQModel``, see :meth:`MOSTModel.load_best_rq`), and
  the BEST-RQ loss is computed on the same full-encoder output it was trained on, so
  the inherited heads stay meaningful;
* speech inference cost and depth are the ASR model's: the speech encoder's one
  Conformer layer is the stack's first block, not an extra layer.

The CTC head is ESPnet's :class:`espnet2.asr.ctc.CTC` under ``ctc`` (so
``--init_param most.pth:ctc:ctc`` also works when the token lists match); blank is
token 0 as in ESPnet's token lists.

**Durations** are counted in encoder frames (after subsampling, e.g. 40 ms). On
paired data they come from forced alignment of the model's own CTC head
(:func:`ctc_durations`, rule in :func:`alignment_to_durations`) unless the batch
carries its own; they upsample the text encoder for the consistency loss (so text
and speech have the same number of frames) and are the targets of the duration
model. Unspoken text is upsampled with the learned model's predictions
(``duration_mode="learned"``), a fixed repetition or a random one.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from espnet2.asr.ctc import CTC
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

from usm_espnet.nets.chunk_conformer import ChunkConformerEncoder, ConformerBlock
from usm_espnet.ssl.best_rq import (
    BestRQConfig,
    BestRQLoss,
    RandomProjectionQuantizer,
    _check_int,
    apply_mask,
    compute_mask,
    mask_to_encoder_rate,
    subsampling_factor,
)

#: Stream names, as keys of :meth:`MOSTModel.forward`'s batch and of :class:`StreamMixer`.
SPEECH = "speech"  # untranscribed speech -> BEST-RQ
PAIRED = "paired"  # transcribed speech -> ASR (CTC), consistency, duration model
TEXT = "text"  # unspoken text -> text reconstruction
STREAMS = (SPEECH, PAIRED, TEXT)

DURATION_MODES = ("learned", "fixed", "random")
DISTANCES = ("mse", "l1", "cosine")


# --------------------------------------------------------------------------- config


@dataclass(frozen=True)
class MOSTConfig:
    """MOST hyper-parameters; USM's values where the paper gives them.

    Values marked *ours* are not in the paper (it gives no per-loss weights, no
    text-masking rate and no duration-model size) and are our defaults.

    Args:
        bestrq_weight: Weight of the BEST-RQ loss on untranscribed speech (*ours*: 1).
        asr_weight: Weight of the CTC loss on transcribed speech (*ours*: 1).
        consistency_weight: Weight of the text/speech consistency loss (*ours*: 1).
        duration_weight: Weight of the duration model's log-duration MSE (*ours*: 1).
        text_recon_weight: Weight of the text-reconstruction CTC loss (*ours*: 1).
        speech_batch_size: Untranscribed utterances per step (USM: 4096).
        text_batch_size: Unspoken sentences per step (USM: 8192).
        paired_batch_size: Transcribed utterances per step (USM: 1024).
        text_start_step: Steps trained without unspoken text before all three
            streams are used (USM: 20k).
        speech_encoder_layers: Conformer blocks of the encoder that belong to the
            speech encoder (USM: 1); the remaining blocks are the shared encoder.
        text_attention_heads: Heads of the text encoder's block (None: as the
            shared encoder's blocks).
        text_linear_units: Its feed-forward size (None: 4 D).
        text_cnn_module_kernel: Its depthwise kernel (USM's Conformer: 5).
        text_dropout_rate: Dropout in the text encoder.
        duration_hidden: Duration model width (None: D) (*ours*).
        duration_kernel: Duration model convolution kernel (*ours*: 3).
        duration_layers: Duration model convolution layers (*ours*: 2).
        duration_mode: How unspoken text is upsampled: ``learned`` (the duration
            model), ``fixed`` (every token ``fixed_duration`` frames) or
            ``random`` (uniform in ``random_duration``).
        fixed_duration: Frames per token in ``fixed`` mode (*ours*: 4).
        random_duration: Inclusive (low, high) frames per token in ``random``
            mode (*ours*: (2, 6)).
        min_duration: Smallest predicted duration in ``learned`` mode (*ours*: 2,
            so that text reconstruction's CTC is feasible with repeated tokens).
        max_duration: Largest predicted duration in ``learned`` mode (*ours*: 30).
        text_mask_prob: Probability that an upsampled text frame starts a masked
            span in text reconstruction (*ours*: 0.05).
        text_mask_span: Masked span in encoder frames (*ours*: 5; ~23 % masked).
        consistency_distance: ``mse`` (default), ``l1`` or ``cosine``.
        ctc_dropout_rate: Dropout before the CTC projection.
        blank_id: CTC blank token (ESPnet: 0).
        bestrq: The BEST-RQ options (quantizers, masking); must match the BEST-RQ
            checkpoint MOST starts from.
        seed: Seed of the model's own masking / random-duration generator.
        align_max_cer: When the consistency, duration and unspoken-text losses start
            (*ours*: 0.5). Their durations come from forced alignment with the model's
            own CTC head, which is random when MOST starts from BEST-RQ, so early
            alignments put tokens at arbitrary frames. The rule: these losses wait
            until the CTC head's greedy CER on the paired batches (a running mean,
            see ``align_window``) is at most ``align_max_cer``, and the unspoken text
            also waits for ``text_start_step``; once started they stay on. 1.0 starts
            them at the first step (the paper's schedule has only ``text_start_step``).
        align_window: Paired batches the running mean of that CER spans (an
            exponential mean with weight ``2 / (align_window + 1)``) (*ours*: 20).
    """

    bestrq_weight: float = 1.0
    asr_weight: float = 1.0
    consistency_weight: float = 1.0
    duration_weight: float = 1.0
    text_recon_weight: float = 1.0
    speech_batch_size: int = 4096
    text_batch_size: int = 8192
    paired_batch_size: int = 1024
    text_start_step: int = 20000
    speech_encoder_layers: int = 1
    text_attention_heads: Optional[int] = None
    text_linear_units: Optional[int] = None
    text_cnn_module_kernel: int = 5
    text_dropout_rate: float = 0.1
    duration_hidden: Optional[int] = None
    duration_kernel: int = 3
    duration_layers: int = 2
    duration_mode: str = "learned"
    fixed_duration: int = 4
    random_duration: Tuple[int, int] = (2, 6)
    min_duration: int = 2
    max_duration: int = 30
    text_mask_prob: float = 0.05
    text_mask_span: int = 5
    consistency_distance: str = "mse"
    ctc_dropout_rate: float = 0.0
    blank_id: int = 0
    bestrq: BestRQConfig = field(default_factory=BestRQConfig)
    seed: int = 0
    align_max_cer: float = 0.5
    align_window: int = 20

    def __post_init__(self) -> None:
        for name in ("bestrq_weight", "asr_weight", "consistency_weight",
                     "duration_weight", "text_recon_weight", "text_dropout_rate",
                     "ctc_dropout_rate"):
            if float(getattr(self, name)) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)!r}")
        for name in ("speech_batch_size", "text_batch_size", "paired_batch_size",
                     "text_start_step", "speech_encoder_layers", "blank_id"):
            _check_int(name, getattr(self, name), 0)
        for name in ("text_cnn_module_kernel", "duration_kernel", "duration_layers",
                     "fixed_duration", "min_duration", "text_mask_span"):
            _check_int(name, getattr(self, name), 1)
        _check_int("max_duration", self.max_duration, self.min_duration)
        if self.duration_mode not in DURATION_MODES:
            raise ValueError(f"duration_mode must be one of {DURATION_MODES}, "
                             f"got {self.duration_mode!r}")
        if self.consistency_distance not in DISTANCES:
            raise ValueError(f"consistency_distance must be one of {DISTANCES}, "
                             f"got {self.consistency_distance!r}")
        lo, hi = self.random_duration
        _check_int("random_duration low", lo, 1)
        _check_int("random_duration high", hi, lo)
        if not 0.0 <= float(self.align_max_cer) <= 1.0:
            raise ValueError(f"align_max_cer must be in [0, 1], got {self.align_max_cer!r}")
        _check_int("align_window", self.align_window, 1)
        if not 0.0 <= float(self.text_mask_prob) <= 1.0:
            raise ValueError(f"text_mask_prob must be in [0, 1], got {self.text_mask_prob!r}")

    def batch_sizes(self, scale: float = 1.0) -> Dict[str, int]:
        """Per-stream batch sizes, optionally scaled down keeping USM's ratios.

        Args:
            scale: Factor applied to every size (e.g. 1/64 on one GPU); a stream
                with a positive size keeps at least 1.

        Returns:
            ``{"speech": ..., "paired": ..., "text": ...}``.
        """
        if scale <= 0:
            raise ValueError(f"scale must be > 0, got {scale}")
        sizes = {SPEECH: self.speech_batch_size, PAIRED: self.paired_batch_size,
                 TEXT: self.text_batch_size}
        return {k: (max(1, int(round(v * scale))) if v > 0 else 0) for k, v in sizes.items()}

    def start_steps(self) -> Dict[str, int]:
        """First step of each stream (unspoken text after ``text_start_step``)."""
        return {SPEECH: 0, PAIRED: 0, TEXT: self.text_start_step}

    def text_stream_enabled(self, step: int) -> bool:
        """Whether the unspoken-text stream is trained at ``step`` (0-based).

        Args:
            step: Global optimiser step.
        """
        return int(step) >= self.text_start_step


# ------------------------------------------------------------------ input checking


def _edit_distance(a: Sequence[int], b: Sequence[int]) -> int:
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (x != y))
    return row[-1]


def greedy_cer(best: torch.Tensor, lens: torch.Tensor, text: torch.Tensor,
               text_lens: torch.Tensor, blank: int = 0, max_utts: int = 8) -> torch.Tensor:
    """Token error rate of greedy CTC paths ``best`` (B, T) against ``text`` (B, L).

    Repeats are merged and blanks dropped; only the first ``max_utts`` utterances are
    scored (a cheap health signal, not an evaluation). Returns a 0-dim float tensor.
    """
    errs = total = 0
    for b in range(min(int(best.size(0)), max_utts)):
        path = best[b, :int(lens[b])].tolist()
        hyp = [t for i, t in enumerate(path) if t != blank and (i == 0 or t != path[i - 1])]
        ref = text[b, :int(text_lens[b])].tolist()
        errs += _edit_distance(hyp, ref)
        total += len(ref)
    return torch.tensor(errs / max(total, 1), dtype=torch.float)


def _check_lengths(name: str, lens: torch.Tensor, batch: int, max_len: int,
                   allow_empty: bool = False) -> None:
    """Raise ValueError unless ``lens`` is (batch,) with 0/1 <= lens <= max_len.

    Args:
        name: Name used in the message.
        lens: Lengths.
        batch: Expected batch size.
        max_len: Padded length they index into.
        allow_empty: Whether a length of 0 is allowed.
    """
    if lens.dim() != 1 or lens.size(0) != batch:
        raise ValueError(f"{name} must have shape ({batch},), got {tuple(lens.shape)}")
    if lens.numel() == 0:
        return
    lo = int(lens.min())
    if lo < 0:
        raise ValueError(f"{name} must be >= 0, got {lens.tolist()}")
    if lo == 0 and not allow_empty:
        raise ValueError(f"empty sequence: {name} contains 0 ({lens.tolist()})")
    if int(lens.max()) > max_len:
        raise ValueError(f"{name} {lens.tolist()} exceed the padded length {max_len}")


def _check_tokens(tokens: torch.Tensor, token_lens: torch.Tensor,
                  vocab_size: Optional[int] = None, blank: Optional[int] = None) -> None:
    """Validate a padded token batch (padding may hold anything, e.g. -1).

    Args:
        tokens: (B, L) token ids.
        token_lens: (B,) lengths, each >= 1.
        vocab_size: Ids must be < this.
        blank: Id that must not occur in the valid part.
    """
    if tokens.dim() != 2:
        raise ValueError(f"tokens must be (B, L), got shape {tuple(tokens.shape)}")
    if tokens.is_floating_point():
        raise ValueError("tokens must be integer ids")
    _check_lengths("text lengths", token_lens, tokens.size(0), tokens.size(1))
    valid = _valid(token_lens, tokens.size(1))
    vals = tokens[valid]
    if vals.numel() and int(vals.min()) < 0:
        raise ValueError("token ids must be >= 0 inside the text lengths")
    if vocab_size is not None and vals.numel() and int(vals.max()) >= vocab_size:
        raise ValueError(f"token id {int(vals.max())} >= vocab size {vocab_size}")
    if blank is not None and bool((vals == blank).any()):
        raise ValueError(f"the text contains the blank id {blank}")


def _check_feats(feats: torch.Tensor, feat_lens: torch.Tensor) -> None:
    """Raise ValueError unless ``feats`` is (B, T, F) and ``feat_lens`` fits it.

    Args:
        feats: Padded features.
        feat_lens: (B,) lengths, each in [1, T].
    """
    if feats.dim() != 3:
        raise ValueError(f"feats must be (B, T, F), got shape {tuple(feats.shape)}")
    _check_lengths("feat_lens", feat_lens, feats.size(0), feats.size(1))


def _valid(lens: torch.Tensor, T: int) -> torch.Tensor:
    """Boolean (B, T) tensor, True where ``t < lens[b]``.

    Args:
        lens: (B,) lengths.
        T: Time dimension.
    """
    return torch.arange(T, device=lens.device)[None, :] < lens[:, None]


# ---------------------------------------------------------------------- durations


def upsample(x: torch.Tensor, durations: torch.Tensor,
             token_lens: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor]:
    """Repeat each token vector ``durations`` times (differentiable in ``x``).

    Args:
        x: (B, L, D) token-rate features.
        durations: (B, L) integer frames per token, >= 0 (a 0 drops the token).
        token_lens: Optional (B,) valid token counts; durations beyond them are
            ignored.

    Returns:
        (B, T, D) frames with ``T = max(frame_lens)``, zero at padding, and (B,)
        ``frame_lens = durations.sum(1)`` (over valid tokens).

    Raises:
        ValueError: Shapes disagree, durations are not integers or negative.
    """
    if x.dim() != 3:
        raise ValueError(f"x must be (B, L, D), got shape {tuple(x.shape)}")
    if durations.shape != x.shape[:2]:
        raise ValueError(f"durations {tuple(durations.shape)} do not match the tokens "
                         f"{tuple(x.shape[:2])}")
    if durations.is_floating_point():
        raise ValueError("durations must be integer frame counts")
    B, L, _ = x.shape
    durations = durations.to(x.device).long()
    if token_lens is not None:
        _check_lengths("token_lens", token_lens, B, L, allow_empty=True)
        durations = durations.masked_fill(~_valid(token_lens.to(x.device), L), 0)
    if durations.numel() and int(durations.min()) < 0:
        raise ValueError(f"durations must be >= 0, got a minimum of {int(durations.min())}")
    frame_lens = durations.sum(1)
    T = int(frame_lens.max()) if B else 0
    if T == 0 or L == 0:
        return x.new_zeros(B, T, x.size(2)), frame_lens
    ends = durations.cumsum(1)  # token l covers frames [ends[l] - d[l], ends[l])
    t = torch.arange(T, device=x.device).expand(B, T).contiguous()
    idx = torch.searchsorted(ends, t, right=True).clamp(max=L - 1)
    out = torch.gather(x, 1, idx[..., None].expand(B, T, x.size(2)))
    return out.masked_fill(~_valid(frame_lens, T)[..., None], 0.0), frame_lens


def fixed_durations(token_lens: torch.Tensor, max_len: int, repeat: int) -> torch.Tensor:
    """Every token lasts ``repeat`` frames (fixed repetition).

    Args:
        token_lens: (B,) valid token counts.
        max_len: Padded token length L.
        repeat: Frames per token (>= 1).

    Returns:
        (B, L) long durations, 0 at padding.
    """
    _check_int("repeat", repeat, 1)
    return _valid(token_lens, max_len).long() * repeat


def random_durations(token_lens: torch.Tensor, max_len: int, low: int, high: int,
                     generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Every token lasts a uniform random number of frames in ``[low, high]``.

    Args:
        token_lens: (B,) valid token counts.
        max_len: Padded token length L.
        low: Smallest duration (>= 1).
        high: Largest duration (>= low), inclusive.
        generator: Optional CPU generator.

    Returns:
        (B, L) long durations on ``token_lens.device``, 0 at padding.
    """
    _check_int("low", low, 1)
    _check_int("high", high, low)
    B = token_lens.size(0)
    d = torch.randint(low, high + 1, (B, max_len), generator=generator)
    d = d.to(token_lens.device)
    return d * _valid(token_lens, max_len).long()


def _uniform_durations(num_frames: int, num_tokens: int) -> List[int]:
    """Split ``num_frames`` as evenly as possible over ``num_tokens`` (sums exactly).

    Args:
        num_frames: Frames to distribute.
        num_tokens: Tokens (>= 1).
    """
    b = [(i * num_frames) // num_tokens for i in range(num_tokens + 1)]
    return [b[i + 1] - b[i] for i in range(num_tokens)]


def alignment_to_durations(path: Union[torch.Tensor, Sequence[int]], num_tokens: int,
                           blank: int = 0) -> List[int]:
    """Per-token durations from a frame-level CTC path; they sum to ``len(path)``.

    A token occupies the run of identical non-blank labels CTC emits for it
    (two occurrences of one label are two tokens only with a blank between
    them). Blank frames are then given to tokens so that every frame belongs
    to exactly one token and each token's frames are contiguous:

    * blanks before the first token go to the first token, blanks after the
      last token to the last token;
    * a run of ``g`` blanks between two tokens is split at its middle: the
      first ``g // 2`` frames go to the token on the left, the remaining
      ``g - g // 2`` (the extra one when ``g`` is odd) to the token on the right.

    Example: path ``_ a a _ b _ _ b`` (``_`` blank) for tokens ``a b b`` gives
    durations ``[3, 3, 2]``.

    Args:
        path: (T,) frame labels (e.g. ``torchaudio.functional.forced_align``'s).
        num_tokens: Tokens the path must contain (>= 1).
        blank: Blank id.

    Returns:
        ``num_tokens`` durations, each >= 1, summing to ``T``.

    Raises:
        ValueError: The path does not contain exactly ``num_tokens`` tokens.
    """
    labels = path.tolist() if isinstance(path, torch.Tensor) else list(path)
    first: List[int] = []
    last: List[int] = []
    prev = blank
    for t, c in enumerate(labels):
        if c != blank:
            if c != prev:
                first.append(t)
                last.append(t)
            else:
                last[-1] = t
        prev = c
    if len(first) != num_tokens or num_tokens == 0:
        raise ValueError(f"the alignment holds {len(first)} tokens, expected {num_tokens}")
    bounds = [0]
    for k in range(num_tokens - 1):
        gap = first[k + 1] - last[k] - 1
        bounds.append(last[k] + 1 + gap // 2)
    bounds.append(len(labels))
    return [bounds[k + 1] - bounds[k] for k in range(num_tokens)]


def ctc_durations(log_probs: torch.Tensor, input_lens: torch.Tensor, tokens: torch.Tensor,
                  token_lens: torch.Tensor, blank: int = 0,
                  uniform_fallback: bool = False) -> torch.Tensor:
    """Token durations (in frames) from CTC forced alignment.

    Each utterance is aligned with ``torchaudio.functional.forced_align`` (Viterbi
    over the CTC topology) on the columns of its own tokens only (so a large
    vocabulary costs nothing), then blank frames are assigned to tokens by the
    rule of :func:`alignment_to_durations`: durations are >= 1 and sum exactly to
    ``input_lens[b]``.

    Args:
        log_probs: (B, T, V) CTC log-probabilities (no gradient is taken).
        input_lens: (B,) valid frames.
        tokens: (B, L) token ids (padding arbitrary, e.g. -1).
        token_lens: (B,) token counts, each >= 1.
        blank: Blank id (must not occur in the text).
        uniform_fallback: For an utterance too short to align (fewer frames than
            tokens plus repeated neighbours), split its frames evenly over its
            tokens instead of raising.

    Returns:
        (B, L) long durations on ``log_probs.device``, 0 at padding.

    Raises:
        ValueError: Bad shapes / lengths, empty text, blank in the text, or (without
            ``uniform_fallback``) an utterance too short to align.
    """
    import torchaudio.functional as taF  # imported lazily: only this function needs it

    if log_probs.dim() != 3:
        raise ValueError(f"log_probs must be (B, T, V), got shape {tuple(log_probs.shape)}")
    B, T, V = log_probs.shape
    if tokens.dim() != 2 or tokens.size(0) != B:
        raise ValueError(f"tokens must be ({B}, L), got shape {tuple(tokens.shape)}")
    _check_lengths("input_lens", input_lens, B, T, allow_empty=True)
    _check_tokens(tokens, token_lens, V, blank)
    out = torch.zeros(B, tokens.size(1), dtype=torch.long)
    lp_all = log_probs.detach()
    for b in range(B):
        n, L = int(input_lens[b]), int(token_lens[b])
        tgt = tokens[b, :L].to(lp_all.device).long()
        repeats = int((tgt[1:] == tgt[:-1]).sum()) if L > 1 else 0
        if n < L + repeats:
            if not uniform_fallback:
                raise ValueError(f"utterance {b}: {n} frames cannot align {L} tokens "
                                 f"({repeats} repeated neighbours need a blank each)")
            out[b, :L] = torch.tensor(_uniform_durations(n, L))
            continue
        uniq, inv = torch.unique(tgt, return_inverse=True)
        cols = torch.cat([tgt.new_tensor([blank]), uniq])
        lp = lp_all[b, :n].index_select(1, cols).float().cpu()
        lp = lp.log_softmax(-1)  # renormalised over blank + its tokens: same Viterbi path
        path, _ = taF.forced_align(lp[None], (inv + 1).int().cpu()[None], blank=0)
        out[b, :L] = torch.tensor(alignment_to_durations(path[0], L, blank=0))
    return out.to(log_probs.device)


class DurationModel(nn.Module):
    """Predicts each token's log-duration (in encoder frames) from token embeddings.

    ``num_layers`` x (Conv1d over tokens, ReLU, LayerNorm, dropout), then a linear
    projection to one value per token. Trained with MSE on ``log(duration)``
    against forced-alignment durations of the paired data (:meth:`loss`).

    Args:
        input_dim: Token embedding dimension.
        hidden_dim: Convolution width (None: ``input_dim``).
        kernel_size: Convolution kernel over tokens (odd).
        num_layers: Convolution layers.
        dropout_rate: Dropout after each layer.
    """

    def __init__(self, input_dim: int, hidden_dim: Optional[int] = None, kernel_size: int = 3,
                 num_layers: int = 2, dropout_rate: float = 0.1) -> None:
        super().__init__()
        _check_int("input_dim", input_dim, 1)
        hidden_dim = input_dim if hidden_dim is None else hidden_dim
        _check_int("hidden_dim", hidden_dim, 1)
        _check_int("num_layers", num_layers, 1)
        if kernel_size < 1 or kernel_size % 2 != 1:
            raise ValueError(f"kernel_size must be odd and >= 1, got {kernel_size}")
        self.convs = nn.ModuleList(
            nn.Conv1d(input_dim if i == 0 else hidden_dim, hidden_dim, kernel_size,
                      padding=kernel_size // 2) for i in range(num_layers))
        self.norms = nn.ModuleList(nn.LayerNorm(hidden_dim) for _ in range(num_layers))
        self.dropout = nn.Dropout(dropout_rate)
        self.proj = nn.Linear(hidden_dim, 1)

    def forward(self, x: torch.Tensor, token_lens: torch.Tensor) -> torch.Tensor:
        """Predict log-durations.

        Args:
            x: (B, L, D) token embeddings.
            token_lens: (B,) valid token counts.

        Returns:
            (B, L) predicted ``log(duration)``, 0 at padding.
        """
        valid = _valid(token_lens.to(x.device), x.size(1))
        h = x
        for conv, norm in zip(self.convs, self.norms):
            h = h.masked_fill(~valid[..., None], 0.0)
            h = self.dropout(norm(F.relu(conv(h.transpose(1, 2)).transpose(1, 2))))
        return self.proj(h).squeeze(-1).masked_fill(~valid, 0.0)

    @staticmethod
    def loss(log_pred: torch.Tensor, durations: torch.Tensor,
             token_lens: torch.Tensor) -> torch.Tensor:
        """MSE between predicted and target log-durations over valid tokens.

        Tokens with a target duration of 0 (possible only with the uniform
        fallback of :func:`ctc_durations`) are left out.

        Args:
            log_pred: (B, L) predictions of :meth:`forward`.
            durations: (B, L) integer target durations.
            token_lens: (B,) valid token counts.

        Returns:
            Scalar loss (0 with a graph if no token is usable).
        """
        if log_pred.shape != durations.shape:
            raise ValueError(f"log_pred {tuple(log_pred.shape)} and durations "
                             f"{tuple(durations.shape)} differ in shape")
        sel = _valid(token_lens.to(log_pred.device), log_pred.size(1)) & (durations > 0)
        if not bool(sel.any()):
            return log_pred.sum() * 0.0
        target = durations[sel].float().log()
        return F.mse_loss(log_pred[sel].float(), target)

    @staticmethod
    def to_durations(log_pred: torch.Tensor, token_lens: torch.Tensor, min_duration: int = 1,
                     max_duration: Optional[int] = None) -> torch.Tensor:
        """Round predicted log-durations to integer frame counts.

        Args:
            log_pred: (B, L) predicted log-durations.
            token_lens: (B,) valid token counts.
            min_duration: Lower clamp (>= 1).
            max_duration: Optional upper clamp.

        Returns:
            (B, L) long durations, 0 at padding.
        """
        _check_int("min_duration", min_duration, 1)
        d = log_pred.detach().float().exp().round().clamp(min=min_duration)
        if max_duration is not None:
            d = d.clamp(max=max_duration)
        return d.long() * _valid(token_lens.to(d.device), d.size(1)).long()


# ----------------------------------------------------------------------- text side


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
        _check_int("vocab_size", vocab_size, 2)
        _check_int("dim", dim, 1)
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
        _check_tokens(tokens, token_lens, self.vocab_size)
        valid = _valid(token_lens.to(tokens.device), tokens.size(1))
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
        valid = _valid(frame_lens, x.size(1))
        if frame_mask is not None:
            if frame_mask.shape != valid.shape:
                raise ValueError(f"frame_mask {tuple(frame_mask.shape)} does not match the "
                                 f"upsampled frames {tuple(valid.shape)}")
            m = frame_mask.to(x.device) & valid
            x = torch.where(m[..., None], self.mask_embedding.to(x.dtype), x)
        x = self.block(x, valid, attention_type="global")
        return x.masked_fill(~valid[..., None], 0.0), frame_lens


# ------------------------------------------------------------------- encoder split


@dataclass
class _Hidden:
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


def _encoder_kind(encoder: nn.Module) -> str:
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


def _blocks(encoder: nn.Module, kind: str) -> List[nn.Module]:
    """The encoder's Conformer blocks in order."""
    return list(encoder.blocks if kind == "chunk" else encoder.encoders)


def _pos_enc(encoder: nn.Module) -> Optional[nn.Module]:
    """The positional-encoding module inside an ESPnet encoder's ``embed``, if any."""
    found = None
    for m in encoder.embed.modules():
        name = type(m).__name__
        if name.endswith("PositionalEncoding") or name.endswith("PositionalEmbedding"):
            found = m
    return found


def _front(encoder: nn.Module, kind: str, xs: torch.Tensor, ilens: torch.Tensor) -> _Hidden:
    """Run the encoder's input layer (subsampling) only.

    Args:
        encoder: The ASR encoder.
        kind: ``_encoder_kind(encoder)``.
        xs: (B, T, F) features.
        ilens: (B,) lengths.
    """
    if kind == "chunk":
        if xs.size(1) < 7:
            raise ValueError(f"{xs.size(1)} frames are too short for 4x subsampling (need 7)")
        x, _ = encoder.embed(xs)
        olens = encoder.embed.out_lengths(ilens).clamp(min=0)
        return _Hidden(encoder.drop(x), olens, valid=_valid(olens, x.size(1)))
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
    return _Hidden(x, masks.squeeze(1).sum(1), masks=masks, pos_emb=pos)


def _from_features(encoder: nn.Module, kind: str, x: torch.Tensor,
                   lens: torch.Tensor) -> _Hidden:
    """Wrap encoder-rate features (the text encoder's) as a hidden state.

    Args:
        encoder: The ASR encoder.
        kind: ``_encoder_kind(encoder)``.
        x: (B, T, D) features.
        lens: (B,) lengths.
    """
    if kind == "chunk":
        return _Hidden(x, lens, valid=_valid(lens, x.size(1)))
    masks = (~make_pad_mask(lens, maxlen=x.size(1))[:, None, :]).to(x.device)
    pos = None
    pe = _pos_enc(encoder)
    if pe is not None:
        out = pe(x)  # relative encodings return (scaled x, pos_emb): keep pos_emb only
        if isinstance(out, tuple):
            pos = out[1]
    return _Hidden(x, lens, masks=masks, pos_emb=pos)


def _run_blocks(encoder: nn.Module, kind: str, h: _Hidden, start: int,
                end: Optional[int] = None) -> _Hidden:
    """Run blocks ``start:end`` of the encoder on a hidden state.

    Args:
        encoder: The ASR encoder.
        kind: ``_encoder_kind(encoder)``.
        h: Hidden state.
        start: First block.
        end: One past the last block (None: to the end).
    """
    blocks = _blocks(encoder, kind)[start:end]
    if kind == "chunk":
        x = h.x
        att = encoder.attention_kwargs()
        for block in blocks:
            x = block(x, h.valid, **att)
        return _Hidden(x, h.lens, valid=h.valid)
    x, masks = h.x, h.masks
    for layer in blocks:
        out, masks = layer((x, h.pos_emb) if h.pos_emb is not None else x, masks)
        x = out[0] if isinstance(out, tuple) else out
    return _Hidden(x, h.lens, masks=masks, pos_emb=h.pos_emb)


def _finish(encoder: nn.Module, kind: str, h: _Hidden) -> Tuple[torch.Tensor, torch.Tensor]:
    """The encoder's output processing after its last block.

    Args:
        encoder: The ASR encoder.
        kind: ``_encoder_kind(encoder)``.
        h: Hidden state after the last block.

    Returns:
        (B, T, D) output and (B,) lengths, as ``encoder.forward`` returns them.
    """
    if kind == "chunk":
        return h.x.masked_fill(~h.valid[..., None], 0.0), h.lens
    x = encoder.after_norm(h.x) if encoder.normalize_before else h.x
    return x, h.masks.squeeze(1).sum(1)


def _distance(a: torch.Tensor, b: torch.Tensor, valid: torch.Tensor, kind: str) -> torch.Tensor:
    """Mean distance between frames of ``a`` and ``b`` where ``valid``.

    Args:
        a, b: (B, T, D).
        valid: (B, T) bool.
        kind: ``mse``, ``l1`` or ``cosine`` (1 - cosine similarity).
    """
    a, b = a[valid].float(), b[valid].float()
    if a.numel() == 0:
        return a.sum() * 0.0
    if kind == "mse":
        return F.mse_loss(a, b)
    if kind == "l1":
        return F.l1_loss(a, b)
    return (1.0 - F.cosine_similarity(a, b, dim=-1)).mean()


# --------------------------------------------------------------------------- model


class MOSTModel(nn.Module):
    """MOST around one ASR encoder: BEST-RQ + CTC + consistency + text reconstruction.

    Submodules (their names are what checkpoints see):

    * ``encoder`` -- the ASR encoder, split into speech encoder
      (``embed`` + first ``speech_encoder_layers`` blocks) and shared encoder
      (the other blocks); see the module docstring.
    * ``quantizer``, ``loss_fn`` -- BEST-RQ's frozen quantizer and softmax heads,
      named as in ``ESPnetBestRQModel`` so its checkpoint loads as is.
    * ``ctc`` -- ESPnet's CTC head (the "decoder"; starts random).
    * ``text_encoder`` -- :class:`TextEncoder` (with its duration model).

    Args:
        encoder: ``ConformerEncoder`` (``usm_conformer``) or ``ChunkConformerEncoder``.
        input_size: Feature dimension entering the encoder (for the quantizer).
        vocab_size: Token inventory, blank (id ``config.blank_id``) included.
        config: Hyper-parameters.
        text_encoder: Optional prebuilt text encoder (default: from ``config``).
    """

    def __init__(self, encoder: nn.Module, input_size: int, vocab_size: int,
                 config: MOSTConfig = MOSTConfig(),
                 text_encoder: Optional[TextEncoder] = None) -> None:
        super().__init__()
        self._kind = _encoder_kind(encoder)
        _check_int("input_size", input_size, 1)
        _check_int("vocab_size", vocab_size, 2)
        n_blocks = len(_blocks(encoder, self._kind))
        if config.speech_encoder_layers >= n_blocks:
            raise ValueError(f"speech_encoder_layers ({config.speech_encoder_layers}) must be "
                             f"< the encoder's {n_blocks} blocks (the shared encoder needs one)")
        if config.blank_id >= vocab_size:
            raise ValueError(f"blank_id {config.blank_id} >= vocab_size {vocab_size}")
        self.config = config
        self.vocab_size = vocab_size
        self.encoder = encoder
        D = encoder.output_size()
        self.stack = subsampling_factor(encoder, input_size)
        bq = config.bestrq
        self.quantizer = RandomProjectionQuantizer(
            input_size, self.stack, num_quantizers=bq.num_quantizers,
            codebook_size=bq.codebook_size, codebook_dim=bq.codebook_dim, seed=bq.seed)
        self.loss_fn = BestRQLoss(D, bq.num_quantizers, bq.codebook_size)
        self.ctc = CTC(vocab_size, D, dropout_rate=config.ctc_dropout_rate)
        if text_encoder is None:
            text_encoder = TextEncoder(
                vocab_size, D,
                attention_heads=config.text_attention_heads or self._encoder_heads(),
                linear_units=config.text_linear_units,
                cnn_module_kernel=config.text_cnn_module_kernel,
                dropout_rate=config.text_dropout_rate,
                duration_hidden=config.duration_hidden,
                duration_kernel=config.duration_kernel,
                duration_layers=config.duration_layers)
        if text_encoder.output_size() != D or text_encoder.vocab_size != vocab_size:
            raise ValueError(f"text encoder (dim {text_encoder.output_size()}, vocab "
                             f"{text_encoder.vocab_size}) does not match (dim {D}, vocab "
                             f"{vocab_size})")
        self.text_encoder = text_encoder
        # Masking / random-duration RNG: not part of the state_dict; seeded.
        self._generator = torch.Generator().manual_seed(config.seed)

    # -- structure -------------------------------------------------------------

    def _encoder_heads(self) -> int:
        """Attention heads of the encoder's blocks."""
        first = _blocks(self.encoder, self._kind)[0]
        return int(first.att.heads if self._kind == "chunk" else first.self_attn.h)

    def text_stream_enabled(self, step: int) -> bool:
        """Whether the unspoken-text stream is trained at ``step`` (the schedule).

        Args:
            step: Global optimiser step (0-based).
        """
        return self.config.text_stream_enabled(step)

    def parameter_groups(self) -> Dict[str, List[nn.Parameter]]:
        """Trainable parameters by part (for tests, freezing or per-part learning rates).

        Returns:
            ``speech_encoder`` (subsampling + first blocks), ``shared_encoder``
            (other blocks, final norm), ``text_encoder`` (without its duration
            model), ``duration_model``, ``ctc`` and ``bestrq_heads``.
        """
        k = self.config.speech_encoder_layers
        block_prefix = "blocks." if self._kind == "chunk" else "encoders."
        groups: Dict[str, List[nn.Parameter]] = {
            "speech_encoder": [], "shared_encoder": [], "text_encoder": [],
            "duration_model": [], "ctc": list(self.ctc.parameters()),
            "bestrq_heads": list(self.loss_fn.parameters())}
        for name, p in self.encoder.named_parameters():
            speech = name.startswith("embed.")
            if name.startswith(block_prefix):
                speech = int(name[len(block_prefix):].split(".")[0]) < k
            groups["speech_encoder" if speech else "shared_encoder"].append(p)
        for name, p in self.text_encoder.named_parameters():
            dur = name.startswith("duration_model.")
            groups["duration_model" if dur else "text_encoder"].append(p)
        return groups

    def load_best_rq(self, state_dict: Mapping[str, torch.Tensor]) -> None:
        """Initialise encoder, quantizer and BEST-RQ heads from a BEST-RQ checkpoint.

        Args:
            state_dict: ``ESPnetBestRQModel`` (or :class:`~usm_espnet.ssl.best_rq.BestRQ`)
                state_dict; its ``encoder.*``, ``quantizer.*`` and ``loss_fn.*`` entries
                are loaded strictly, anything else (e.g. ``normalize.*``) is ignored.

        Raises:
            ValueError: A part is missing from the checkpoint.
            RuntimeError: Shapes / names do not match (``load_state_dict``'s error).
        """
        for part in ("encoder", "quantizer", "loss_fn"):
            prefix = part + "."
            sub = {k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix)}
            if not sub:
                raise ValueError(f"the BEST-RQ checkpoint has no '{prefix}*' entries")
            getattr(self, part).load_state_dict(sub, strict=True)

    # -- encoder passes --------------------------------------------------------

    def speech_encode(self, feats: torch.Tensor, feat_lens: torch.Tensor) -> _Hidden:
        """Speech encoder: subsampling + the first ``speech_encoder_layers`` blocks.

        Args:
            feats: (B, T, F) features.
            feat_lens: (B,) lengths.

        Returns:
            Hidden state at the shared encoder's input (``.x``: (B, T', D)).
        """
        _check_feats(feats, feat_lens)
        h = _front(self.encoder, self._kind, feats, feat_lens)
        return _run_blocks(self.encoder, self._kind, h, 0, self.config.speech_encoder_layers)

    def shared_encode(self, h: _Hidden) -> Tuple[torch.Tensor, torch.Tensor]:
        """Shared encoder: the remaining blocks and the encoder's output norm.

        Args:
            h: Hidden state from :meth:`speech_encode` or :meth:`text_hidden`.

        Returns:
            (B, T', D) encoder output and (B,) lengths.
        """
        h = _run_blocks(self.encoder, self._kind, h, self.config.speech_encoder_layers)
        return _finish(self.encoder, self._kind, h)

    def text_hidden(self, x: torch.Tensor, lens: torch.Tensor) -> _Hidden:
        """Wrap text-encoder output as the shared encoder's input.

        Args:
            x: (B, T, D) text-encoder features.
            lens: (B,) frame lengths.
        """
        return _from_features(self.encoder, self._kind, x, lens)

    def text_durations(self, tokens: torch.Tensor, token_lens: torch.Tensor,
                       generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """Durations for unspoken text by ``config.duration_mode``.

        Args:
            tokens: (B, L) ids.
            token_lens: (B,) token counts.
            generator: CPU generator for ``random`` mode.

        Returns:
            (B, L) long durations, 0 at padding.
        """
        c = self.config
        if c.duration_mode == "fixed":
            return fixed_durations(token_lens, tokens.size(1), c.fixed_duration)
        if c.duration_mode == "random":
            return random_durations(token_lens, tokens.size(1), *c.random_duration,
                                    generator=generator)
        with torch.no_grad():
            log_d = self.text_encoder.predict_log_durations(tokens, token_lens)
        return DurationModel.to_durations(log_d, token_lens, c.min_duration, c.max_duration)

    # -- losses ----------------------------------------------------------------

    def bestrq_loss(self, feats: torch.Tensor, feat_lens: torch.Tensor,
                    generator: Optional[torch.Generator] = None
                    ) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
        """BEST-RQ on untranscribed speech, on the full (speech + shared) encoder output.

        Args:
            feats: (B, T, F) features.
            feat_lens: (B,) lengths.
            generator: CPU generator for masks and noise.

        Returns:
            Loss and ``BestRQLoss`` stats.
        """
        _check_feats(feats, feat_lens)
        bq = self.config.bestrq
        mask = compute_mask(feat_lens, feats.size(1), bq.mask_prob, bq.mask_span, generator)
        enc_mask = mask_to_encoder_rate(mask, self.stack)
        labels, _ = self.quantizer(feats, feat_lens, select=enc_mask)  # masked frames only
        masked = apply_mask(feats, mask, bq.noise_std, generator)
        enc, enc_lens = self.shared_encode(self.speech_encode(masked, feat_lens))
        return self.loss_fn(enc, enc_lens, labels, enc_mask)

    def paired_losses(self, feats: torch.Tensor, feat_lens: torch.Tensor,
                      text: torch.Tensor, text_lens: torch.Tensor,
                      durations: Optional[torch.Tensor] = None, aligned: bool = True,
                      stats: Optional[Dict[str, torch.Tensor]] = None) -> Dict[str, torch.Tensor]:
        """ASR (CTC), consistency and duration losses on transcribed speech.

        The durations (unless given) come from forced alignment of the CTC head's
        own output on this batch (no gradient); they upsample the text encoder to
        the speech encoder's frame count. Consistency compares the upsampled
        text-encoder output with the DETACHED speech-encoder output, so it only
        trains the text encoder.

        Args:
            feats: (B, T, F) features.
            feat_lens: (B,) lengths.
            text: (B, L) token ids (padding arbitrary, ESPnet uses -1).
            text_lens: (B,) token counts, each >= 1.
            durations: Optional (B, L) alignment durations in encoder frames;
                each row must sum to the utterance's encoder frames.
            aligned: False while the CTC alignments are not usable yet (see
                ``MOSTConfig.align_max_cer``): only the CTC loss is computed.
            stats: When given, gets ``paired_cer``: the greedy CER of the CTC head
                on the batch's first 8 utterances.

        Returns:
            ``{"asr", "consistency", "duration"}`` scalar losses (``asr`` only when
            both the consistency and duration weights are 0 and no durations are
            given, or when not ``aligned``: the alignment is then skipped).
        """
        _check_tokens(text, text_lens, self.vocab_size, self.config.blank_id)
        if text.size(0) != feats.size(0):
            raise ValueError(f"{feats.size(0)} utterances but {text.size(0)} transcripts")
        h = self.speech_encode(feats, feat_lens)
        enc, enc_lens = self.shared_encode(h)
        text_lens = text_lens.to(enc.device)
        losses = {"asr": self.ctc(enc, enc_lens, text.to(enc.device), text_lens)}
        c = self.config
        if stats is not None:
            stats["paired_cer"] = greedy_cer(self.ctc.argmax(enc.detach()), enc_lens, text,
                                             text_lens, blank=c.blank_id)
        if not aligned or (c.consistency_weight == 0 and c.duration_weight == 0
                           and durations is None):
            return losses  # nothing needs the alignment (yet): skip it
        if durations is None:
            with torch.no_grad():
                durations = ctc_durations(self.ctc.log_softmax(enc.detach()), enc_lens, text,
                                          text_lens, blank=c.blank_id, uniform_fallback=True)
        else:
            if durations.shape != text.shape:
                raise ValueError(f"durations {tuple(durations.shape)} do not match the text "
                                 f"{tuple(text.shape)}")
            durations = durations.to(enc.device).long() * _valid(text_lens, text.size(1)).long()
            if not torch.equal(durations.sum(1), enc_lens):
                raise ValueError(f"durations sum to {durations.sum(1).tolist()}, the encoder "
                                 f"has {enc_lens.tolist()} frames")
        t_out, t_lens = self.text_encoder(text, text_lens, durations)
        T = t_out.size(1)
        speech = h.x[:, :T].detach()  # the speech encoder is frozen for this loss
        losses["consistency"] = _distance(t_out, speech, _valid(t_lens, T),
                                          c.consistency_distance)
        log_d = self.text_encoder.predict_log_durations(text, text_lens)
        losses["duration"] = DurationModel.loss(log_d, durations, text_lens)
        return losses

    def text_reconstruction_loss(self, text: torch.Tensor, text_lens: torch.Tensor,
                                 generator: Optional[torch.Generator] = None
                                 ) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
        """Unspoken text: upsample, mask spans, shared encoder, CTC back to the text.

        Args:
            text: (B, L) token ids.
            text_lens: (B,) token counts, each >= 1.
            generator: CPU generator for masks and random durations.

        Returns:
            CTC loss and stats (``text_masked_fraction``).
        """
        c = self.config
        _check_tokens(text, text_lens, self.vocab_size, c.blank_id)
        durations = self.text_durations(text, text_lens, generator)
        frame_lens = durations.sum(1)
        T = int(frame_lens.max())
        mask = compute_mask(frame_lens, T, c.text_mask_prob, c.text_mask_span, generator)
        t_out, t_lens = self.text_encoder(text, text_lens, durations, mask)
        enc, enc_lens = self.shared_encode(self.text_hidden(t_out, t_lens))
        loss = self.ctc(enc, enc_lens, text.to(enc.device), text_lens.to(enc.device))
        frac = mask.sum().float() / frame_lens.sum().clamp(min=1).float()
        return loss, {"text_masked_fraction": frac.detach()}

    def forward(self, batch: Mapping[str, Mapping[str, torch.Tensor]],
                step: Optional[int] = None, generator: Optional[torch.Generator] = None,
                aligned: bool = True) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
        """One MOST step on whichever streams the batch holds.

        Args:
            batch: Any of
                ``"speech": {"feats", "feat_lens"}`` (untranscribed),
                ``"paired": {"feats", "feat_lens", "text", "text_lens"[, "durations"]}``,
                ``"text": {"text", "text_lens"}`` (unspoken).
            step: Global step; when given, the text stream is skipped while
                :meth:`text_stream_enabled` is False.
            generator: CPU generator for masks / random durations (default: the
                model's own seeded one).
            aligned: False while the CTC alignments are not usable (see
                ``MOSTConfig.align_max_cer``): no consistency, duration or text loss.

        Returns:
            Weighted total loss and stats: ``loss`` and ``loss_<name>`` for each
            computed loss (``bestrq``, ``asr``, ``consistency``, ``duration``,
            ``text_recon``), ``bestrq_acc``, ``text_masked_fraction``.

        Raises:
            ValueError: Unknown or no streams, or bad inputs.
        """
        unknown = set(batch) - set(STREAMS)
        if unknown:
            raise ValueError(f"unknown streams {sorted(unknown)}; expected some of {STREAMS}")
        gen = self._generator if generator is None else generator
        c = self.config
        losses: Dict[str, torch.Tensor] = {}
        stats: Dict[str, torch.Tensor] = {}
        if SPEECH in batch:
            s = batch[SPEECH]
            losses["bestrq"], st = self.bestrq_loss(s["feats"], s["feat_lens"], gen)
            stats["bestrq_acc"] = st["acc"]
        if PAIRED in batch:
            p = batch[PAIRED]
            losses.update(self.paired_losses(p["feats"], p["feat_lens"], p["text"],
                                             p["text_lens"], p.get("durations"), aligned,
                                             stats))
        if TEXT in batch and aligned and (step is None or self.text_stream_enabled(step)):
            t = batch[TEXT]
            losses["text_recon"], st = self.text_reconstruction_loss(t["text"], t["text_lens"],
                                                                      gen)
            stats.update(st)
        if not losses:
            raise ValueError("the batch holds no stream to train on")
        weights = {"bestrq": c.bestrq_weight, "asr": c.asr_weight,
                   "consistency": c.consistency_weight, "duration": c.duration_weight,
                   "text_recon": c.text_recon_weight}
        total = sum(weights[k] * v for k, v in losses.items())
        for k, v in losses.items():
            stats[f"loss_{k}"] = v.detach()
        stats["loss"] = total.detach()
        return total, stats


# -------------------------------------------------------------------- stream mixer


class StreamMixer:
    """Deterministic per-step batches of ids from several streams, at fixed ratios.

    Every step takes ``batch_sizes[s]`` ids from each active stream ``s``. A
    stream walks through its ids in a per-epoch shuffled order (epoch ``e`` of
    stream ``s`` is shuffled with ``random.Random(f"{seed}/{s}/{e}")``) and
    wraps into the next epoch inside a batch when needed, so every id is used
    once per epoch and the batch for a step depends only on (seed, step):
    :meth:`batch` is random-access, which makes resuming trivial.

    A stream is inactive before its start step (MOST: unspoken text before
    ``text_start_step``); its position counts only active steps.

    Args:
        ids: Stream name -> its utterance / sentence ids.
        batch_sizes: Stream name -> ids per step (0 or missing: stream unused).
        seed: Shuffling seed.
        start_steps: Stream name -> first active step (default 0).
        shuffle: Shuffle each epoch (False: ids in the given order).
    """

    def __init__(self, ids: Mapping[str, Sequence[str]], batch_sizes: Mapping[str, int],
                 seed: int = 0, start_steps: Optional[Mapping[str, int]] = None,
                 shuffle: bool = True) -> None:
        unknown = set(batch_sizes) - set(ids)
        if unknown:
            raise ValueError(f"batch sizes given for streams without ids: {sorted(unknown)}")
        start_steps = dict(start_steps or {})
        self.seed = int(seed)
        self.shuffle = shuffle
        self._ids: Dict[str, List[str]] = {}
        self.batch_sizes: Dict[str, int] = {}
        self.start_steps: Dict[str, int] = {}
        for name, stream_ids in ids.items():
            size = batch_sizes.get(name, 0)
            _check_int(f"batch size of {name!r}", size, 0)
            if size == 0:
                continue
            stream_ids = list(stream_ids)
            if not stream_ids:
                raise ValueError(f"stream {name!r} has batch size {size} but no ids")
            start = start_steps.get(name, 0)
            _check_int(f"start step of {name!r}", start, 0)
            self._ids[name] = stream_ids
            self.batch_sizes[name] = size
            self.start_steps[name] = start
        if not self._ids:
            raise ValueError("no stream has ids and a positive batch size")
        self._perm_cache: Dict[Tuple[str, int], List[int]] = {}

    @classmethod
    def from_config(cls, config: MOSTConfig, ids: Mapping[str, Sequence[str]],
                    seed: int = 0, scale: float = 1.0) -> "StreamMixer":
        """Mixer with MOST's batch sizes (optionally scaled) and text warm-up.

        Args:
            config: MOST configuration.
            ids: ``{"speech": ..., "paired": ..., "text": ...}`` ids (missing or
                empty streams are left out).
            seed: Shuffling seed.
            scale: Batch-size scale (see :meth:`MOSTConfig.batch_sizes`).
        """
        present = {k: v for k, v in ids.items() if len(v) > 0}
        sizes = {k: v for k, v in config.batch_sizes(scale).items() if k in present}
        return cls(present, sizes, seed=seed, start_steps=config.start_steps())

    def _order(self, name: str, epoch: int) -> List[int]:
        """Index order of stream ``name`` in ``epoch`` (cached, a few epochs)."""
        key = (name, epoch)
        if key not in self._perm_cache:
            order = list(range(len(self._ids[name])))
            if self.shuffle:
                random.Random(f"{self.seed}/{name}/{epoch}").shuffle(order)
            if len(self._perm_cache) > 8:
                self._perm_cache.clear()
            self._perm_cache[key] = order
        return self._perm_cache[key]

    def batch(self, step: int) -> Dict[str, List[str]]:
        """Ids of every active stream at ``step``.

        Args:
            step: Global step (>= 0).

        Returns:
            Stream name -> ``batch_sizes[name]`` ids; inactive streams are absent.
        """
        _check_int("step", step, 0)
        out: Dict[str, List[str]] = {}
        for name, ids in self._ids.items():
            k = step - self.start_steps[name]
            if k < 0:
                continue
            size, n = self.batch_sizes[name], len(ids)
            pos = k * size
            picked = []
            for p in range(pos, pos + size):
                picked.append(ids[self._order(name, p // n)[p % n]])
            out[name] = picked
        return out

    def __iter__(self) -> Iterator[Dict[str, List[str]]]:
        """Endless batches from step 0 (use :meth:`iterate` to resume)."""
        return self.iterate(0)

    def iterate(self, start_step: int = 0,
                num_steps: Optional[int] = None) -> Iterator[Dict[str, List[str]]]:
        """Batches for ``start_step, start_step + 1, ...``.

        Args:
            start_step: First step.
            num_steps: How many (None: endless).
        """
        step = start_step
        while num_steps is None or step < start_step + num_steps:
            yield self.batch(step)
            step += 1
