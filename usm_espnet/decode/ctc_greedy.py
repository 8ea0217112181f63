"""Batched greedy CTC decoding of an ESPnet ASR model.

For a CTC-only model, the best path (argmax per frame, repeats merged, blanks
dropped) is what ESPnet's CTC prefix beam search with beam 1 approximates, at a
fraction of the cost: one encoder pass per batch and no per-token scoring.

With ``--token_lm_order N`` (N > 0) each utterance is decoded instead by CTC prefix
beam search (``usm_espnet.decode.ctc_prefix_beam``) fused with a token N-gram LM
(``usm_espnet.decode.ngram_lm``) trained, when decoding starts, on
``--token_lm_text`` (the training transcripts), one model per language when the
training set has a ``utt2lang`` beside its ``text`` and decoding gets ``--utt2lang``.
"""

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import torch

from usm_espnet.data.kaldi import read_kaldi_map
from usm_espnet.decode.confidence import ctc_confidence
from usm_espnet.decode.ctc_prefix_beam import prefix_beam_search
from usm_espnet.utils import atomic_write_text

logger = logging.getLogger(__name__)


def greedy_ids(log_probs: torch.Tensor, lengths: torch.Tensor, blank: int = 0) -> List[List[int]]:
    """Best-path token ids for each sequence of a padded batch.

    Args:
        log_probs: (B, T, V) frame scores.
        lengths: (B,) valid frames per sequence.
        blank: Index of the CTC blank.

    Returns:
        One list of token ids per sequence, repeats merged and blanks removed.
    """
    best = log_probs.argmax(dim=-1)
    out = []
    for b in range(best.size(0)):
        seq = best[b, : int(lengths[b])].tolist()
        ids, prev = [], None
        for t in seq:
            if t != prev and t != blank:
                ids.append(t)
            prev = t
        out.append(ids)
    return out


def load_lang_masks(lang_token_sets: str, utt2lang: str, vocab_size: int):
    """-> ({lang: bool mask (V,)}, {utt: lang}) from the stage-3 json and a utt2lang file."""
    import json

    with open(lang_token_sets, encoding="utf-8") as f:
        sets = json.load(f)
    masks = {}
    for lang, ids in sets.items():
        m = torch.zeros(vocab_size, dtype=torch.bool)
        m[torch.tensor(ids, dtype=torch.long)] = True
        masks[lang] = m
    raw = read_kaldi_map(utt2lang)  # file:line errors; a byte-order mark is dropped
    u2l = {}
    for utt, lang in raw.items():
        if len(lang.split()) != 1:
            raise ValueError(f"{raw.where(utt)}: expected 'utt lang', got {utt} {lang!r}")
        u2l[utt] = lang
    unknown = sorted(set(u2l.values()) - set(masks))
    if unknown:
        raise ValueError(f"{utt2lang}: languages {unknown} have no token set in {lang_token_sets}")
    return masks, u2l


def _lang_of(u2l, key, utt2lang):
    if key not in u2l:
        raise ValueError(f"{utt2lang}: no language for utterance {key!r}")
    return u2l[key]


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="Batched greedy CTC decoding (ESPnet ASR model)")
    p.add_argument("--asr_train_config", required=True)
    p.add_argument("--asr_model_file", required=True)
    p.add_argument("--output_dir", required=True)
    p.add_argument("--data_path_and_name_and_type", action="append", required=True,
                   type=lambda s: tuple(s.split(",")))
    p.add_argument("--key_file", default=None)
    p.add_argument("--batch_size", type=int, default=8)
    p.add_argument("--ngpu", type=int, default=0)
    p.add_argument("--num_workers", type=int, default=0)
    p.add_argument("--utt2lang", default=None, help="utterance -> language (with --lang_token_sets)")
    p.add_argument("--lang_token_sets", default=None,
                   help="json {lang: [token ids]} (stage 3): restrict each utterance's output "
                        "to its language's tokens")
    p.add_argument("--adapters_dir", default=None,
                   help="directory of per-language adapters <lang>.pth (usm_espnet.nets.adapters): "
                        "each utterance is encoded with its language's adapters (needs --utt2lang)")
    g = p.add_argument_group("n-gram LM prefix beam search (--token_lm_order > 0)")
    g.add_argument("--token_lm_order", type=int, default=0,
                   help="order of the token n-gram LM fused into a CTC prefix beam search; "
                        "0: greedy best path")
    g.add_argument("--token_lm_text", default=None,
                   help="Kaldi text file the LM is trained on (the training transcripts); "
                        "a utt2lang beside it gives one LM per language")
    g.add_argument("--token_lm_weight", type=float, default=0.5, help="LM weight")
    g.add_argument("--token_lm_bonus", type=float, default=1.0, help="score added per token")
    g.add_argument("--token_lm_beam", type=int, default=8, help="beam size")
    p.add_argument("--log_level", default="INFO")
    return p


