"""A generator of broken inputs, each written into a real corpus layout.

Every *kind* of bad input is one function here; :func:`make_case` writes a small,
otherwise valid corpus in one *layout* with that kind applied to one utterance (or
one file) and returns a :class:`Case` saying how many items went in and which file
and line an error should name.

Layouts (the shapes our entry points read):

``fleurs``         ``<root>/en_us/{train,dev,test}.tsv`` + ``audio/<split>/*.wav``
``kaldi``          a Kaldi data dir (``wav.scp text utt2spk utt2lang``)
``untranscribed``  ``<root>/en_us/wav.lst`` + wavs
``longform``       ``<root>/media/*.wav`` + ``transcripts/nlp_references/*.nlp``
``synth_text``     a ``lang<TAB>text`` file for ``usm_espnet.bin.synth --text_file``
``config``         an ESPnet training yaml (``asr`` or ``ssl`` flavour)
``scoring``        stage 9's ``ref``, ``hyp`` and ``utt2lang`` (``score_asr``, ``score_st``)

Kinds belong to five categories: ``audio`` (applied to the second item's audio),
``transcript`` (the second item's text), ``corpus`` (the listing files),
``config`` (the yaml) and ``scoring`` (stage 9's hypothesis and utt2lang files).
Nothing here decides what an entry point should do with them; ``tests/test_bad_inputs.py`` holds that table.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional

import numpy as np
import soundfile as sf

SR = 16000
#: Items in every generated corpus (the second one, index 1, is the broken one).
NUM_ITEMS = 3
BAD = 1
LANG = "en_us"
GOOD_TEXTS = ["the cat sat", "a big dog ran", "we see the sun"]


@dataclass(frozen=True)
class Kind:
    """One kind of broken input.

    Args:
        name: Identifier (``truncated_wav`` ...).
        category: ``audio``, ``transcript``, ``corpus`` or ``config``.
        description: What is broken, for the outcome table.
    """

    name: str
    category: str
    description: str


@dataclass
class Case:
    """A generated corpus with one broken input.

    Args:
        kind: The kind applied.
        layout: The layout written.
        root: What to hand to the entry point (corpus root, data dir, file).
        num_items: Items the input lists (count in).
        bad_id: Id of the broken item (utterance, recording), if one.
        bad_file: The listing (or other) file an error message should name.
        bad_line: The 1-based line it should name, where one applies.
        bad_audio: For audio kinds, the broken audio file (naming it instead of
            the listing line is as good).
        extra: Layout-specific paths (``dev`` data dir, ``text_file`` ...).
    """

    kind: str
    layout: str
    root: Path
    num_items: int
    bad_id: Optional[str] = None
    bad_file: Optional[Path] = None
    bad_line: Optional[int] = None
    bad_audio: Optional[Path] = None
    extra: Dict[str, Path] = field(default_factory=dict)


# ------------------------------------------------------------------------ audio


def _tone(seconds: float, seed: int, rate: int = SR) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    noise = np.random.default_rng(seed).standard_normal(t.size)
    return (0.3 * np.sin(2 * np.pi * (200 + 50 * seed) * t) + 0.01 * noise).astype(np.float32)


def good_wav(path: Path, seconds: float = 1.0, seed: int = 0) -> None:
    """A valid 16 kHz mono 16-bit wav."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), _tone(seconds, seed), SR, subtype="PCM_16")


def truncated_wav(path: Path) -> None:
    """A wav cut off after a quarter of its bytes (interrupted copy or download)."""
    good_wav(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 4])


def zero_length_wav(path: Path) -> None:
    """A well-formed wav header with no samples."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), np.zeros(0, np.float32), SR, subtype="PCM_16")


def empty_file_wav(path: Path) -> None:
    """A file of zero bytes named ``.wav``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")


def _float_wav(path: Path, value: float) -> None:
    x = _tone(1.0, 3)
    x[4000:4100] = value
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), x, SR, subtype="FLOAT")


def nan_wav(path: Path) -> None:
    """A 32-bit float wav with 100 NaN samples."""
    _float_wav(path, float("nan"))


def inf_wav(path: Path) -> None:
    """A 32-bit float wav with 100 infinite samples."""
    _float_wav(path, float("inf"))


