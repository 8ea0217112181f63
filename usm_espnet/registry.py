"""The one place where usm-espnet's classes join ESPnet's ``ClassChoices``.

ESPnet builds its argument parser (and, at inference, rebuilds a model from the
saved ``config.yaml``) from module-level ``ClassChoices`` objects in
``espnet2/tasks/*.py``. Their ``classes`` dicts are closed: a yaml naming
``encoder: usm_conformer`` fails unless our class was added before the parser
was built. Every entry point in ``usm_espnet.bin`` calls :func:`register`
first, for training and for decoding alike, and ``import usm_espnet`` installs
:func:`install_import_hook`, so that ESPnet's own entry points and ``Speech2Text``
know our classes too (registration runs when ESPnet's task module is imported).

To add a class: append a row to ``REGISTRY`` (task module, choices variable,
key, our module, our class). Keys are lower case, as ESPnet stores them.
"""

import importlib
import importlib.abc
import importlib.machinery
import logging
import sys
from typing import Dict, Iterable, List, Optional, Tuple

logger = logging.getLogger(__name__)

# (ESPnet task module, ClassChoices variable, key, our module, our class)
REGISTRY: List[Tuple[str, str, str, str, str]] = [
    ("espnet2.tasks.asr", "encoder_choices", "usm_conformer",
     "usm_espnet.nets.usm_conformer", "USMConformerEncoder"),
    ("espnet2.tasks.asr", "encoder_choices", "chunk_conformer",
     "usm_espnet.nets.chunk_conformer", "ChunkConformerEncoder"),
    ("espnet2.tasks.asr", "encoder_choices", "w2v_bert_conformer",
     "usm_espnet.nets.w2v_bert", "W2VBertConformerEncoder"),
    ("espnet2.tasks.asr", "frontend_choices", "w2v_bert_fbank",
     "usm_espnet.nets.w2v_bert", "W2VBertFbankFrontend"),
    ("espnet2.tasks.asr", "encoder_choices", "gemma3n_conformer",
     "usm_espnet.nets.gemma3n_audio", "Gemma3nConformerEncoder"),
    ("espnet2.tasks.asr", "frontend_choices", "gemma3n_mel",
     "usm_espnet.nets.gemma3n_audio", "Gemma3nMelFrontend"),
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
    from usm_espnet import espnet_fixes

    espnet_fixes.apply()  # ESPnet's pad mask in linear time (long inputs); see that module
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


# ------------------------------------------------------------- register on import


class _RegisteringLoader(importlib.abc.Loader):
    """Runs the real loader, then :func:`register` for the module it loaded."""

    def __init__(self, inner: importlib.abc.Loader, name: str) -> None:
        self.inner = inner
        self.name = name

    def create_module(self, spec):  # noqa: D102 - importlib protocol
        return self.inner.create_module(spec)

    def exec_module(self, module) -> None:  # noqa: D102 - importlib protocol
        self.inner.exec_module(module)
        module.__loader__ = self.inner  # the module looks as if imported normally
        if getattr(module, "__spec__", None) is not None:
            module.__spec__.loader = self.inner
        _register_quietly(self.name)

    def __getattr__(self, attr):
        return getattr(self.inner, attr)


class _RegisterOnImport(importlib.abc.MetaPathFinder):
    """A ``sys.meta_path`` finder that hooks the ESPnet task modules of REGISTRY."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names = set(names)

    def find_spec(self, fullname, path, target=None):  # noqa: D102 - importlib protocol
        if fullname not in self.names:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return None
        self.names.discard(fullname)
        spec.loader = _RegisteringLoader(spec.loader, fullname)
        return spec


def _register_quietly(task_module: str) -> None:
    try:
        register([task_module])
    except Exception as e:  # noqa: BLE001 - never break ESPnet's own import
        logger.warning("usm_espnet: could not register our classes in %s: %s: %s",
                       task_module, type(e).__name__, e)


def install_import_hook() -> None:
    """Register our classes in each ESPnet task module of REGISTRY when it is imported.

    Called by ``import usm_espnet``; cheap (imports neither ESPnet nor torch). Task
    modules already imported are registered into at once. Idempotent.
    """
    pending = []
    for task_mod in sorted({r[0] for r in REGISTRY}):
        if task_mod in sys.modules:
            if not _done.get(task_mod):
                _register_quietly(task_mod)
        else:
            pending.append(task_mod)
    if not pending:
        return
    for finder in sys.meta_path:
        if isinstance(finder, _RegisterOnImport):
            finder.names.update(pending)
            return
    sys.meta_path.insert(0, _RegisterOnImport(pending))
