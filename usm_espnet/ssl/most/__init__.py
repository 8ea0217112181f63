"""MOST: multi-objective supervised pre-training with text injection (USM, arXiv 2303.01037).

USM's third training stage continues a BEST-RQ model on three data streams at once:
untranscribed speech (BEST-RQ), transcribed speech (ASR, CTC here) and unspoken text
(text reconstruction through the shared encoder), tied together by a consistency
loss between a text encoder and the speech encoder on the transcribed data. Pure
PyTorch on top of our own modules, one module per idea:

* :mod:`~usm_espnet.ssl.most.model` -- :class:`MOSTConfig` (the paper's defaults:
  loss weights, per-stream batch sizes, the 20k-step text warm-up, text masking,
  duration mode, in one place) and :class:`MOSTModel` (the losses of all three
  streams around one encoder).
* :mod:`~usm_espnet.ssl.most.durations` -- :class:`DurationModel`, :func:`upsample`,
  :func:`ctc_durations`, :func:`alignment_to_durations`, :func:`fixed_durations`,
  :func:`random_durations`: everything that turns a token sequence into an
  encoder-rate frame sequence (forced alignment included).
* :mod:`~usm_espnet.ssl.most.text_encoder` -- :class:`TextEncoder`: token embedding,
  duration upsampler, one Conformer block.
* :mod:`~usm_espnet.ssl.most.encoder_split` -- where the speech encoder ends and the
  shared encoder starts inside one ASR encoder, and why it is split that way.
* :mod:`~usm_espnet.ssl.most.checks` -- input checks the modules above share.

Sampling the three streams per step (:class:`~usm_espnet.tasks.stream_mixer.StreamMixer`)
is data loading and lives with the task, in :mod:`usm_espnet.tasks.stream_mixer`; the
ESPnet wrapper is :mod:`usm_espnet.ssl.most_espnet_model`.

The names below are the public API: ``from usm_espnet.ssl.most import MOSTConfig``.
"""

from usm_espnet.ssl.most.durations import (
    DurationModel,
    alignment_to_durations,
    ctc_durations,
    fixed_durations,
    random_durations,
    upsample,
)
from usm_espnet.ssl.most.model import (
    DISTANCES,
    DURATION_MODES,
    PAIRED,
    SPEECH,
    STREAMS,
    TEXT,
    MOSTConfig,
    MOSTModel,
    greedy_cer,
)
from usm_espnet.ssl.most.text_encoder import TextEncoder

__all__ = [
    "DISTANCES", "DURATION_MODES", "PAIRED", "SPEECH", "STREAMS", "TEXT",
    "DurationModel", "MOSTConfig", "MOSTModel", "TextEncoder",
    "alignment_to_durations", "ctc_durations", "fixed_durations", "greedy_cer",
    "random_durations", "upsample",
]
