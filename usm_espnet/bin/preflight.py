"""Checks run before ESPnet trains or decodes: one clear error line, not a traceback.

ESPnet reads a training yaml without checking types (``max_epoch: three`` is
accepted and fails much later), hands ``encoder_conf`` and friends to a class
constructor (an unknown key is a ``TypeError`` deep in model building) and reads
audio inside DataLoader workers (a corrupt wav is a traceback minutes into
training). ``usm_espnet.bin.asr_train``, ``ssl_train`` and ``asr_inference`` call
this module first; each problem is a :class:`PreflightError` whose message starts
with ``file:line``::

    conf/train.yaml:14: encoder_conf.output_size: expected int, got str 'big'
    dump/raw/train/wav.scp:3: utterance 'u2': truncated audio file ...

Usable on its own (exit status 1 and one ``ERROR:`` line on a problem)::

    python -m usm_espnet.bin.preflight --task asr --config conf/train.yaml \\
        --train_data_path_and_name_and_type dump/raw/train/wav.scp,speech,sound ...

Set ``USM_SKIP_PREFLIGHT=1`` to skip these checks (e.g. for a corpus already
checked, whose audio headers would take long to read). The distributed launch
checks (:func:`usm_espnet.tasks.distributed.check_launch`: ``--ngpu``, world size,
rendezvous) run in :func:`run_training` even then: they read no data.
"""

from __future__ import annotations

import argparse
import inspect
import logging
import os
import sys
import types
import typing
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

logger = logging.getLogger(__name__)

#: Task name -> (module, class) of the ESPnet task whose options are checked.
TASKS: Dict[str, Tuple[str, str]] = {
    "asr": ("espnet2.tasks.asr", "ASRTask"),
    "ssl": ("usm_espnet.tasks.best_rq", "BestRQTask"),
}
_SCALARS = (int, float, bool, str, type(None))


class PreflightError(ValueError):
    """A training or decoding input that would fail later; the message names file and line."""


# ------------------------------------------------------------------------- yaml


