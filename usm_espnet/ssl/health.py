"""Is BEST-RQ pre-training learning anything? One line from ``bestrq_health.jsonl``.

A model that predicts nothing but the label prior reaches, at masked frames, the
accuracy of always guessing each head's most frequent code (``prior_acc``). Masked
accuracy well above that baseline is the sign that the encoder learned something
from the audio; at or near it, fine-tuning from the encoder is unlikely to beat
training from scratch (the encoder's output may even have collapsed).
:class:`usm_espnet.tasks.guarded_trainer.GuardedTrainer` writes the file, one JSON
object per validation epoch, from counts summed over the whole validation set.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List, Optional

#: Masked accuracy below this multiple of the prior baseline is reported as "nothing learned".
MIN_RATIO = 1.5
#: The file GuardedTrainer appends one record to per validation epoch.
HEALTH_FILE_NAME = "bestrq_health.jsonl"


def last_record(path: Path) -> Optional[Dict[str, object]]:
    """The last complete JSON line of ``path`` (None if there is none)."""
    rec = None
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut off by a killed run; the earlier ones stand
    return rec


def health_ratio(path: Path) -> Optional[float]:
    """Masked accuracy / prior baseline of the last record (None without a record)."""
    rec = last_record(path)
    if rec is None:
        return None
    acc, prior = float(rec["masked_acc"]), float(rec["prior_acc"])
    return acc / prior if prior > 0 else float("inf")


def health_line(path: Path, min_ratio: float = MIN_RATIO) -> List[str]:
    """The summary line (and a warning line when below ``min_ratio``) for a health file."""
    rec = last_record(path)
    if rec is None:
        return [f"WARNING: {path}: no BEST-RQ health record (no validation epoch finished)"]
    acc, prior = float(rec["masked_acc"]), float(rec["prior_acc"])
    ratio = acc / prior if prior > 0 else float("inf")
    lines = [f"BEST-RQ health (epoch {rec.get('epoch')}, {rec['masked_frames']} masked validation frames): "
             f"masked accuracy {acc:.4f} = {ratio:.2f}x the prior baseline {prior:.4f} (always the most "
             f"frequent code); label perplexity {float(rec['label_perplexity']):.1f}"]
    if ratio < min_ratio:
        lines.append(f"WARNING: pre-training learned nothing beyond the label prior (masked accuracy "
                     f"{ratio:.2f}x the baseline, below {min_ratio:g}x): fine-tuning from this encoder is "
                     f"unlikely to beat training from scratch; pre-train longer or with shorter mask spans")
    return lines
