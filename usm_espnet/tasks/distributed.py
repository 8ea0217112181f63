"""Around ESPnet's DDP: launch checks, a collective timeout, one line per failure, shard skips.

Training is ESPnet's DDP, started by ``--ngpu N`` (one node) or by ``torchrun`` (one
process per GPU, ``--ngpu 1 --multiprocessing_distributed false``); nothing here
starts processes. What ESPnet leaves to chance, and this module adds for our
training entry points (``asr_train``, ``ssl_train``, ``most_train``):

* :func:`check_launch`: the launcher's variables (``WORLD_SIZE``, ``RANK``,
  ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``), ``--ngpu``,
  ``--multiprocessing_distributed``, ``--dist_*`` and the visible GPUs agree, before
  ESPnet starts. A mismatch is one :class:`LaunchError` line. Without it, some
  mismatches are a traceback after the model is built, and some run wrongly
  (``torchrun`` with ``--multiprocessing_distributed true`` puts every rank of a node
  on GPU 0, since ESPnet then reads ``RANK`` as the node's number) or hang
  (a rank waiting at the rendezvous for a world size the others do not have);
* :func:`install`: the process group gets a timeout (``USM_DIST_TIMEOUT`` seconds,
  default 1800, PyTorch's own default for gloo; NCCL's is 600), so a collective
  that waits on a rank that hangs (a stopped process, a vanished node) raises
  instead of waiting for ever. A collective that fails (timeout, or a peer's
  connection closed because it died) ends the rank with one line, see
  :func:`failure_line`, and exit status 1 (``os._exit``: a broken NCCL
  communicator can block interpreter shutdown). ``torchrun`` then stops the other
  ranks of its node and names the rank that died first (``failed (exitcode: -9)
  local_rank: 1 (pid ...)``, then ``rank: 1 (local_rank: 1)`` in its summary). A
  rank that dies takes its node's ``torchrun`` down at once; the other nodes'
  ranks fail at their next collective, as soon as the dead rank's connections
  close or, for a rank that hangs, after the timeout. ``--resume true`` continues
  from the last ``checkpoint.pth`` (written by rank 0 at the end of each epoch);
* with ``--multiple_iterator true`` (:mod:`usm_espnet.data.shards`), a shard that is
  missing or unreadable when the epoch reaches it is a counted, logged skip instead
  of ESPnet's ``FileNotFoundError`` at start-up or a crash mid-epoch (see
  :class:`ShardSkippingIterFactory`).
"""

from __future__ import annotations

import argparse
import datetime
import functools
import logging
import os
import re
import sys
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

from espnet2.iterators.abs_iter_factory import AbsIterFactory  # an ABC, no heavy imports

logger = logging.getLogger(__name__)

#: Environment variable: the process group's timeout on collectives, in seconds.
TIMEOUT_ENV = "USM_DIST_TIMEOUT"
DEFAULT_TIMEOUT_S = 1800.0
_LAUNCH_VARS = ("WORLD_SIZE", "RANK", "LOCAL_RANK")


class LaunchError(ValueError):
    """Inconsistent ``--ngpu`` / world size / rendezvous settings (one line)."""


# ------------------------------------------------------------------ launch checks


def _bool(x: str) -> bool:
    if str(x).lower() in ("true", "1", "yes"):
        return True
    if str(x).lower() in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {x!r}")


def _int_or_none(x: str) -> Optional[int]:
    return None if str(x).lower() in ("none", "null") else int(x)


def _str_or_none(x: str) -> Optional[str]:
    return None if str(x).lower() in ("none", "null") else x


#: ESPnet's distributed options: name -> (type, ESPnet's default).
_OPTIONS: Dict[str, Any] = {
    "ngpu": (int, 0),
    "multiprocessing_distributed": (_bool, False),
    "dist_backend": (str, "nccl"),
    "dist_init_method": (str, "env://"),
    "dist_world_size": (_int_or_none, None),
    "dist_rank": (_int_or_none, None),
    "local_rank": (_int_or_none, None),
    "dist_master_addr": (_str_or_none, None),
    "dist_master_port": (_int_or_none, None),
    "dist_launcher": (_str_or_none, None),
}