def wrong_rate_wav(path: Path) -> None:
    """A valid wav at 8 kHz instead of 16 kHz."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), _tone(1.0, 4, 8000), 8000, subtype="PCM_16")


def pcm8_wav(path: Path) -> None:
    """A valid 16 kHz wav with unsigned 8-bit samples."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), _tone(1.0, 5), SR, subtype="PCM_U8")


def stereo_wav(path: Path) -> None:
    """A valid 16 kHz wav with two channels."""
    path.parent.mkdir(parents=True, exist_ok=True)
    x = _tone(1.0, 6)
    sf.write(str(path), np.stack([x, 0.5 * x], axis=1), SR, subtype="PCM_16")


def not_audio_wav(path: Path) -> None:
    """Text bytes in a file named ``.wav``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"<html><body>404 Not Found</body></html>\n")


def corrupt_header_wav(path: Path) -> None:
    """A wav whose ``fmt`` chunk names an unknown sample format."""
    good_wav(path)
    data = bytearray(path.read_bytes())
    data[20:22] = (0x1234).to_bytes(2, "little")
    path.write_bytes(bytes(data))


def missing_wav(path: Path) -> None:
    """Nothing: the audio the corpus lists is absent."""
    if path.exists():
        path.unlink()


# ------------------------------------------------------------------- transcripts


def empty_text() -> str:
    """An empty transcript."""
    return ""


def control_char_text() -> str:
    """A transcript with a bell and an escape character in it."""
    return "the \x07cat sat\x1b[0m"


def mixed_script_text() -> str:
    """Latin, Cyrillic, Han and Devanagari in one transcript (code-switching)."""
    return "the cat мир 世界 नमस्ते"


def very_long_text() -> str:
    """Some 40,000 characters for one second of audio."""
    return " ".join(["abcdefgh"] * 5000)


# ------------------------------------------------------------------------ kinds

KINDS: Dict[str, Kind] = {k.name: k for k in [
    Kind("truncated_wav", "audio", "wav cut to a quarter of its bytes"),
    Kind("zero_length_wav", "audio", "valid wav header, no samples"),
    Kind("empty_file_wav", "audio", "0-byte file named .wav"),
    Kind("nan_wav", "audio", "float wav with NaN samples"),
    Kind("inf_wav", "audio", "float wav with infinite samples"),
    Kind("wrong_rate_wav", "audio", "8 kHz instead of 16 kHz"),
    Kind("pcm8_wav", "audio", "unsigned 8-bit samples"),
    Kind("stereo_wav", "audio", "two channels"),
    Kind("not_audio_wav", "audio", "HTML bytes named .wav"),
    Kind("corrupt_header_wav", "audio", "unknown format tag in the fmt chunk"),
    Kind("missing_wav", "audio", "listed audio file absent"),
    Kind("empty_text", "transcript", "empty transcript"),
    Kind("control_char_text", "transcript", "bell and escape characters"),
    Kind("mixed_script_text", "transcript", "Latin+Cyrillic+Han+Devanagari"),
    Kind("very_long_text", "transcript", "~45,000 characters for 1 s of audio"),
    Kind("wrong_columns", "corpus", "a line with the wrong number of columns"),
    Kind("bad_encoding", "corpus", "a Latin-1 byte in a UTF-8 file"),
    Kind("duplicate_ids", "corpus", "an id (file name, key, recording) twice"),
    Kind("missing_split", "corpus", "a split / language / directory absent"),
    Kind("blank_line", "corpus", "an empty line in a listing"),
    Kind("unsorted", "corpus", "Kaldi file not in C sort order"),
    Kind("byte_order_mark", "corpus", "UTF-8 byte-order mark before the first line"),
    Kind("unknown_key", "config", "top-level typo (max_epochs)"),
    Kind("unknown_nested_key", "config", "encoder_conf.num_block (typo)"),
    Kind("wrong_type", "config", "max_epoch: three"),
    Kind("wrong_nested_type", "config", "optim_conf.lr: 1e-3 (a string to yaml)"),
    Kind("yaml_syntax", "config", "broken indentation"),
    Kind("duplicate_key", "config", "seed given twice (yaml keeps the last silently)"),
    Kind("config_bad_encoding", "config", "a Latin-1 byte in the yaml"),
    Kind("missing_hyp", "scoring", "a reference without a hypothesis"),
    Kind("no_shared_ids", "scoring", "hypotheses of another test set (no id shared)"),
    Kind("empty_hyp", "scoring", "hypothesis file of 0 bytes"),
    Kind("missing_lang", "scoring", "a reference id missing from utt2lang"),
    Kind("hyp_absent", "scoring", "--hyp names no file"),
    Kind("hyp_is_dir", "scoring", "--hyp names a directory"),
]}

AUDIO_WRITERS: Dict[str, Callable[[Path], None]] = {
    "truncated_wav": truncated_wav, "zero_length_wav": zero_length_wav,
    "empty_file_wav": empty_file_wav, "nan_wav": nan_wav, "inf_wav": inf_wav,
    "wrong_rate_wav": wrong_rate_wav, "pcm8_wav": pcm8_wav, "stereo_wav": stereo_wav,
    "not_audio_wav": not_audio_wav, "corrupt_header_wav": corrupt_header_wav,
    "missing_wav": missing_wav,
}
TEXTS: Dict[str, Callable[[], str]] = {
    "empty_text": empty_text, "control_char_text": control_char_text,
    "mixed_script_text": mixed_script_text, "very_long_text": very_long_text,
}


def _items(kind: str, audio_dir: Path, ids: List[str]) -> List[tuple]:
    """(id, wav path, text) of the corpus' items, the broken one at index ``BAD``."""
    out = []
    for i, utt in enumerate(ids):
        wav = audio_dir / f"{utt}.wav"
        good_wav(wav, seed=i)
        text = GOOD_TEXTS[i]
        if i == BAD and kind in AUDIO_WRITERS:
            AUDIO_WRITERS[kind](wav)
        if i == BAD and kind in TEXTS:
            text = TEXTS[kind]()
        out.append((utt, wav, text))
    return out


