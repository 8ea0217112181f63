"""Unspoken text (text without audio) for MOST pre-training, read from ``<root>/<lang>.txt``.

USM's MOST stage mixes a third stream into pre-training: text that nobody has
spoken (web text). Bring your own in this layout (the stand-in FLEURS writes
it under ``unspoken_text/`` with ``make_standin_fleurs(..., extra_text=N)``)::

    <root>/<lang>.txt      UTF-8, one sentence per line, raw text

:func:`prepare_unspoken_text` turns it into a text-only data dir ``text`` +
``utt2lang`` (ids ``text-<lang>-<line:07d>``) in which every sentence is
normalised as the ASR transcripts are (:func:`usm_espnet.corpora.fleurs.fleurs_normalize`
by default), so that the text stream and the paired transcripts share one
token inventory. Every input line is accounted for (``stats.json``):

* kept;
* ``blank``: an empty line;
* ``empty_after_normalisation``: nothing left after normalisation;
* ``duplicate``: the same normalised sentence earlier in the language's file;
* ``in_transcripts``: the normalised sentence is a transcript of the
  ``exclude`` data dirs (train/dev/test), so the text stream never teaches
  the model a test sentence.

A file that is not UTF-8 is a :class:`~usm_espnet.data.kaldi.DataDirError`
naming ``<file>:<line>``; so are an unknown language and an empty result.
:func:`format_unspoken_text` is stage 2's counterpart (language tokens).
"""

from __future__ import annotations

import json
import logging
import os
from typing import Callable, Dict, Iterable, List, Optional, Sequence

from usm_espnet.data.kaldi import DataDirError, strip_bom
from usm_espnet.data.languages import FLEURS_LANGUAGES
from usm_espnet.utils import staged_dir

logger = logging.getLogger(__name__)

SKIP_REASONS = ("blank", "empty_after_normalisation", "duplicate", "in_transcripts")


def _read_lines(path: str) -> List[str]:
    with open(path, "rb") as f:
        raw = strip_bom(f.read(), path).split(b"\n")  # a byte-order mark: dropped, logged
    if raw and raw[-1] == b"":
        raw.pop()
    out = []
    for n, line in enumerate(raw, 1):
        try:
            out.append(line.decode("utf-8").rstrip("\r"))
        except UnicodeDecodeError:
            raise DataDirError(f"{path}:{n}: line is not valid UTF-8") from None
    return out


def _text_file(path: str) -> Dict[str, str]:
    """utt -> transcript of a Kaldi ``text`` file (lines ``utt text``)."""
    out = {}
    for n, line in enumerate(_read_lines(path), 1):
        key, _, value = line.partition(" ")
        if not key:
            raise DataDirError(f"{path}:{n}: malformed line")
        out[key] = value.strip()
    return out


