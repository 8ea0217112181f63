"""MOST as an ESPnet model: frontend -> normalize -> :class:`~usm_espnet.ssl.most.MOSTModel`.

ESPnet's trainer calls ``model(**batch)`` with a flat dict of padded tensors. The
MOST data iterator (:mod:`usm_espnet.tasks.most`) fills it with any subset of three
streams, under these keys (ESPnet's convention: float speech padded with 0.0,
token ids padded with -1, a ``<key>_lengths`` per key):

* ``speech``, ``speech_lengths`` -- untranscribed speech (BEST-RQ);
* ``paired_speech``, ``paired_speech_lengths``, ``paired_text``,
  ``paired_text_lengths`` -- transcribed speech (CTC, consistency, durations);
* ``text``, ``text_lengths`` -- unspoken text (text reconstruction).

:class:`ESPnetMOSTModel` IS a :class:`MOSTModel` (it subclasses it, and
``AbsESPnetModel``), so the state_dict names are MOSTModel's plus ``frontend.*`` /
``normalize.*`` / ``most_step``: ``encoder.*``, ``quantizer.*`` and ``loss_fn.*``
have exactly the names and shapes of :class:`~usm_espnet.ssl.best_rq_espnet_model.ESPnetBestRQModel`,
so ``--init_param <best_rq_exp>/<checkpoint>.pth`` (whole file, or per part, e.g.
``:encoder:encoder``) starts MOST from BEST-RQ, and ``--init_param
<most_exp>/<checkpoint>.pth:encoder:encoder`` starts ASR fine-tuning from MOST.

**Schedule.** The buffer ``most_step`` counts training forwards (one per
iterator step, i.e. per micro-batch: with ``--accum_grad k`` the text warm-up
``text_start_step`` is counted in micro-batches). It is saved in checkpoints, so
``--resume`` keeps the schedule; the text stream is ignored while
``most_step < text_start_step`` (the iterator leaves it out of those batches too).

**Alignment rule.** The consistency and duration losses and the unspoken text need
durations from forced alignment with the model's own CTC head, random when MOST
starts. They start once the running mean of that head's greedy CER on the paired
batches is at most ``align_max_cer`` (``MOSTConfig``); the buffer
``align_ready_step`` records the step (-1 before), ``align_cer`` the running mean,
both resumed with the checkpoint. The log says when it happens; until then every
step trains BEST-RQ and CTC only, and the per-step stats carry ``paired_cer`` and
``aligned`` (0 or 1).

**Validation** (``model.eval()``) computes the CTC loss of the paired stream only,
reported as ``loss`` and ``loss_asr``, so ``best_model_criterion: valid loss min``
picks the best ASR encoder.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any, Dict, Mapping, Optional, Tuple

import torch
from espnet2.asr.encoder.abs_encoder import AbsEncoder
from espnet2.asr.frontend.abs_frontend import AbsFrontend
from espnet2.asr.specaug.abs_specaug import AbsSpecAug
from espnet2.layers.abs_normalize import AbsNormalize
from espnet2.torch_utils.device_funcs import force_gatherable
from espnet2.train.abs_espnet_model import AbsESPnetModel

from usm_espnet.ssl.best_rq import BestRQConfig
from usm_espnet.ssl.most import PAIRED, SPEECH, TEXT, MOSTConfig, MOSTModel
from usm_espnet.ssl.most.checks import check_tokens

logger = logging.getLogger(__name__)

#: ``model_conf`` keys (BEST-RQ's, as in ``conf/pretrain/best_rq_*.yaml``) -> BestRQConfig fields.
BESTRQ_CONF_KEYS = {
    "num_quantizers": "num_quantizers",
    "codebook_size": "codebook_size",
    "codebook_dim": "codebook_dim",
    "mask_prob": "mask_prob",
    "mask_span_ms": "mask_span_ms",
    "noise_std": "noise_std",
    "quantizer_seed": "seed",
    "frame_shift_ms": "frame_shift_ms",
}


def frontend_frame_shift_ms(frontend: Optional[AbsFrontend], default: float) -> float:
    """Frame shift of an ESPnet frontend in milliseconds (as ESPnetBestRQModel measures it).

    Args:
        frontend: The frontend (None: features come from the loader).
        default: Value returned when the frontend does not tell (or is None).

    Returns:
        ``1000 * hop_length / sample_rate`` for a frontend with ``hop_length``,
        else ``default``.
    """
    if frontend is None:
        return float(default)
    hop = getattr(frontend, "hop_length", None)
    logmel = getattr(frontend, "logmel", None)
    fs = getattr(logmel, "mel_options", {}).get("sr") or 16000
    return 1000.0 * float(hop) / float(fs) if hop else float(default)


def build_most_config(model_conf: Optional[Mapping[str, Any]] = None,
                      most_conf: Optional[Mapping[str, Any]] = None,
                      frame_shift_ms: Optional[float] = None) -> MOSTConfig:
    """A :class:`MOSTConfig` from a task's ``model_conf`` and ``most_conf``.

    ``model_conf`` holds the BEST-RQ options with the names of the BEST-RQ task's
    ``model_conf`` (so a pre-training yaml's section can be pasted unchanged):
    ``num_quantizers``, ``codebook_size``, ``codebook_dim``, ``mask_prob``,
    ``mask_span_ms``, ``noise_std``, ``quantizer_seed`` (and ``frame_shift_ms``
    without a frontend). ``most_conf`` holds :class:`MOSTConfig`'s own fields
    (loss weights, per-stream batch sizes, ``text_start_step``, ...).

    Args:
        model_conf: BEST-RQ options.
        most_conf: MOST options.
        frame_shift_ms: Measured frame shift; overrides ``model_conf``'s.

    Returns:
        The configuration.

    Raises:
        ValueError: An unknown key or a bad value (MOSTConfig's own checks).
    """
    model_conf = dict(model_conf or {})
    most_conf = dict(most_conf or {})
    unknown = sorted(set(model_conf) - set(BESTRQ_CONF_KEYS))
    if unknown:
        raise ValueError(f"unknown model_conf keys {unknown}; MOST's model_conf takes the "
                         f"BEST-RQ options {sorted(BESTRQ_CONF_KEYS)} (MOST's own go in "
                         f"most_conf)")
    bq = {BESTRQ_CONF_KEYS[k]: v for k, v in model_conf.items()}
    if frame_shift_ms is not None:
        bq["frame_shift_ms"] = float(frame_shift_ms)
    fields = {f.name for f in dataclasses.fields(MOSTConfig)} - {"bestrq"}
    unknown = sorted(set(most_conf) - fields)
    if unknown:
        raise ValueError(f"unknown most_conf keys {unknown}; expected some of {sorted(fields)}")
    if "random_duration" in most_conf:
        most_conf["random_duration"] = tuple(most_conf["random_duration"])
    return MOSTConfig(bestrq=BestRQConfig(**bq), **most_conf)


def _default_align_state(module, state_dict, prefix, *args) -> None:
    """Checkpoints from before the alignment rule load as 'not aligned yet'."""
    state_dict.setdefault(prefix + "align_ready_step", torch.full((), -1, dtype=torch.long))
    state_dict.setdefault(prefix + "align_cer", torch.ones(()))


class ESPnetMOSTModel(MOSTModel, AbsESPnetModel):
    """MOST pre-training model for ESPnet's trainer.

    Speech of the ``speech`` and ``paired`` streams goes through the frontend and
    the normalisation (e.g. ``global_mvn``); SpecAugment, when configured, is
    applied to the paired stream's features in training only (BEST-RQ needs the
    clean features for its labels and does its own masking). Everything else is
    :class:`MOSTModel`.

    Args:
        input_size: Feature dimension entering the encoder.
        vocab_size: Token list size (blank, id ``config.blank_id``, included).
        frontend: Feature extractor (None: features come from the loader).
        specaug: Optional augmentation of the paired stream's features.
        normalize: Feature normalisation (applied to both speech streams).
        encoder: ``usm_conformer`` / ``conformer`` or ``chunk_conformer`` encoder.
        config: MOST configuration (see :func:`build_most_config`).
        token_list: Optional token list; only checked (blank at ``blank_id``).
    """

    def __init__(
        self,
        input_size: int,
        vocab_size: int,
        frontend: Optional[AbsFrontend],
        specaug: Optional[AbsSpecAug],
        normalize: Optional[AbsNormalize],
        encoder: AbsEncoder,
        config: MOSTConfig = MOSTConfig(),
        token_list: Optional[list] = None,
    ) -> None:
        super().__init__(encoder, input_size, vocab_size, config)
        self.frontend = frontend
        self.specaug = specaug
        self.normalize = normalize
        # Steps seen in training (the MOST schedule); persistent: saved and resumed.
        self.register_buffer("most_step", torch.zeros((), dtype=torch.long))
        # The alignment rule (see the module docstring); persistent, resumed.
        self.register_buffer("align_ready_step", torch.full((), -1, dtype=torch.long))
        self.register_buffer("align_cer", torch.ones(()))
        self.register_load_state_dict_pre_hook(_default_align_state)
        self._train_gen: Optional[torch.Generator] = None
        self._train_gen_seed: Optional[int] = None
        if token_list is not None and len(token_list) != vocab_size:
            raise ValueError(f"token list has {len(token_list)} entries, vocab_size is "
                             f"{vocab_size}")
        if token_list is not None and token_list[config.blank_id] != "<blank>":
            logger.warning("token %d is %r, not <blank>; it is used as the CTC blank",
                           config.blank_id, token_list[config.blank_id])
        bq = config.bestrq
        logger.info(
            "MOST: batch sizes speech %d / paired %d / text %d, text from step %d, "
            "speech encoder = subsampling + %d block(s), durations %s; BEST-RQ %d "
            "quantizer(s) x %d codes, stack %d (measured), mask p=%g span %d frames "
            "(%g ms at %g ms/frame); weights bestrq %g asr %g consistency %g duration %g "
            "text_recon %g",
            config.speech_batch_size, config.paired_batch_size, config.text_batch_size,
            config.text_start_step, config.speech_encoder_layers, config.duration_mode,
            bq.num_quantizers, bq.codebook_size, self.stack, bq.mask_prob, bq.mask_span,
            bq.mask_span_ms, bq.frame_shift_ms, config.bestrq_weight, config.asr_weight,
            config.consistency_weight, config.duration_weight, config.text_recon_weight,
        )

    # -- the alignment rule ----------------------------------------------------

    def alignments_usable(self) -> bool:
        """Whether the consistency / duration / text losses run (see the module docstring)."""
        return int(self.align_ready_step) >= 0 or float(self.config.align_max_cer) >= 1.0

    def _update_alignment_rule(self, cer: float, step: int) -> None:
        dist = torch.distributed
        if dist.is_available() and dist.is_initialized():  # every rank decides alike
            t = torch.tensor([cer], device=self.align_cer.device)
            dist.all_reduce(t)
            cer = float(t) / dist.get_world_size()
        w = 2.0 / (self.config.align_window + 1)
        # the mean starts at 1.0, the CER of an all-blank output
        self.align_cer.fill_((1 - w) * float(self.align_cer) + w * min(cer, 1.0))
        if float(self.align_cer) <= self.config.align_max_cer:
            self.align_ready_step.fill_(step)
            logger.info(
                "MOST: CTC alignments usable at step %d (greedy CER on paired batches, running "
                "mean %.3f <= align_max_cer %.3f): consistency and duration losses start now, "
                "unspoken text from step %d", step, float(self.align_cer),
                self.config.align_max_cer, max(step, self.config.text_start_step))

    # -- randomness ------------------------------------------------------------

    def _train_generator(self) -> torch.Generator:
        """Per-rank CPU generator for masks / noise / random durations in training.

        Seeded with ``torch.initial_seed() + 7919 * rank`` and re-seeded whenever
        that changes: ESPnet's trainer calls ``set_all_random_seed(seed + epoch)``
        at every epoch, so each epoch's draws depend only on (seed, epoch, rank),
        whether or not training was resumed, and DDP ranks draw different masks.
        """
        dist = torch.distributed
        rank = dist.get_rank() if dist.is_available() and dist.is_initialized() else 0
        seed = int(torch.initial_seed()) + 7919 * rank
        if self._train_gen is None or self._train_gen_seed != seed:
            self._train_gen = torch.Generator().manual_seed(seed)
            self._train_gen_seed = seed
        return self._train_gen

    # -- features --------------------------------------------------------------

    def _extract_feats(self, speech: torch.Tensor,
                       speech_lengths: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Frontend features, trimmed to the longest utterance.

        Args:
            speech: (B, L) waveforms, or (B, T, F) features without a frontend.
            speech_lengths: (B,) valid lengths.
        """
        speech = speech[:, : int(speech_lengths.max())]
        if self.frontend is None:
            return speech, speech_lengths
        return self.frontend(speech, speech_lengths)

    def _features(self, speech: torch.Tensor, speech_lengths: torch.Tensor,
                  augment: bool = False) -> Tuple[torch.Tensor, torch.Tensor]:
        """Frontend -> normalize (-> specaug when ``augment`` in training).

        Args:
            speech: Waveforms (or features).
            speech_lengths: Valid lengths.
            augment: Apply SpecAugment (if configured and training).
        """
        feats, lens = self._extract_feats(speech, speech_lengths)
        if self.normalize is not None:
            feats, lens = self.normalize(feats, lens)
        if augment and self.specaug is not None and self.training:
            feats, lens = self.specaug(feats, lens)
        return feats, lens

    def collect_feats(self, speech: Optional[torch.Tensor] = None,
                      speech_lengths: Optional[torch.Tensor] = None,
                      paired_speech: Optional[torch.Tensor] = None,
                      paired_speech_lengths: Optional[torch.Tensor] = None,
                      **kwargs) -> Dict[str, torch.Tensor]:
        """Features for ESPnet's ``--collect_stats`` (global mean / variance).

        Args:
            speech: Untranscribed speech (used when present).
            speech_lengths: Its lengths.
            paired_speech: Transcribed speech (used otherwise).
            paired_speech_lengths: Its lengths.
            **kwargs: Other loader outputs (e.g. ``text``), ignored.

        Returns:
            ``{"feats", "feats_lengths"}`` (before normalisation).

        Raises:
            ValueError: Neither speech key is present.
        """
        if speech is None:
            speech, speech_lengths = paired_speech, paired_speech_lengths
        if speech is None or speech_lengths is None:
            raise ValueError("collect_feats needs speech/speech_lengths or "
                             "paired_speech/paired_speech_lengths")
        feats, feats_lengths = self._extract_feats(speech, speech_lengths)
        return {"feats": feats, "feats_lengths": feats_lengths}

    # -- forward ---------------------------------------------------------------

    @staticmethod
    def _pair(name: str, x: Optional[torch.Tensor],
              lens: Optional[torch.Tensor]) -> bool:
        """Whether a (tensor, lengths) pair is present; ValueError if only one half is."""
        if (x is None) != (lens is None):
            raise ValueError(f"{name} and {name}_lengths must be given together")
        return x is not None

    def forward(
        self,
        speech: Optional[torch.Tensor] = None,
        speech_lengths: Optional[torch.Tensor] = None,
        paired_speech: Optional[torch.Tensor] = None,
        paired_speech_lengths: Optional[torch.Tensor] = None,
        paired_text: Optional[torch.Tensor] = None,
        paired_text_lengths: Optional[torch.Tensor] = None,
        text: Optional[torch.Tensor] = None,
        text_lengths: Optional[torch.Tensor] = None,
        **kwargs,
    ) -> Tuple[torch.Tensor, Dict[str, torch.Tensor], torch.Tensor]:
        """One MOST step on whichever streams the batch holds.

        In training, the step counter ``most_step`` decides whether the text stream
        is used and is incremented. In evaluation, a batch with a paired stream
        gives its CTC loss only (``loss`` = ``loss_asr``); other evaluation
        batches get the full MOST losses with a fixed random draw.

        Args:
            speech: (B, L) untranscribed waveforms (or (B, T, F) features).
            speech_lengths: (B,) lengths.
            paired_speech: (B', L') transcribed waveforms (or features).
            paired_speech_lengths: (B',) lengths.
            paired_text: (B', N) token ids (padding -1).
            paired_text_lengths: (B',) token counts.
            text: (B'', M) unspoken-text token ids (padding -1).
            text_lengths: (B'',) token counts.
            **kwargs: Other loader outputs (e.g. ``utt_id``), ignored.

        Returns:
            loss, stats (``loss``, ``loss_<name>`` per computed loss, ``bestrq_acc``,
            ``text_masked_fraction``) and the batch weight (items in all streams).

        Raises:
            ValueError: No stream, half a stream (e.g. paired speech without its
                text) or bad inputs.
        """
        has_speech = self._pair("speech", speech, speech_lengths)
        has_paired = self._pair("paired_speech", paired_speech, paired_speech_lengths)
        has_paired_text = self._pair("paired_text", paired_text, paired_text_lengths)
        has_text = self._pair("text", text, text_lengths)
        if has_paired != has_paired_text:
            raise ValueError("the paired stream needs both paired_speech and paired_text")
        if not (has_speech or has_paired or has_text):
            raise ValueError("the batch holds no stream: expected speech, paired_speech + "
                             "paired_text and/or text (with their *_lengths)")
        weight = sum(int(x.size(0)) for x, on in ((speech, has_speech),
                     (paired_speech, has_paired), (text, has_text)) if on)
        if has_paired:
            pf, pl = self._features(paired_speech, paired_speech_lengths, augment=True)
        if not self.training and has_paired:
            check_tokens(paired_text, paired_text_lengths, self.vocab_size,
                          self.config.blank_id)
            enc, enc_lens = self.shared_encode(self.speech_encode(pf, pl))
            loss = self.ctc(enc, enc_lens, paired_text.to(enc.device),
                            paired_text_lengths.to(enc.device))
            stats = {"loss": loss.detach(), "loss_asr": loss.detach()}
            return force_gatherable((loss, stats, weight), loss.device)
        streams: Dict[str, Dict[str, torch.Tensor]] = {}
        if has_speech:
            f, fl = self._features(speech, speech_lengths)
            streams[SPEECH] = {"feats": f, "feat_lens": fl}
        if has_paired:
            streams[PAIRED] = {"feats": pf, "feat_lens": pl, "text": paired_text,
                               "text_lens": paired_text_lengths}
        if has_text:
            streams[TEXT] = {"text": text, "text_lens": text_lengths}
        step = int(self.most_step)
        if self.training:
            gen = self._train_generator()
        else:
            gen = torch.Generator().manual_seed(self.config.seed + 1)
        if has_text and not has_speech and not has_paired \
                and not self.config.text_stream_enabled(step):
            raise ValueError(f"the batch holds only unspoken text, which is not used before "
                             f"step {self.config.text_start_step} (now {step})")
        aligned = self.alignments_usable() or not self.training
        loss, stats = MOSTModel.forward(self, streams, step=step, generator=gen,
                                        aligned=aligned)
        if self.training:
            if not aligned and "paired_cer" in stats:
                self._update_alignment_rule(float(stats["paired_cer"]), step)
            stats["aligned"] = torch.tensor(float(self.alignments_usable()))
            self.most_step += 1
        # A non-finite loss is left to ESPnet's trainer, which logs and skips the update.
        return force_gatherable((loss, stats, weight), loss.device)
