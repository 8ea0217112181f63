"""Text normalisation applied to references *and* hypotheses before WER/CER.

FLEURS ships two transcripts per utterance: ``raw_transcription`` (original
casing and punctuation) and ``transcription`` (lower-cased, punctuation-free).
Hypotheses from a model, or references taken from the raw column, are only
comparable with each other after the same normalisation, which is what
:func:`normalize_text` does. On text that is already in the style of the
FLEURS ``transcription`` column it is (nearly) the identity.

The steps, in order:

1. Unicode NFKC (compatibility forms such as full-width Latin letters,
   ligatures and presentation forms are folded to their ordinary letters).
2. Case folding (``str.casefold``; Turkish/Azerbaijani dotted/dotless *i* is
   handled first when ``lang`` says so), followed by NFKC again because case
   folding can emit non-normalised sequences.
3. Punctuation removal:

   * every character of a Unicode punctuation category (``P*``) becomes a
     space, except apostrophes between two word characters, which are dropped
     so that ``don't`` becomes ``dont`` rather than two words;
   * every symbol (``S*``) becomes a space, unless its Unicode name marks it
     as a letter (e.g. ``U+A789 MODIFIER LETTER COLON`` or the tone bars
     ``U+02E5..U+02E9``, which some orthographies write as letters);
   * combining marks (``M*``) are always kept: they are vowel signs, viramas,
     harakat, tone marks etc. and removing them would change words in
     Devanagari, Bengali, Thai, Arabic, Hebrew, Vietnamese and many others;
   * control characters and invisible formatting characters that carry no
     orthographic meaning (zero width space, BOM, soft hyphen, word joiner)
     and bidirectional controls are removed; ZWJ/ZWNJ are kept as they are orthographic in several
     scripts (e.g. Persian, Indic conjunct control).

4. Whitespace collapse: any run of whitespace becomes one ASCII space, and the
   result is stripped.

Languages written without spaces between words (see :func:`is_unsegmented`)
are scored on characters-as-words: their "WER" is computed over characters
(code points, spaces removed), which makes it a CER-like figure.
"""

import re
import unicodedata
from typing import List, Optional

# FLEURS language codes of scripts written without spaces between words.
UNSEGMENTED_LANGS = frozenset(
    {"cmn_hans_cn", "yue_hant_hk", "ja_jp", "th_th", "lo_la", "km_kh", "my_mm"}
)

# Language prefixes (ISO 639-1/3) of the same languages, so that plain codes
# such as "ja", "zh" or "cmn" are recognised too.
_UNSEGMENTED_PREFIXES = frozenset({"cmn", "yue", "zh", "ja", "jpn", "th", "tha",
                                   "lo", "lao", "km", "khm", "my", "mya"})

# Languages whose casing of i differs from the default Unicode case folding.
_TURKIC_PREFIXES = frozenset({"tr", "tur", "az", "aze"})

# Characters dropped without leaving a space: zero width space, BOM, soft
# hyphen, word joiner and the bidirectional controls (LRM/RLM, embeddings,
# overrides, isolates), which carry no orthographic content.
_INVISIBLE = frozenset(
    {"\u200b", "\ufeff", "\u00ad", "\u2060", "\u200e", "\u200f", "\u061c"}
    | {chr(c) for c in range(0x202A, 0x202F)}
    | {chr(c) for c in range(0x2066, 0x206A)}
)

# Apostrophe-like punctuation that is removed without splitting a word.
_APOSTROPHES = frozenset({"'", "\u2019", "\u2018", "\u02bc", "\u055a", "\uff07"})

_WHITESPACE = re.compile(r"\s+")


def _lang_prefix(lang: Optional[str]) -> str:
    """Return the lower-cased language part of a code such as ``tr_tr``.

    Args:
        lang: A language code (FLEURS style ``xx_yy`` or BCP-47 ``xx-YY``), or
            None.

    Returns:
        The part before the first ``_``/``-``, lower-cased; ``""`` for None.
    """
    if not lang:
        return ""
    return re.split(r"[_\-]", lang.strip().lower(), maxsplit=1)[0]