def prepare_unspoken_text(
    root: str,
    out_dir: str,
    langs: Optional[Sequence[str]] = None,
    exclude: Iterable[str] = (),
    normalize: Optional[Callable[[str], str]] = None,
    max_per_lang: Optional[int] = None,
) -> Dict[str, object]:
    """Write a text-only data dir (``text``, ``utt2lang``, ``stats.json``) from ``<root>/<lang>.txt``.

    Args:
        root: Directory holding ``<lang>.txt`` files.
        out_dir: Output directory (replaced atomically).
        langs: Languages to take (default: every ``<lang>.txt`` in ``root``).
        exclude: Data dirs (or ``text`` files) whose transcripts must not appear
            in the output (e.g. ``data/train data/dev data/test``).
        normalize: Text normaliser (default: FLEURS' ``fleurs_normalize``).
        max_per_lang: Keep at most this many sentences per language (None: all).

    Returns:
        The statistics written to ``stats.json``: per language ``lines`` (read),
        ``kept`` and one count per reason in :data:`SKIP_REASONS`;
        ``lines == kept + skips``.

    Raises:
        DataDirError: Missing root, unknown language file, a requested language
            without a file, a line that is not UTF-8, or nothing kept.
    """
    if normalize is None:
        from usm_espnet.corpora.fleurs import fleurs_normalize as normalize
    if max_per_lang is not None and max_per_lang < 1:
        raise ValueError(f"max_per_lang must be >= 1, got {max_per_lang}")
    if not os.path.isdir(root):
        raise DataDirError(f"{root}: unspoken-text directory not found")
    present = sorted(f[:-4] for f in os.listdir(root) if f.endswith(".txt"))
    for lang in present:
        if lang not in FLEURS_LANGUAGES:
            raise DataDirError(f"{os.path.join(root, lang + '.txt')}: unknown language "
                               f"{lang!r} (files are named <lang>.txt with a FLEURS code)")
    if langs:
        missing = [lang for lang in langs if lang not in present]
        if missing:
            raise DataDirError(f"{root}: no {', '.join(m + '.txt' for m in missing)}")
        present = [lang for lang in present if lang in set(langs)]
    if not present:
        raise DataDirError(f"{root}: no <lang>.txt file")

    banned = set()
    for src in exclude:
        path = os.path.join(src, "text") if os.path.isdir(src) else src
        for t in _text_file(path).values():
            banned.add(" ".join(t.split()))

    text: Dict[str, str] = {}
    stats: Dict[str, Dict[str, int]] = {}
    for lang in present:
        path = os.path.join(root, f"{lang}.txt")
        counts = {"lines": 0, "kept": 0, **{r: 0 for r in SKIP_REASONS}}
        seen = set()
        for n, line in enumerate(_read_lines(path), 1):
            if max_per_lang is not None and counts["kept"] >= max_per_lang:
                break  # the rest of the file is not read (and not counted)
            counts["lines"] += 1
            if not line.strip():
                counts["blank"] += 1
                continue
            norm = normalize(line)
            if not norm:
                counts["empty_after_normalisation"] += 1
            elif norm in seen:
                counts["duplicate"] += 1
            elif norm in banned:
                counts["in_transcripts"] += 1
            else:
                seen.add(norm)
                text[f"text-{lang}-{n:07d}"] = norm
                counts["kept"] += 1
        stats[lang] = counts
        skipped = {r: counts[r] for r in SKIP_REASONS if counts[r]}
        logger.info("%s: %d sentences kept of %d lines%s", path, counts["kept"], counts["lines"],
                    f" (skipped: {skipped})" if skipped else "")
    if not text:
        raise DataDirError(f"{root}: no sentence kept ({stats})")
    _write(out_dir, text, {u: u.split("-")[1] for u in text}, {"langs": stats})
    return {"langs": stats}


def _write(out_dir: str, text: Dict[str, str], utt2lang: Dict[str, str],
           stats: Dict[str, object]) -> None:
    with staged_dir(out_dir) as tmp:  # a unique name: concurrent writers never mix files
        with open(os.path.join(tmp, "text"), "w", encoding="utf-8") as f:
            f.writelines(f"{u} {text[u]}\n" for u in sorted(text))
        with open(os.path.join(tmp, "utt2lang"), "w", encoding="utf-8") as f:
            f.writelines(f"{u} {utt2lang[u]}\n" for u in sorted(text))
        with open(os.path.join(tmp, "stats.json"), "w", encoding="utf-8") as f:
            json.dump(stats, f, indent=1, sort_keys=True)


def format_unspoken_text(in_dir: str, out_dir: str, lang_token: bool = False) -> int:
    """Stage 2 for text-only dirs: copy ``text``/``utt2lang``, with ``<lang>`` prefixes if asked.

    Args:
        in_dir: A dir written by :func:`prepare_unspoken_text`.
        out_dir: Output dir (replaced atomically).
        lang_token: Prefix each sentence with ``<lang>`` (as ``format_data --lang_token``).

    Returns:
        The number of sentences.

    Raises:
        DataDirError: Missing or malformed ``text``/``utt2lang``, or an id without a language.
    """
    text = _text_file(os.path.join(in_dir, "text"))
    utt2lang = _text_file(os.path.join(in_dir, "utt2lang"))
    missing = sorted(set(text) - set(utt2lang))
    if missing:
        raise DataDirError(f"{in_dir}/utt2lang: no language for {missing[0]!r} "
                           f"({len(missing)} ids missing)")
    if not text:
        raise DataDirError(f"{in_dir}/text: empty")
    if lang_token:
        text = {u: f"<{utt2lang[u]}> {t}" for u, t in text.items()}
    stats_path = os.path.join(in_dir, "stats.json")
    stats = {}
    if os.path.isfile(stats_path):
        with open(stats_path, encoding="utf-8") as f:
            stats = json.load(f)
    _write(out_dir, text, utt2lang, stats)
    return len(text)
