"""Per-step sampling of several data streams at fixed ratios (MOST's three streams).

MOST (:mod:`usm_espnet.ssl.most`) trains every step on a batch of untranscribed
speech, one of transcribed speech and one of unspoken text, in the paper's batch-size
ratios; :class:`StreamMixer` decides which ids go into each step's batches,
deterministically from (seed, step), so a resumed run draws the same batches.
:mod:`usm_espnet.tasks.most` builds its iterator on it.
"""

from __future__ import annotations

import random
from typing import Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

from usm_espnet.ssl.best_rq import check_int
from usm_espnet.ssl.most import MOSTConfig


class StreamMixer:
    """Deterministic per-step batches of ids from several streams, at fixed ratios.

    Every step takes ``batch_sizes[s]`` ids from each active stream ``s``. A
    stream walks through its ids in a per-epoch shuffled order (epoch ``e`` of
    stream ``s`` is shuffled with ``random.Random(f"{seed}/{s}/{e}")``) and
    wraps into the next epoch inside a batch when needed, so every id is used
    once per epoch and the batch for a step depends only on (seed, step):
    :meth:`batch` is random-access, which makes resuming trivial.

    A stream is inactive before its start step (MOST: unspoken text before
    ``text_start_step``); its position counts only active steps.

    Args:
        ids: Stream name -> its utterance / sentence ids.
        batch_sizes: Stream name -> ids per step (0 or missing: stream unused).
        seed: Shuffling seed.
        start_steps: Stream name -> first active step (default 0).
        shuffle: Shuffle each epoch (False: ids in the given order).
    """

    def __init__(self, ids: Mapping[str, Sequence[str]], batch_sizes: Mapping[str, int],
                 seed: int = 0, start_steps: Optional[Mapping[str, int]] = None,
                 shuffle: bool = True) -> None:
        unknown = set(batch_sizes) - set(ids)
        if unknown:
            raise ValueError(f"batch sizes given for streams without ids: {sorted(unknown)}")
        start_steps = dict(start_steps or {})
        self.seed = int(seed)
        self.shuffle = shuffle
        self._ids: Dict[str, List[str]] = {}
        self.batch_sizes: Dict[str, int] = {}
        self.start_steps: Dict[str, int] = {}
        for name, stream_ids in ids.items():
            size = batch_sizes.get(name, 0)
            check_int(f"batch size of {name!r}", size, 0)
            if size == 0:
                continue
            stream_ids = list(stream_ids)
            if not stream_ids:
                raise ValueError(f"stream {name!r} has batch size {size} but no ids")
            start = start_steps.get(name, 0)
            check_int(f"start step of {name!r}", start, 0)
            self._ids[name] = stream_ids
            self.batch_sizes[name] = size
            self.start_steps[name] = start
        if not self._ids:
            raise ValueError("no stream has ids and a positive batch size")
        self._perm_cache: Dict[Tuple[str, int], List[int]] = {}

    @classmethod
    def from_config(cls, config: MOSTConfig, ids: Mapping[str, Sequence[str]],
                    seed: int = 0, scale: float = 1.0) -> "StreamMixer":
        """Mixer with MOST's batch sizes (optionally scaled) and text warm-up.

        Args:
            config: MOST configuration.
            ids: ``{"speech": ..., "paired": ..., "text": ...}`` ids (missing or
                empty streams are left out).
            seed: Shuffling seed.
            scale: Batch-size scale (see :meth:`MOSTConfig.batch_sizes`).
        """
        present = {k: v for k, v in ids.items() if len(v) > 0}
        sizes = {k: v for k, v in config.batch_sizes(scale).items() if k in present}
        return cls(present, sizes, seed=seed, start_steps=config.start_steps())

    def _order(self, name: str, epoch: int) -> List[int]:
        """Index order of stream ``name`` in ``epoch`` (cached, a few epochs)."""
        key = (name, epoch)
        if key not in self._perm_cache:
            order = list(range(len(self._ids[name])))
            if self.shuffle:
                random.Random(f"{self.seed}/{name}/{epoch}").shuffle(order)
            if len(self._perm_cache) > 8:
                self._perm_cache.clear()
            self._perm_cache[key] = order
        return self._perm_cache[key]

    def batch(self, step: int) -> Dict[str, List[str]]:
        """Ids of every active stream at ``step``.

        Args:
            step: Global step (>= 0).

        Returns:
            Stream name -> ``batch_sizes[name]`` ids; inactive streams are absent.
        """
        check_int("step", step, 0)
        out: Dict[str, List[str]] = {}
        for name, ids in self._ids.items():
            k = step - self.start_steps[name]
            if k < 0:
                continue
            size, n = self.batch_sizes[name], len(ids)
            pos = k * size
            picked = []
            for p in range(pos, pos + size):
                picked.append(ids[self._order(name, p // n)[p % n]])
            out[name] = picked
        return out

    def __iter__(self) -> Iterator[Dict[str, List[str]]]:
        """Endless batches from step 0 (use :meth:`iterate` to resume)."""
        return self.iterate(0)

    def iterate(self, start_step: int = 0,
                num_steps: Optional[int] = None) -> Iterator[Dict[str, List[str]]]:
        """Batches for ``start_step, start_step + 1, ...``.

        Args:
            start_step: First step.
            num_steps: How many (None: endless).
        """
        step = start_step
        while num_steps is None or step < start_step + num_steps:
            yield self.batch(step)
            step += 1