def _replace_line(path: Path, lineno: int, new: bytes) -> None:
    lines = path.read_bytes().split(b"\n")
    lines[lineno - 1] = new
    path.write_bytes(b"\n".join(lines))


def _insert_line(path: Path, lineno: int, new: bytes) -> None:
    lines = path.read_bytes().split(b"\n")
    lines.insert(lineno - 1, new)
    path.write_bytes(b"\n".join(lines))


# ---------------------------------------------------------------------- layouts


def make_fleurs(root: Path, kind: str) -> Case:
    """FLEURS layout; the broken row is line 2 of ``en_us/train.tsv``."""
    from usm_espnet.corpora.fleurs import fleurs_chars

    ldir = root / LANG
    case = Case(kind, "fleurs", root, NUM_ITEMS, bad_file=ldir / "train.tsv", bad_line=2)
    for n_split, split in enumerate(("train", "dev", "test")):
        ids = [f"{1000 * (1 + n_split) + i}" for i in range(NUM_ITEMS)]
        items = _items(kind if split == "train" else "", ldir / "audio" / split, ids)
        lines = []
        for i, (utt, wav, text) in enumerate(items):
            try:
                n = sf.info(str(wav)).frames
            except Exception:  # noqa: BLE001 - broken on purpose
                n = SR
            if kind in ("truncated_wav", "zero_length_wav", "empty_file_wav", "not_audio_wav",
                        "corrupt_header_wav", "missing_wav") and split == "train" and i == BAD:
                n = 16000  # what the corpus says the recording holds
            lines.append("\t".join([str(7 + i), wav.name, text, text, fleurs_chars(text),
                                    str(max(n, 1)), "FEMALE"]))
        (ldir / f"{split}.tsv").write_text("".join(line + "\n" for line in lines),
                                           encoding="utf-8")
        if split == "train":
            case.bad_id = f"{LANG}-train-{ids[BAD]}"
            if kind in AUDIO_WRITERS:
                case.bad_audio = items[BAD][1]
    tsv = ldir / "train.tsv"
    row2 = tsv.read_bytes().split(b"\n")[1]
    if kind == "wrong_columns":
        _replace_line(tsv, 2, b"\t".join(row2.split(b"\t")[:5]))
    elif kind == "bad_encoding":
        _replace_line(tsv, 2, row2.replace(b"big", b"b\xe9g"))
    elif kind == "duplicate_ids":
        _replace_line(tsv, 3, row2)
        case.bad_line = 3
    elif kind == "missing_split":
        (ldir / "dev.tsv").unlink()
        case.bad_file, case.bad_line = ldir / "dev.tsv", None
    elif kind == "blank_line":
        _insert_line(tsv, 2, b"")
    return case


