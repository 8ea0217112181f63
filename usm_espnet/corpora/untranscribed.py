"""Untranscribed speech for pre-training, read from ``<root>/<lang>/wav.lst``.

Layout (the stand-in FLEURS writes it under ``untranscribed/``; bring your own
YT-NTL-U-like audio in the same shape)::

    <root>/<lang>/wav.lst      one audio file per line, relative to <root>/<lang>/
    <root>/<lang>/<file>.wav

:func:`prepare_untranscribed` turns it into a Kaldi data dir without ``text``
(wav.scp, utt2spk, utt2lang). Utterance ids are ``untranscribed-<lang>-<stem>``.
A missing file, a duplicate, an empty line or an unknown language is a
:class:`~usm_espnet.data.kaldi.DataDirError` naming ``wav.lst:<line>``.
"""

from __future__ import annotations

import logging
import os
from typing import Dict, List, Optional, Sequence

from usm_espnet.data.kaldi import DataDir, DataDirError, strip_bom, write_datadir
from usm_espnet.data.languages import FLEURS_LANGUAGES

logger = logging.getLogger(__name__)


def read_wav_list(path: str) -> List[str]:
    """Absolute audio paths listed in one ``wav.lst`` (relative to its directory).

    Args:
        path: The ``wav.lst`` file.

    Raises:
        DataDirError: Missing list, a line that is not UTF-8, empty line,
            duplicate or missing audio file, with ``path:line``.
    """
    if not os.path.isfile(path):
        raise DataDirError(f"{path}: file not found")
    base = os.path.dirname(os.path.abspath(path))
    out: List[str] = []
    seen: Dict[str, int] = {}
    with open(path, "rb") as f:
        for n, raw in enumerate(f, 1):
            if n == 1:
                raw = strip_bom(raw, path)  # logged; a Windows editor's byte-order mark
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise DataDirError(f"{path}:{n}: not valid UTF-8 ({e.reason})") from None
            name = line.strip()
            if not name:
                raise DataDirError(f"{path}:{n}: empty line")
            if name in seen:
                raise DataDirError(f"{path}:{n}: {name!r} listed twice (first at line {seen[name]})")
            seen[name] = n
            full = os.path.normpath(os.path.join(base, name))
            if not os.path.isfile(full):
                raise DataDirError(f"{path}:{n}: audio file {full} not found")
            out.append(full)
    if not out:
        raise DataDirError(f"{path}: lists no audio")
    return out


def prepare_untranscribed(
    root: str, out_dir: str, langs: Optional[Sequence[str]] = None
) -> Dict[str, int]:
    """Write a text-less Kaldi data dir of all audio under ``root``.

    Audio files are not opened here (stage 4, ``format_data``, skips unreadable
    ones and counts them). A directory under ``root`` that holds audio but no
    ``wav.lst`` is ignored with a warning giving its number of files.

    Args:
        root: Directory holding ``<lang>/wav.lst``.
        out_dir: Output data dir (replaced atomically).
        langs: Languages to take (default: every ``<lang>/`` with a ``wav.lst``).

    Returns:
        Utterances per language.

    Raises:
        DataDirError: Bad layout or list (see :func:`read_wav_list`), an unknown
            language directory, or a requested language that is absent.
    """
    if not os.path.isdir(root):
        raise DataDirError(f"{root}: untranscribed audio directory not found")
    present = sorted(d for d in os.listdir(root)
                     if os.path.isfile(os.path.join(root, d, "wav.lst")))
    for d in sorted(os.listdir(root)):
        sub = os.path.join(root, d)
        if d in present or d.startswith(".") or not os.path.isdir(sub):
            continue
        audio = [f for f in os.listdir(sub) if f.lower().endswith((".wav", ".flac", ".mp3"))]
        if audio:  # a language directory whose list was forgotten: say so, do not guess
            logger.warning("ignoring %s: %d audio files but no wav.lst (list them in %s)",
                           sub, len(audio), os.path.join(sub, "wav.lst"))
    if langs:
        missing = [lang for lang in langs if lang not in present]
        if missing:
            raise DataDirError(
                f"{root}: no <lang>/wav.lst for {', '.join(missing)} (present: {', '.join(present) or 'none'})")
        chosen = list(langs)
    else:
        chosen = present
    if not chosen:
        raise DataDirError(f"{root}: no <lang>/wav.lst found")
    wav_scp: Dict[str, str] = {}
    utt2lang: Dict[str, str] = {}
    counts: Dict[str, int] = {}
    for lang in chosen:
        lst = os.path.join(root, lang, "wav.lst")
        if lang not in FLEURS_LANGUAGES:
            raise DataDirError(f"{lst}: unknown language directory {lang!r} (expected a FLEURS code)")
        for n, path in enumerate(read_wav_list(lst), 1):
            stem = os.path.splitext(os.path.basename(path))[0]
            utt = f"untranscribed-{lang}-{stem}"
            if utt in wav_scp:
                raise DataDirError(f"{lst}:{n}: utterance id {utt} repeats (same file stem)")
            wav_scp[utt] = path
            utt2lang[utt] = lang
        counts[lang] = sum(1 for v in utt2lang.values() if v == lang)
    utt2spk = {u: u for u in wav_scp}
    write_datadir(out_dir, DataDir(wav_scp=dict(sorted(wav_scp.items())),
                                   utt2spk=dict(sorted(utt2spk.items())),
                                   utt2lang=dict(sorted(utt2lang.items()))))
    logger.info("%s -> %s: %d utterances in %d languages", root, out_dir, len(wav_scp), len(counts))
    return counts
