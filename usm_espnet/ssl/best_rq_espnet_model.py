"""BEST-RQ as an ESPnet model: frontend -> normalize -> quantize / mask -> encoder -> heads.

ESPnet's own SSL model (``espnet2/ssl``) takes its targets from the data loader
(HuBERT's k-means labels) and masks inside the model with a learned embedding;
BEST-RQ needs the unmasked, normalised features to make its labels and noise
in place of masked frames, so it gets its own ``AbsESPnetModel`` here. All the
BEST-RQ pieces come from :mod:`usm_espnet.ssl.best_rq`.

The trained encoder keeps the parameter names of the ASR model's encoder
(``encoder.*``), so fine-tuning loads it with ESPnet's
``--init_param <pretrain_exp>/<checkpoint>:encoder:encoder``.
"""

from __future__ import annotations

import logging
from typing import Dict, Optional, Tuple

import torch
from espnet2.asr.encoder.abs_encoder import AbsEncoder
from espnet2.asr.frontend.abs_frontend import AbsFrontend
from espnet2.asr.specaug.abs_specaug import AbsSpecAug
from espnet2.layers.abs_normalize import AbsNormalize
from espnet2.torch_utils.device_funcs import force_gatherable
from espnet2.train.abs_espnet_model import AbsESPnetModel

from usm_espnet.ssl.best_rq import (
    BestRQConfig,
    BestRQLoss,
    RandomProjectionQuantizer,
    apply_mask,
    compute_mask,
    mask_to_encoder_rate,
    subsampling_factor,
)

logger = logging.getLogger(__name__)