def _write_kaldi(d: Path, items: List[tuple], text: bool = True) -> None:
    d.mkdir(parents=True, exist_ok=True)
    (d / "wav.scp").write_text("".join(f"{u} {w}\n" for u, w, _ in items), encoding="utf-8")
    if text:
        (d / "text").write_text("".join(f"{u} {t}\n" for u, _, t in items), encoding="utf-8")
    (d / "utt2spk").write_text("".join(f"{u} {u}\n" for u, _, _ in items))
    (d / "utt2lang").write_text("".join(f"{u} {LANG}\n" for u, _, _ in items))
    shape = []
    for u, w, _ in items:
        try:
            n = sf.info(str(w)).frames
        except Exception:  # noqa: BLE001 - broken on purpose
            n = SR
        shape.append(f"{u} {max(n, 1)}\n")
    (d / "utt2num_samples").write_text("".join(shape))


def make_kaldi(root: Path, kind: str, text: bool = True) -> Case:
    """A Kaldi data dir ``<root>/train`` (and a valid ``<root>/dev``); item ``u1`` is broken.

    ``extra["dev"]`` is the second data dir (training's validation set); for
    ``missing_split`` it does not exist.
    """
    ids = [f"u{i}" for i in range(NUM_ITEMS)]
    train, dev = root / "train", root / "dev"
    items = _items(kind, root / "wav", ids)
    _write_kaldi(train, items, text)
    _write_kaldi(dev, _items("", root / "wav_dev", [f"d{i}" for i in range(NUM_ITEMS)]), text)
    case = Case(kind, "kaldi", train, NUM_ITEMS, bad_id=ids[BAD],
                bad_file=train / ("text" if kind in TEXTS else "wav.scp"), bad_line=2,
                bad_audio=items[BAD][1] if kind in AUDIO_WRITERS else None,
                extra={"dev": dev})
    scp = train / "wav.scp"
    if kind == "wrong_columns":
        _replace_line(scp, 2, b"u1")
    elif kind == "bad_encoding":
        _replace_line(scp, 2, f"u1 {root / 'wav'}/u\xe9.wav".encode("latin-1"))
    elif kind == "duplicate_ids":
        _replace_line(scp, 3, scp.read_bytes().split(b"\n")[1])
        case.bad_line = 3
    elif kind == "missing_split":
        shutil.rmtree(dev)
        case.bad_file, case.bad_line = dev, None
    elif kind == "blank_line":
        _insert_line(scp, 2, b"")
    elif kind == "unsorted":
        lines = scp.read_bytes().split(b"\n")
        lines[0], lines[1] = lines[1], lines[0]
        scp.write_bytes(b"\n".join(lines))
    elif kind == "byte_order_mark":  # what Notepad or Excel's "CSV UTF-8" writes
        scp.write_bytes(b"\xef\xbb\xbf" + scp.read_bytes())
        case.bad_line = 1
    return case


