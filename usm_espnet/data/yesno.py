"""Kaldi's yesno corpus (OpenSLR 1): 60 recordings of one speaker saying eight words each.

The release is one directory of ``<w1>_<w2>_..._<w8>.wav`` files (8 kHz, 16-bit), each
word ``1`` ("yes") or ``0`` ("no"): the file name is the transcript. Kaldi's
``egs/yesno/s5`` trains on the 31 recordings whose first word is "no" and tests on the
29 whose first word is "yes"; :func:`prepare_yesno` writes the same split (plus a
``dev`` set of the first ``num_dev`` train recordings, which stay in train too: the
corpus has no held-out development data, and the recipe decodes its last checkpoint,
so ``dev`` only feeds ESPnet's validation log). It is the project's smallest real-speech
check: real recordings, 8 kHz resampled to 16 kHz by the same format stage as every
corpus, in about a minute of CPU training.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import asdict, dataclass, field
from typing import Dict

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
    skipped: Dict[str, str] = field(default_factory=dict)  # file -> reason


def transcript_of(file_name: str) -> str:
    """``"0_1_1.wav"`` -> ``"NO YES YES"``; ValueError for any other name."""
    if not _NAME.match(file_name):
        raise ValueError(f"{file_name}: not a yesno file name (<0|1>_..._<0|1>.wav)")
    return " ".join(WORDS[w] for w in file_name[:-4].split("_"))


def prepare_yesno(corpus_dir: str, out_dir: str, num_dev: int = 4) -> YesnoStats:
    """Write ``out_dir/{train,dev,test}`` (Kaldi data dirs) from a yesno directory.

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
        write_datadir(os.path.join(out_dir, split), DataDir(
            wav_scp={k: src[u] for k, u in utts.items()},
            text={k: transcript_of(u + ".wav") for k, u in utts.items()},
            utt2spk={k: "yesno" for k in utts}, utt2lang={k: LANG for k in utts}))
        setattr(stats, split, len(utts))
    with open(os.path.join(out_dir, "yesno_prep.json"), "w", encoding="utf-8") as f:
        json.dump(asdict(stats), f, indent=1)
    logger.info("yesno: train %d, dev %d (from train), test %d recordings; %d files skipped",
                stats.train, stats.dev, stats.test, len(stats.skipped))
    return stats