def is_unsegmented(lang: Optional[str]) -> bool:
    """Tell whether ``lang`` is written without spaces between words.

    For these languages WER is computed over characters (characters-as-words),
    as word segmentation is not part of the orthography.

    Args:
        lang: A FLEURS language code (``cmn_hans_cn``, ``th_th``, ...), or an
            ISO 639 code such as ``ja``/``zh``/``th``; None means unknown.

    Returns:
        True for Mandarin, Cantonese, Japanese, Thai, Lao, Khmer and Burmese.
    """
    if not lang:
        return False
    code = lang.strip().lower().replace("-", "_")
    if code in UNSEGMENTED_LANGS:
        return True
    return _lang_prefix(code) in _UNSEGMENTED_PREFIXES


def _is_letter_symbol(char: str) -> bool:
    """Tell whether a symbol character is used as a letter in some script.

    Args:
        char: One character of a Unicode ``S*`` category.

    Returns:
        True when its Unicode name contains ``LETTER`` (modifier letters such
        as tone bars or the modifier colon).
    """
    return "LETTER" in unicodedata.name(char, "")


def _is_word_char(char: str) -> bool:
    """Tell whether ``char`` is a letter, digit or combining mark.

    Args:
        char: One character.

    Returns:
        True for categories ``L*``, ``N*`` and ``M*``.
    """
    return unicodedata.category(char)[0] in "LNM"


def normalize_text(text: str, lang: Optional[str] = None) -> str:
    """Normalise a transcript for scoring (see the module docstring).

    Args:
        text: Reference or hypothesis text.
        lang: Optional language code; only Turkish/Azerbaijani change the
            result (dotted capital I folds to ``i``, dotless capital I to
            ``ı``).

    Returns:
        NFKC, case-folded text without punctuation and non-letter symbols,
        combining marks kept, with single spaces between words.
    """
    text = unicodedata.normalize("NFKC", text)
    if _lang_prefix(lang) in _TURKIC_PREFIXES:
        text = text.replace("I", "ı").replace("İ", "i")
    text = unicodedata.normalize("NFKC", text.casefold())

    out = []
    last = len(text) - 1
    for i, char in enumerate(text):
        if char in _INVISIBLE:
            continue
        category = unicodedata.category(char)
        major = category[0]
        if major == "P":
            if (char in _APOSTROPHES and 0 < i < last
                    and _is_word_char(text[i - 1]) and _is_word_char(text[i + 1])):
                continue
            out.append(" ")
        elif major == "S":
            out.append(char if _is_letter_symbol(char) else " ")
        elif category == "Cc":
            out.append(" " if char.isspace() else "")
        else:
            out.append(char)
    return _WHITESPACE.sub(" ", "".join(out)).strip()


def tokenize_words(text: str, lang: Optional[str] = None) -> List[str]:
    """Split normalised text into the units WER is counted over.

    Args:
        text: Text already passed through :func:`normalize_text`.
        lang: Language code; unsegmented languages are split into characters
            (spaces dropped), all others on whitespace.

    Returns:
        The list of tokens.
    """
    if is_unsegmented(lang):
        return [c for c in text if not c.isspace()]
    return text.split()


def cer_string(text: str, lang: Optional[str] = None) -> str:
    """Return the character sequence CER is counted over.

    CER counts every character of the normalised text *including* the single
    spaces between words (as ESPnet's CER with its ``<space>`` token does);
    for unsegmented languages spaces are not orthographic and are removed.

    Args:
        text: Text already passed through :func:`normalize_text`.
        lang: Language code.

    Returns:
        The string whose characters are the CER units.
    """
    if is_unsegmented(lang):
        return "".join(c for c in text if not c.isspace())
    return text