def launch_options(argv: Sequence[str]) -> argparse.Namespace:
    """ESPnet's distributed options from a training command line (and its ``--config``).

    Parsed here, not by ESPnet's parser, so that the check runs before ESPnet is
    imported into a process that must fail fast. Values in the yaml given with
    ``--config`` apply unless the command line sets them, as in ESPnet.

    Args:
        argv: The training command line.

    Raises:
        LaunchError: A value of the wrong type.
    """
    p = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    p.add_argument("--config", default=None)
    for name, (kind, _) in _OPTIONS.items():
        p.add_argument(f"--{name}", type=kind, default=argparse.SUPPRESS)
    try:
        known, _ = p.parse_known_args(list(argv))
    except SystemExit:  # argparse printed its own line about the value
        raise LaunchError("a distributed option has a value of the wrong type (see above)") from None
    conf: Dict[str, Any] = {}
    if known.config and os.path.isfile(known.config):
        import yaml

        try:
            with open(known.config, encoding="utf-8") as f:
                loaded = yaml.safe_load(f)
            conf = loaded if isinstance(loaded, dict) else {}
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            conf = {}  # the preflight names the yaml's problem
    out = argparse.Namespace()
    for name, (kind, default) in _OPTIONS.items():
        if hasattr(known, name):
            value = getattr(known, name)
        elif name in conf:
            value = conf[name]
            if isinstance(value, str):
                value = kind(value)
        else:
            value = default
        setattr(out, name, value)
    return out


def _env_int(env: Mapping[str, str], name: str, minimum: int = 0) -> Optional[int]:
    if name not in env:
        return None
    try:
        value = int(env[name])
    except ValueError:
        raise LaunchError(f"{name}={env[name]!r} is not an integer") from None
    if value < minimum:
        raise LaunchError(f"{name}={value}: must be at least {minimum}")
    return value