def _ngram_lms(ngram_text: str, order: int, tokenizer, converter, vocab_size: int, by_lang: bool):
    """Train the per-language (or one) n-gram LMs on ``ngram_text``; logs what it did."""
    from usm_espnet.decode.ngram_lm import train_lms

    if not Path(ngram_text).is_file():
        raise ValueError(f"--token_lm_text {ngram_text}: no such file")
    u2l_path = Path(ngram_text).parent / "utt2lang"
    train_u2l = dict(read_kaldi_map(str(u2l_path)).items()) if by_lang and u2l_path.is_file() else None
    t0 = time.time()

    def encode(text: str) -> List[int]:
        return converter.tokens2ids(tokenizer.text2tokens(text))

    lms = train_lms(ngram_text, encode, order, vocab_size, train_u2l)
    logger.info("%d-gram LM%s trained on %s in %.1f s (%s)", order,
                "s" if len(lms) > 1 else "", ngram_text, time.time() - t0,
                ", ".join(f"{k or 'all'}: {lm.sentences} sentences" for k, lm in sorted(
                    lms.items(), key=lambda kv: kv[0] or "")))
    return lms


def load_model(asr_train_config: str, asr_model_file: str, device: str = "cpu"):
    """-> (model in eval mode, its training args, token converter, tokenizer)."""
    from espnet2.tasks.asr import ASRTask
    from espnet2.text.build_tokenizer import build_tokenizer
    from espnet2.text.token_id_converter import TokenIDConverter

    model, args = ASRTask.build_model_from_file(asr_train_config, asr_model_file, device)
    model.eval()
    if getattr(model, "ctc", None) is None:
        raise ValueError(f"{asr_model_file}: the model has no CTC head; greedy CTC needs one")
    converter = TokenIDConverter(token_list=list(args.token_list))
    tokenizer = build_tokenizer(
        token_type=args.token_type,
        bpemodel=getattr(args, "bpemodel", None),
        non_linguistic_symbols=getattr(args, "non_linguistic_symbols", None),
    )
    return model, args, converter, tokenizer


def build_loader(args, data_path_and_name_and_type: Sequence[Tuple[str, str, str]],
                 batch_size: int = 8, key_file: Optional[str] = None, num_workers: int = 0):
    """ESPnet's inference iterator over ``data_path_and_name_and_type`` (batches of (keys, batch))."""
    from espnet2.tasks.asr import ASRTask

    return ASRTask.build_streaming_iterator(
        data_path_and_name_and_type,
        dtype="float32",
        batch_size=batch_size,
        key_file=key_file,
        num_workers=num_workers,
        preprocess_fn=ASRTask.build_preprocess_fn(args, False),
        collate_fn=ASRTask.build_collate_fn(args, False),
        inference=True,
    )


def _encode(model, speech, lens, keys, device, adapters=None, u2l_ad=None):
    """Encoder output of one batch; with ``adapters``, one sub-batch per language."""
    if adapters is None:
        enc, enc_lens = model.encode(speech, lens)
        return (enc[0] if isinstance(enc, tuple) else enc), enc_lens
    groups: dict = {}
    for i, k in enumerate(keys):
        lang = u2l_ad.get(k)
        groups.setdefault(lang if lang in adapters.bank else None, []).append(i)
    enc_lens = torch.zeros(len(keys), dtype=torch.long, device=device)
    parts = {}
    for lang, idx in groups.items():
        adapters.set_language(lang)
        sel = torch.tensor(idx, device=device)
        e, el = model.encode(speech[sel], lens[sel])
        parts[lang] = (idx, e[0] if isinstance(e, tuple) else e, el)
    T = max(p[1].size(1) for p in parts.values())
    enc = None
    for idx, e, el in parts.values():
        if enc is None:
            enc = e.new_zeros(len(keys), T, e.size(2))
        enc[idx, : e.size(1)] = e
        enc_lens[idx] = el
    return enc, enc_lens


def ctc_log_probs(model, loader, device: str = "cpu", masks=None, u2l=None,
                  utt2lang: Optional[str] = None, adapters=None, u2l_ad=None):
    """Yield (keys, CTC log-probabilities (B, T, V), valid frames (B,)) batch by batch.

    With ``masks`` ({lang: bool (V,)}) and ``u2l`` ({utt: lang}; ``utt2lang`` names its
    file in errors) each utterance's tokens outside its language are set to -inf; with
    ``adapters`` each utterance is encoded with its language's (``u2l_ad``).
    Gradients are off.
    """
    with torch.no_grad():
        for keys, batch in loader:
            speech = batch["speech"].to(device)
            lens = batch["speech_lengths"].to(device)
            enc, enc_lens = _encode(model, speech, lens, keys, device, adapters, u2l_ad)
            logp = model.ctc.log_softmax(enc)
            if masks is not None:
                allowed = torch.stack([masks[_lang_of(u2l, k, utt2lang)] for k in keys]).to(device)
                logp = logp.masked_fill(~allowed[:, None, :], float("-inf"))
            yield keys, logp, enc_lens


