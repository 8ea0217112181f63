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


@contextlib.contextmanager
def staged_dir(target: PathLike) -> Iterator[str]:
    """A fresh directory beside ``target`` to write into; it replaces ``target`` on success.

    The directory gets a unique name (``.<name>.<random>.tmp``), so two processes that
    write the same ``target`` at once never share their half-written files (the last
    one to finish wins, whole); on an exception it is removed and ``target`` is left
    as it was. Permissions follow the umask, as ``os.makedirs`` would set them.

    Yields:
        The staging directory's path (empty).
    """
    target = os.path.abspath(os.fspath(target))
    parent, name = os.path.split(target)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{name}.", suffix=".tmp", dir=parent)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)
    try:
        yield tmp
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