def make_scoring(root: Path, kind: str) -> Case:
    """Stage 9's inputs: ``<root>/ref`` (Kaldi text), ``<root>/hyp``, ``<root>/utt2lang``.

    Scoring kinds and the corpus kinds that apply to a hypothesis file break ``hyp``
    (``byte_order_mark``: ``ref``, as a hand-edited reference would have it). Four
    utterances; ``extra`` holds the three paths.
    """
    root.mkdir(parents=True, exist_ok=True)
    ids = [f"u{i}" for i in range(NUM_ITEMS + 1)]
    texts = GOOD_TEXTS + ["the end"]
    ref, hyp, u2l = root / "ref", root / "hyp", root / "utt2lang"
    ref.write_text("".join(f"{u} {t}\n" for u, t in zip(ids, texts)), encoding="utf-8")
    hyps = [f"{u} {t}" for u, t in zip(ids, texts)]
    hyps[BAD] = f"{ids[BAD]} a big cat ran"
    hyp.write_text("".join(h + "\n" for h in hyps), encoding="utf-8")
    u2l.write_text("".join(f"{u} {LANG}\n" for u in ids), encoding="utf-8")
    case = Case(kind, "scoring", root, len(ids), bad_id=ids[BAD], bad_file=hyp,
                extra={"ref": ref, "hyp": hyp, "utt2lang": u2l})
    if kind == "missing_hyp":
        _replace_line(hyp, 2 + 1, b"")  # u2's line emptied: a blank line, u2 missing
    elif kind == "no_shared_ids":
        hyp.write_text("".join(f"dev-{h}\n" for h in hyps), encoding="utf-8")
    elif kind == "empty_hyp":
        hyp.write_bytes(b"")
    elif kind == "missing_lang":
        _replace_line(u2l, 3, b"")
        u2l.write_bytes(u2l.read_bytes().replace(b"\n\n", b"\n"))
        case.bad_file = u2l
    elif kind == "hyp_absent":
        hyp.unlink()
    elif kind == "hyp_is_dir":
        hyp.unlink()
        hyp.mkdir()
    elif kind == "duplicate_ids":
        _replace_line(hyp, 3, hyps[BAD].encode())
        case.bad_line = 3
    elif kind == "bad_encoding":
        _replace_line(hyp, 2, hyps[BAD].replace("big", "b\xe9g").encode("latin-1"))
        case.bad_line = 2
    elif kind == "wrong_columns":  # only the id: an empty hypothesis, as decoders write
        _replace_line(hyp, 2, ids[BAD].encode())
    elif kind == "blank_line":
        _insert_line(hyp, 2, b"")
    elif kind == "unsorted":
        lines = hyp.read_bytes().split(b"\n")
        lines[0], lines[1] = lines[1], lines[0]
        hyp.write_bytes(b"\n".join(lines))
    elif kind == "byte_order_mark":
        ref.write_bytes(b"\xef\xbb\xbf" + ref.read_bytes())
        case.bad_file, case.bad_line = ref, None
    return case


def make_untranscribed(root: Path, kind: str) -> Case:
    """``<root>/en_us/wav.lst``; its line 2 is the broken item."""
    ldir = root / LANG
    ids = [f"{LANG}_{i:03d}" for i in range(NUM_ITEMS)]
    items = _items(kind, ldir, ids)
    lst = ldir / "wav.lst"
    lst.write_text("".join(f"{w.name}\n" for _, w, _ in items), encoding="utf-8")
    case = Case(kind, "untranscribed", root, NUM_ITEMS, bad_id=f"untranscribed-{LANG}-{ids[BAD]}",
                bad_file=lst, bad_line=2)
    if kind in AUDIO_WRITERS:
        case.bad_audio = items[BAD][1]
    if kind == "wrong_columns":
        _replace_line(lst, 2, f"{items[BAD][1].name} {items[2][1].name}".encode())
    elif kind == "bad_encoding":
        _replace_line(lst, 2, "\xe9t\xe9.wav".encode("latin-1"))
    elif kind == "duplicate_ids":
        _replace_line(lst, 3, items[BAD][1].name.encode())
        case.bad_line = 3
    elif kind == "missing_split":  # a language directory with audio but no wav.lst
        fr = root / "fr_fr"
        good_wav(fr / "fr_fr_000.wav")
        case.bad_file, case.bad_line = fr / "wav.lst", None
        case.num_items += 1
    elif kind == "blank_line":
        _insert_line(lst, 2, b"")
    return case


