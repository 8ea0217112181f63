"""The ``.done`` marker every stand-in generator leaves in its output root.

A stand-in is rebuilt only when its parameters change: the marker holds a digest of the
parameters (:func:`params_hash`) and the build's statistics. :func:`read_done_marker`
is the check each generator makes before building: it refuses to write into a
directory that holds something else, so a typo in ``--out_root`` never replaces a
user's files.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any, Dict, Optional, Union

__all__ = ["params_hash", "read_done_marker"]

PathLike = Union[str, "os.PathLike[str]"]


def params_hash(params: Dict[str, object]) -> str:
    """A short stable digest (16 hex digits) of a stand-in's parameters, for its ``.done`` marker."""
    return hashlib.sha256(json.dumps(params, sort_keys=True).encode("utf-8")).hexdigest()[:16]


def read_done_marker(out_root: PathLike, marker_name: str, maker: str) -> Optional[Dict[str, Any]]:
    """The marker of an existing ``out_root``: its JSON, ``{}`` if unreadable, None if absent.

    Args:
        out_root: The stand-in's output root (it exists).
        marker_name: The marker's file name in ``out_root`` (``.done``).
        maker: The generator's name, for the error.

    Raises:
        ValueError: ``out_root`` has no marker and is not an empty directory (it was
            not made by ``maker``).
    """
    marker = os.path.join(out_root, marker_name)
    old = None
    if os.path.isfile(marker):
        try:
            with open(marker, encoding="utf-8") as f:
                old = json.load(f)
        except (OSError, ValueError):
            old = {}
    if old is None and (not os.path.isdir(out_root) or os.listdir(out_root)):
        raise ValueError(f"{out_root}: exists, is not empty and was not made by {maker} "
                         f"(no {marker_name}); remove it or choose another output directory")
    return old
