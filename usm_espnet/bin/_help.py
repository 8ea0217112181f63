"""``--help`` of the ESPnet-task-backed entry points without importing ESPnet.

ESPnet builds the parsers of ``asr_train``, ``ssl_train``, ``most_train`` and
``asr_inference`` from its task classes, and importing those (``espnet2.tasks.asr``
pulls in torch, torch._dynamo, scipy, wandb ...) takes 8-20 s. The help text only
changes when ESPnet, torch, Python or our own parser code changes, so it is kept
as text, keyed by a hash of exactly those:

1. ``usm_espnet/bin/help/<name>.txt``: snapshots shipped with the package
   (regenerate with ``python -m usm_espnet.bin._help --update``; a test checks
   they are current);
2. ``$USM_HELP_CACHE`` (default ``~/.cache/usm-espnet/help``): written the first
   time the parser had to be built because no snapshot matched (other versions).

When neither matches, the parser is built (slow, always correct) and the text cached.
The help is formatted 80 columns wide, whatever the terminal.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Dict, List, Optional, Sequence

#: Entry points whose help is cached -> our files their parser is built from (relative
#: to the ``usm_espnet`` package). A change there (or of ESPnet, torch, Python) makes
#: the shipped text stale: the parser is then built; ``tests/bin/test_espnet_plugin.py``
#: compares every shipped text with the parser's, whatever the key.
HEAVY: Dict[str, List[str]] = {
    "asr_train": ["registry.py", "bin/asr_train.py"],
    "ssl_train": ["registry.py", "bin/ssl_train.py", "tasks/best_rq.py"],
    "most_train": ["registry.py", "bin/most_train.py", "tasks/most.py", "tasks/best_rq.py"],
    "asr_inference": ["registry.py", "bin/asr_inference.py", "decode/ctc_greedy.py"],
}
WIDTH = 80
_PKG = Path(__file__).resolve().parent.parent
SNAPSHOT_DIR = Path(__file__).resolve().parent / "help"


def help_requested(argv: Sequence[str]) -> bool:
    """True when ``-h`` or ``--help`` is among the arguments (before a ``--``)."""
    for a in argv:
        if a == "--":
            return False
        if a in ("-h", "--help"):
            return True
    return False


def _version(dist: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "none"


def key(name: str) -> str:
    """Hash of what ``name``'s help text depends on (versions and our parser code)."""
    files = {}
    for rel in HEAVY[name]:
        p = _PKG / rel
        files[rel] = hashlib.sha256(p.read_bytes()).hexdigest() if p.exists() else "absent"
    doc = {"python": "%d.%d" % sys.version_info[:2], "espnet": _version("espnet"),
           "torch": _version("torch"), "width": WIDTH, "files": files}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]


def cache_dir() -> Path:
    """Where help texts built on this machine are kept."""
    env = os.environ.get("USM_HELP_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "usm-espnet" / "help"


def _read(path: Path, want: str) -> Optional[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return None
    head, _, body = text.partition("\n")
    return body if head == f"usm-espnet help {want}" else None


def _write(path: Path, k: str, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(f"usm-espnet help {k}\n{text}")
    os.replace(tmp, path)


def build(name: str) -> str:
    """Build ``name``'s parser (imports ESPnet) and format its help, :data:`WIDTH` wide."""
    import importlib

    mod = importlib.import_module(f"usm_espnet.bin.{name}")
    parser = mod.get_parser()
    parser.prog = f"python -m usm_espnet.bin.{name}"
    parser.usage = "%(prog)s [-h] [options]  (all listed below)"
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(WIDTH + 2)  # argparse leaves 2 columns free
    try:
        return parser.format_help()
    finally:
        if old is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = old


def get_help(name: str) -> str:
    """``name``'s help text: a matching snapshot or cached copy, else built and cached."""
    k = key(name)
    for path in (SNAPSHOT_DIR / f"{name}.txt", cache_dir() / f"{name}.txt"):
        text = _read(path, k)
        if text is not None:
            return text
    text = build(name)
    try:
        _write(cache_dir() / f"{name}.txt", k, text)
    except OSError:
        pass  # a read-only home: the help is still printed, only not cached
    return text


def exit_if_help(name: str, argv: Optional[Sequence[str]] = None) -> None:
    """Print ``name``'s help and exit 0 when the command line asks for it.

    With ``--config`` the parser's defaults come from that yaml, which a snapshot cannot
    show: the caller then builds the parser as usual (slow, exact).
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if help_requested(args) and not any(a == "--config" or a.startswith("--config=") for a in args):
        sys.stdout.write(get_help(name))
        sys.stdout.flush()
        raise SystemExit(0)


def update(names: Optional[Sequence[str]] = None) -> List[Path]:
    """Rewrite the shipped snapshots (``usm_espnet/bin/help/*.txt``)."""
    out = []
    for name in names or HEAVY:
        path = SNAPSHOT_DIR / f"{name}.txt"
        _write(path, key(name), build(name))
        out.append(path)
    return out


def main(argv: Optional[List[str]] = None) -> int:
    """``--update``: regenerate the snapshots; ``--check``: exit 1 when one is stale."""
    import argparse

    p = argparse.ArgumentParser(prog="python -m usm_espnet.bin._help",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--update", action="store_true", help="rewrite the shipped snapshots")
    p.add_argument("--check", action="store_true", help="exit 1 when a snapshot is stale")
    p.add_argument("names", nargs="*", help=f"entry points (default: {', '.join(HEAVY)})")
    a = p.parse_args(argv)
    if a.update:
        for path in update(a.names):
            print(f"wrote {path}")
        return 0
    stale = [n for n in (a.names or HEAVY) if _read(SNAPSHOT_DIR / f"{n}.txt", key(n)) is None]
    for n in stale:
        print(f"ERROR: {SNAPSHOT_DIR / (n + '.txt')}: stale or missing; run "
              f"python -m usm_espnet.bin._help --update", file=sys.stderr)
    return 1 if stale and a.check else 0


if __name__ == "__main__":
    sys.exit(main())