def make_longform(root: Path, kind: str) -> Case:
    """Earnings-21/22 layout; recording ``rec1`` is the broken one."""
    from usm_espnet.corpora.earnings import write_nlp

    ids = [f"rec{i}" for i in range(NUM_ITEMS)]
    media, nlp_dir = root / "media", root / "transcripts" / "nlp_references"
    items = _items(kind, media, ids)
    nlp_dir.mkdir(parents=True)
    for rec, _, text in items:
        if rec == ids[BAD] and kind in ("empty_text", "control_char_text"):
            (nlp_dir / f"{rec}.nlp").write_text(
                "token|speaker|ts|endTs|punctuation|case|tags\n"
                + "".join(f"{t}|1||||LC|[]\n" for t in text.split(" ") if t), encoding="utf-8")
        else:
            write_nlp(nlp_dir / f"{rec}.nlp", text.split())
    bad_nlp = nlp_dir / f"{ids[BAD]}.nlp"
    case = Case(kind, "longform", root, NUM_ITEMS, bad_id=ids[BAD],
                bad_file=bad_nlp, bad_audio=items[BAD][1] if kind in AUDIO_WRITERS else None,
                bad_line={"control_char_text": 3, "wrong_columns": 2,
                          "bad_encoding": 2}.get(kind))
    if kind == "wrong_columns":
        _replace_line(bad_nlp, 2, b"a|1|0.0")
    elif kind == "bad_encoding":
        _replace_line(bad_nlp, 2, b"b\xe9g|1||||LC|[]")
    elif kind == "duplicate_ids":  # one recording id, two media files
        sf.write(str(media / f"{ids[BAD]}.flac"), _tone(1.0, 9), SR)
        case.bad_file = media / f"{ids[BAD]}.wav"
        case.bad_audio = media / f"{ids[BAD]}.flac"
    elif kind == "missing_split":
        shutil.rmtree(root / "transcripts")
        case.bad_file = nlp_dir
    elif kind == "blank_line":
        _insert_line(bad_nlp, 2, b"")
    return case


def make_synth_text(root: Path, kind: str) -> Case:
    """A ``lang<TAB>text`` file; line 2 is the broken one."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / "sentences.tsv"
    texts = list(GOOD_TEXTS)
    if kind in TEXTS:
        texts[BAD] = TEXTS[kind]()
    lines = [f"{LANG}\t{t}".encode("utf-8") for t in texts]
    case = Case(kind, "synth_text", path, NUM_ITEMS, bad_file=path, bad_line=2,
                extra={"langs": Path(LANG)})
    if kind == "wrong_columns":
        lines[BAD] = f"{LANG} {texts[BAD]}".encode()
    elif kind == "bad_encoding":
        lines[BAD] = f"{LANG}\tb\xe9g dog".encode("latin-1")
    elif kind == "duplicate_ids":
        lines[2] = lines[BAD]
    elif kind == "missing_split":  # a requested language without lines
        case.extra["langs"] = Path(f"{LANG},fr_fr")
        case.bad_line = None
        case.num_items = 2 * NUM_ITEMS
    elif kind == "blank_line":
        lines.insert(BAD, b"")
    path.write_bytes(b"\n".join(lines) + b"\n")
    return case


#: The tiny training yaml that config kinds break (``{extra}`` holds the flavour's part).
BASE_CONFIG = """\
frontend: default
frontend_conf:
    n_fft: 256
    hop_length: 160
    n_mels: 20
encoder: usm_conformer
encoder_conf:
    output_size: 16
    attention_heads: 2
    linear_units: 32
    num_blocks: 1
    cnn_module_kernel: 5
{extra}batch_type: unsorted
batch_size: 3
max_epoch: 1
num_iters_per_epoch: 1
optim: adam
optim_conf:
    lr: 0.002
best_model_criterion:
-   - valid
    - loss
    - min
