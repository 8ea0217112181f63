"""MOST's model: :class:`MOSTConfig` (the paper's defaults), :class:`MOSTModel` and its losses.

``MOSTModel`` trains one ASR encoder (split as :mod:`usm_espnet.ssl.most.encoder_split`
describes) on three streams: BEST-RQ on untranscribed speech, CTC + consistency +
duration on transcribed speech, text reconstruction on unspoken text. The CTC head
is ESPnet's :class:`espnet2.asr.ctc.CTC` under ``ctc`` (so
``--init_param most.pth:ctc:ctc`` also works when the token lists match); blank is
token 0 as in ESPnet's token lists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from espnet2.asr.ctc import CTC
from torch import nn

from usm_espnet.ssl.best_rq import (
    BestRQConfig,
    BestRQLoss,
    RandomProjectionQuantizer,
    apply_mask,
    check_int,
    compute_mask,
    mask_to_encoder_rate,
    subsampling_factor,
)
from usm_espnet.ssl.most.checks import check_feats, check_tokens, valid_mask
from usm_espnet.ssl.most.durations import (
    DurationModel,
    ctc_durations,
    fixed_durations,
    random_durations,
)
from usm_espnet.ssl.most.encoder_split import (
    HiddenState,
    encoder_blocks,
    encoder_kind,
    finish_encoder,
    run_blocks,
    run_front,
    state_from_features,
)
from usm_espnet.ssl.most.text_encoder import TextEncoder

#: Stream names, as keys of :meth:`MOSTModel.forward`'s batch and of
#: :class:`~usm_espnet.tasks.stream_mixer.StreamMixer`.
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
            check_int(name, getattr(self, name), 0)
        for name in ("text_cnn_module_kernel", "duration_kernel", "duration_layers",
                     "fixed_duration", "min_duration", "text_mask_span"):
            check_int(name, getattr(self, name), 1)
        check_int("max_duration", self.max_duration, self.min_duration)
        if self.duration_mode not in DURATION_MODES:
            raise ValueError(f"duration_mode must be one of {DURATION_MODES}, "
                             f"got {self.duration_mode!r}")
        if self.consistency_distance not in DISTANCES:
            raise ValueError(f"consistency_distance must be one of {DISTANCES}, "
                             f"got {self.consistency_distance!r}")
        lo, hi = self.random_duration
        check_int("random_duration low", lo, 1)
        check_int("random_duration high", hi, lo)
        if not 0.0 <= float(self.align_max_cer) <= 1.0:
            raise ValueError(f"align_max_cer must be in [0, 1], got {self.align_max_cer!r}")
        check_int("align_window", self.align_window, 1)
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


# ------------------------------------------------------------------ health and distances


def edit_distance(a: Sequence[int], b: Sequence[int]) -> int:
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
        errs += edit_distance(hyp, ref)
        total += len(ref)
    return torch.tensor(errs / max(total, 1), dtype=torch.float)


def frame_distance(a: torch.Tensor, b: torch.Tensor, valid: torch.Tensor,
                   kind: str) -> torch.Tensor:
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
        self._kind = encoder_kind(encoder)
        check_int("input_size", input_size, 1)
        check_int("vocab_size", vocab_size, 2)
        n_blocks = len(encoder_blocks(encoder, self._kind))
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
        first = encoder_blocks(self.encoder, self._kind)[0]
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

    def speech_encode(self, feats: torch.Tensor, feat_lens: torch.Tensor) -> HiddenState:
        """Speech encoder: subsampling + the first ``speech_encoder_layers`` blocks.

        Args:
            feats: (B, T, F) features.
            feat_lens: (B,) lengths.

        Returns:
            Hidden state at the shared encoder's input (``.x``: (B, T', D)).
        """
        check_feats(feats, feat_lens)
        h = run_front(self.encoder, self._kind, feats, feat_lens)
        return run_blocks(self.encoder, self._kind, h, 0, self.config.speech_encoder_layers)

    def shared_encode(self, h: HiddenState) -> Tuple[torch.Tensor, torch.Tensor]:
        """Shared encoder: the remaining blocks and the encoder's output norm.

        Args:
            h: Hidden state from :meth:`speech_encode` or :meth:`text_hidden`.

        Returns:
            (B, T', D) encoder output and (B,) lengths.
        """
        h = run_blocks(self.encoder, self._kind, h, self.config.speech_encoder_layers)
        return finish_encoder(self.encoder, self._kind, h)

    def text_hidden(self, x: torch.Tensor, lens: torch.Tensor) -> HiddenState:
        """Wrap text-encoder output as the shared encoder's input.

        Args:
            x: (B, T, D) text-encoder features.
            lens: (B,) frame lengths.
        """
        return state_from_features(self.encoder, self._kind, x, lens)

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
        check_feats(feats, feat_lens)
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
        check_tokens(text, text_lens, self.vocab_size, self.config.blank_id)
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
            valid = valid_mask(text_lens, text.size(1)).long()
            durations = durations.to(enc.device).long() * valid
            if not torch.equal(durations.sum(1), enc_lens):
                raise ValueError(f"durations sum to {durations.sum(1).tolist()}, the encoder "
                                 f"has {enc_lens.tolist()} frames")
        t_out, t_lens = self.text_encoder(text, text_lens, durations)
        T = t_out.size(1)
        speech = h.x[:, :T].detach()  # the speech encoder is frozen for this loss
        losses["consistency"] = frame_distance(t_out, speech, valid_mask(t_lens, T),
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
        check_tokens(text, text_lens, self.vocab_size, c.blank_id)
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