def visible_gpus() -> int:
    """GPUs this process can use (0 without CUDA)."""
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def check_launch(opts: argparse.Namespace, env: Optional[Mapping[str, str]] = None,
                 gpus: Optional[int] = None) -> None:
    """Check that the distributed settings agree; see the module docstring.

    Args:
        opts: :func:`launch_options` of the command line.
        env: The environment (default: ``os.environ``).
        gpus: Visible GPUs (default: :func:`visible_gpus`, asked only when needed).

    Raises:
        LaunchError: The first disagreement, as one line that says what to pass.
    """
    env = os.environ if env is None else env
    ngpu = opts.ngpu
    if ngpu < 0:
        raise LaunchError(f"--ngpu {ngpu}: 0 (CPU) or the number of GPUs")

    def n_gpus() -> int:
        return visible_gpus() if gpus is None else gpus

    cvd = env.get("CUDA_VISIBLE_DEVICES")
    shown_cvd = f" (CUDA_VISIBLE_DEVICES={cvd})" if cvd is not None else ""
    world = _env_int(env, "WORLD_SIZE", 1)
    rank = _env_int(env, "RANK")
    local = _env_int(env, "LOCAL_RANK")
    local_world = _env_int(env, "LOCAL_WORLD_SIZE", 1)
    _env_int(env, "MASTER_PORT", 1)
    launched = any(k in env for k in _LAUNCH_VARS)
    if not launched:
        if ngpu > 0 and n_gpus() < ngpu:
            have = n_gpus()
            raise LaunchError(f"--ngpu {ngpu} but {have or 'no'} GPU{'s' * (have != 1)} visible"
                              f"{shown_cvd}" + (": --ngpu 0 trains on the CPU" if not have else ""))
        if (opts.multiprocessing_distributed and (opts.dist_world_size or 1) > 1
                and opts.dist_rank is None and opts.dist_launcher is None):
            raise LaunchError(f"--dist_world_size {opts.dist_world_size} (nodes) with "
                              "--multiprocessing_distributed true needs --dist_rank (this node's "
                              "number); or start one process per GPU with torchrun")
        return
    where = "set by the launcher (torchrun)"
    if world is None or rank is None:
        missing = " and ".join(k for k, v in (("WORLD_SIZE", world), ("RANK", rank)) if v is None)
        present = ", ".join(f"{k}={env[k]}" for k in _LAUNCH_VARS if k in env)
        raise LaunchError(f"{present} is set but {missing} is not: start the ranks with torchrun, "
                          "which sets WORLD_SIZE, RANK, LOCAL_RANK, MASTER_ADDR and MASTER_PORT")
    if rank >= world:
        raise LaunchError(f"RANK={rank} >= WORLD_SIZE={world} ({where})")
    if local is not None and local_world is not None and local >= local_world:
        raise LaunchError(f"LOCAL_RANK={local} >= LOCAL_WORLD_SIZE={local_world} ({where})")
    if opts.dist_launcher is not None:
        raise LaunchError(f"--dist_launcher {opts.dist_launcher} reads ranks from "
                          f"{opts.dist_launcher}'s variables, but WORLD_SIZE={world} and "
                          f"RANK={rank} are {where}: drop --dist_launcher under torchrun")
    if opts.dist_world_size is not None and opts.dist_world_size != world:
        raise LaunchError(f"--dist_world_size {opts.dist_world_size} but WORLD_SIZE={world} "
                          f"({where}): drop --dist_world_size")
    if opts.dist_rank is not None and opts.dist_rank != rank:
        raise LaunchError(f"--dist_rank {opts.dist_rank} but RANK={rank} ({where}): drop --dist_rank")
    if opts.local_rank is not None and local is not None and opts.local_rank != local:
        raise LaunchError(f"--local_rank {opts.local_rank} but LOCAL_RANK={local} ({where}): "
                          "drop --local_rank")
    if world == 1:
        return
    if opts.multiprocessing_distributed:
        raise LaunchError(f"WORLD_SIZE={world} ({where}) with --multiprocessing_distributed "
                          "true, which makes ESPnet start its own processes and read RANK as "
                          "a node's number: pass --multiprocessing_distributed false "
                          "(one process per GPU, started by torchrun)")
    if ngpu > 1:
        raise LaunchError(f"--ngpu {ngpu} with WORLD_SIZE={world} ({where}): each process "
                          "drives one GPU, pass --ngpu 1 (torchrun --nproc_per_node N starts N)")
    if ngpu == 0 and opts.dist_backend == "nccl":
        raise LaunchError(f"--dist_backend nccl needs GPUs, but --ngpu 0 (WORLD_SIZE={world}): "
                          "pass --dist_backend gloo to train on CPUs")
    if ngpu == 1:
        if local is None and opts.local_rank is None:
            raise LaunchError(f"WORLD_SIZE={world} with --ngpu 1 but no LOCAL_RANK (which GPU): "
                              "start the ranks with torchrun, which sets it")
        have = n_gpus()
        lr = local if local is not None else opts.local_rank
        if lr >= have:
            raise LaunchError(f"LOCAL_RANK={lr} but {have or 'no'} GPU{'s' * (have != 1)} "
                              f"visible{shown_cvd}: torchrun --nproc_per_node must not exceed "
                              "a node's GPUs")
    if opts.dist_init_method == "env://":
        addr = opts.dist_master_addr or env.get("MASTER_ADDR")
        port = opts.dist_master_port or env.get("MASTER_PORT")
        missing = [k for k, v in (("MASTER_ADDR", addr), ("MASTER_PORT", port)) if not v]
        if missing:
            raise LaunchError(f"WORLD_SIZE={world} but no {' or '.join(missing)} (rendezvous of "
                              "--dist_init_method env://): torchrun sets them from "
                              "--master_addr / --master_port or --rdzv_endpoint")


# ------------------------------------------------------- timeout and failure line


def timeout_s(env: Optional[Mapping[str, str]] = None) -> float:
    """The collective timeout from ``USM_DIST_TIMEOUT`` (seconds), else the default.

    Raises:
        LaunchError: Not a positive number.
    """
    env = os.environ if env is None else env
    raw = env.get(TIMEOUT_ENV, "")
    if not raw:
        return DEFAULT_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise LaunchError(f"{TIMEOUT_ENV}={raw!r}: a positive number of seconds")
    return value


def _init_with_timeout(self, _espnet_init: Callable) -> Any:
    """ESPnet's ``DistributedOption.init_torch_distributed`` with a process-group timeout."""
    import torch.distributed as dist

    original = dist.init_process_group

    @functools.wraps(original)
    def init_process_group(*args, **kwargs):
        kwargs.setdefault("timeout", datetime.timedelta(seconds=timeout_s()))
        return original(*args, **kwargs)

    dist.init_process_group = init_process_group
    try:
        return _espnet_init(self)
    finally:
        dist.init_process_group = original


