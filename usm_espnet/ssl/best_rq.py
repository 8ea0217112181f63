"""BEST-RQ: BERT-based Speech pre-Training with Random-projection Quantizer.

Everything BEST-RQ needs lives in this file:

* :class:`BestRQConfig` -- the paper defaults, in one place.
* :class:`RandomProjectionQuantizer` -- frozen random projection(s) + random
  codebook(s) that turn stacked log-mel frames into discrete labels.
* :func:`compute_mask` / :func:`apply_mask` -- span masking with noise.
* :class:`BestRQLoss` -- N softmax heads, cross-entropy on masked frames.
* :class:`BestRQ` -- ties the above around any ESPnet-style encoder.

USM (arXiv 2303.01037) uses 16 independent quantizers ("multi-softmax");
the original BEST-RQ (arXiv 2202.01855) uses one (``num_quantizers=1``).

Where this implementation departs from (or fills gaps in) the papers:

* **Per-frame normalisation before the projection.** Each stacked frame is
  layer-normalised (no affine parameters) before the random projection; the
  features are also globally mean/variance normalised (``global_mvn``) upstream.
  BEST-RQ normalises the input features; the per-frame normalisation is ours, so
  that the cosine codes do not depend on loudness.
* **Masked fraction.** Spans of ``mask_span_ms`` (400 ms) start at each 10 ms frame
  with probability ``mask_prob`` (0.01), so about 1 - 0.99^40 = 33 % of the frames of
  a long utterance are masked; at an 8 ms hop the same settings mask about 39 %.
  Spans are counted in frames of the frontend's actual hop. The CPU-sized recipe
  configs (``egs/fleurs/asr1/conf/tuning/pretrain_best_rq_lowres.yaml``) use 80 ms
  spans at 0.02 (about 23 % masked in practice) for a 2.6M-parameter encoder and a
  few hundred steps: with the paper's 400 ms that model stayed at the label prior.
* **Audio without digital silence.** Exact silence (espeak-ng's stand-in speech)
  maps to one code, which makes a large share of the labels trivially predictable;
  the stand-ins for pre-training use ``--acoustics varied``
  (:data:`usm_espnet.standin.synth.ACOUSTICS`: noise floor, background noise, pauses).
* **SpecAugment after the labels.** Labels come from the clean, unmasked features;
  SpecAugment (if configured) is applied to the masked encoder input only. Time
  warping would shift frames against their labels, so it is refused in pre-training
  (``ESPnetBestRQModel`` raises ``ValueError``).
* **Only masked frames are quantized** (the loss uses nothing else), in bounded chunks;
  the logged ``codebook_perplexity`` is therefore that of the masked frames' labels.
* **Attention in pre-training.** USM pre-trains with local self-attention (128 frames
  left and right) and fine-tunes with 8 s chunks: ``conf/pretrain/best_rq_{0.6b,2b}.yaml``
  use ``chunk_conformer`` with ``attention_type: local`` and the matching
  ``conf/asr/*`` configs ``attention_type: chunk`` (same parameters, so the encoder
  loads unchanged).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, Optional, Protocol, Tuple

import torch
import torch.nn.functional as F
from torch import nn

#: Label value written at padded (invalid) frames.
IGNORE_LABEL = -1


@dataclass(frozen=True)
class BestRQConfig:
    """BEST-RQ / USM pre-training defaults.

    Args:
        num_quantizers: Independent quantizers / softmax heads (USM: 16,
            original BEST-RQ: 1).
        codebook_size: Entries per random codebook.
        codebook_dim: Dimension of the projected space / codebook vectors.
        mask_prob: Per-frame probability that a frame starts a masked span.
        mask_span_ms: Length of one masked span in milliseconds.
        noise_std: Standard deviation of the noise that replaces masked frames.
        frame_shift_ms: Feature frame shift, used to turn ``mask_span_ms``
            into frames.
        seed: Seed of the generator that draws projections and codebooks
            (and the default masking generator).
    """

    num_quantizers: int = 16
    codebook_size: int = 8192
    codebook_dim: int = 16
    mask_prob: float = 0.01
    mask_span_ms: float = 400.0
    noise_std: float = 0.1
    frame_shift_ms: float = 10.0
    seed: int = 0

    def __post_init__(self) -> None:
        check_int("num_quantizers", self.num_quantizers, 1)
        check_int("codebook_size", self.codebook_size, 2)
        check_int("codebook_dim", self.codebook_dim, 1)
        _check_prob(self.mask_prob)
        if self.noise_std < 0:
            raise ValueError(f"noise_std must be >= 0, got {self.noise_std}")
        if self.frame_shift_ms <= 0 or self.mask_span_ms <= 0:
            raise ValueError(
                "mask_span_ms and frame_shift_ms must be > 0, got "
                f"{self.mask_span_ms} and {self.frame_shift_ms}"
            )

    @property
    def mask_span(self) -> int:
        """Masked span length in frames (at least 1)."""
        return max(1, int(round(self.mask_span_ms / self.frame_shift_ms)))


def check_int(name: str, value: int, minimum: int) -> None:
    """Raise ValueError unless ``value`` is an int >= ``minimum``.

    Args:
        name: Option name used in the message.
        value: Value to check.
        minimum: Smallest allowed value.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def _check_prob(mask_prob: float) -> None:
    """Raise ValueError unless ``0 <= mask_prob <= 1``.

    Args:
        mask_prob: Probability to check.
    """
    if not 0.0 <= float(mask_prob) <= 1.0:
        raise ValueError(f"mask_prob must be in [0, 1], got {mask_prob!r}")


