"""Stage 3 of the ASR template: one token list shared by every language.

    python -m usm_espnet.bin.make_token_list --text dump/raw/train/text \
        --utt2lang dump/raw/train/utt2lang --out_dir data/token_list/char \
        --token_type char [--lang_token true] [--nbpe 4000]

``char``: graphemes, as USM uses on FLEURS (ESPnet's char tokenizer, spaces as
``<space>``). ``bpe``: a SentencePiece unigram model trained on the training
text (character coverage 1.0, so no script is lost). With language tokens,
``lang_tokens.txt`` lists ``<xx_yy>`` for ESPnet's ``--non_linguistic_symbols``
and each becomes one token. The list starts ``<blank>`` ``<unk>`` and ends with
``<sos/eos>``, as ESPnet expects.
"""

import argparse
import json
import logging
import os
import sys
from typing import Dict, List

from usm_espnet.bin._cli import run
from usm_espnet.utils import staged_dir, str2bool

logger = logging.getLogger("make_token_list")


def make_token_list(text: str, out_dir: str, token_type: str = "char", nbpe: int = 4000,
                    lang_token: bool = False, utt2lang: str = None) -> List[str]:
    """Write ``out_dir/tokens.txt`` (and ``bpe.model``, ``lang_tokens.txt``); atomic.

    Args:
        text: Kaldi ``text`` of the training set (may carry ``<lang>`` prefixes).
        out_dir: Destination directory, replaced when complete.
        token_type: ``char`` or ``bpe``.
        nbpe: SentencePiece vocabulary size (capped by what the text supports).
        lang_token: Add one token per language of ``utt2lang``.
        utt2lang: Kaldi utt2lang of the training set (needed with lang_token).

    Returns:
        The token list.
    """
    from espnet2.bin.tokenize_text import tokenize

    if token_type not in ("char", "bpe"):
        raise ValueError(f"token_type must be one of ('char', 'bpe'), got {token_type!r}")
    from usm_espnet.data.kaldi import read_kaldi_map

    if lang_token and not utt2lang:
        raise ValueError("lang_token needs utt2lang")
    # our reader: file:line errors, a byte-order mark dropped (ESPnet's would keep it
    # as a grapheme of the first transcript)
    texts = read_kaldi_map(text, allow_empty_value=True)
    if not any(v.strip() for v in texts.values()):
        raise ValueError(f"{text}: no transcripts ({len(texts)} utterances, all text empty): "
                         f"a token list cannot be made from it")
    u2l = read_kaldi_map(utt2lang) if utt2lang else {}
    with staged_dir(out_dir) as tmp:  # unique: concurrent runs never mix files
        text = os.path.join(tmp, "text.in")  # the checked copy that ESPnet's tokenizer reads
        with open(text, "w", encoding="utf-8") as f:
            f.writelines(f"{k} {v}\n" for k, v in texts.items())
        if utt2lang:
            utt2lang = os.path.join(tmp, "utt2lang.in")
            with open(utt2lang, "w", encoding="utf-8") as f:
                f.writelines(f"{k} {v}\n" for k, v in u2l.items())
        nls = None
        langs: List[str] = []
        if lang_token:
            langs = sorted({v.split()[0] for v in u2l.values()})
            nls = os.path.join(tmp, "lang_tokens.txt")
            with open(nls, "w", encoding="utf-8") as f:
                f.writelines(f"<{lang}>\n" for lang in langs)
        bpemodel = None
        if token_type == "bpe":
            import sentencepiece as spm

            plain = os.path.join(tmp, "train_text.txt")
            with open(text, encoding="utf-8") as fi, open(plain, "w", encoding="utf-8") as fo:
                for line in fi:
                    parts = line.rstrip("\n").split(maxsplit=1)
                    fo.write((parts[1] if len(parts) > 1 else "") + "\n")
            kwargs = dict(input=plain, model_prefix=os.path.join(tmp, "bpe"), model_type="unigram",
                          vocab_size=nbpe, character_coverage=1.0, input_sentence_size=10_000_000,
                          user_defined_symbols=[f"<{lang}>" for lang in langs] or None,
                          hard_vocab_limit=False, minloglevel=2)
            spm.SentencePieceTrainer.train(**{k: v for k, v in kwargs.items() if v is not None})
            bpemodel = os.path.join(tmp, "bpe.model")
        tokens_txt = os.path.join(tmp, "tokens.txt")
        tokenize(input=text, output=tokens_txt, field="2-", delimiter=None, token_type=token_type,
                 space_symbol="<space>", non_linguistic_symbols=nls, bpemodel=bpemodel,
                 log_level="WARNING", write_vocabulary=True, vocabulary_size=0,
                 remove_non_linguistic_symbols=False, cutoff=0,
                 add_symbol=["<blank>:0", "<unk>:1", "<sos/eos>:-1"], cleaner=None, g2p=None,
                 add_nonsplit_symbol=[])
        with open(tokens_txt, encoding="utf-8") as f:
            tokens = [t.rstrip("\n") for t in f]
        if utt2lang:
            write_lang_token_sets(text, utt2lang, tokens, token_type, bpemodel, nls,
                                  os.path.join(tmp, "lang_token_sets.json"))
        os.remove(text)
        if utt2lang:
            os.remove(utt2lang)
        if len([t for t in tokens if t not in ("<blank>", "<unk>", "<sos/eos>")]) == 0:
            raise ValueError(f"{texts.path}: the token list made from it is empty")
    logger.info("%s: %d tokens (%s%s)", out_dir, len(tokens), token_type,
                f", {len(langs)} language tokens" if langs else "")
    return tokens


