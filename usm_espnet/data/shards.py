"""ESPnet split-scp shards of a text-less data dir: untranscribed audio at scale.

Why ESPnet's split-scp layout (``--multiple_iterator true``) and not tar shards
(webdataset, lhotse Shar): ESPnet's trainer already reads it, and it gives exact
epochs under DDP. ``AbsTask.build_multiple_iter_factory`` walks the shards one
after another in an order shuffled with ``seed + epoch`` (the same order on every
rank); inside a shard every rank builds the same batches and takes its slice of
each (``batch[rank::world_size]``), loading only those utterances' scp entries
and audio. So every rank runs the same number of steps (DDP needs that), one
epoch reads every utterance once across the ranks, and a resumed epoch redraws
the same batches. Rank-owned tar shards (``webdataset.split_by_node``, lhotse
Shar's per-rank shard lists) have uneven step counts per rank: both libraries
then drop or repeat data to end the epoch together (``with_epoch``, an infinite
``repeat``), so an epoch no longer reads every utterance once, and their readers
would replace ESPnet's iterator. What tar shards would add, few large files
instead of one file per utterance, ESPnet gets by packing audio into ``.ark``
archives (``--audio_format flac.ark`` in its ``format_wav_scp.sh``); wav.scp may
point into them.

Layout written by :func:`write_shards` under ``<data_dir>/shards/`` (the names
ESPnet's ``split_scps`` gives)::

    wav.scp/num_splits         N
    wav.scp/split.<i>          every N-th line of the sorted wav.scp, i = 0..N-1
    speech_shape/num_splits    N
    speech_shape/split.<i>     "<utt> <samples>", the same utterances as wav.scp/split.<i>

Lines are dealt round robin over the sorted utterance ids
(``untranscribed-<lang>-<stem>``), so every shard holds every language in the
corpus's proportions: the trainer reads one shard at a time, and per-language
shards would train on one language for hours. Train with::

    --multiple_iterator true \\
    --train_data_path_and_name_and_type <data_dir>/shards/wav.scp,speech,sound \\
    --train_shape_file <data_dir>/shards/speech_shape

The shape (samples) is read from each file's header (``soundfile.info``; no
audio is decoded). A file whose header cannot be read, that is empty, not mono,
or not at the model's rate is a counted skip, logged with its ``wav.scp`` line:
it is left out of the shards (convert it first, e.g. with ``format_data``).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from usm_espnet.data.kaldi import DataDirError, read_kaldi_map
from usm_espnet.utils import replace_dir

logger = logging.getLogger(__name__)

#: Directory under the data dir that holds the shards.
SHARDS_DIR = "shards"
#: The data names ESPnet is given: ``<shards>/wav.scp`` and ``<shards>/speech_shape``.
SHARD_FILES = ("wav.scp", "speech_shape")


@dataclass
class ShardSummary:
    """What :func:`write_shards` wrote.

    Attributes:
        num_shards: Shards written.
        utterances: Utterances in all shards.
        seconds: Their audio, in seconds.
        skipped: Utterance id -> why it was left out.
    """

    num_shards: int
    utterances: int
    seconds: float
    skipped: Dict[str, str] = field(default_factory=dict)


def _header(path: str, fs: int) -> Tuple[Optional[int], str]:
    """(samples, "") for a usable file, else (None, why)."""
    import soundfile as sf

    try:
        info = sf.info(path)
    except Exception as e:  # noqa: BLE001 (libsndfile raises RuntimeError, OSError, ...)
        return None, f"header not readable ({str(e).splitlines()[0] if str(e) else type(e).__name__})"
    if info.frames <= 0:
        return None, "no samples"
    if info.channels != 1:
        return None, f"{info.channels} channels (mono expected)"
    if info.samplerate != fs:
        return None, f"{info.samplerate} Hz ({fs} Hz expected: resample it first)"
    return int(info.frames), ""


def write_shards(data_dir: str, num_shards: int, fs: int = 16000) -> ShardSummary:
    """Write ``<data_dir>/shards/`` (see the module docstring) from ``<data_dir>/wav.scp``.

    The shards are written into a temporary directory and renamed into place, so an
    interrupted run leaves the previous shards (or none), never a partial set.

    Args:
        data_dir: A data dir with ``wav.scp`` (one file per line; no ``segments``).
        num_shards: Number of shards (at least 2, at most the number of usable files).
        fs: The sample rate the model reads.

    Returns:
        A :class:`ShardSummary`.

    Raises:
        DataDirError: No ``wav.scp``, a ``segments`` file, a pipe or archive entry,
            or fewer usable files than ``num_shards``.
    """
    from espnet2.bin.split_scps import split_scps

    if num_shards < 2:
        raise DataDirError(f"{data_dir}: --num_shards {num_shards}: at least 2 shards "
                           "(one shard is the plain wav.scp)")
    if os.path.exists(os.path.join(data_dir, "segments")):
        raise DataDirError(f"{os.path.join(data_dir, 'segments')}: sharding reads whole files; "
                           "cut the segments into files first (format_data)")
    scp_path = os.path.join(data_dir, "wav.scp")
    wav = read_kaldi_map(scp_path)
    kept: List[Tuple[str, str, int]] = []
    skipped: Dict[str, str] = {}
    for utt, spec in sorted(wav.items()):
        if spec.endswith("|") or ".ark:" in spec:
            raise DataDirError(f"{wav.where(utt)}: {spec!r} is a pipe or an archive entry; "
                               "shards need one audio file per line")
        samples, why = _header(spec, fs)
        if samples is None:
            skipped[utt] = why
            logger.warning("%s: utterance %s left out of the shards: %s (%d skipped so far)",
                           wav.where(utt), utt, why, len(skipped))
            continue
        kept.append((utt, spec, samples))
    if len(kept) < num_shards:
        raise DataDirError(f"{scp_path}: {len(kept)} usable audio files ({len(skipped)} skipped) "
                           f"for {num_shards} shards: fewer shards, please")
    target = os.path.join(os.path.abspath(data_dir), SHARDS_DIR)
    tmp = tempfile.mkdtemp(prefix=f".{SHARDS_DIR}.tmp-", dir=os.path.abspath(data_dir))
    try:
        flat_scp, flat_shape = os.path.join(tmp, "all.scp"), os.path.join(tmp, "all.shape")
        with open(flat_scp, "w", encoding="utf-8") as f:
            f.writelines(f"{u} {p}\n" for u, p, _ in kept)
        with open(flat_shape, "w", encoding="utf-8") as f:
            f.writelines(f"{u} {n}\n" for u, _, n in kept)
        out = os.path.join(tmp, "out")
        split_scps(scps=[flat_scp, flat_shape], num_splits=num_shards,
                   names=list(SHARD_FILES), output_dir=out, log_level="WARNING")
        replace_dir(out, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    seconds = sum(n for _, _, n in kept) / fs
    logger.info("%s: %d utterances (%.1f h) in %d shards; %d files skipped", target, len(kept),
                seconds / 3600, num_shards, len(skipped))
    return ShardSummary(num_shards, len(kept), seconds, skipped)


def shard_problem(dirs: List[str], index: int) -> Optional[str]:
    """Why shard ``index`` cannot be read, or None: every ``<dir>/split.<index>`` exists,
    is UTF-8, lists at least one ``<key> <value>`` line, and all list the same keys.

    Args:
        dirs: The shard directories of one data group (``.../wav.scp``, ``.../speech_shape``).
        index: The shard number.
    """
    keys: Optional[List[str]] = None
    first = ""
    for d in dirs:
        path = os.path.join(d, f"split.{index}")
        try:
            with open(path, "rb") as f:
                raw = f.read()
        except OSError as e:
            return f"{path}: {e.strerror or type(e).__name__}"
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            line = raw[: e.start].count(b"\n") + 1
            return f"{path}:{line}: not valid UTF-8 ({e.reason})"
        these: List[str] = []
        for n, line in enumerate(text.splitlines(), 1):
            parts = line.split(maxsplit=1)
            if len(parts) != 2:
                return f"{path}:{n}: expected '<utterance> <value>'"
            these.append(parts[0])
        if not these:
            return f"{path}: empty"
        if keys is None:
            keys, first = these, path
        elif these != keys:
            return f"{path}: lists other utterances than {first}"
    return None
