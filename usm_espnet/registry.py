"""The one place where usm-espnet's classes join ESPnet's ``ClassChoices``.

ESPnet builds its argument parser (and, at inference, rebuilds a model from the
saved ``config.yaml``) from module-level ``ClassChoices`` objects in
``espnet2/tasks/*.py``. Their ``classes`` dicts are closed: a yaml naming
``encoder: usm_conformer`` fails unless our class was added before the parser
was built. Every entry point in ``usm_espnet.bin`` calls :func:`register`
first, for training and for decoding alike.

To add a class: append a row to ``REGISTRY`` (task module, choices variable,
key, our module, our class). Keys are lower case, as ESPnet stores them.
"""

import importlib
import logging
from typing import Dict, Iterable, List, Optional, Tuple

logger = logging.getLogger(__name__)

# (ESPnet task module, ClassChoices variable, key, our module, our class)
REGISTRY: List[Tuple[str, str, str, str, str]] = [
    ("espnet2.tasks.asr", "encoder_choices", "usm_conformer",
     "usm_espnet.nets.usm_conformer", "USMConformerEncoder"),
    ("espnet2.tasks.asr", "encoder_choices", "chunk_conformer",
     "usm_espnet.nets.chunk_conformer", "ChunkConformerEncoder"),
    ("espnet2.tasks.asr", "model_choices", "usm",
     "usm_espnet.nets.asr_model", "USMASRModel"),
]

_done: Dict[str, bool] = {}


def entries(task_module: Optional[str] = None) -> List[Tuple[str, str, str, str, str]]:
    """Rows of REGISTRY, optionally only those for one ESPnet task module."""
    return [r for r in REGISTRY if task_module is None or r[0] == task_module]


def register(task_modules: Optional[Iterable[str]] = None) -> List[str]:
    """Add our classes to ESPnet's ClassChoices; idempotent.

    Args:
        task_modules: ESPnet task modules to register into (e.g.
            ``["espnet2.tasks.asr"]``); all of REGISTRY's when None.

    Returns:
        The ``"task:choices:key"`` names that are registered.

    Raises:
        ValueError: A key is already taken in ESPnet by a different class.
    """
    wanted = set(task_modules) if task_modules is not None else {r[0] for r in REGISTRY}
    names = []
    for task_mod, choices_name, key, mod, cls_name in REGISTRY:
        if task_mod not in wanted:
            continue
        task = importlib.import_module(task_mod)
        choices = getattr(task, choices_name)
        cls = getattr(importlib.import_module(mod), cls_name)
        key = key.lower()
        present = choices.classes.get(key)
        if present is not None and present is not cls:
            raise ValueError(
                f"{task_mod}.{choices_name} already has '{key}' "
                f"({present.__module__}.{present.__name__}); pick another key for {mod}.{cls_name}"
            )
        if choices.base_type is not None and not issubclass(cls, choices.base_type):
            raise ValueError(f"{mod}.{cls_name} must subclass {choices.base_type.__name__}")
        choices.classes[key] = cls
        names.append(f"{task_mod}:{choices_name}:{key}")
    for t in wanted:
        _done[t] = True
    logger.debug("registered %s", names)
    return names