def decode(
    asr_train_config: str,
    asr_model_file: str,
    output_dir: str,
    data_path_and_name_and_type: Sequence[Tuple[str, str, str]],
    key_file: Optional[str] = None,
    batch_size: int = 8,
    ngpu: int = 0,
    num_workers: int = 0,
    utt2lang: Optional[str] = None,
    lang_token_sets: Optional[str] = None,
    adapters_dir: Optional[str] = None,
    ngram_order: int = 0,
    ngram_text: Optional[str] = None,
    ngram_weight: float = 0.5,
    ngram_bonus: float = 1.0,
    ngram_beam: int = 8,
) -> int:
    """Decode every utterance; write ``output_dir/1best_recog/{text,token,token_int}``.

    Returns:
        The number of utterances decoded.
    """
    device = "cuda" if ngpu > 0 else "cpu"
    model, args, converter, tokenizer = load_model(asr_train_config, asr_model_file, device)
    token_list = list(args.token_list)
    loader = build_loader(args, data_path_and_name_and_type, batch_size, key_file, num_workers)
    blank = getattr(model, "blank_id", 0)
    adapters, u2l_ad = None, {}
    if adapters_dir:
        from usm_espnet.nets.adapters import Adapters

        if not utt2lang:
            raise ValueError("--adapters_dir needs --utt2lang")
        adapters = Adapters.from_dir(model.encoder, adapters_dir)
        u2l_ad = dict(read_kaldi_map(utt2lang).items())
        logger.info("adapters for %s from %s", ", ".join(adapters.bank), adapters_dir)
        missing = sorted({u2l_ad[k] for k in u2l_ad} - set(adapters.bank))
        if missing:
            logger.warning("no adapters for %s: those utterances use the bare encoder", ", ".join(missing))
    masks, u2l = None, None  # u2l: utterance -> language, read once for the masks and the LMs
    if lang_token_sets:
        if not utt2lang:
            raise ValueError("--lang_token_sets needs --utt2lang")
        masks, u2l = load_lang_masks(lang_token_sets, utt2lang, len(token_list))
    lms = None
    if ngram_order > 0:
        if not ngram_text:
            raise ValueError("--token_lm_order needs --token_lm_text (the training transcripts)")
        if ngram_beam < 1:
            raise ValueError(f"--token_lm_beam {ngram_beam}: the beam must hold at least 1 hypothesis")
        lms = _ngram_lms(ngram_text, ngram_order, tokenizer, converter, len(token_list),
                         by_lang=bool(utt2lang))
        if None not in lms and u2l is None:
            u2l = dict(read_kaldi_map(utt2lang).items())
    results = {}
    start = time.time()
    for keys, logp, enc_lens in ctc_log_probs(model, loader, device, masks, u2l, utt2lang,
                                             adapters, u2l_ad):
        if lms is None:
            hyps = greedy_ids(logp, enc_lens, blank=blank)
        else:
            hyps = []
            for b, key in enumerate(keys):
                lang = None if None in lms else _lang_of(u2l, key, utt2lang)
                if lang not in lms:
                    raise ValueError(f"{ngram_text}: no training transcripts in language {lang!r} "
                                     f"(utterance {key!r})")
                rows = logp[b, : int(enc_lens[b])].float().cpu().numpy()
                hyps.append(prefix_beam_search(rows, ngram_beam, blank, lms[lang],
                                               ngram_weight, ngram_bonus)[0])
        for b, (key, ids) in enumerate(zip(keys, hyps)):
            tokens = converter.ids2tokens(ids)
            conf = ctc_confidence(logp[b], int(enc_lens[b]), blank)
            results[key] = (tokenizer.tokens2text(tokens), tokens, ids, conf)
    out = Path(output_dir) / "1best_recog"
    keys = sorted(results)
    for name, fmt in (("text", lambda r: r[0]), ("token", lambda r: " ".join(r[1])),
                      ("token_int", lambda r: " ".join(map(str, r[2]))),
                      # usm_espnet.decode.confidence.ctc_confidence, for pseudo-label filtering
                      ("confidence", lambda r: f"{r[3]:.4f}")):
        atomic_write_text(out / name,
                          "".join(f"{k} {fmt(results[k])}".rstrip() + "\n" for k in keys))
    logger.info("decoded %d utterances in %.1f s", len(results), time.time() - start)
    return len(results)


def main(argv=None) -> int:
    args = get_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level,
                        format="%(asctime)s (%(module)s:%(lineno)d) %(levelname)s: %(message)s")
    try:
        decode(
            args.asr_train_config, args.asr_model_file, args.output_dir,
            args.data_path_and_name_and_type, args.key_file, args.batch_size, args.ngpu,
            args.num_workers, args.utt2lang, args.lang_token_sets, args.adapters_dir,
            args.token_lm_order, args.token_lm_text, args.token_lm_weight, args.token_lm_bonus, args.token_lm_beam,
        )
    except (ValueError, OSError) as e:
        logger.error("%s", e)
        print(f"ERROR: {e}", file=sys.stderr)
        return 1
    return 0