def _lengths_to_valid(lens: torch.Tensor, T: int) -> torch.Tensor:
    """Boolean (B, T) tensor, True where ``t < lens[b]``.

    Args:
        lens: (B,) lengths.
        T: Time dimension.
    """
    return torch.arange(T, device=lens.device)[None, :] < lens[:, None]


def stack_frames(
    feats: torch.Tensor, lens: torch.Tensor, stack: int
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Stack ``stack`` consecutive frames into one, dropping the remainder.

    Args:
        feats: (B, T, F) features.
        lens: (B,) valid lengths in frames.
        stack: Frames per stacked frame (the encoder's subsampling factor).

    Returns:
        (B, T // stack, F * stack) stacked features and (B,) lengths
        ``lens // stack`` (a trailing partial group is dropped).
    """
    check_int("stack", stack, 1)
    B, T, Fd = feats.shape
    Ts = T // stack
    out = feats[:, : Ts * stack].reshape(B, Ts, Fd * stack)
    return out, torch.div(lens, stack, rounding_mode="floor")


#: Input lengths probed by :func:`subsampling_factor`; multiples of 4, 6 and 8.
_PROBE_LENGTHS = (480, 960)


@torch.no_grad()
def subsampling_factor(encoder: nn.Module, input_size: int) -> int:
    """Measure an encoder's time subsampling (input frames per output frame).

    The factor is read off the encoder itself, never configured: its input
    layer (``encoder.embed`` for ESPnet's Conformer / Transformer /
    E-Branchformer) or, without one, the whole encoder is run on two lengths
    and the factor is the ratio of the length differences, which is exact for
    strided convolutions (``conv2d`` 4, ``conv2d6`` 6, ``conv2d8`` 8, ``linear``
    1) whatever their edge effects.

    Args:
        encoder: ESPnet-style encoder.
        input_size: Feature dimension it expects.

    Returns:
        The integer subsampling factor (>= 1).

    Raises:
        ValueError: The measured ratio is not a positive integer.
    """
    embed = getattr(encoder, "embed", None)
    was_training = encoder.training
    encoder.eval()
    try:
        param = next(encoder.parameters(), None)
        dev = param.device if param is not None else torch.device("cpu")
        dtype = param.dtype if param is not None and param.is_floating_point() else torch.float32
        outs = []
        for T in _PROBE_LENGTHS:
            x = torch.zeros(1, T, input_size, device=dev, dtype=dtype)
            if embed is not None:
                try:
                    y = embed(x, None)  # ESPnet's subsampling modules take (x, mask)
                except TypeError:
                    y = embed(x)  # e.g. the torch.nn.Sequential of input_layer "linear"
                while isinstance(y, (tuple, list)):
                    y = y[0]
                outs.append(int(y.size(1)))
            else:
                _, olens, _ = encoder(x, torch.tensor([T], device=dev))
                outs.append(int(olens[0]))
    finally:
        encoder.train(was_training)
    d_in = _PROBE_LENGTHS[1] - _PROBE_LENGTHS[0]
    d_out = outs[1] - outs[0]
    if d_out <= 0 or d_in % d_out:
        raise ValueError(
            f"cannot derive a subsampling factor: inputs {_PROBE_LENGTHS} gave outputs {outs}"
        )
    return d_in // d_out


class RandomProjectionQuantizer(nn.Module):
    """Frozen random-projection quantizer(s) producing BEST-RQ targets.

    Each stacked frame is normalised (layer-norm without affine parameters),
    projected by N independent Xavier-initialised matrices to
    ``codebook_dim``, L2-normalised, and assigned the index of the most
    cosine-similar vector of the corresponding random, L2-normalised codebook.

    Projections and codebooks are persistent buffers: they are drawn once at
    construction from a ``torch.Generator`` seeded with ``seed`` and saved in
    the state_dict; ``load_state_dict`` restores them exactly.

    Args:
        feature_dim: Feature dimension F of one input frame.
        stack: Frames stacked per label (the encoder's subsampling factor).
        num_quantizers: Number N of independent quantizers.
        codebook_size: Entries per codebook.
        codebook_dim: Projected / codebook dimension.
        seed: Generator seed for projections and codebooks.
    """

    projections: torch.Tensor
    codebooks: torch.Tensor

    def __init__(
        self,
        feature_dim: int,
        stack: int,
        num_quantizers: int = BestRQConfig.num_quantizers,
        codebook_size: int = BestRQConfig.codebook_size,
        codebook_dim: int = BestRQConfig.codebook_dim,
        seed: int = BestRQConfig.seed,
    ) -> None:
        super().__init__()
        check_int("feature_dim", feature_dim, 1)
        check_int("stack", stack, 1)
        check_int("num_quantizers", num_quantizers, 1)
        check_int("codebook_size", codebook_size, 2)
        check_int("codebook_dim", codebook_dim, 1)
        self.feature_dim = feature_dim
        self.stack = stack
        self.num_quantizers = num_quantizers
        self.codebook_size = codebook_size
        self.codebook_dim = codebook_dim
        in_dim = feature_dim * stack
        self.input_dim = in_dim

        gen = torch.Generator().manual_seed(int(seed))
        # Xavier-uniform: U(-a, a), a = sqrt(6 / (fan_in + fan_out)).
        bound = math.sqrt(6.0 / (in_dim + codebook_dim))
        proj = (
            torch.rand(num_quantizers, in_dim, codebook_dim, generator=gen) * 2 - 1
        ) * bound
        codebooks = F.normalize(
            torch.randn(num_quantizers, codebook_size, codebook_dim, generator=gen),
            dim=-1,
        )
        self.register_buffer("projections", proj, persistent=True)
        self.register_buffer("codebooks", codebooks, persistent=True)

    def extra_repr(self) -> str:
        """Short description for ``print(module)``."""
        return (
            f"input_dim={self.input_dim}, stack={self.stack}, "
            f"num_quantizers={self.num_quantizers}, "
            f"codebook_size={self.codebook_size}, codebook_dim={self.codebook_dim}"
        )

    #: Frames whose code similarities are computed at once per quantizer: bounds the
    #: quantizer's temporary memory to rows x codebook_size fp32 values (128 MB at 8192 codes).
    chunk_rows: int = 4096

    @torch.no_grad()
    def forward(
        self, feats: torch.Tensor, feat_lens: torch.Tensor, select: Optional[torch.Tensor] = None
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Compute labels for (unmasked) features.

        Only the frames the loss needs are quantized: valid (not padding) frames, and of
        those only ``select``'s when it is given (BEST-RQ's masked frames). The projection
        and code search run one quantizer and at most :attr:`chunk_rows` frames at a time,
        so the temporary memory is bounded whatever the batch (a dense frames x N x codes
        similarity tensor would be about 12 GB at the 0.6B config's batch).

        Args:
            feats: (B, T, F) features.
            feat_lens: (B,) valid lengths.
            select: Optional (B, >= T // stack) bool at the label rate; frames outside it
                get ``IGNORE_LABEL``.

        Returns:
            labels: (B, T // stack, N) long; ``IGNORE_LABEL`` (-1) at padding and at
            frames not selected.
            label_lens: (B,) ``feat_lens // stack``.
        """
        if feats.size(-1) != self.feature_dim:
            raise ValueError(
                f"expected feature dim {self.feature_dim}, got {feats.size(-1)}"
            )
        x, label_lens = stack_frames(feats.detach(), feat_lens, self.stack)
        B, Ts = x.shape[:2]
        want = _lengths_to_valid(label_lens, Ts)
        if select is not None:
            want = want & select[:, :Ts].to(want.device)
        labels = torch.full((B, Ts, self.num_quantizers), IGNORE_LABEL, dtype=torch.long, device=x.device)
        rows = F.layer_norm(x[want].float(), (self.input_dim,))  # (M, stack * F)
        out = torch.empty(rows.size(0), self.num_quantizers, dtype=torch.long, device=x.device)
        for n in range(self.num_quantizers):
            proj = F.normalize(rows @ self.projections[n].float(), dim=-1)  # (M, codebook_dim)
            book = self.codebooks[n].float()
            for i in range(0, rows.size(0), self.chunk_rows):
                out[i:i + self.chunk_rows, n] = (proj[i:i + self.chunk_rows] @ book.T).argmax(dim=-1)
        labels[want] = out
        return labels, label_lens


def compute_mask(
    feat_lens: torch.Tensor,
    T: int,
    mask_prob: float,
    span: int,
    generator: Optional[torch.Generator] = None,
) -> torch.Tensor:
    """Draw BEST-RQ span masks.

    Each valid frame independently starts a span of ``span`` frames with
    probability ``mask_prob``; spans may overlap and are clipped to the valid
    length; padding is never masked. An utterance of length ``>= span`` that
    drew no start gets exactly one span at a uniformly random position so that
    every such utterance has a masked frame (utterances shorter than ``span``
    may stay unmasked). Far from the edges a frame is masked with probability
    ``1 - (1 - mask_prob) ** span``.

    Args:
        feat_lens: (B,) valid lengths.
        T: Padded time dimension.
        mask_prob: Probability that a frame starts a span, in [0, 1].
        span: Span length in frames (>= 1).
        generator: Optional CPU generator for reproducibility.

    Returns:
        (B, T) bool mask on ``feat_lens.device``.
    """
    _check_prob(mask_prob)
    check_int("span", span, 1)
    lens = feat_lens.detach().to("cpu").long()
    B = lens.size(0)
    valid = _lengths_to_valid(lens, T)
    starts = (torch.rand(B, T, generator=generator) < mask_prob) & valid
    # Force one span where needed.
    need = (~starts.any(dim=1)) & (lens >= span)
    if need.any():
        u = torch.rand(B, generator=generator)
        pos = (u * (lens - span + 1).clamp(min=1).float()).long()
        pos = torch.minimum(pos, (lens - span).clamp(min=0))
        rows = need.nonzero(as_tuple=True)[0]
        starts[rows, pos[rows]] = True
    # Frame t is masked iff a start lies in [t - span + 1, t].
    c = torch.cumsum(starts.long(), dim=1)
    shifted = torch.zeros_like(c)
    if span < T:
        shifted[:, span:] = c[:, :-span]
    mask = ((c - shifted) > 0) & valid
    return mask.to(feat_lens.device)


def apply_mask(
    feats: torch.Tensor,
    mask: torch.Tensor,
    noise_std: float = BestRQConfig.noise_std,
    generator: Optional[torch.Generator] = None,
) -> torch.Tensor:
    """Replace masked frames by N(0, noise_std^2) noise.

    Args:
        feats: (B, T, F) features.
        mask: (B, T) bool mask.
        noise_std: Noise standard deviation.
        generator: Optional CPU generator for reproducibility.

    Returns:
        (B, T, F) features; unmasked frames are unchanged.
    """
    if generator is None:  # draw on the features' device: no host-to-device copy
        noise = torch.randn(feats.shape, device=feats.device, dtype=torch.float32)
    else:
        noise = torch.randn(feats.shape, generator=generator, dtype=torch.float32)
    noise = (noise * noise_std).to(device=feats.device, dtype=feats.dtype)
    return torch.where(mask[..., None].to(feats.device), noise, feats)


def mask_to_encoder_rate(mask: torch.Tensor, stack: int) -> torch.Tensor:
    """Reduce a feature-rate mask to the encoder (label) rate.

    A stacked frame is masked if any of its ``stack`` frames is masked; a
    trailing partial group is dropped (as in :func:`stack_frames`).

    Args:
        mask: (B, T) bool mask.
        stack: Subsampling factor.

    Returns:
        (B, T // stack) bool mask.
    """
    check_int("stack", stack, 1)
    B, T = mask.shape
    Ts = T // stack
    return mask[:, : Ts * stack].reshape(B, Ts, stack).any(dim=-1)


class BestRQLoss(nn.Module):
    """N linear softmax heads with cross-entropy on masked frames.

    If the encoder output length differs from the label / mask length (e.g.
    convolutional subsampling drops one or two edge frames), all three are
    truncated to the shortest length before the loss is computed.

    Args:
        encoder_dim: Encoder output dimension D.
        num_quantizers: Number of heads N (one per quantizer).
        codebook_size: Classes per head.
    """

    def __init__(
        self,
        encoder_dim: int,
        num_quantizers: int = BestRQConfig.num_quantizers,
        codebook_size: int = BestRQConfig.codebook_size,
    ) -> None:
        super().__init__()
        check_int("encoder_dim", encoder_dim, 1)
        check_int("num_quantizers", num_quantizers, 1)
        check_int("codebook_size", codebook_size, 2)
        self.num_quantizers = num_quantizers
        self.codebook_size = codebook_size
        self.heads = nn.ModuleList(
            nn.Linear(encoder_dim, codebook_size) for _ in range(num_quantizers)
        )
        self.reset_eval_summary()

    # ------------------------------------------------------------ health over a whole set
    def reset_eval_summary(self) -> None:
        """Start accumulating label counts and hits at masked frames (eval mode only)."""
        self._eval_counts: Optional[torch.Tensor] = None  # (N, K) masked-target counts
        self._eval_hits: Optional[torch.Tensor] = None  # (N,) correct predictions

    def _accumulate(self, tgt: torch.Tensor, hits: torch.Tensor) -> None:
        counts = torch.stack([torch.bincount(tgt[:, i], minlength=self.codebook_size)
                              for i in range(self.num_quantizers)])
        if self._eval_counts is None:
            self._eval_counts, self._eval_hits = counts, hits.to(counts.dtype)
        else:
            self._eval_counts = self._eval_counts + counts.to(self._eval_counts.device)
            self._eval_hits = self._eval_hits + hits.to(self._eval_hits)

    def eval_summary(self, all_reduce: bool = False) -> Optional[Dict[str, object]]:
        """Health of pre-training over every masked frame seen since :meth:`reset_eval_summary`.

        Args:
            all_reduce: Sum the counts over the ranks of ``torch.distributed`` first.

        Returns:
            None when nothing was accumulated; else ``masked_frames``, and per head and
            averaged over heads: ``masked_acc`` (the heads' accuracy at masked frames),
            ``prior_acc`` (the accuracy of always guessing the head's most frequent code:
            the baseline a model that learned nothing beyond the label prior reaches),
            ``label_perplexity`` (exp of the entropy of the masked targets' distribution).
        """
        counts, hits = self._eval_counts, self._eval_hits
        if all_reduce and torch.distributed.is_available() and torch.distributed.is_initialized():
            if counts is None:
                counts = torch.zeros(self.num_quantizers, self.codebook_size, dtype=torch.long,
                                     device=self.heads[0].weight.device)
                hits = torch.zeros(self.num_quantizers, dtype=torch.long, device=counts.device)
            both = torch.cat([counts, hits[:, None]], dim=1)
            torch.distributed.all_reduce(both)
            counts, hits = both[:, :-1], both[:, -1]
        if counts is None or int(counts[0].sum()) == 0:
            return None
        counts, hits = counts.double().cpu(), hits.double().cpu()
        total = counts.sum(dim=1)
        p = counts / total[:, None]
        ent = -(p * p.clamp_min(1e-300).log()).sum(dim=1)
        head = {"masked_acc": (hits / total).tolist(),
                "prior_acc": (counts.max(dim=1).values / total).tolist(),
                "label_perplexity": ent.exp().tolist()}
        out: Dict[str, object] = {"masked_frames": int(total[0]), "heads": head}
        for k, v in head.items():
            out[k] = sum(v) / len(v)
        return out

    def forward(
        self,
        enc_out: torch.Tensor,
        enc_lens: torch.Tensor,
        labels: torch.Tensor,
        frame_mask: torch.Tensor,
    ) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
        """Compute the masked-prediction loss.

        Args:
            enc_out: (B, T', D) encoder output.
            enc_lens: (B,) encoder output lengths.
            labels: (B, T', N) quantizer labels (-1 at padding).
            frame_mask: (B, T') bool mask at the encoder rate.

        Returns:
            loss: scalar, cross-entropy at masked frames averaged over heads.
            stats: detached ``loss``, ``acc_head{i}``, ``acc``, ``prior_acc`` (the
            batch's accuracy of always guessing each head's most frequent masked
            code, averaged over heads), ``codebook_perplexity`` (of the masked frames'
            labels) and ``masked_fraction``.
            In eval mode the masked targets and hits are also accumulated for
            :meth:`eval_summary` (whole-set health).
        """
        if labels.size(-1) != self.num_quantizers:
            raise ValueError(
                f"expected {self.num_quantizers} label streams, got {labels.size(-1)}"
            )
        T = min(enc_out.size(1), labels.size(1), frame_mask.size(1))
        enc_out, labels, frame_mask = enc_out[:, :T], labels[:, :T], frame_mask[:, :T]
        valid = _lengths_to_valid(enc_lens.to(enc_out.device), T)
        # labels may exist at masked frames only (the quantizer skips the others)
        sel = valid & frame_mask.to(valid.device) & (labels >= 0).all(dim=-1)
        n_sel = int(sel.sum())

        stats: Dict[str, torch.Tensor] = {}
        if n_sel == 0:
            loss = enc_out.sum() * 0.0
            accs = [torch.zeros((), device=enc_out.device)] * self.num_quantizers
            stats["prior_acc"] = torch.zeros((), device=enc_out.device)
            for head in self.heads:
                loss = loss + sum(p.sum() for p in head.parameters()) * 0.0
        else:
            h = enc_out[sel]
            tgt = labels[sel]
            losses, accs, hits, priors = [], [], [], []
            for i, head in enumerate(self.heads):
                logits = head(h)
                losses.append(F.cross_entropy(logits.float(), tgt[:, i]))
                hit = logits.argmax(-1) == tgt[:, i]
                hits.append(hit.sum())
                accs.append(hit.float().mean())
                # this batch's prior baseline: always guess its most frequent code
                priors.append(torch.bincount(tgt[:, i], minlength=self.codebook_size).max().float() / n_sel)
            loss = torch.stack(losses).mean()
            stats["prior_acc"] = torch.stack(priors).mean().detach()
            if not self.training:
                self._accumulate(tgt.detach(), torch.stack(hits).detach())

        for i, a in enumerate(accs):
            stats[f"acc_head{i}"] = a.detach()
        stats["acc"] = torch.stack([a.detach() for a in accs]).mean()
        stats["codebook_perplexity"] = self._perplexity(labels[sel])
        n_valid = max(int(valid.sum()), 1)
        stats["masked_fraction"] = torch.tensor(n_sel / n_valid)
        stats["loss"] = loss.detach()
        return loss, stats

    def _perplexity(self, labels: torch.Tensor) -> torch.Tensor:
        """exp(entropy) of the label distribution, averaged over quantizers.

        Args:
            labels: (M, N) labels at valid frames.
        """
        if labels.numel() == 0:
            return torch.zeros(())
        ppl = []
        for i in range(labels.size(-1)):
            counts = torch.bincount(labels[:, i], minlength=self.codebook_size).float()
            p = counts / counts.sum()
            ent = -(p[p > 0] * p[p > 0].log()).sum()
            ppl.append(ent.exp())
        return torch.stack(ppl).mean().detach()


class EncoderLike(Protocol):
    """The ESPnet encoder interface BEST-RQ needs."""

    def __call__(
        self, xs: torch.Tensor, lens: torch.Tensor
    ) -> Tuple[torch.Tensor, torch.Tensor, Optional[torch.Tensor]]: ...

    def output_size(self) -> int: ...


class BestRQ(nn.Module):
    """BEST-RQ pre-training around an ESPnet-style encoder.

    Labels come from the unmasked features; masked frames are replaced by
    noise before the encoder; the loss is computed at masked encoder frames.

    Args:
        encoder: Module with ``forward(xs, lens) -> (out, out_lens, _)`` and
            ``output_size()``.
        feature_dim: Input feature dimension F.
        stack: The encoder's subsampling factor (frames per output frame).
        config: Hyper-parameters (defaults: the paper's).
    """

    def __init__(
        self,
        encoder: nn.Module,
        feature_dim: int,
        stack: int,
        config: BestRQConfig = BestRQConfig(),
    ) -> None:
        super().__init__()
        check_int("stack", stack, 1)
        self.config = config
        self.stack = stack
        self.encoder = encoder
        self.quantizer = RandomProjectionQuantizer(
            feature_dim,
            stack,
            num_quantizers=config.num_quantizers,
            codebook_size=config.codebook_size,
            codebook_dim=config.codebook_dim,
            seed=config.seed,
        )
        self.loss_fn = BestRQLoss(
            encoder.output_size(), config.num_quantizers, config.codebook_size
        )
        # Masking RNG: not part of the state_dict; seeded for reproducibility.
        self._mask_generator = torch.Generator().manual_seed(config.seed + 1)

    def forward(
        self,
        feats: torch.Tensor,
        feat_lens: torch.Tensor,
        generator: Optional[torch.Generator] = None,
    ) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
        """Run one BEST-RQ step.

        Args:
            feats: (B, T, F) features.
            feat_lens: (B,) valid lengths.
            generator: Optional CPU generator for masks and noise (defaults to
                the module's own seeded generator).

        Returns:
            loss and stats (see :meth:`BestRQLoss.forward`).
        """
        gen = self._mask_generator if generator is None else generator
        mask = compute_mask(
            feat_lens, feats.size(1), self.config.mask_prob, self.config.mask_span, gen
        )
        enc_mask = mask_to_encoder_rate(mask, self.stack)
        labels, _ = self.quantizer(feats, feat_lens, select=enc_mask)  # masked frames only
        masked = apply_mask(feats, mask, self.config.noise_std, gen)
        enc_out, enc_lens, _ = self.encoder(masked, feat_lens)
        return self.loss_fn(enc_out, enc_lens, labels, enc_mask)