keep_nbest_models: 1
num_workers: 0
num_att_plot: 0
use_tensorboard: false
use_matplotlib: false
seed: 0
"""
CONFIG_EXTRA = {
    "asr": "decoder: none\nmodel_conf:\n    ctc_weight: 1.0\n",
    "ssl": "model_conf:\n    num_quantizers: 2\n    codebook_size: 16\n",
}


def make_config(root: Path, kind: str, flavour: str = "asr") -> Case:
    """A training yaml for ``asr`` or ``ssl`` with the config kind applied."""
    if flavour not in CONFIG_EXTRA:
        raise ValueError(f"flavour must be one of {', '.join(CONFIG_EXTRA)}, got {flavour!r}")
    root.mkdir(parents=True, exist_ok=True)
    path = root / "train.yaml"
    text = BASE_CONFIG.format(extra=CONFIG_EXTRA[flavour])
    lines = text.splitlines()

    def line_of(prefix: str) -> int:
        return next(i for i, line in enumerate(lines, 1) if line.startswith(prefix))

    case = Case(kind, "config", path, 1, bad_file=path)
    if kind == "unknown_key":
        case.bad_line = line_of("max_epoch:")
        lines[case.bad_line - 1] = "max_epochs: 1"
    elif kind == "unknown_nested_key":
        case.bad_line = line_of("    num_blocks:")
        lines[case.bad_line - 1] = "    num_block: 1"
    elif kind == "wrong_type":
        case.bad_line = line_of("max_epoch:")
        lines[case.bad_line - 1] = "max_epoch: three"
    elif kind == "wrong_nested_type":
        case.bad_line = line_of("    lr:")
        lines[case.bad_line - 1] = "    lr: 1e-3"
    elif kind == "yaml_syntax":
        case.bad_line = line_of("    attention_heads:")
        lines[case.bad_line - 1] = "  attention_heads: 2"
    elif kind == "duplicate_key":
        lines.insert(line_of("batch_size:") - 1, "seed: 1")
        case.bad_line = line_of("seed: 0")
    data = ("\n".join(lines) + "\n").encode("utf-8")
    if kind == "config_bad_encoding":
        data = data.replace(b"adam", b"ad\xe4m")
        case.bad_line = line_of("optim:")
    path.write_bytes(data)
    return case


LAYOUTS: Dict[str, Callable[..., Case]] = {
    "fleurs": make_fleurs, "kaldi": make_kaldi, "untranscribed": make_untranscribed,
    "longform": make_longform, "synth_text": make_synth_text, "config": make_config,
    "scoring": make_scoring,
}


def make_case(layout: str, kind: str, root: Path, **kwargs) -> Case:
    """Write a corpus in ``layout`` with ``kind`` applied under ``root``.

    Args:
        layout: A key of :data:`LAYOUTS`.
        kind: A key of :data:`KINDS` (``""`` for an unbroken corpus).
        root: Empty directory to write into.
        **kwargs: Passed to the layout's builder (``text=False`` for a text-less
            Kaldi dir, ``flavour="ssl"`` for a pre-training yaml).

    Raises:
        ValueError: Unknown layout or kind (naming the allowed ones).
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, got {layout!r}")
    if kind and kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    os.makedirs(root, exist_ok=True)
    return LAYOUTS[layout](Path(root), kind, **kwargs)


# ------------------------------------------------- corpora of other modules' fixtures

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
#: Kinds tried on the CoVoST 2 and CORAAL layouts (built from those modules' fixtures).
OTHER_KINDS: Dict[str, List[str]] = {
    "covost2": ["truncated_wav", "empty_file_wav", "not_audio_wav", "bad_encoding",
                "wrong_columns", "missing_split"],
    "coraal": ["truncated_wav", "not_audio_wav", "nan_wav", "wrong_rate_wav", "bad_encoding",
               "wrong_columns", "missing_split"],
}