#: What gloo and NCCL put in the ``RuntimeError`` of a failed collective (gloo's timeout
#: is a plain ``RuntimeError``: ``[.../gloo/transport/tcp/unbound_buffer.cc:78] Timed out
#: waiting 8000ms for recv operation to complete``).
_COLLECTIVE_ERROR = re.compile(r"gloo/|\bNCCL\b|ProcessGroup|Connection (closed|reset) by peer",
                               re.IGNORECASE)


def failure_line(exc: BaseException) -> Optional[str]:
    """The one line for a failed collective, or None for any other exception.

    A rank cannot tell which peer failed (gloo and NCCL report a closed connection
    or a timeout, not a rank); ``torchrun`` names the rank that died.
    """
    import torch.distributed as dist

    text = str(exc)
    if not (isinstance(exc, dist.DistError)
            or (isinstance(exc, RuntimeError) and _COLLECTIVE_ERROR.search(text))):
        return None
    rank, world = os.environ.get("RANK", "?"), os.environ.get("WORLD_SIZE", "?")
    msg = " ".join(text.split())
    if len(msg) > 300:
        msg = msg[:300] + " ..."
    low = msg.lower()
    if "timed out" in low or "timeout" in low:
        why = (f"a collective did not complete within {timeout_s():g} s ({TIMEOUT_ENV}): "
               "another rank hangs or is gone")
    else:
        why = "a collective failed: another rank died or its connection closed"
    return (f"ERROR: rank {rank} of {world}: {why}; stopping (resume with --resume true from "
            f"the last checkpoint) [{type(exc).__name__}: {msg}]")


def run_main(task: Any, argv: List[str]) -> int:
    """``task.main(cmd=argv)``; a failed collective is :func:`failure_line` and exit 1."""
    try:
        task.main(cmd=argv)
    except Exception as e:  # noqa: BLE001 (only collective failures are caught)
        line = failure_line(e)
        if line is None:
            raise
        logger.debug("collective failure", exc_info=True)
        print(line, file=sys.stderr, flush=True)
        sys.stdout.flush()
        os._exit(1)
    return 0


def prepare(argv: Sequence[str]) -> None:
    """Check the launch (:func:`check_launch`) and ``USM_DIST_TIMEOUT`` of a command line.

    Raises:
        LaunchError: See :func:`check_launch` and :func:`timeout_s`.
    """
    if "--help" in argv or "-h" in argv:
        return
    check_launch(launch_options(argv))
    timeout_s()


def install(task: Any) -> None:
    """The process-group timeout (once per process) and, unless the task refuses
    ``--multiple_iterator``, :class:`ShardSkippingIterFactory` as ``task``'s.

    Called when an entry point is imported, as its ``trainer`` is set: the processes
    ESPnet spawns for ``--ngpu N`` import the entry point again but do not run its ``main``.
    """
    from espnet2.train.distributed_utils import DistributedOption

    if not getattr(DistributedOption.init_torch_distributed, "_usm_timeout", False):
        espnet_init = DistributedOption.init_torch_distributed

        def init_torch_distributed(self):
            return _init_with_timeout(self, espnet_init)

        init_torch_distributed._usm_timeout = True
        DistributedOption.init_torch_distributed = init_torch_distributed
    if "build_multiple_iter_factory" not in vars(task):  # MOST defines its own (a refusal)
        task.build_multiple_iter_factory = classmethod(build_multiple_iter_factory)


# ---------------------------------------------------------------- shard skipping


