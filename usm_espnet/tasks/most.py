"""ESPnet task for MOST pre-training (``python -m usm_espnet.bin.most_train``).

MOST (USM's third stage, :mod:`usm_espnet.ssl.most`) trains on THREE data streams in
every step, each with its own batch size. ESPnet's samplers batch one list of
utterances, so this task keeps ESPnet for everything else (trainer, checkpoints,
``--resume``, ``--init_param``, ``--collect_stats``, validation, DDP) and replaces
only the training iterator:

* ``--speech_data DIR`` -- untranscribed speech: ``DIR/wav.scp``;
* ``--paired_data DIR`` -- transcribed speech: ``DIR/wav.scp`` + ``DIR/text``
  (the utterances of ``text``; ``wav.scp`` may hold more);
* ``--text_data DIR``   -- unspoken text: ``DIR/text`` (``<id> <sentence>`` lines).

A stream is used when its directory is given and its batch size
(``most_conf``: ``speech_batch_size``, ``paired_batch_size``, ``text_batch_size``)
is positive. Step ``s`` of training takes the ids of
:meth:`StreamMixer.batch(s) <usm_espnet.tasks.stream_mixer.StreamMixer.batch>` (every stream
walks through its own per-epoch shuffle, seeded by ``--seed``; the text stream
starts at ``most_conf.text_start_step``), loads them with ESPnet's
``ESPnetDataset`` and collates each stream with ESPnet's padding (speech 0.0,
token ids -1) into one flat batch: ``speech*``, ``paired_speech*``,
``paired_text*``, ``text*`` (see :mod:`usm_espnet.ssl.most_espnet_model`).
Epoch ``e`` is steps ``[(e-1) N, e N)`` with ``N = --num_iters_per_epoch`` (default:
enough steps for one pass over the stream that needs most), so batches depend only
on (seed, epoch) and resuming continues exactly. Under DDP each rank takes
``ids[rank::world_size]`` of every stream (batch sizes are global).

ESPnet's own data options keep their usual roles:

* ``--train_data_path_and_name_and_type <untranscribed>/wav.scp,speech,sound`` with
  ``--collect_stats true`` computes the ``global_mvn`` statistics (it is not read
  in training);
* ``--valid_data_path_and_name_and_type <dev>/wav.scp,speech,sound`` and
  ``<dev>/text,text,text`` (with ``--valid_shape_file``) is the validation set: paired
  data, scored by CTC loss only, so ``best_model_criterion: valid loss min`` keeps
  the best ASR encoder.

Text is tokenised by :class:`MOSTTextPreprocessor` (``--token_type``,
``--token_list``, ``--bpemodel`` as in ASRTask). The frontend / specaug / normalize /
encoder choices are the ASR task's own dictionaries, as in
:mod:`usm_espnet.tasks.best_rq`, so an encoder section is shared verbatim by the
BEST-RQ, MOST and ASR yamls.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
from typing import Any, Callable, Collection, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import torch

from usm_espnet.registry import register

register(["espnet2.tasks.asr"])

from espnet2.iterators.abs_iter_factory import AbsIterFactory  # noqa: E402
from espnet2.tasks.abs_task import AbsTask  # noqa: E402
from espnet2.train.collate_fn import CommonCollateFn  # noqa: E402
from espnet2.train.dataset import ESPnetDataset  # noqa: E402
from espnet2.train.distributed_utils import DistributedOption  # noqa: E402
from espnet2.train.trainer import Trainer  # noqa: E402
from espnet2.utils.nested_dict_action import NestedDictAction  # noqa: E402
from espnet2.utils.types import int_or_none, str2bool, str_or_none  # noqa: E402

from usm_espnet.data.kaldi import DataDirError, read_kaldi_map  # noqa: E402
from usm_espnet.ssl.most import (  # noqa: E402
    PAIRED,
    SPEECH,
    STREAMS,
    TEXT,
    MOSTConfig,
)
from usm_espnet.ssl.most_espnet_model import (  # noqa: E402
    ESPnetMOSTModel,
    build_most_config,
    frontend_frame_shift_ms,
)
from usm_espnet.tasks.best_rq import (  # noqa: E402
    build_front_and_encoder,
    encoder_choices,
    frontend_choices,
    normalize_choices,
    specaug_choices,
)
from usm_espnet.tasks.stream_mixer import StreamMixer  # noqa: E402

logger = logging.getLogger(__name__)

#: Batch keys of each stream's collated entries: stream -> {dataset key: batch key}.
STREAM_KEYS = {
    SPEECH: {"speech": "speech"},
    PAIRED: {"speech": "paired_speech", "text": "paired_text"},
    TEXT: {"text": "text"},
}
#: The ``--<stream>_data`` option of each stream.
STREAM_OPTIONS = {SPEECH: "--speech_data", PAIRED: "--paired_data", TEXT: "--text_data"}


# ------------------------------------------------------------------------ tokens


def load_token_list(token_list: Any) -> List[str]:
    """Tokens from a token-list file (one per line) or a list.

    Args:
        token_list: Path or sequence of tokens.

    Raises:
        ValueError: Missing / empty file, or not a path or list.
    """
    if isinstance(token_list, (str, os.PathLike)):
        path = os.fspath(token_list)
        if not os.path.isfile(path):
            raise ValueError(f"{path}: token list not found (--token_list)")
        with open(path, encoding="utf-8") as f:
            tokens = [line.rstrip("\r\n") for line in f]
        while tokens and tokens[-1] == "":
            tokens.pop()
        if not tokens:
            raise ValueError(f"{path}: the token list is empty (--token_list)")
        return tokens
    if isinstance(token_list, (list, tuple)) and token_list:
        return [str(t) for t in token_list]
    raise ValueError(f"--token_list must be a file or a non-empty list, got {token_list!r}")


class MOSTTextPreprocessor:
    """Tokenise the ``text`` entry of a loaded example into int ids (ASRTask's way).

    Cleaner, then ESPnet's tokenizer (``char``, ``bpe`` with ``--bpemodel``,
    ``word``, ``phn``), then the token list. A token missing from the list
    becomes ``<unk>`` when the list has one and ``unknown_tokens == "map"``
    (ESPnet's behaviour; logged once per file), else it is an error. Speech is
    passed through unchanged.

    Args:
        token_list: Token-list path or tokens.
        token_type: ``char``, ``bpe``, ``word`` or ``phn``.
        bpemodel: SentencePiece model (``bpe``).
        non_linguistic_symbols: File of symbols kept as single tokens.
        cleaner: ESPnet text cleaner name.
        g2p_type: G2P for ``phn``.
        unknown_tokens: ``map`` (to ``<unk>``) or ``error``.
        source: File the texts come from (named in errors).
        blank_id: CTC blank id, which must not appear in a text.
        unk_symbol: The unknown-token symbol.

    Raises:
        ValueError: Bad token list / options.
    """

    def __init__(self, token_list: Any, token_type: str = "char",
                 bpemodel: Optional[str] = None, non_linguistic_symbols: Optional[str] = None,
                 cleaner: Optional[str] = None, g2p_type: Optional[str] = None,
                 unknown_tokens: str = "map", source: str = "text", blank_id: int = 0,
                 unk_symbol: str = "<unk>") -> None:
        from espnet2.text.build_tokenizer import build_tokenizer
        from espnet2.text.cleaner import TextCleaner

        if unknown_tokens not in ("map", "error"):
            raise ValueError(f"unknown_tokens must be 'map' or 'error', got {unknown_tokens!r}")
        if token_type == "bpe" and not bpemodel:
            raise ValueError("--token_type bpe needs --bpemodel (a SentencePiece model)")
        if bpemodel and not os.path.isfile(bpemodel):
            raise ValueError(f"{bpemodel}: SentencePiece model not found (--bpemodel)")
        self.token_list = load_token_list(token_list)
        self.token_list_name = token_list if isinstance(token_list, str) else "--token_list"
        self.token2id = {t: i for i, t in enumerate(self.token_list)}
        self.unk_id = self.token2id.get(unk_symbol) if unknown_tokens == "map" else None
        self.unknown_tokens = unknown_tokens
        self.blank_id = blank_id
        self.source = source
        self.tokenizer = build_tokenizer(token_type=token_type, bpemodel=bpemodel,
                                         non_linguistic_symbols=non_linguistic_symbols,
                                         g2p_type=g2p_type)
        self.cleaner = TextCleaner(cleaner)
        self._warned = False

    def __repr__(self) -> str:
        return (f"MOSTTextPreprocessor(tokenizer={self.tokenizer}, "
                f"vocabulary={len(self.token_list)}, unknown_tokens={self.unknown_tokens!r}, "
                f"source={self.source!r})")

    def with_source(self, source: str) -> "MOSTTextPreprocessor":
        """A copy that names ``source`` in its errors.

        Args:
            source: Text file path.
        """
        import copy

        other = copy.copy(self)
        other.source = source
        other._warned = False
        return other

    def tokens_to_ids(self, uid: str, text: str) -> np.ndarray:
        """Token ids of one text.

        Args:
            uid: Its id (for errors).
            text: The text.

        Returns:
            (N,) int64 ids, N >= 1.

        Raises:
            ValueError: No tokens, an unknown token without ``<unk>`` (or with
                ``unknown_tokens="error"``), or the blank token, naming the file.
        """
        tokens = self.tokenizer.text2tokens(self.cleaner(text))
        if not tokens:
            raise ValueError(f"{self.source}: {uid!r} has no tokens (text {text!r})")
        ids = []
        for t in tokens:
            i = self.token2id.get(t)
            if i is None:
                if self.unk_id is None:
                    why = ("--unknown_tokens error" if self.unknown_tokens == "error"
                           else "the list has no <unk>")
                    raise ValueError(f"{self.source}: {uid!r}: token {t!r} is not in the token "
                                     f"list {self.token_list_name} ({why})")
                if not self._warned:
                    logger.warning("%s: %r: token %r is not in the token list; mapped to "
                                   "<unk> (further ones not logged)", self.source, uid, t)
                    self._warned = True
                i = self.unk_id
            ids.append(i)
        if self.blank_id in ids:
            raise ValueError(f"{self.source}: {uid!r} contains the CTC blank token "
                             f"{self.token_list[self.blank_id]!r}")
        return np.asarray(ids, dtype=np.int64)

    def __call__(self, uid: str, data: Dict[str, Any]) -> Dict[str, Any]:
        """ESPnet preprocess hook: tokenise ``data["text"]`` when it is a string.

        Args:
            uid: Example id.
            data: Loaded example (``speech`` and/or ``text``).

        Returns:
            ``data`` with ``text`` as int64 ids.
        """
        if isinstance(data.get("text"), str):
            data["text"] = self.tokens_to_ids(uid, data["text"])
        return data


def _text_paths(entries: Sequence[Sequence[str]]) -> List[str]:
    """Paths of the ``text`` entries of a ``*_data_path_and_name_and_type`` list."""
    return [e[0] for e in entries if len(e) >= 2 and e[1] == "text"]


# ----------------------------------------------------------------------- streams


def _data_file(directory: str, name: str, option: str) -> str:
    """``directory/name``, which must exist.

    Args:
        directory: Data directory.
        name: File name (``wav.scp`` / ``text``).
        option: The option that gave the directory (for the message).

    Raises:
        ValueError: The file is missing.
    """
    path = os.path.join(directory, name)
    if not os.path.isfile(path):
        raise ValueError(f"{path}: file not found ({option} {directory} needs {name})")
    return path


def _keys(path: str, allow_empty_value: bool = False) -> List[str]:
    """Ids of a Kaldi map file, in file order; ValueError naming the file when it has none.

    Args:
        path: ``wav.scp`` / ``text``.
        allow_empty_value: Accept id-only lines.
    """
    m = read_kaldi_map(path, allow_empty_value=allow_empty_value)
    if not m:
        raise ValueError(f"{path}: the file is empty (no utterances)")
    return list(m)


def stream_sources(speech_data: Optional[str] = None, paired_data: Optional[str] = None,
                   text_data: Optional[str] = None, speech_type: str = "sound"
                   ) -> Dict[str, Tuple[List[Tuple[str, str, str]], List[str]]]:
    """Check the three streams' data directories and list their ids.

    Args:
        speech_data: Untranscribed dir (``wav.scp``).
        paired_data: Transcribed dir (``wav.scp`` + ``text``).
        text_data: Unspoken-text dir (``text``).
        speech_type: ESPnet loader type of ``wav.scp`` (``sound``, ``kaldi_ark``, ...).

    Returns:
        Stream -> (ESPnet ``path_name_type`` list, ids) for the streams given.

    Raises:
        ValueError: A file is missing, empty or malformed (empty transcript, duplicate
            id, ...), or a transcript has no audio; the message names the file.
    """
    out: Dict[str, Tuple[List[Tuple[str, str, str]], List[str]]] = {}
    try:
        if speech_data:
            wav = _data_file(speech_data, "wav.scp", "--speech_data")
            out[SPEECH] = ([(wav, "speech", speech_type)], _keys(wav))
        if paired_data:
            wav = _data_file(paired_data, "wav.scp", "--paired_data")
            txt = _data_file(paired_data, "text", "--paired_data")
            audio = set(_keys(wav))
            m = read_kaldi_map(txt)
            if not m:
                raise ValueError(f"{txt}: the file is empty (no transcripts)")
            missing = [k for k in m if k not in audio]
            if missing:
                raise ValueError(f"{m.where(missing[0])}: {missing[0]!r} has no audio in {wav} "
                                 f"({len(missing)} transcript(s) without audio)")
            if len(audio) > len(m):
                logger.info("%s: %d utterance(s) without a transcript in %s are not used",
                            wav, len(audio) - len(m), txt)
            out[PAIRED] = ([(wav, "speech", speech_type), (txt, "text", "text")], list(m))
        if text_data:
            txt = _data_file(text_data, "text", "--text_data")
            m = read_kaldi_map(txt)
            if not m:
                raise ValueError(f"{txt}: the unspoken-text stream is empty (no sentences)")
            out[TEXT] = ([(txt, "text", "text")], list(m))
    except DataDirError as e:
        raise ValueError(str(e)) from None
    return out


def _identity(x):
    """DataLoader collate for items that are already batches (module level: picklable)."""
    return x


class _StepDataset(torch.utils.data.Dataset):
    """Steps ``first, first + 1, ...`` of a :class:`MOSTIterFactory` as dataset items.

    Args:
        factory: The factory.
        first: First step.
        num_steps: Steps.
    """

    def __init__(self, factory: "MOSTIterFactory", first: int, num_steps: int) -> None:
        self.factory = factory
        self.first = first
        self.num_steps = num_steps

    def __len__(self) -> int:
        return self.num_steps

    def __getitem__(self, i: int) -> Tuple[List[str], Dict[str, torch.Tensor]]:
        if not 0 <= i < self.num_steps:
            raise IndexError(i)
        return self.factory.load_step(self.first + i)


class MOSTIterFactory(AbsIterFactory):
    """Training batches of the three MOST streams, one :class:`StreamMixer` step each.

    Args:
        datasets: Stream -> dataset mapping an id to ``(id, {"speech"/"text": array})``
            (ESPnet's ``ESPnetDataset``).
        mixer: Ids per step.
        num_iters_per_epoch: Steps per epoch (None: the most any stream needs for
            one pass over its ids).
        rank: This process's DDP rank.
        world_size: DDP processes; each takes ``ids[rank::world_size]``.
        num_workers: DataLoader workers (loading only; batches are fixed by the mixer).
        pin_memory: DataLoader ``pin_memory``.
        collate_fn: Per-stream collate (default: ESPnet's, speech 0.0 / ids -1).

    Raises:
        ValueError: A dataset is missing for a mixer stream, or a batch size is
            smaller than ``world_size``.
    """

    def __init__(self, datasets: Mapping[str, Any], mixer: StreamMixer,
                 num_iters_per_epoch: Optional[int] = None, rank: int = 0,
                 world_size: int = 1, num_workers: int = 0, pin_memory: bool = False,
                 collate_fn: Optional[Callable] = None) -> None:
        missing = sorted(set(mixer.batch_sizes) - set(datasets))
        if missing:
            raise ValueError(f"no dataset for stream(s) {missing}")
        for name, size in mixer.batch_sizes.items():
            if size < world_size:
                raise ValueError(f"the {name} batch size ({size}) must be >= the number of "
                                 f"DDP processes ({world_size})")
        self.datasets = dict(datasets)
        self.mixer = mixer
        if num_iters_per_epoch is None:
            num_iters_per_epoch = max(math.ceil(len(mixer._ids[s]) / b)
                                      for s, b in mixer.batch_sizes.items())
        if num_iters_per_epoch < 1:
            raise ValueError(f"num_iters_per_epoch must be >= 1, got {num_iters_per_epoch}")
        self.num_iters_per_epoch = int(num_iters_per_epoch)
        self.rank = rank
        self.world_size = world_size
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.collate_fn = collate_fn or CommonCollateFn(float_pad_value=0.0, int_pad_value=-1)

    def __repr__(self) -> str:
        sizes = ", ".join(f"{s}={b}" for s, b in self.mixer.batch_sizes.items())
        starts = ", ".join(f"{s}={v}" for s, v in self.mixer.start_steps.items() if v)
        return (f"MOSTIterFactory(batch sizes {sizes}; start steps {starts or 'all 0'}; "
                f"{self.num_iters_per_epoch} steps/epoch; rank {self.rank}/{self.world_size})")

    def step_ids(self, step: int) -> Dict[str, List[str]]:
        """This rank's ids of every active stream at ``step``.

        Args:
            step: Global step (0-based).
        """
        return {name: ids[self.rank::self.world_size]
                for name, ids in self.mixer.batch(step).items()}

    def load_step(self, step: int) -> Tuple[List[str], Dict[str, torch.Tensor]]:
        """Load and collate the batch of ``step``.

        Args:
            step: Global step.

        Returns:
            ``(["<stream>:<id>", ...], {"speech": ..., "paired_speech": ..., ...})``.
        """
        utt_ids: List[str] = []
        batch: Dict[str, torch.Tensor] = {}
        for name, ids in self.step_ids(step).items():
            items = [self.datasets[name][uid] for uid in ids]
            _, collated = self.collate_fn(items)
            for key, value in collated.items():
                base = key[: -len("_lengths")] if key.endswith("_lengths") else key
                if base not in STREAM_KEYS[name]:
                    raise ValueError(f"stream {name} loaded an unexpected entry {base!r}")
                batch[STREAM_KEYS[name][base] + key[len(base):]] = value
            utt_ids.extend(f"{name}:{uid}" for uid in ids)
        return utt_ids, batch

    def build_iter(self, epoch: int, shuffle: Optional[bool] = None) -> torch.utils.data.DataLoader:
        """The batches of ``epoch`` (1-based): steps ``[(epoch-1) N, epoch N)``.

        Args:
            epoch: Epoch number.
            shuffle: Ignored: the mixer's order is fixed by the seed.

        Returns:
            An iterable of ``(utt_ids, batch)`` with a length.
        """
        first = (epoch - 1) * self.num_iters_per_epoch
        ds = _StepDataset(self, first, self.num_iters_per_epoch)
        return torch.utils.data.DataLoader(ds, batch_size=None, shuffle=False,
                                           num_workers=self.num_workers,
                                           collate_fn=_identity, pin_memory=self.pin_memory)


class _RenamedIterable:
    """An iterable of ``(ids, batch)`` whose batch keys are renamed.

    Args:
        inner: The iterable.
        mapping: Old key -> new key.
    """

    def __init__(self, inner: Any, mapping: Mapping[str, str]) -> None:
        self.inner = inner
        self.mapping = dict(mapping)

    def __len__(self) -> int:
        return len(self.inner)

    def __iter__(self) -> Iterator[Tuple[List[str], Dict[str, Any]]]:
        for ids, batch in self.inner:
            yield ids, {self.mapping.get(k, k): v for k, v in batch.items()}


class PairedIterFactory(AbsIterFactory):
    """Wraps an ESPnet iterator factory over ``speech`` + ``text`` data as the paired stream.

    Args:
        inner: ESPnet's iterator factory (validation set).
    """

    MAPPING = {"speech": "paired_speech", "speech_lengths": "paired_speech_lengths",
               "text": "paired_text", "text_lengths": "paired_text_lengths"}

    def __init__(self, inner: AbsIterFactory) -> None:
        self.inner = inner

    def build_iter(self, epoch: int, shuffle: Optional[bool] = None) -> _RenamedIterable:
        """The inner factory's iterator with ``speech``/``text`` renamed ``paired_*``.

        Args:
            epoch: Epoch number.
            shuffle: Passed on.
        """
        return _RenamedIterable(self.inner.build_iter(epoch, shuffle), self.MAPPING)


# -------------------------------------------------------------------------- task


class MOSTTask(AbsTask):
    """MOST pre-training: untranscribed speech + transcribed speech + unspoken text."""

    num_optimizers: int = 1
    class_choices_list = [frontend_choices, specaug_choices, normalize_choices, encoder_choices]
    trainer = Trainer

    @classmethod
    def add_task_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """MOST's options (see the module docstring)."""
        required = parser.get_default("required")
        required += ["token_list"]
        # The text stream leaves parameters unused before text_start_step (DDP needs
        # to know); attention plots would feed validation batches to the wrong keys.
        parser.set_defaults(unused_parameters=True, num_att_plot=0)
        group = parser.add_argument_group("Task related")
        group.add_argument("--token_list", type=str_or_none, default=None,
                           help="Token list (one token per line; <blank> first)")
        group.add_argument("--input_size", type=int_or_none, default=None,
                           help="Feature dimension when features come from the loader")
        group.add_argument(
            "--model_conf", action=NestedDictAction, default=dict(),
            help="BEST-RQ options, as in the BEST-RQ task: num_quantizers, codebook_size, "
                 "codebook_dim, mask_prob, mask_span_ms, noise_std, quantizer_seed",
        )
        group.add_argument(
            "--most_conf", action=NestedDictAction, default=dict(),
            help="MOSTConfig fields: loss weights, speech/paired/text_batch_size, "
                 "text_start_step, speech_encoder_layers, duration_mode, ...",
        )
        group.add_argument("--speech_data", type=str_or_none, default=None,
                           help="Untranscribed speech: a dir with wav.scp (BEST-RQ stream)")
        group.add_argument("--paired_data", type=str_or_none, default=None,
                           help="Transcribed speech: a dir with wav.scp and text (ASR stream)")
        group.add_argument("--text_data", type=str_or_none, default=None,
                           help="Unspoken text: a dir with text (text-reconstruction stream)")
        group.add_argument("--speech_data_type", type=str, default="sound",
                           help="ESPnet loader type of the streams' wav.scp (sound, "
                                "kaldi_ark, ...)")
        group.add_argument("--unknown_tokens", type=str, default="map",
                           choices=["map", "error"],
                           help="A token not in the token list: map to <unk> (ESPnet's "
                                "behaviour) or stop with an error naming the file")
        for class_choices in cls.class_choices_list:
            class_choices.add_arguments(group)
        group = parser.add_argument_group("Preprocess related")
        group.add_argument("--use_preprocessor", type=str2bool, default=True,
                           help="Tokenise text (must stay true for MOST)")
        group.add_argument("--token_type", type=str, default="bpe",
                           choices=["bpe", "char", "word", "phn"], help="Text unit")
        group.add_argument("--bpemodel", type=str_or_none, default=None,
                           help="SentencePiece model (--token_type bpe)")
        group.add_argument("--non_linguistic_symbols", type=str_or_none, default=None,
                           help="File of non-linguistic symbols")
        group.add_argument("--cleaner", type=str_or_none, default=None,
                           choices=[None, "tacotron", "jaconv", "vietnamese",
                                    "whisper_en", "whisper_basic"],
                           help="Text cleaner")
        group.add_argument("--g2p", type=str_or_none, default=None,
                           help="G2P for --token_type phn")

    @classmethod
    def build_collate_fn(
        cls, args: argparse.Namespace, train: bool
    ) -> Callable[[Collection[Tuple[str, Dict[str, np.ndarray]]]],
                  Tuple[List[str], Dict[str, torch.Tensor]]]:
        """ESPnet's collate: speech padded with 0.0, token ids with -1."""
        return CommonCollateFn(float_pad_value=0.0, int_pad_value=-1)

    @classmethod
    def build_preprocess_fn(
        cls, args: argparse.Namespace, train: bool
    ) -> Optional[Callable[[str, Dict[str, np.ndarray]], Dict[str, np.ndarray]]]:
        """A :class:`MOSTTextPreprocessor` (for collect_stats and validation)."""
        if not args.use_preprocessor:
            return None
        texts = _text_paths(list(args.train_data_path_and_name_and_type)
                            + list(args.valid_data_path_and_name_and_type))
        blank = int((getattr(args, "most_conf", None) or {}).get("blank_id", 0))
        return MOSTTextPreprocessor(
            args.token_list, args.token_type, args.bpemodel, args.non_linguistic_symbols,
            args.cleaner, args.g2p, args.unknown_tokens,
            source=" or ".join(dict.fromkeys(texts)) or "text", blank_id=blank)

    @classmethod
    def required_data_names(cls, train: bool = True, inference: bool = False) -> Tuple[str, ...]:
        """``speech`` (ESPnet-built iterators: collect_stats and validation)."""
        return ("speech",)

    @classmethod
    def optional_data_names(cls, train: bool = True, inference: bool = False) -> Tuple[str, ...]:
        """``text`` (the validation transcripts)."""
        return ("text",)

    @classmethod
    def build_train_iter_factory(cls, args: argparse.Namespace,
                                 distributed_option: Optional[DistributedOption] = None
                                 ) -> MOSTIterFactory:
        """The three-stream training iterator (see the module docstring).

        Args:
            args: Parsed arguments.
            distributed_option: ESPnet's DDP options (None: one process).

        Raises:
            ValueError: No usable stream, or bad data (message names the file).
        """
        # batch sizes and start step only: the frame shift does not matter here
        config = build_most_config(args.model_conf, args.most_conf)
        sources = stream_sources(args.speech_data, args.paired_data, args.text_data,
                                 args.speech_data_type)
        sizes = config.batch_sizes()
        for name in STREAMS:
            if name in sources and sizes[name] == 0:
                logger.warning("%s is given but most_conf.%s_batch_size is 0: stream unused",
                               STREAM_OPTIONS[name], name)
            elif name not in sources and sizes[name] > 0:
                logger.info("no %s: the %s stream is not used", STREAM_OPTIONS[name], name)
        used = [n for n in STREAMS if n in sources and sizes[n] > 0]
        if not used:
            raise ValueError("MOST training needs at least one stream: --speech_data DIR "
                             "(wav.scp), --paired_data DIR (wav.scp + text) and/or "
                             "--text_data DIR (text), with a positive most_conf batch size")
        if args.train_data_path_and_name_and_type:
            logger.info("--train_data_path_and_name_and_type is not read in MOST training "
                        "(only by --collect_stats); the streams are %s", used)
        base = cls.build_preprocess_fn(args, train=True)
        datasets = {}
        for name in used:
            entries, _ = sources[name]
            pre = None
            if base is not None:
                pre = base.with_source(next((p for p, n, _ in entries if n == "text"), "text"))
            datasets[name] = ESPnetDataset(entries, preprocess=pre, float_dtype=args.train_dtype,
                                           max_cache_size=args.max_cache_size,
                                           max_cache_fd=args.max_cache_fd,
                                           allow_multi_rates=args.allow_multi_rates)
        mixer = StreamMixer({n: sources[n][1] for n in used}, {n: sizes[n] for n in used},
                            seed=args.seed, start_steps=config.start_steps())
        rank, world = 0, 1
        if distributed_option is not None and distributed_option.distributed:
            rank = torch.distributed.get_rank()
            world = torch.distributed.get_world_size()
        factory = MOSTIterFactory(datasets, mixer, args.num_iters_per_epoch, rank=rank,
                                  world_size=world, num_workers=args.num_workers,
                                  pin_memory=args.ngpu > 0,
                                  collate_fn=cls.build_collate_fn(args, train=True))
        logger.info("[train] %r; ids: %s", factory,
                    ", ".join(f"{n} {len(sources[n][1])}" for n in used))
        return factory

    @classmethod
    def build_iter_factory(cls, args: argparse.Namespace,
                           distributed_option: DistributedOption, mode: str,
                           kwargs: Optional[dict] = None) -> AbsIterFactory:
        """Training: :meth:`build_train_iter_factory`; validation: ESPnet's, as the paired stream.

        Args:
            args: Parsed arguments.
            distributed_option: ESPnet's DDP options.
            mode: ``train``, ``valid`` or ``plot_att``.
            kwargs: Iterator-option overrides (ESPnet's).

        Raises:
            ValueError: The validation data is not paired (``speech`` + ``text``).
        """
        if mode == "train":
            return cls.build_train_iter_factory(args, distributed_option)
        entries = list(args.valid_data_path_and_name_and_type)
        names = {e[1] for e in entries}
        if not {"speech", "text"} <= names:
            raise ValueError("MOST validates on paired data: give "
                             "--valid_data_path_and_name_and_type <dev>/wav.scp,speech,sound "
                             "and --valid_data_path_and_name_and_type <dev>/text,text,text "
                             f"(got the names {sorted(names)})")
        kwargs = dict(kwargs or {})
        pre = cls.build_preprocess_fn(args, train=False)
        if pre is not None and "preprocess_fn" not in kwargs:
            kwargs["preprocess_fn"] = pre.with_source(_text_paths(entries)[0])
        inner = super().build_iter_factory(args, distributed_option, mode, kwargs)
        return PairedIterFactory(inner)

    @classmethod
    def build_multiple_iter_factory(cls, args: argparse.Namespace,
                                     distributed_option: DistributedOption, mode: str):
        """Not supported: MOST has its own multi-stream iterator."""
        raise ValueError("--multiple_iterator is not supported by MOST (its training "
                         "iterator already mixes three streams)")

    @classmethod
    def build_model(cls, args: argparse.Namespace) -> ESPnetMOSTModel:
        """Frontend / specaug / normalize / encoder from the ASR choices, then ESPnetMOSTModel.

        Args:
            args: Parsed arguments (``args.token_list`` becomes the list itself, as in
                ASRTask, so the saved config is portable).
        """
        token_list = load_token_list(args.token_list)
        args.token_list = list(token_list)
        frontend, input_size, specaug, normalize, encoder = build_front_and_encoder(args)
        shift = frontend_frame_shift_ms(frontend, MOSTConfig().bestrq.frame_shift_ms)
        if frontend is None:
            shift = None  # model_conf's frame_shift_ms (or the default) applies
        config = build_most_config(args.model_conf, args.most_conf, shift)
        model = ESPnetMOSTModel(input_size=input_size, vocab_size=len(token_list),
                                frontend=frontend, specaug=specaug, normalize=normalize,
                                encoder=encoder, config=config, token_list=token_list)
        n = sum(p.numel() for p in model.encoder.parameters())
        logging.info("MOST encoder %s: %.2fM parameters; vocabulary %d", args.encoder,
                     n / 1e6, len(token_list))
        return model