def write_lang_token_sets(text: str, utt2lang: str, tokens: List[str], token_type: str,
                          bpemodel: str, nls: str, out_json: str) -> Dict[str, List[int]]:
    """Per language, the ids of the tokens its training transcripts use.

    Decoding may restrict the output to these (``--lang_token_sets`` of
    ``usm_espnet.bin.asr_inference --ctc_greedy true``) when the language of the
    test utterance is known, as it is on FLEURS, which stops a multilingual model
    from mixing scripts. ``<blank>``, ``<unk>`` and ``<space>`` are always allowed.
    """
    from espnet2.text.build_tokenizer import build_tokenizer

    tok = build_tokenizer(token_type=token_type, bpemodel=bpemodel, non_linguistic_symbols=nls,
                          space_symbol="<space>")
    index = {t: i for i, t in enumerate(tokens)}
    with open(utt2lang, encoding="utf-8") as f:
        u2l = dict(line.split(maxsplit=1) for line in f if line.strip())
    sets: Dict[str, set] = {}
    with open(text, encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split(maxsplit=1)
            if len(parts) < 2 or parts[0] not in u2l:
                continue
            lang = u2l[parts[0]].strip()
            ids = sets.setdefault(lang, {index[t] for t in ("<blank>", "<unk>", "<space>")
                                         if t in index})
            ids.update(index[t] for t in tok.text2tokens(parts[1]) if t in index)
    out = {lang: sorted(ids) for lang, ids in sorted(sets.items())}
    with open(out_json, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=0)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--text", required=True)
    p.add_argument("--utt2lang", default=None)
    p.add_argument("--out_dir", required=True)
    p.add_argument("--token_type", default="char", choices=["char", "bpe"])
    p.add_argument("--nbpe", type=int, default=4000)
    p.add_argument("--lang_token", type=str2bool, default=False)
    a = p.parse_args(argv)
    return run(lambda: make_token_list(a.text, a.out_dir, a.token_type, a.nbpe, a.lang_token,
                                       a.utt2lang),
               errors=(ValueError, RuntimeError, OSError), describe=_describe)


def _describe(e: BaseException) -> str:
    """``<file>: <reason>`` for an OSError naming a file (one that is also a ValueError,
    ``io.UnsupportedOperation``, is worded as a ValueError)."""
    if isinstance(e, OSError) and not isinstance(e, ValueError) and e.filename:
        return f"{e.filename}: {e.strerror}"
    return str(e)


if __name__ == "__main__":
    sys.exit(main())