def _agree(problem: Optional[str]) -> List[Optional[str]]:
    """Every rank's ``problem`` for the same shard (just ours when not distributed)."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return [problem]
    out: List[Optional[str]] = [None] * dist.get_world_size()
    dist.all_gather_object(out, problem)
    return out


class ShardSkippingIterFactory(AbsIterFactory):
    """ESPnet's ``MultipleIterFactory`` (same shard order), skipping unusable shards.

    When an epoch reaches shard ``i``, each rank checks its files
    (:func:`usm_espnet.data.shards.shard_problem`: present, UTF-8, ``key value``
    lines, the same keys in every file) and the ranks exchange the result
    (``all_gather_object``): a shard that any rank cannot read is skipped by every
    rank, since a rank that went on alone would take more steps than the others and
    hang DDP. Under ESPnet's layout every rank reads its slice of every shard, so
    the rank that found the problem (named in the log) is the one that owns it
    there. Each skip is logged on every rank with the epoch's count, and each epoch
    with a skip ends with a summary line.

    Args:
        build_funcs: One callable per shard, building its ESPnet iterator factory.
        dirs: The shard directories (data and shape files).
        seed: ESPnet's ``--seed`` (the shard order of epoch ``e`` is drawn with ``seed + e``).
        shuffle: Shuffle the shard order (training).
    """

    def __init__(self, build_funcs: Sequence[Callable], dirs: Sequence[str], seed: int = 0,
                 shuffle: bool = False):
        self.build_funcs = list(build_funcs)
        self.dirs = list(dirs)
        self.seed = seed
        self.shuffle = shuffle
        self.skipped: Dict[int, List[int]] = {}  # epoch -> shards skipped

    def build_iter(self, epoch: int, shuffle: Optional[bool] = None):
        import numpy as np

        from usm_espnet.data.shards import shard_problem

        shuffle = self.shuffle if shuffle is None else shuffle
        order = list(range(len(self.build_funcs)))
        if shuffle:  # ESPnet's MultipleIterFactory shuffles its list the same way
            np.random.RandomState(epoch + self.seed).shuffle(order)
        skipped = self.skipped.setdefault(epoch, [])
        del skipped[:]
        for i in order:
            problems = _agree(shard_problem(self.dirs, i))
            bad = [(r, p) for r, p in enumerate(problems) if p is not None]
            if bad:
                skipped.append(i)
                rank, why = bad[0]
                ranks = ", ".join(str(r) for r, _ in bad)
                logger.warning("epoch %d: shard %d of %d skipped (rank %s: %s); %d shard%s "
                               "skipped in this epoch", epoch, i, len(order), ranks, why,
                               len(skipped), "s" * (len(skipped) != 1))
                continue
            logger.info("epoch %d: shard %d of %d", epoch, i, len(order))
            yield from self.build_funcs[i]().build_iter(epoch, shuffle)
        if skipped:
            logger.warning("epoch %d: %d of %d shards skipped (%s); their utterances were not "
                           "read this epoch", epoch, len(skipped), len(order),
                           ", ".join(map(str, sorted(skipped))))


def build_multiple_iter_factory(cls, args: argparse.Namespace, distributed_option: Any,
                                mode: str) -> Any:
    """ESPnet's ``build_multiple_iter_factory`` with :class:`ShardSkippingIterFactory`.

    The number of shards comes from each directory's ``num_splits`` (they must
    agree; a directory without it is one error at start-up); the shards themselves
    are checked when an epoch reaches them.
    """
    from pathlib import Path

    iter_options = cls.build_iter_options(args, distributed_option, mode)
    dirs = [p for p, _, _ in iter_options.data_path_and_name_and_type] + list(iter_options.shape_files)
    num_splits = None
    for d in dirs:
        f = Path(d) / "num_splits"
        if not Path(d).is_dir():
            raise RuntimeError(f"{d}: not a shard directory (--multiple_iterator true expects "
                               "<dir>/num_splits and <dir>/split.<i>; see prepare_untranscribed "
                               "--num_shards)")
        try:
            n = int(f.read_text().strip())
        except (OSError, ValueError) as e:
            raise RuntimeError(f"{f}: unreadable or not a number ({e})") from None
        if num_splits is not None and n != num_splits:
            raise RuntimeError(f"{f}: {n} shards, but {dirs[0]}/num_splits says {num_splits}")
        num_splits = n
    n_iters = iter_options.num_iters_per_epoch
    if n_iters is not None and n_iters < num_splits:  # ESPnet gives shard i (n + i) // N steps
        raise RuntimeError(f"--num_iters_per_epoch {n_iters} < {num_splits} shards "
                           f"({dirs[0]}/num_splits): an epoch takes (n + i) // N batches from "
                           "shard i, so some shards would never be read; use at least one "
                           "iteration per shard (better a multiple of the shard count)")
    build_funcs = [
        functools.partial(
            cls.build_iter_factory, args, distributed_option, mode,
            kwargs=dict(
                data_path_and_name_and_type=[(str(Path(p) / f"split.{i}"), n, t)
                                             for p, n, t in iter_options.data_path_and_name_and_type],
                shape_files=[str(Path(s) / f"split.{i}") for s in iter_options.shape_files],
                num_iters_per_epoch=None if n_iters is None else (n_iters + i) // num_splits,
                max_cache_size=iter_options.max_cache_size / num_splits,
            ))
        for i in range(num_splits)
    ]
    return ShardSkippingIterFactory(build_funcs, dirs, seed=args.seed, shuffle=iter_options.train)