def _compose(path: str):
    """Parse ``path`` into a yaml node tree; syntax errors name the line."""
    import yaml

    try:
        with open(path, "rb") as f:
            raw = f.read()
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise PreflightError(f"{path}: config file not found") from None
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise PreflightError(f"{path}:{line}: not valid UTF-8 ({e.reason})") from None
    try:
        return yaml.compose(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else path
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise PreflightError(f"{where}: yaml syntax error: {problem}") from None


def _key_lines(node, path: str, prefix: Tuple[str, ...] = ()) -> Dict[Tuple[str, ...], int]:
    """Key path -> 1-based line, for every mapping key; a repeated key is an error."""
    import yaml

    out: Dict[Tuple[str, ...], int] = {}
    if isinstance(node, yaml.MappingNode):
        for knode, vnode in node.value:
            key = (*prefix, str(knode.value))
            line = knode.start_mark.line + 1
            if key in out:
                raise PreflightError(
                    f"{path}:{line}: key {'.'.join(key)!r} repeats (first at line {out[key]}); "
                    f"yaml would silently keep only the last value")
            out[key] = line
            out.update(_key_lines(vnode, path, key))
    return out


def load_yaml_with_lines(path: str) -> Tuple[Dict[str, Any], Dict[Tuple[str, ...], int]]:
    """Read a yaml mapping and the line of each (nested) key.

    Args:
        path: The yaml file.

    Returns:
        ``(mapping, {key path: line})``.

    Raises:
        PreflightError: Missing file, invalid UTF-8 or yaml, a repeated key, or a
            document that is not a mapping.
    """
    import yaml

    node = _compose(path)
    if node is None:
        return {}, {}
    lines = _key_lines(node, path)
    data = yaml.safe_load(open(path, encoding="utf-8"))
    if not isinstance(data, dict):
        raise PreflightError(f"{path}:1: expected a mapping of options, got {type(data).__name__}")
    return data, lines


# ------------------------------------------------------------------------ types


def _leaves(annotation: Any) -> List[Any]:
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        out: List[Any] = []
        for a in typing.get_args(annotation):
            out.extend(_leaves(a))
        return out
    return [annotation]


def _type_problem(value: Any, annotation: Any) -> Optional[str]:
    """Why ``value`` does not fit ``annotation`` (None if it does or cannot be judged).

    Only judged where a wrong value is certain: the annotation is built from
    int/float/bool/str/None only, or the value is a string where no string is allowed.
    """
    from typeguard import TypeCheckError, check_type

    if annotation is inspect.Parameter.empty or annotation is Any:
        return None
    leaves = _leaves(annotation)
    if not (all(leaf in _SCALARS for leaf in leaves) or isinstance(value, str)):
        return None
    try:
        check_type(value, annotation)
    except TypeCheckError:
        pass
    except Exception:  # noqa: BLE001 - an annotation typeguard cannot evaluate
        return None
    else:
        return None
    if isinstance(value, bool) and any(leaf in (int, float) for leaf in leaves):
        return None  # check_type's rejection of bool for int is stricter than Python
    name = (annotation.__name__ if isinstance(annotation, type)
            else str(annotation).replace("typing.", ""))
    hint = ""
    if isinstance(value, str):
        try:
            float(value)
            hint = " (yaml reads a number without a '.' before its exponent, e.g. 1e-3, as " \
                   "a string: write 1.0e-3)"
        except ValueError:
            pass
    return f"expected {name}, got {type(value).__name__} {value!r}{hint}"


def _hints(fn: Any) -> Dict[str, Any]:
    try:
        return typing.get_type_hints(fn)
    except Exception:  # noqa: BLE001 - unresolvable forward references: no types
        return {}


def _check_kwargs(cls: type, conf: Dict[str, Any], where: Any, name: str) -> None:
    """Keys of ``<name>_conf`` must be parameters of ``cls``; scalar values must fit."""
    if not isinstance(conf, dict):
        raise PreflightError(f"{where((name,))}: {name} must be a mapping of keyword "
                             f"arguments, got {type(conf).__name__} {conf!r}")
    # A constructor taking **kwargs usually hands them to its base class: follow the
    # MRO until a constructor without **kwargs closes the set of accepted names.
    params: Dict[str, inspect.Parameter] = {}
    hints: Dict[str, Any] = {}
    takes_any = True
    for fn in ([c.__dict__["__init__"] for c in cls.__mro__ if "__init__" in c.__dict__
                and c is not object] if inspect.isclass(cls) else [cls]):
        try:
            sig = inspect.signature(fn).parameters
        except (TypeError, ValueError):
            return
        for pname, par in sig.items():
            if par.kind not in (inspect.Parameter.VAR_POSITIONAL,
                                inspect.Parameter.VAR_KEYWORD) and pname != "self":
                params.setdefault(pname, par)
        for pname, hint in _hints(fn).items():
            hints.setdefault(pname, hint)
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in sig.values()):
            takes_any = False
            break
    allowed = list(params)
    for key, value in conf.items():
        if key not in params:
            if takes_any:
                continue
            import difflib

            close = difflib.get_close_matches(str(key), allowed, n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise PreflightError(
                f"{where((name, str(key)))}: {name}.{key}: unknown option of "
                f"{cls.__module__}.{cls.__qualname__}{hint} (allowed: {', '.join(allowed)})")
        problem = _type_problem(value, hints.get(key, params[key].annotation))
        if problem:
            raise PreflightError(f"{where((name, str(key)))}: {name}.{key}: {problem}")


_ARG_TYPES: Dict[str, Tuple[type, ...]] = {
    "int": (int,), "float": (int, float), "str2bool": (bool,),
    "int_or_none": (int, type(None)), "float_or_none": (int, float, type(None)),
    "str_or_none": (str, type(None)),
}


def _check_top_level(parser: argparse.ArgumentParser, data: Dict[str, Any], where: Any) -> None:
    actions = {a.dest: a for a in parser._actions}  # noqa: SLF001 - argparse has no public map
    for key, value in data.items():
        action = actions.get(key)
        if action is None or key == "config":
            import difflib

            close = difflib.get_close_matches(str(key), list(actions), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise PreflightError(f"{where((str(key),))}: unknown option {key!r}{hint}")
        if action.nargs not in (None, "?"):
            continue
        if isinstance(value, str) and callable(action.type):
            # argparse passes string defaults (the yaml's values) through the option's type
            try:
                value = action.type(value)
            except Exception as e:  # noqa: BLE001 - whatever the type function raises
                raise PreflightError(f"{where((str(key),))}: {key}: invalid value {value!r} "
                                     f"({type(e).__name__}: {e})") from None
            if action.choices is not None and value not in action.choices:
                allowed = ", ".join(str(c) for c in action.choices)
                raise PreflightError(
                    f"{where((str(key),))}: {key}: {value!r} is not one of: {allowed}")
            continue
        tname = getattr(action.type, "__name__", "")
        expected = _ARG_TYPES.get(tname)
        if action.type is int:
            expected = (int,)
        elif action.type is float:
            expected = (int, float)
        if expected and (not isinstance(value, expected)
                         or (isinstance(value, bool) and bool not in expected)):
            names = " or ".join("null" if t is type(None) else t.__name__ for t in expected)
            raise PreflightError(
                f"{where((str(key),))}: {key}: expected {names}, got "
                f"{type(value).__name__} {value!r}")
        if action.choices is not None and value is not None and expected is None \
                and not isinstance(value, (dict, list)):
            low = value.lower() if isinstance(value, str) else value
            if value not in action.choices and low not in action.choices:
                allowed = ", ".join(str(c) for c in action.choices)
                raise PreflightError(
                    f"{where((str(key),))}: {key}: {value!r} is not one of: {allowed}")


def check_config(task: str, argv: Sequence[str],
                 extra_confs: Optional[Dict[str, type]] = None) -> argparse.Namespace:
    """Check a training command's yaml and class options; return the parsed options.

    Args:
        task: A key of :data:`TASKS` (``asr`` or ``ssl``).
        argv: The command line (ESPnet options, ``--config`` among them).
        extra_confs: ``{"<name>_conf": class}`` for option dicts that go to a class
            not in the task's ``class_choices_list`` (default for ``ssl``: BEST-RQ's
            ``model_conf`` -> ``ESPnetBestRQModel``).

    Returns:
        The namespace ESPnet's parser makes of ``argv``.

    Raises:
        ValueError: Unknown ``task`` (naming the allowed ones).
        PreflightError: yaml syntax, a repeated or unknown key, a wrong scalar type,
            an unknown class name, or an unknown or wrongly typed ``*_conf`` key.
    """
    import importlib

    if task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(TASKS)}, got {task!r}")
    mod, cls_name = TASKS[task]
    task_cls = getattr(importlib.import_module(mod), cls_name)
    if extra_confs is None and task == "ssl":
        from usm_espnet.ssl.best_rq_espnet_model import ESPnetBestRQModel

        extra_confs = {"model_conf": ESPnetBestRQModel}
    parser = task_cls.get_parser()
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--config", default=None)
    config = pre.parse_known_args(list(argv))[0].config
    data: Dict[str, Any] = {}
    lines: Dict[Tuple[str, ...], int] = {}
    if config is not None:
        data, lines = load_yaml_with_lines(config)

    def where(key: Tuple[str, ...]) -> str:
        if key in lines:
            return f"{config}:{lines[key]}"
        if key[:1] in lines:
            return f"{config}:{lines[key[:1]]}"
        return "command line"

    if config is not None:
        _check_top_level(parser, data, where)
    args = parser.parse_args(list(argv))
    from espnet2.tasks.abs_task import optim_classes, scheduler_classes

    checks: List[Tuple[str, Optional[type]]] = []
    for choices in task_cls.class_choices_list:
        value = getattr(args, choices.name, None)
        try:
            cls = choices.get_class(value) if value is None or isinstance(value, str) else None
        except ValueError as e:
            raise PreflightError(f"{where((choices.name,))}: {e}") from None
        if not (value is None or isinstance(value, str)):
            raise PreflightError(f"{where((choices.name,))}: {choices.name}: expected a class "
                                 f"name, got {type(value).__name__} {value!r}")
        checks.append((f"{choices.name}_conf", cls))
    optim = getattr(args, "optim", None)
    if isinstance(optim, str):
        if optim.lower() not in optim_classes:
            raise PreflightError(f"{where(('optim',))}: optim: {optim!r} is not one of: "
                                 f"{', '.join(optim_classes)}")
        checks.append(("optim_conf", optim_classes[optim.lower()]))
    sched = getattr(args, "scheduler", None)
    if isinstance(sched, str) and sched.lower() in scheduler_classes:
        checks.append(("scheduler_conf", scheduler_classes[sched.lower()]))
    checks.extend((extra_confs or {}).items())
    for conf_name, cls in checks:
        conf = getattr(args, conf_name, None)
        if cls is None or conf is None:
            continue
        _check_kwargs(cls, conf, where, conf_name)
    return args


# ------------------------------------------------------------------------- data


def _parse_rate(value: Any) -> int:
    if isinstance(value, str):
        import humanfriendly

        return int(humanfriendly.parse_size(value))
    return int(value)


def frontend_rate(args: Any) -> int:
    """Sample rate the model's frontend expects (``frontend_conf.fs``, default 16 kHz).

    Args:
        args: Parsed options (namespace or dict) with ``frontend_conf``.
    """
    conf = (args.get("frontend_conf") if isinstance(args, dict)
            else getattr(args, "frontend_conf", None)) or {}
    return _parse_rate(conf.get("fs", 16000)) if isinstance(conf, dict) else 16000


def _read_map(path: str, allow_empty_value: bool = False):
    """:func:`~usm_espnet.data.kaldi.read_kaldi_map` with a BOM refused (ESPnet would keep it)."""
    from usm_espnet.data.kaldi import DataDirError, read_kaldi_map

    try:
        return read_kaldi_map(path, allow_empty_value=allow_empty_value, bom="error")
    except DataDirError as e:
        raise PreflightError(str(e)) from None


def check_sound_scp(path: str, rate: int = 16000, decoding: bool = False) -> Dict[str, float]:
    """Every entry of a ``wav.scp`` must be a readable, complete, finite mono file at ``rate``.

    Piped commands and ark references are not opened (format them with stage 2). The
    checks are :func:`usm_espnet.data.validate.check_audio_file`'s.

    Args:
        path: The scp file.
        rate: The sample rate the model expects.
        decoding: For the message about an empty file.

    Returns:
        Utterance -> duration in seconds (plain files only).

    Raises:
        PreflightError: ``path:line`` and the problem.
    """
    from usm_espnet.data.audio import AudioError
    from usm_espnet.data.validate import check_audio_file

    scp = _read_map(path)
    if not scp:
        raise PreflightError(f"{path}: no utterances (empty file): nothing to "
                             f"{'decode' if decoding else 'train on'}")
    out: Dict[str, float] = {}
    for utt, spec in scp.items():
        s = spec.strip()
        if s.endswith("|") or s.startswith("ark:") or ".ark:" in s:
            continue
        try:
            info = check_audio_file(s, rate=rate, mono=True, advise=True)
        except AudioError as e:
            raise PreflightError(f"{scp.where(utt)}: utterance {utt!r}: {e}") from None
        out[utt] = info.seconds
    return out


def check_text(path: str, seconds: Optional[Dict[str, float]] = None):
    """Transcripts must be non-empty, free of control characters and fit their audio.

    The checks are :func:`usm_espnet.data.validate.check_transcripts`'.

    Args:
        path: A Kaldi ``text`` file.
        seconds: Utterance -> audio duration, to reject transcripts with more
            characters per second than speech carries.

    Returns:
        The transcripts (a :class:`~usm_espnet.data.kaldi.KaldiMap`).

    Raises:
        PreflightError: ``path:line`` and the problem.
    """
    from usm_espnet.data.kaldi import DataDirError
    from usm_espnet.data.validate import check_transcripts

    text = _read_map(path, allow_empty_value=True)
    try:
        check_transcripts(text, seconds)
    except DataDirError as e:
        raise PreflightError(str(e)) from None
    return text


def check_data(triples: Iterable[Sequence[str]], rate: int = 16000) -> None:
    """Check one data group (ESPnet's ``*_data_path_and_name_and_type`` entries).

    ``sound`` files go through :func:`check_sound_scp`, ``text`` files through
    :func:`check_text`; other types are left to ESPnet. All files of the group must
    list the same utterances (ESPnet would fail with a ``KeyError`` mid-epoch;
    :func:`usm_espnet.data.validate.check_same_ids`).

    Args:
        triples: ``(path, name, type)`` entries.
        rate: The sample rate the model expects.

    Raises:
        PreflightError: The first problem, naming file and line.
    """
    from usm_espnet.data.kaldi import DataDirError
    from usm_espnet.data.validate import check_same_ids

    triples = [tuple(t) for t in triples]
    seconds: Dict[str, float] = {}
    keys: List[Tuple[str, Any]] = []
    for path, _name, kind in triples:
        if kind == "sound":
            seconds.update(check_sound_scp(path, rate))
    for path, _name, kind in triples:
        if kind == "text":
            keys.append((path, check_text(path, seconds)))
        elif kind == "sound":
            keys.append((path, _read_map(path)))
    for (p1, m1), (p2, m2) in zip(keys, keys[1:]):
        try:
            check_same_ids(m1, p1, m2, p2)
        except DataDirError as e:
            raise PreflightError(str(e)) from None


def check_token_list(token_list: Any) -> None:
    """A token list (file or list) must exist and hold tokens besides the special ones.

    ESPnet reads an empty ``tokens.txt`` as a vocabulary of size 0 and fails deep in
    model building (or builds a CTC layer with no outputs).

    Args:
        token_list: ``--token_list`` (a path, a list of tokens, or None: not checked).

    Raises:
        PreflightError: Missing, unreadable or empty file, or only special tokens.
    """
    if token_list is None:
        return
    where = "--token_list"
    if isinstance(token_list, str):
        where = token_list
        try:
            with open(token_list, "rb") as f:
                raw = f.read()
        except FileNotFoundError:
            raise PreflightError(f"{token_list}: token list not found") from None
        except IsADirectoryError:
            raise PreflightError(f"{token_list}: token list is a directory, not a file") from None
        except OSError as e:
            raise PreflightError(f"{token_list}: cannot read the token list: {e.strerror}") \
                from None
        from usm_espnet.data.kaldi import UTF8_BOM

        if raw.startswith(UTF8_BOM):
            raise PreflightError(f"{token_list}:1: the token list starts with a UTF-8 "
                                 f"byte-order mark (BOM); remove it")
        try:
            tokens = [t.strip() for t in raw.decode("utf-8").splitlines()]
        except UnicodeDecodeError as e:
            line = raw[: e.start].count(b"\n") + 1
            raise PreflightError(f"{token_list}:{line}: not valid UTF-8 ({e.reason})") from None
    else:
        tokens = [str(t).strip() for t in token_list]
    real = [t for t in tokens if t and t not in ("<blank>", "<unk>", "<sos/eos>", "<space>")]
    if not real:
        raise PreflightError(
            f"{where}: empty token list ({len([t for t in tokens if t])} tokens, none besides "
            f"<blank>/<unk>/<sos/eos>); was it made from an empty text (stage 3, "
            f"usm_espnet.bin.make_token_list)?")


def check_training(task: str, argv: Sequence[str],
                   extra_confs: Optional[Dict[str, type]] = None) -> argparse.Namespace:
    """:func:`check_config`, then :func:`check_data` on the training and validation data.

    Args:
        task: ``asr`` or ``ssl``.
        argv: The training command line.
        extra_confs: See :func:`check_config`.

    Returns:
        The parsed options.

    Raises:
        PreflightError: The first problem found.
    """
    args = check_config(task, argv, extra_confs)
    if getattr(args, "print_config", False):
        return args
    check_token_list(getattr(args, "token_list", None))
    rate = frontend_rate(args)
    for group in ("train", "valid"):
        triples = getattr(args, f"{group}_data_path_and_name_and_type", None) or []
        if group == "train" and getattr(args, "multiple_iterator", False):
            for shard in _shard_triples(triples):
                check_data(shard, rate)
        else:
            check_data(triples, rate)
    return args


def _shard_triples(triples: Sequence[Sequence[str]]) -> List[List[Tuple[str, str, str]]]:
    """With ``--multiple_iterator true``: each shard's ``(path/split.<i>, name, type)``.

    Shards whose files are missing are left out: training skips them, counted and
    logged (:class:`usm_espnet.tasks.distributed.ShardSkippingIterFactory`).

    Raises:
        PreflightError: A data path that is not a shard directory with ``num_splits``.
    """
    out: List[List[Tuple[str, str, str]]] = []
    num = None
    for path, _name, _kind in triples:
        f = os.path.join(path, "num_splits")
        try:
            with open(f, encoding="utf-8") as fh:
                num = int(fh.read().strip())
        except (OSError, ValueError):
            raise PreflightError(f"{path}: --multiple_iterator true expects a shard directory "
                                 "with num_splits and split.<i> (prepare_untranscribed "
                                 "--num_shards writes one)") from None
    for i in range(num or 0):
        shard = [(os.path.join(p, f"split.{i}"), n, t) for p, n, t in triples]
        if all(os.path.isfile(p) for p, _, _ in shard):
            out.append(shard)
    return out


def check_model_files(config: Optional[str], model: Optional[str],
                      config_opt: str = "--asr_train_config",
                      model_opt: str = "--asr_model_file") -> None:
    """A decoding command's training config and model file must exist and be non-empty.

    The config must also be a yaml mapping (ESPnet fails on it with a traceback).

    Args:
        config: The training ``config.yaml`` (None: not given, not checked).
        model: The model ``.pth`` (None: not given, not checked).
        config_opt: The config's option name, for messages.
        model_opt: The model's option name, for messages.

    Raises:
        PreflightError: A missing, empty or unreadable file, or a config that is not
            a yaml mapping.
    """
    for path, opt, what in ((config, config_opt, "training config"),
                            (model, model_opt, "model file")):
        if path is None:
            continue
        if os.path.isdir(path):
            raise PreflightError(f"{path}: {opt} is a directory, not a {what}")
        if not os.path.isfile(path):
            raise PreflightError(f"{path}: {what} not found ({opt})")
        if os.path.getsize(path) == 0:
            raise PreflightError(f"{path}: {what} is empty (0 bytes; an interrupted copy or "
                                 f"training run?) ({opt})")
    if config is not None:
        data, _ = load_yaml_with_lines(config)
        if not data:
            raise PreflightError(f"{config}: training config holds no options ({config_opt})")


def check_decoding(argv: Sequence[str]) -> None:
    """Check the audio of a decoding command (``--data_path_and_name_and_type``).

    The expected sample rate comes from ``--asr_train_config``'s ``frontend_conf``.

    Args:
        argv: The ``asr_inference`` command line.

    Raises:
        PreflightError: The first problem found.
    """
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--asr_train_config", default=None)
    p.add_argument("--asr_model_file", default=None)
    p.add_argument("--data_path_and_name_and_type", action="append", default=[],
                   type=lambda s: tuple(s.split(",")))
    known, _ = p.parse_known_args(list(argv))
    check_model_files(known.asr_train_config, known.asr_model_file)
    rate = 16000
    if known.asr_train_config and os.path.isfile(known.asr_train_config):
        data, _ = load_yaml_with_lines(known.asr_train_config)
        rate = frontend_rate(data)
    for triple in known.data_path_and_name_and_type:
        if len(triple) == 3 and triple[2] == "sound":
            check_sound_scp(triple[0], rate, decoding=True)


def run_training(task: Any, name: str, cmd: Optional[Sequence[str]] = None) -> int:
    """The ``main`` of our training entry points: check the command, then ``task.main``.

    Args:
        task: The ESPnet task class (its ``trainer`` is set back to ESPnet's own
            with ``--use_deepspeed true``, the only trainer ESPnet allows there).
        name: Its key in :data:`TASKS`.
        cmd: Command-line arguments (default: ``sys.argv[1:]``).

    Returns:
        0 after training, 1 when a check failed (one ``ERROR:`` line printed).
    """
    from usm_espnet.tasks import distributed

    argv = list(sys.argv[1:] if cmd is None else cmd)
    try:  # cheap, and a mistake here hangs or misplaces ranks: run even when checks are skipped
        distributed.prepare(argv)
    except distributed.LaunchError as e:
        print(f"ERROR: {e}", file=sys.stderr)
        return 1
    if not skipped() and "--help" not in argv and "-h" not in argv:
        try:
            args = check_training(name, argv)
        except PreflightError as e:
            print(f"ERROR: {e}", file=sys.stderr)
            return 1
        if getattr(args, "use_deepspeed", False):
            from espnet2.train.trainer import Trainer

            task.trainer = Trainer
    return distributed.run_main(task, argv)


def skipped() -> bool:
    """True when ``USM_SKIP_PREFLIGHT`` is set to a true value."""
    return os.environ.get("USM_SKIP_PREFLIGHT", "").lower() in ("1", "true", "yes")


def main(argv: Optional[List[str]] = None) -> int:
    """Check a training command line without training.

    Args:
        argv: ``--task asr|ssl`` followed by the training options.

    Returns:
        0 when every check passes, 1 otherwise (one ``ERROR:`` line on stderr).
    """
    p = argparse.ArgumentParser(prog="python -m usm_espnet.bin.preflight",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--task", choices=sorted(TASKS), required=True)
    known, rest = p.parse_known_args(argv)
    if known.task == "asr":
        from usm_espnet.registry import register

        register(["espnet2.tasks.asr"])
    try:
        check_training(known.task, rest)
    except PreflightError as e:
        print(f"ERROR: {e}", file=sys.stderr)
        return 1
    print("preflight: configuration and data look fine")
    return 0


if __name__ == "__main__":
    sys.exit(main())
