"""ESPnet task for BEST-RQ pre-training (``python -m usm_espnet.bin.ssl_train``).

A regular ``AbsTask``: ESPnet's trainer gives checkpointing, ``--resume``,
model averaging, ``--collect_stats`` and multi-GPU (DDP) training. The
frontend, specaug, normalize and encoder choices are *the ASR task's own
dictionaries* (shared, not copied), so a pre-training yaml can name any
encoder the ASR task knows, ours included, and its ``encoder_conf`` can be
pasted into the fine-tuning yaml unchanged.

Data: a ``speech`` entry (``wav.scp,speech,sound``) only; ``text`` is
accepted and ignored, so labelled data dirs can be used as they are.
"""

from __future__ import annotations

import argparse
import logging
from typing import Callable, Collection, Dict, List, Optional, Tuple

import numpy as np
import torch

from usm_espnet.registry import register

register(["espnet2.tasks.asr"])

from espnet2.tasks import asr as _asr  # noqa: E402
from espnet2.tasks.abs_task import AbsTask  # noqa: E402
from espnet2.train.class_choices import ClassChoices  # noqa: E402
from espnet2.train.collate_fn import CommonCollateFn  # noqa: E402
from espnet2.train.trainer import Trainer  # noqa: E402
from espnet2.utils.nested_dict_action import NestedDictAction  # noqa: E402
from espnet2.utils.types import int_or_none  # noqa: E402

from usm_espnet.ssl.best_rq_espnet_model import ESPnetBestRQModel  # noqa: E402


def _shared(asr_choices: ClassChoices, **kw) -> ClassChoices:
    """A ClassChoices of our task backed by the ASR task's class dictionary."""
    c = ClassChoices(
        asr_choices.name,
        classes=dict(asr_choices.classes),
        type_check=asr_choices.base_type,
        default=kw.get("default", asr_choices.default),
        optional=asr_choices.optional,
    )
    c.classes = asr_choices.classes  # later registrations show up here too
    return c


frontend_choices = _shared(_asr.frontend_choices)
specaug_choices = _shared(_asr.specaug_choices)
normalize_choices = _shared(_asr.normalize_choices)
encoder_choices = _shared(_asr.encoder_choices, default="usm_conformer")


def build_front_and_encoder(args: argparse.Namespace):
    """Frontend, input size, specaug, normalize and encoder from the shared ASR choices.

    Used by every task here that trains an ASR encoder (BEST-RQ, MOST). With
    ``--input_size`` set the features come from the loader and there is no frontend.

    Returns:
        ``(frontend, input_size, specaug, normalize, encoder)``.
    """
    if args.input_size is None:
        frontend = frontend_choices.get_class(args.frontend)(**args.frontend_conf)
        input_size = frontend.output_size()
    else:
        args.frontend, args.frontend_conf = None, {}
        frontend, input_size = None, args.input_size
    specaug = None
    if args.specaug is not None:
        specaug = specaug_choices.get_class(args.specaug)(**args.specaug_conf)
    normalize = None
    if args.normalize is not None:
        normalize = normalize_choices.get_class(args.normalize)(**args.normalize_conf)
    encoder = encoder_choices.get_class(args.encoder)(input_size=input_size, **args.encoder_conf)
    return frontend, input_size, specaug, normalize, encoder


class BestRQTask(AbsTask):
    """BEST-RQ pre-training of an ESPnet encoder on untranscribed speech."""

    num_optimizers: int = 1
    class_choices_list = [frontend_choices, specaug_choices, normalize_choices, encoder_choices]
    trainer = Trainer

    @classmethod
    def add_task_arguments(cls, parser: argparse.ArgumentParser) -> None:
        group = parser.add_argument_group("Task related")
        group.add_argument(
            "--input_size", type=int_or_none, default=None,
            help="Feature dimension when features come from the loader (no frontend)",
        )
        group.add_argument(
            "--model_conf", action=NestedDictAction, default=dict(),
            help="BEST-RQ options: num_quantizers (USM 16, BEST-RQ 1), codebook_size, "
                 "codebook_dim, mask_prob, mask_span_ms, noise_std, quantizer_seed",
        )
        for class_choices in cls.class_choices_list:
            class_choices.add_arguments(group)

    @classmethod
    def build_collate_fn(
        cls, args: argparse.Namespace, train: bool
    ) -> Callable[[Collection[Tuple[str, Dict[str, np.ndarray]]]],
                  Tuple[List[str], Dict[str, torch.Tensor]]]:
        return CommonCollateFn(float_pad_value=0.0, int_pad_value=-1)

    @classmethod
    def build_preprocess_fn(
        cls, args: argparse.Namespace, train: bool
    ) -> Optional[Callable[[str, Dict[str, np.ndarray]], Dict[str, np.ndarray]]]:
        return None

    @classmethod
    def required_data_names(cls, train: bool = True, inference: bool = False) -> Tuple[str, ...]:
        return ("speech",)

    @classmethod
    def optional_data_names(cls, train: bool = True, inference: bool = False) -> Tuple[str, ...]:
        return ("text",)

    @classmethod
    def build_model(cls, args: argparse.Namespace) -> ESPnetBestRQModel:
        frontend, input_size, specaug, normalize, encoder = build_front_and_encoder(args)
        model = ESPnetBestRQModel(
            input_size=input_size, frontend=frontend, specaug=specaug,
            normalize=normalize, encoder=encoder, **args.model_conf,
        )
        n = sum(p.numel() for p in model.encoder.parameters())
        logging.info("BEST-RQ encoder %s: %.2fM parameters", args.encoder, n / 1e6)
        return model
