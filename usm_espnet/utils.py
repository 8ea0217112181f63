"""Small helpers shared across usm-espnet: command-line booleans, atomic file writes."""

import argparse
import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator, Tuple, Union

PathLike = Union[str, "os.PathLike[str]"]


def str2bool(value: str) -> bool:
    """Parse a boolean command-line value (``type=`` of an argparse option).

    Args:
        value: ``true/false``, ``yes/no`` or ``1/0`` (case-insensitive).

    Returns:
        The boolean.

    Raises:
        argparse.ArgumentTypeError: Anything else.
    """
    v = value.lower()
    if v in ("true", "yes", "1"):
        return True
    if v in ("false", "no", "0"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {value!r}")


def atomic_write_bytes(path: PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temporary file beside it + rename).

    Args:
        path: Destination file; its directory is created if needed. The file is
            left world-readable (0644), as an ordinary ``open(..., "w")`` would.
        data: Content.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_text(path: PathLike, text: str) -> None:
    """Write ``text`` (UTF-8, ``\\n`` line ends) to ``path`` atomically.

    Args:
        path: Destination file; its directory is created if needed.
        text: Content.
    """
    atomic_write_bytes(path, text.encode("utf-8"))


def replace_dir(new: PathLike, target: PathLike) -> None:
    """Rename directory ``new`` to ``target``, replacing whatever is at ``target``.

    An existing directory is first renamed aside (in the same parent) and removed
    only once ``new`` is in place; if that rename fails, it is put back. A file or
    link at ``target`` is replaced atomically.

    Args:
        new: A complete directory, on the same filesystem as ``target``.
        target: Destination path.
    """
    new, target = os.fspath(new), os.fspath(target)
    if not os.path.lexists(target):
        os.rename(new, target)
        return
    if not os.path.isdir(target) or os.path.islink(target):
        os.replace(new, target)
        return
    parent, name = os.path.split(os.path.abspath(target))
    backup = tempfile.mkdtemp(prefix=f".{name}.old-", dir=parent)
    os.rmdir(backup)
    os.rename(target, backup)
    try:
        os.rename(new, target)
    except BaseException:
        os.rename(backup, target)
        raise
    shutil.rmtree(backup, ignore_errors=True)


def current_umask() -> int:
    """The process's umask, read without changing it (``os.umask`` sets it, even briefly)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def staged_dir(target: PathLike) -> Iterator[str]:
    """A fresh directory beside ``target`` to write into; it replaces ``target`` on success.

    The directory gets a unique name (``.<name>.<random>.tmp``), so two processes that
    write the same ``target`` at once never share their half-written files; the swap into
    place holds an exclusive lock on ``.<name>.lock`` beside it, so two that finish at the
    same moment do not trip over each other's rename (the last one wins, whole). On an
    exception the directory is removed and ``target`` is left as it was. Permissions
    follow the umask, as ``os.makedirs`` would set them. (A run that is killed leaves its
    ``.<name>.<random>.tmp`` behind.)

    Yields:
        The staging directory's path (empty).
    """
    import fcntl

    target = os.path.abspath(os.fspath(target))
    parent, name = os.path.split(target)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{name}.", suffix=".tmp", dir=parent)
    os.chmod(tmp, 0o777 & ~current_umask())
    try:
        yield tmp
        with open(os.path.join(parent, f".{name}.lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            replace_dir(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def split_label_value(value: str, what: str) -> Tuple[str, str]:
    """Split a ``label=value`` option at its last ``=`` (labels may contain ``=``).

    Args:
        value: The option's text.
        what: The option's name, for the message.

    Raises:
        argparse.ArgumentTypeError: No ``=``, or an empty label or value.
    """
    label, _, v = value.rpartition("=")
    if not label.strip() or not v.strip():
        raise argparse.ArgumentTypeError(f"{what} must look like label=value, got {value!r}")
    return label.strip(), v.strip()
