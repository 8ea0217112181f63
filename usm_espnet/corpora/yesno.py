"""Kaldi's yesno corpus (OpenSLR 1): 60 recordings of one speaker saying eight words each.

The release is one directory of ``<w1>_<w2>_..._<w8>.wav`` files (8 kHz, 16-bit), each
word ``1`` ("yes") or ``0`` ("no"): the file name is the transcript. Kaldi's
``egs/yesno/s5`` trains on the 31 recordings whose first word is "no" and tests on the
29 whose first word is "yes"; :func:`prepare_yesno` writes the same split (plus a
``dev`` set of the first ``num_dev`` train recordings, which stay in train too: the
corpus has no held-out development data, and the recipe decodes its last checkpoint,
so ``dev`` only feeds ESPnet's validation log). It is the project's smallest real-speech
check: real recordings, 8 kHz resampled to 16 kHz by the same format stage as every
corpus, in a few minutes of CPU training.

Kaldi's split puts every recording that starts with "no" in train and every one that starts
with "yes" in test, so a model that sees whole recordings only learns "the first word is
NO" (in our first runs about 40 % of the test word errors were on the first word, 1/8 of
the words). ``num_crops`` (default 7) adds, for each train recording whose energy splits
into exactly one segment per word (:func:`word_segments`), copies that start in the pause
before word 2, 3, ...: the same audio, with utterance starts on "yes" and "no" alike.
Recordings that do not split cleanly are left whole (counted in ``crops_skipped``).
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Tuple

import numpy as np

from usm_espnet.data.kaldi import DataDir, write_datadir

logger = logging.getLogger(__name__)

_NAME = re.compile(r"^[01](?:_[01])*\.wav$")
WORDS = {"0": "NO", "1": "YES"}
LANG = "en_us"  # the speaker reads Hebrew "ken"/"lo"; the transcripts are English words


@dataclass
class YesnoStats:
    """What :func:`prepare_yesno` wrote and skipped (also ``<out_dir>/yesno_prep.json``)."""

    train: int = 0
    dev: int = 0
    test: int = 0
    crops: int = 0  # cropped copies added to train
    crops_skipped: int = 0  # train recordings that did not split into one segment per word
    skipped: Dict[str, str] = field(default_factory=dict)  # file -> reason


def transcript_of(file_name: str) -> str:
    """``"0_1_1.wav"`` -> ``"NO YES YES"``; ValueError for any other name."""
    if not _NAME.match(file_name):
        raise ValueError(f"{file_name}: not a yesno file name (<0|1>_..._<0|1>.wav)")
    return " ".join(WORDS[w] for w in file_name[:-4].split("_"))


def word_segments(wav: np.ndarray, fs: int, threshold: float = 0.1, min_gap_s: float = 0.15,
                  min_word_s: float = 0.1) -> List[Tuple[int, int]]:
    """Sample ranges ``[(start, end), ...]`` of the words of a quiet recording, by energy.

    10 ms frames whose RMS is above ``threshold`` x the loudest frame's are speech; runs
    of speech closer than ``min_gap_s`` are joined, runs shorter than ``min_word_s``
    dropped.
    """
    hop = max(1, int(0.01 * fs))
    n = len(wav) // hop
    if n == 0:
        return []
    rms = np.sqrt(np.mean(np.square(wav[: n * hop].reshape(n, hop).astype(np.float64)), axis=1))
    on = rms > threshold * rms.max() if rms.max() > 0 else np.zeros(n, bool)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], on.astype(np.int8), [0]])))
    runs: List[List[int]] = []
    for a, b in zip(edges[::2], edges[1::2]):
        if runs and (a - runs[-1][1]) * hop < min_gap_s * fs:
            runs[-1][1] = int(b)
        else:
            runs.append([int(a), int(b)])
    return [(a * hop, b * hop) for a, b in runs if (b - a) * hop >= min_word_s * fs]


def _write_crops(path: str, utt: str, words: List[str], crop_dir: str, num_crops: int,
                 data: DataDir) -> bool:
    """Add to ``data`` the copies of ``path`` that start before word 2, 3, ...; False
    (nothing added) when the recording does not split into one segment per word."""
    import soundfile as sf

    wav, fs = sf.read(path, dtype="int16")
    if wav.ndim != 1:
        return False
    segs = word_segments(wav, fs)
    if len(segs) != len(words):
        return False
    for k in range(1, min(num_crops, len(words) - 1) + 1):
        start = (segs[k - 1][1] + segs[k][0]) // 2  # the middle of the pause
        cid = f"{utt}_from{k + 1}"
        out = os.path.join(crop_dir, cid + ".wav")
        tmp = out + ".tmp.wav"
        sf.write(tmp, wav[start:], fs, subtype="PCM_16")
        os.replace(tmp, out)
        data.wav_scp[cid] = out
        data.text[cid] = " ".join(words[k:])
        data.utt2spk[cid] = "yesno"
        data.utt2lang[cid] = LANG
    return True


def prepare_yesno(corpus_dir: str, out_dir: str, num_dev: int = 4,
                  num_crops: int = 7) -> YesnoStats:
    """Write ``out_dir/{train,dev,test}`` (Kaldi data dirs) from a yesno directory.

    ``num_crops``: cropped copies per train recording (see the module docstring; 0: none).

    Files with other names (a README, ``foo.wav``) are skipped, counted and logged.

    Raises:
        ValueError: ``corpus_dir`` is not a directory, or it holds no recording of a
            split (the message names the directory).
    """
    if not os.path.isdir(corpus_dir):
        raise ValueError(f"{corpus_dir}: not a directory (expected the yesno .wav files)")
    stats = YesnoStats()
    splits: Dict[str, Dict[str, str]] = {"train": {}, "test": {}}
    for name in sorted(os.listdir(corpus_dir)):
        path = os.path.join(os.path.abspath(corpus_dir), name)
        if not name.endswith(".wav") or not os.path.isfile(path):
            continue
        try:
            transcript_of(name)
        except ValueError as e:
            stats.skipped[name] = str(e)
            logger.warning("skipped %s", e)
            continue
        splits["train" if name.startswith("0") else "test"][name[:-4]] = path
    for split, files in splits.items():
        if not files:
            raise ValueError(f"{corpus_dir}: no {split} recording (Kaldi's split: train = "
                             f"first word 'no' (0_*.wav), test = first word 'yes' (1_*.wav))")
    dev_ids = sorted(splits["train"])[:num_dev]
    for split, ids in (("train", sorted(splits["train"])), ("dev", dev_ids),
                       ("test", sorted(splits["test"]))):
        src = splits["test" if split == "test" else "train"]
        utts = {f"yesno_{u}": u for u in ids}
        data = DataDir(
            wav_scp={k: src[u] for k, u in utts.items()},
            text={k: transcript_of(u + ".wav") for k, u in utts.items()},
            utt2spk={k: "yesno" for k in utts}, utt2lang={k: LANG for k in utts})
        if split == "train" and num_crops > 0:
            crop_dir = os.path.join(os.path.abspath(out_dir), "train_crops")
            os.makedirs(crop_dir, exist_ok=True)
            for k, u in utts.items():
                if not _write_crops(src[u], k, data.text[k].split(), crop_dir, num_crops, data):
                    stats.crops_skipped += 1
            stats.crops = len(data.wav_scp) - len(utts)
        write_datadir(os.path.join(out_dir, split), data)
        setattr(stats, split, len(utts))
    with open(os.path.join(out_dir, "yesno_prep.json"), "w", encoding="utf-8") as f:
        json.dump(asdict(stats), f, indent=1)
    logger.info("yesno: train %d recordings + %d cropped copies (%d recordings did not split "
                "into one segment per word), dev %d (from train), test %d; %d files skipped",
                stats.train, stats.crops, stats.crops_skipped, stats.dev, stats.test,
                len(stats.skipped))
    return stats

