"""Slot values of the parallel text, in every language: CLDR names and numbers in words.

The templates of :mod:`usm_espnet.standin.parallel_text` have slots (a country, a list
of languages, a month, a currency, a number ...) whose values must themselves be
parallel. This module gives a slot's text in a language (:func:`slot_text`): names from
CLDR via babel (``BABEL_LOCALE``), numbers spelt out by num2words (``NUM2WORDS_LANG``)
or by a small speller of our own (Mandarin, Hindi, Greek, Turkish; :func:`spell_number`),
lists built with CLDR list patterns. A value holding a letter of another script than the
language's (an untranslated English name) is not used. :func:`finish_text` cleans up a
filled template; :func:`normalize_text` and :func:`text_key` are the text hygiene that
every sentence goes through.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Callable, Dict, List, Optional, Set, Tuple, Union

from babel import Locale
from babel.lists import format_list
from babel.units import get_unit_name
from num2words import num2words

from usm_espnet.data.languages import FLEURS_LANGUAGES

# ---------------------------------------------------------------------------
# Tool tables
# ---------------------------------------------------------------------------

#: FLEURS code -> babel (CLDR) locale identifier.
BABEL_LOCALE: Dict[str, str] = {
    "af_za": "af_ZA", "am_et": "am_ET", "ar_eg": "ar_EG", "as_in": "as_IN",
    "ast_es": "ast_ES", "az_az": "az_Latn_AZ", "be_by": "be_BY", "bg_bg": "bg_BG",
    "bn_in": "bn_IN", "bs_ba": "bs_Latn_BA", "ca_es": "ca_ES", "ceb_ph": "ceb_PH",
    "ckb_iq": "ckb_IQ", "cmn_hans_cn": "zh_Hans_CN", "cs_cz": "cs_CZ", "cy_gb": "cy_GB",
    "da_dk": "da_DK", "de_de": "de_DE", "el_gr": "el_GR", "en_us": "en_US",
    "es_419": "es_419", "et_ee": "et_EE", "fa_ir": "fa_IR", "ff_sn": "ff_Latn_SN",
    "fi_fi": "fi_FI", "fil_ph": "fil_PH", "fr_fr": "fr_FR", "ga_ie": "ga_IE",
    "gl_es": "gl_ES", "gu_in": "gu_IN", "ha_ng": "ha_NG", "he_il": "he_IL",
    "hi_in": "hi_IN", "hr_hr": "hr_HR", "hu_hu": "hu_HU", "hy_am": "hy_AM",
    "id_id": "id_ID", "ig_ng": "ig_NG", "is_is": "is_IS", "it_it": "it_IT",
    "ja_jp": "ja_JP", "jv_id": "jv_ID", "ka_ge": "ka_GE", "kam_ke": "kam_KE",
    "kea_cv": "kea_CV", "kk_kz": "kk_KZ", "km_kh": "km_KH", "kn_in": "kn_IN",
    "ko_kr": "ko_KR", "ky_kg": "ky_KG", "lb_lu": "lb_LU", "lg_ug": "lg_UG",
    "ln_cd": "ln_CD", "lo_la": "lo_LA", "lt_lt": "lt_LT", "luo_ke": "luo_KE",
    "lv_lv": "lv_LV", "mi_nz": "mi_NZ", "mk_mk": "mk_MK", "ml_in": "ml_IN",
    "mn_mn": "mn_MN", "mr_in": "mr_IN", "ms_my": "ms_MY", "mt_mt": "mt_MT",
    "my_mm": "my_MM", "nb_no": "nb_NO", "ne_np": "ne_NP", "nl_nl": "nl_NL",
    "nso_za": "nso_ZA", "ny_mw": "ny_MW", "oc_fr": "oc_FR", "om_et": "om_ET",
    "or_in": "or_IN", "pa_in": "pa_Guru_IN", "pl_pl": "pl_PL", "ps_af": "ps_AF",
    "pt_br": "pt_BR", "ro_ro": "ro_RO", "ru_ru": "ru_RU", "sd_in": "sd_Arab_PK",
    "sk_sk": "sk_SK", "sl_si": "sl_SI", "sn_zw": "sn_ZW", "so_so": "so_SO",
    "sr_rs": "sr_Cyrl_RS", "sv_se": "sv_SE", "sw_ke": "sw_KE", "ta_in": "ta_IN",
    "te_in": "te_IN", "tg_tj": "tg_TJ", "th_th": "th_TH", "tr_tr": "tr_TR",
    "uk_ua": "uk_UA", "ur_pk": "ur_PK", "uz_uz": "uz_Latn_UZ", "vi_vn": "vi_VN",
    "wo_sn": "wo_SN", "xh_za": "xh_ZA", "yo_ng": "yo_NG", "yue_hant_hk": "yue_Hant_HK",
    "zu_za": "zu_ZA",
}

#: FLEURS code -> num2words language.  Languages spelt by our own speller
#: (``_OWN_SPELLERS``: Mandarin, Hindi, Greek, Turkish) are not listed; num2words'
#: Turkish output joins the words ("yirmibir"), which is not standard orthography.
NUM2WORDS_LANG: Dict[str, str] = {
    "am_et": "am", "ar_eg": "ar", "az_az": "az", "be_by": "be", "bn_in": "bn",
    "ca_es": "ca", "cs_cz": "cs", "cy_gb": "cy", "da_dk": "da", "de_de": "de",
    "en_us": "en", "es_419": "es", "fa_ir": "fa", "fi_fi": "fi", "fr_fr": "fr",
    "he_il": "he", "hu_hu": "hu", "id_id": "id", "is_is": "is", "it_it": "it",
    "ja_jp": "ja", "kn_in": "kn", "ko_kr": "ko", "lt_lt": "lt", "lv_lv": "lv",
    "nb_no": "no", "nl_nl": "nl", "pl_pl": "pl", "pt_br": "pt_BR", "ro_ro": "ro",
    "ru_ru": "ru", "sk_sk": "sk", "sl_si": "sl", "sv_se": "sv", "te_in": "te",
    "tg_tj": "tg", "th_th": "th", "uk_ua": "uk", "vi_vn": "vi",
}

# Unicode-name prefixes of the letters allowed in slot values, per script of
# ``usm_espnet.data.languages``.  A CLDR value containing a letter of another
# script (e.g. an untranslated English name) is not used for that language.
_SCRIPT_PREFIXES: Dict[str, Tuple[str, ...]] = {
    "Latin": ("LATIN",), "Cyrillic": ("CYRILLIC",), "Arabic": ("ARABIC",),
    "Devanagari": ("DEVANAGARI",), "Bengali": ("BENGALI",), "Gujarati": ("GUJARATI",),
    "Gurmukhi": ("GURMUKHI",), "Odia": ("ORIYA",), "Tamil": ("TAMIL",),
    "Telugu": ("TELUGU",), "Kannada": ("KANNADA",), "Malayalam": ("MALAYALAM",),
    "Greek": ("GREEK",), "Hebrew": ("HEBREW",), "Armenian": ("ARMENIAN",),
    "Georgian": ("GEORGIAN",), "Ethiopic": ("ETHIOPIC",), "Thai": ("THAI",),
    "Lao": ("LAO",), "Khmer": ("KHMER",), "Myanmar": ("MYANMAR",),
    "Hangul": ("HANGUL",), "Han": ("CJK UNIFIED IDEOGRAPH", "IDEOGRAPHIC ITERATION"),
    "Japanese": ("CJK UNIFIED IDEOGRAPH", "HIRAGANA", "KATAKANA", "IDEOGRAPHIC ITERATION"),
}

# ---------------------------------------------------------------------------
# Number spelling
# ---------------------------------------------------------------------------

_ZH_DIGITS = "零一二三四五六七八九"


def _spell_cmn(n: int) -> str:
    """Mandarin (simplified) cardinal for 0 <= n <= 9999, e.g. 1010 -> 一千零一十."""
    if not 0 <= n <= 9999:
        raise ValueError(f"Mandarin speller covers 0..9999, got {n}")
    if n == 0:
        return _ZH_DIGITS[0]
    out, zero = "", False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        d = n // value % 10
        if d == 0:
            zero = zero or bool(out)
            continue
        if zero:
            out += "零"
            zero = False
        out += _ZH_DIGITS[d] + unit
    return out[1:] if out.startswith("一十") else out


_HI_0_99 = (
    "शून्य एक दो तीन चार पाँच छह सात आठ नौ "
    "दस ग्यारह बारह तेरह चौदह पंद्रह सोलह सत्रह अठारह उन्नीस "
    "बीस इक्कीस बाईस तेईस चौबीस पच्चीस छब्बीस सत्ताईस अट्ठाईस उनतीस "
    "तीस इकतीस बत्तीस तैंतीस चौंतीस पैंतीस छत्तीस सैंतीस अड़तीस उनतालीस "
    "चालीस इकतालीस बयालीस तैंतालीस चवालीस पैंतालीस छियालीस सैंतालीस अड़तालीस उनचास "
    "पचास इक्यावन बावन तिरपन चौवन पचपन छप्पन सत्तावन अट्ठावन उनसठ "
    "साठ इकसठ बासठ तिरसठ चौंसठ पैंसठ छियासठ सड़सठ अड़सठ उनहत्तर "
    "सत्तर इकहत्तर बहत्तर तिहत्तर चौहत्तर पचहत्तर छिहत्तर सतहत्तर अठहत्तर उनासी "
    "अस्सी इक्यासी बयासी तिरासी चौरासी पचासी छियासी सत्तासी अट्ठासी नवासी "
    "नब्बे इक्यानबे बानबे तिरानबे चौरानबे पचानबे छियानबे सत्तानबे अट्ठानबे निन्यानबे"
).split()
assert len(_HI_0_99) == 100


def _spell_hi(n: int) -> str:
    """Hindi cardinal for 0 <= n <= 99999 (the numbers 0..99 are lexical)."""
    if not 0 <= n <= 99999:
        raise ValueError(f"Hindi speller covers 0..99999, got {n}")
    if n < 100:
        return _HI_0_99[n]
    parts = []
    thousands, rest = divmod(n, 1000)
    if thousands:
        parts.append(f"{_HI_0_99[thousands]} हज़ार")
    hundreds, rest = divmod(rest, 100)
    if hundreds:
        parts.append(f"{_HI_0_99[hundreds]} सौ")
    if rest:
        parts.append(_HI_0_99[rest])
    return " ".join(parts)


_EL_0_19 = (
    "μηδέν ένα δύο τρία τέσσερα πέντε έξι επτά οκτώ εννέα δέκα έντεκα δώδεκα "
    "δεκατρία δεκατέσσερα δεκαπέντε δεκαέξι δεκαεπτά δεκαοκτώ δεκαεννέα"
).split()
_EL_TENS = "_ _ είκοσι τριάντα σαράντα πενήντα εξήντα εβδομήντα ογδόντα ενενήντα".split()
_EL_HUNDREDS = (
    "_ εκατό διακόσια τριακόσια τετρακόσια πεντακόσια εξακόσια επτακόσια "
    "οκτακόσια εννιακόσια"
).split()


def _spell_el(n: int) -> str:
    """Greek cardinal (neuter, the counting form) for 0 <= n <= 1999."""
    if not 0 <= n <= 1999:
        raise ValueError(f"Greek speller covers 0..1999, got {n}")
    if n < 20:
        return _EL_0_19[n]
    if n < 100:
        tens, units = divmod(n, 10)
        return _EL_TENS[tens] + (f" {_EL_0_19[units]}" if units else "")
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        if not rest:
            return _EL_HUNDREDS[hundreds]
        head = "εκατόν" if hundreds == 1 else _EL_HUNDREDS[hundreds]
        return f"{head} {_spell_el(rest)}"
    return "χίλια" + (f" {_spell_el(n - 1000)}" if n > 1000 else "")


_TR_ONES = "_ bir iki üç dört beş altı yedi sekiz dokuz".split()
_TR_TENS = "_ on yirmi otuz kırk elli altmış yetmiş seksen doksan".split()


def _spell_tr(n: int) -> str:
    """Turkish cardinal for 0 <= n <= 999999, words separated as in TDK spelling."""
    if not 0 <= n <= 999999:
        raise ValueError(f"Turkish speller covers 0..999999, got {n}")
    if n == 0:
        return "sıfır"
    parts: List[str] = []
    thousands, rest = divmod(n, 1000)
    if thousands:
        parts += ([] if thousands == 1 else [_spell_tr(thousands)]) + ["bin"]
    hundreds, rest = divmod(rest, 100)
    if hundreds:
        parts += ([] if hundreds == 1 else [_TR_ONES[hundreds]]) + ["yüz"]
    tens, units = divmod(rest, 10)
    if tens:
        parts.append(_TR_TENS[tens])
    if units:
        parts.append(_TR_ONES[units])
    return " ".join(parts)


_OWN_SPELLERS: Dict[str, Callable[[int], str]] = {
    "cmn_hans_cn": _spell_cmn, "hi_in": _spell_hi, "el_gr": _spell_el, "tr_tr": _spell_tr,
}


def has_number_words(lang: str) -> bool:
    """Whether numbers can be spelt out in ``lang``.

    Args:
        lang: FLEURS code.
    """
    return lang in _OWN_SPELLERS or lang in NUM2WORDS_LANG


@functools.lru_cache(maxsize=None)
def spell_number(n: int, lang: str) -> str:
    """Spell the cardinal ``n`` in words (counting form) in ``lang``.

    Args:
        n: a non-negative integer.
        lang: FLEURS code with a speller (see ``has_number_words``).

    Returns:
        The number in words, e.g. ``spell_number(21, "fr_fr") == "vingt et un"``.
    """
    if lang in _OWN_SPELLERS:
        return _OWN_SPELLERS[lang](n)
    if lang not in NUM2WORDS_LANG:
        raise ValueError(f"no number speller for {lang!r}")
    words = num2words(n, lang=NUM2WORDS_LANG[lang])
    if lang == "nl_nl" and words != "één":
        words = words.replace("één", "een")  # "honderdeen", not "honderdéén"
    elif lang == "ar_eg":
        words = words.replace(" و ", " و")  # the conjunction is written attached
        words = re.sub(r"مئتا$", "مئتان", words)  # "مئتا" is the construct form
    elif lang == "sv_se":
        words = words.replace("förtio", "fyrtio")
    return words



# ---------------------------------------------------------------------------
# Slot values (CLDR via babel)
# ---------------------------------------------------------------------------

# Bidi controls are dropped; no-break spaces become spaces; typographic
# apostrophes become ASCII "'" so that one apostrophe character is used.
_CHAR_MAP = {
    **dict.fromkeys(map(ord, "\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"), None),
    ord("\u200b"): None,  # zero-width space (a line-break hint in Khmer, Lao, Thai)
    **dict.fromkeys(map(ord, "\u00a0\u202f\u2007\u2009"), " "),
    **dict.fromkeys(map(ord, "\u2019\u02bc\u2018"), "'"),
}
_JOINERS = "\u200c\u200d"  # ZWNJ / ZWJ are orthographic in Persian and Indic scripts
_CASELESS_FIRST = {"tr_tr": {"i": "İ"}, "az_az": {"i": "İ"}}
#: Scripts whose sentences start with a capital letter (Georgian Mkhedruli has
#: capitals in Unicode, but running text does not use them).
_CASED_SCRIPTS = {"Latin", "Cyrillic", "Greek", "Armenian"}
#: Characters that never belong in the produced text (markup, symbols, CLDR
#: placeholders such as Welsh "a(c)").
_FORBIDDEN = set("()[]{}<>/\\|@#%&*_=+~^`\"$§")
_KO_TOPIC = re.compile(r"(\S)\(은\)는")

#: Korean month names are written with the Sino-Korean numeral fused with 월,
#: irregularly for June and October.
_MONTH_OVERRIDES: Dict[str, List[str]] = {
    "ko_kr": ["일월", "이월", "삼월", "사월", "오월", "유월", "칠월", "팔월", "구월", "시월", "십일월", "십이월"],
}
#: Abbreviations in CLDR names, written out as they are read.
_EXPANSIONS: Dict[str, Dict[str, str]] = {"ru_ru": {"о-в": "остров", "о-ва": "острова"}}
#: Vietnamese CLDR names start with a capitalised common noun ("Tiếng Pháp",
#: "Thứ Hai", "Tháng 3") that is lower-case in running text.
_LOWER_FIRST_WORDS: Dict[str, Set[str]] = {"vi_vn": {"Tiếng", "Thứ", "Tháng"}}


def normalize_text(text: str) -> str:
    """NFC, bidi marks removed, one apostrophe character, single spaces, stripped.

    Args:
        text: any text.
    """
    text = unicodedata.normalize("NFC", text).translate(_CHAR_MAP)
    return " ".join(text.split())


def text_key(text: str) -> str:
    """Comparison key of a sentence: case-folded, punctuation removed, single spaces.

    Two sentences with the same key count as the same text (for distinctness
    and for keeping held-out text out of train), so that normalised
    transcripts (lower case, no punctuation) are distinct as well.

    Args:
        text: a sentence.
    """
    kept = "".join(ch for ch in unicodedata.normalize("NFC", text).casefold()
                   if not unicodedata.category(ch).startswith("P"))
    return " ".join(kept.split())


def _is_letter(ch: str, prefixes: Tuple[str, ...]) -> bool:
    cat = unicodedata.category(ch)
    if cat.startswith("M"):
        return True
    if not cat.startswith("L"):
        return False
    name = unicodedata.name(ch, "")
    return name.startswith(prefixes) or (cat == "Lm" and name.startswith("MODIFIER LETTER"))


def _clean_value(lang: str, raw: Optional[str]) -> Optional[str]:
    """Normalised slot value, or None if it cannot be read aloud cleanly in ``lang``.

    Digits are spelt out (e.g. Japanese "3月" -> "三月"); any other character
    than letters of the language's script, combining marks, single spaces,
    word-internal hyphens/apostrophes and ZWNJ/ZWJ rejects the value.
    """
    if not raw:
        return None
    text = normalize_text(raw)
    if lang in _EXPANSIONS:
        text = " ".join(_EXPANSIONS[lang].get(word, word) for word in text.split())
    if any(ch.isdigit() for ch in text):
        if not has_number_words(lang):
            return None
        text = re.sub(r"\d+", lambda m: spell_number(int(m.group()), lang), text)
        text = normalize_text(text)
    prefixes = _SCRIPT_PREFIXES[FLEURS_LANGUAGES[lang][1]]
    has_letter = False
    for i, ch in enumerate(text):
        prev_ok = i > 0 and _is_letter(text[i - 1], prefixes)
        next_ok = i + 1 < len(text) and _is_letter(text[i + 1], prefixes)
        if _is_letter(ch, prefixes):
            has_letter = True
        elif ch == " ":
            continue
        elif ch in "-" + _JOINERS:
            if not (prev_ok and next_ok):
                return None
        elif ch == "'":
            if not prev_ok:
                return None
        else:
            return None
    if not has_letter or any(tok.isupper() for tok in re.split(r"[ \-']", text)):
        return None  # acronyms ("US", "ΗΠΑ", "độ C") are spelt out unpredictably by TTS
    if any(len(part) == 1 for word in text.split() if "-" in word for part in word.split("-")):
        return None  # abbreviations such as Russian "о-в" (остров)
    return text


@functools.lru_cache(maxsize=None)
def _locale(lang: str) -> Locale:
    return Locale.parse(BABEL_LOCALE[lang])


@functools.lru_cache(maxsize=None)
def _name(kind: str, code: Union[str, int], lang: str) -> Optional[str]:
    """The CLDR (or spelt-number) value of one slot item in ``lang``, or None."""
    loc = _locale(lang)
    if kind == "number":
        return spell_number(int(code), lang) if has_number_words(lang) else None
    if kind == "country":
        raw = loc.territories.get(code)
    elif kind == "language":
        raw = loc.languages.get(code)
    elif kind == "month":
        override = _MONTH_OVERRIDES.get(lang)
        raw = override[int(code) - 1] if override else loc.months["stand-alone"]["wide"].get(code)
    elif kind == "weekday":
        raw = loc.days["stand-alone"]["wide"].get(code)
    elif kind == "currency":
        raw = loc.currencies.get(code)
    elif kind == "unit":
        raw = get_unit_name(str(code), length="long", locale=loc)
    else:
        raise ValueError(f"unknown slot kind {kind!r}")
    value = _clean_value(lang, raw)
    if value and value.split()[0] in _LOWER_FIRST_WORDS.get(lang, ()):
        value = value[0].lower() + value[1:]
    return value


_LIST_KIND = {"countries": "country", "languages": "language", "months": "month",
              "weekdays": "weekday", "currencies": "currency"}


@functools.lru_cache(maxsize=200_000)
def slot_text(kind: str, value: Union[str, int, Tuple], lang: str) -> Optional[str]:
    """Text of a slot in ``lang``: one name, a number in words, or a CLDR list of names.

    Args:
        kind: Slot kind (``country``, ``countries``, ``number`` ...).
        value: A code, a number, or a tuple of codes for the list kinds.
        lang: FLEURS code.

    Returns:
        The text, or None where CLDR lacks a usable value (the slot cannot be filled).
    """
    if kind in _LIST_KIND:
        names = [_name(_LIST_KIND[kind], v, lang) for v in value]
        if not all(names) or len(set(names)) != len(names):
            return None
        return normalize_text(format_list(names, style="standard", locale=_locale(lang)))
    return _name(kind, value, lang)


def finish_text(lang: str, text: str) -> Optional[str]:
    """Final clean-up of a filled template: spacing, particles, capital letter.

    Args:
        lang: FLEURS code.
        text: The template with its slots filled.

    Returns:
        The sentence, or None when it holds a digit or a forbidden character.
    """
    text = normalize_text(text)
    if lang == "ko_kr":
        text = _KO_TOPIC.sub(lambda m: m.group(1) + ("은" if _has_batchim(m.group(1)) else "는"), text)
    if text and text[0].isalpha() and FLEURS_LANGUAGES[lang][1] in _CASED_SCRIPTS:
        first = _CASELESS_FIRST.get(lang, {}).get(text[0]) or text[0].upper()
        if len(first) == 1:
            text = first + text[1:]
    if not text or any(ch.isdigit() or ch in _FORBIDDEN for ch in text):
        return None
    return text


def _has_batchim(syllable: str) -> bool:
    """Whether a Hangul syllable ends in a consonant (final jamo)."""
    code = ord(syllable) - 0xAC00
    return 0 <= code < 11172 and code % 28 != 0