def make_covost2(root: Path, kind: str) -> Case:
    """CoVoST 2 layout from ``tests/fixtures/covost2`` (fr, de), 48 kHz mp3 clips.

    The fixture itself already holds a missing and an undecodable clip, an empty
    translation and a duplicate row; the kind is applied to clip
    ``common_voice_fr_17299385.mp3`` (line 3 of ``covost_v2.fr_en.tsv``).
    """
    from usm_espnet.corpora.covost2 import read_escaped_tsv

    shutil.copytree(FIXTURES / "covost2" / "covost", root / "covost")
    shutil.copytree(FIXTURES / "covost2" / "cv", root / "cv")
    for lang in ("fr", "de"):
        clips = root / "cv" / lang / "clips"
        clips.mkdir()
        names = {r["path"] for r in read_escaped_tsv(root / "cv" / lang / "validated.tsv").rows}
        for i, name in enumerate(sorted(names)):
            if name == "common_voice_fr_17299388.mp3":
                continue  # the fixture's missing clip
            if name == "common_voice_fr_17299389.mp3":
                (clips / name).write_bytes(b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\x00x" * 64)
                continue
            t = np.arange(int(48000 * (0.5 + 0.25 * i))) / 48000
            sf.write(str(clips / name), 0.3 * np.sin(2 * np.pi * (200 + 40 * i) * t), 48000,
                     format="MP3")
    tsv = root / "covost" / "covost_v2.fr_en.tsv"
    clip = root / "cv" / "fr" / "clips" / "common_voice_fr_17299385.mp3"
    case = Case(kind, "covost2", root, 0, bad_id="common_voice_fr_17299385", bad_file=tsv,
                bad_line=3, bad_audio=clip)
    if kind == "truncated_wav":
        clip.write_bytes(clip.read_bytes()[: clip.stat().st_size // 4])
    elif kind == "empty_file_wav":
        clip.write_bytes(b"")
    elif kind == "not_audio_wav":
        not_audio_wav(clip)
    elif kind == "bad_encoding":
        _replace_line(tsv, 3, tsv.read_bytes().split(b"\n")[2].replace(b"fichier", b"fichi\xe9r"))
    elif kind == "wrong_columns":
        _replace_line(tsv, 3, b"\t".join(tsv.read_bytes().split(b"\n")[2].split(b"\t")[:3]))
    elif kind == "missing_split":  # a requested language's CoVoST file absent
        (root / "covost" / "covost_v2.de_en.tsv").unlink()
        case.bad_file, case.bad_line = root / "covost" / "covost_v2.de_en.tsv", None
    return case


def make_coraal(root: Path, kind: str) -> Case:
    """CORAAL layout from ``tests/fixtures/coraal`` with 44.1 kHz wavs of 20 s.

    The kind is applied to interview ``DCA_se1_ag1_f_01_1`` (its wav, or line 3 of its
    transcript); the fixture's other files hold bad rows of their own.
    """
    texts, audio = "DCA_textfiles_2018.10.06", "DCA_audio_part01_2018.10.06"
    stems = ("DCA_se1_ag1_f_01_1", "DCA_se1_ag1_f_02_1", "DCA_se1_ag2_m_03_1")
    shutil.copytree(FIXTURES / "coraal" / "corpus", root, dirs_exist_ok=True)
    (root / audio).mkdir()
    rng = np.random.default_rng(0)
    for stem in stems:
        x = (0.01 * rng.standard_normal(20 * 44100)).astype(np.float32)
        sf.write(str(root / audio / f"{stem}.wav"), x, 44100, subtype="PCM_16")
    for k in (4, 5):  # two more interviewees, so that the splits survive a skipped file
        src = root / texts / f"{stems[2]}.txt"
        stem = f"DCA_se1_ag2_m_0{k}_1"
        (root / texts / f"{stem}.txt").write_bytes(
            src.read_bytes().replace(b"ag2_m_03", f"ag2_m_0{k}".encode()))
        shutil.copy(root / audio / f"{stems[2]}.wav", root / audio / f"{stem}.wav")
    txt, wav = root / texts / f"{stems[0]}.txt", root / audio / f"{stems[0]}.wav"
    case = Case(kind, "coraal", root, 0, bad_id=stems[0], bad_file=txt, bad_line=3,
                bad_audio=wav)
    if kind == "truncated_wav":
        wav.write_bytes(wav.read_bytes()[: wav.stat().st_size // 4])
    elif kind == "not_audio_wav":
        not_audio_wav(wav)
    elif kind == "nan_wav":
        x = (0.01 * rng.standard_normal(20 * 44100)).astype(np.float32)
        x[1000:1100] = np.nan
        sf.write(str(wav), x, 44100, subtype="FLOAT")
    elif kind == "wrong_rate_wav":
        sf.write(str(wav), (0.01 * rng.standard_normal(20 * 8000)).astype(np.float32), 8000,
                 subtype="PCM_16")
    elif kind == "bad_encoding":
        _replace_line(txt, 3, txt.read_bytes().split(b"\n")[2].replace(b"grew", b"gr\xe9w"))
    elif kind == "wrong_columns":
        _replace_line(txt, 3, b"\t".join(txt.read_bytes().split(b"\n")[2].split(b"\t")[:3]))
    elif kind == "missing_split":  # the component's metadata file absent
        (root / "DCA_metadata_2018.10.06.txt").unlink()
        case.bad_file, case.bad_line = root / "DCA_metadata_2018.10.06.txt", None
    return case


LAYOUTS.update({"covost2": make_covost2, "coraal": make_coraal})