class ESPnetBestRQModel(AbsESPnetModel):
    """BEST-RQ pre-training model for ESPnet's trainer.

    Labels come from the normalised, unmasked features; masked frames are
    replaced by N(0, noise_std^2) noise before the encoder; N softmax heads on
    the encoder output are trained with cross-entropy at masked frames.
    The quantizer's stack factor is measured from the encoder's subsampling and
    the mask span is converted to frames with the frontend's frame shift.

    Args:
        input_size: Feature dimension entering the encoder.
        frontend: Feature extractor (None: features come from the loader).
        specaug: Optional augmentation applied to the masked encoder input only.
        normalize: Feature normalisation (e.g. global_mvn).
        encoder: Any ESPnet encoder.
        num_quantizers: Quantizers / softmax heads (USM 16, BEST-RQ 1).
        codebook_size: Codebook entries per quantizer.
        codebook_dim: Projection / codebook dimension.
        mask_prob: Probability that a frame starts a masked span.
        mask_span_ms: Masked span in milliseconds.
        noise_std: Std of the noise replacing masked frames.
        quantizer_seed: Seed of the projections and codebooks.
        frame_shift_ms: Frame shift used when there is no frontend.
    """

    def __init__(
        self,
        input_size: int,
        frontend: Optional[AbsFrontend],
        specaug: Optional[AbsSpecAug],
        normalize: Optional[AbsNormalize],
        encoder: AbsEncoder,
        num_quantizers: int = BestRQConfig.num_quantizers,
        codebook_size: int = BestRQConfig.codebook_size,
        codebook_dim: int = BestRQConfig.codebook_dim,
        mask_prob: float = BestRQConfig.mask_prob,
        mask_span_ms: float = BestRQConfig.mask_span_ms,
        noise_std: float = BestRQConfig.noise_std,
        quantizer_seed: int = BestRQConfig.seed,
        frame_shift_ms: float = BestRQConfig.frame_shift_ms,
    ) -> None:
        super().__init__()
        if specaug is not None and getattr(specaug, "time_warp", None) is not None:
            raise ValueError(
                "specaug with time warp cannot be used in BEST-RQ pre-training: the labels come "
                "from the unwarped features, so warping would misalign them with the encoder "
                "frames (set specaug_conf: {apply_time_warp: false})")
        if frontend is not None:
            hop = getattr(frontend, "hop_length", None)
            logmel = getattr(frontend, "logmel", None)
            fs = getattr(logmel, "mel_options", {}).get("sr") or 16000
            if hop:
                frame_shift_ms = 1000.0 * float(hop) / float(fs)
        self.config = BestRQConfig(
            num_quantizers=num_quantizers,
            codebook_size=codebook_size,
            codebook_dim=codebook_dim,
            mask_prob=mask_prob,
            mask_span_ms=mask_span_ms,
            noise_std=noise_std,
            frame_shift_ms=frame_shift_ms,
            seed=quantizer_seed,
        )
        self.frontend = frontend
        self.specaug = specaug
        self.normalize = normalize
        self.encoder = encoder
        self.stack = subsampling_factor(encoder, input_size)
        self.quantizer = RandomProjectionQuantizer(
            input_size,
            self.stack,
            num_quantizers=num_quantizers,
            codebook_size=codebook_size,
            codebook_dim=codebook_dim,
            seed=quantizer_seed,
        )
        self.loss_fn = BestRQLoss(encoder.output_size(), num_quantizers, codebook_size)
        logger.info(
            "BEST-RQ: %d quantizer(s) x %d codes (dim %d), stack %d (measured), "
            "mask p=%g span %d frames (%g ms at %g ms/frame), noise std %g",
            num_quantizers, codebook_size, codebook_dim, self.stack, mask_prob,
            self.config.mask_span, mask_span_ms, frame_shift_ms, noise_std,
        )

    def _rank_generator(self) -> Optional[torch.Generator]:
        """None (the global RNG) in one process; a per-rank CPU generator under DDP.

        ESPnet seeds every rank alike (``set_all_random_seed(seed + epoch)`` at each
        epoch), so under DDP the masks come from a generator seeded with
        ``torch.initial_seed() + 7919 * rank``, re-seeded whenever that changes: each
        epoch's draws depend only on (seed, epoch, rank), and a resumed run draws the
        masks an uninterrupted one would (``tests/bin/test_ddp_cpu.py``).
        """
        dist = torch.distributed
        if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
            return None
        seed = int(torch.initial_seed()) + 7919 * dist.get_rank()
        if getattr(self, "_gen", None) is None or getattr(self, "_gen_seed", None) != seed:
            self._gen = torch.Generator().manual_seed(seed)
            self._gen_seed = seed
        return self._gen

    def _extract_feats(
        self, speech: torch.Tensor, speech_lengths: torch.Tensor
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Frontend features, trimmed to the longest utterance."""
        speech = speech[:, : speech_lengths.max()]
        if self.frontend is None:
            return speech, speech_lengths
        return self.frontend(speech, speech_lengths)

    def collect_feats(
        self, speech: torch.Tensor, speech_lengths: torch.Tensor, **kwargs
    ) -> Dict[str, torch.Tensor]:
        """Features for ESPnet's ``--collect_stats`` (global mean / variance)."""
        feats, feats_lengths = self._extract_feats(speech, speech_lengths)
        return {"feats": feats, "feats_lengths": feats_lengths}

    def forward(
        self, speech: torch.Tensor, speech_lengths: torch.Tensor, **kwargs
    ) -> Tuple[torch.Tensor, Dict[str, torch.Tensor], torch.Tensor]:
        """One BEST-RQ step on a batch of waveforms (or features).

        Args:
            speech: (B, L) waveforms, or (B, T, F) features without a frontend.
            speech_lengths: (B,) valid lengths.
            **kwargs: Other loader outputs (e.g. ``text``), ignored.

        Returns:
            loss, stats (``loss``, ``acc``, ``acc_head<i>``,
            ``codebook_perplexity``, ``masked_fraction``) and the batch weight.
        """
        feats, lens = self._extract_feats(speech, speech_lengths)
        if self.normalize is not None:
            feats, lens = self.normalize(feats, lens)
        # Validation uses a fixed mask draw so that its loss is comparable across epochs;
        # under DDP each rank draws its own masks (ESPnet seeds all ranks alike).
        gen = self._rank_generator() if self.training else torch.Generator().manual_seed(self.config.seed + 1)
        mask = compute_mask(lens, feats.size(1), self.config.mask_prob,
                            self.config.mask_span, gen)
        enc_mask = mask_to_encoder_rate(mask, self.stack)
        labels, _ = self.quantizer(feats, lens, select=enc_mask)  # only the frames the loss uses
        masked = apply_mask(feats, mask, self.config.noise_std, gen)
        if self.specaug is not None and self.training:
            masked, lens = self.specaug(masked, lens)
        enc, enc_lens, _ = self.encoder(masked, lens)
        if isinstance(enc, (tuple, list)):  # encoders returning intermediate outputs
            enc = enc[0]
        loss, stats = self.loss_fn(enc, enc_lens, labels, enc_mask)
        # A non-finite loss is left to ESPnet's trainer, which logs and skips the update.
        loss, stats, weight = force_gatherable((loss, stats, speech.size(0)), loss.device)
        return loss, stats, weight
