"""N-way parallel multilingual text for the synthetic stand-in corpora.

Every sentence id names one *content*; its text in each language is a
translation of the same content, so the same ids can be used for ASR in every
language and for X->English speech translation (the ``en_us`` text of an id is
the reference translation of every other language's text of that id).

Where the sentences come from
-----------------------------
* **Templates** written for this project (``_TEMPLATES``), one translation per
  language, whose slots are filled with values that are themselves parallel:
  CLDR names via babel (countries, languages, months, weekdays, currencies,
  units, list patterns) and numbers spelt out in words (num2words, or a small
  speller of our own for Mandarin, Hindi, Greek and Turkish).  Slots are
  placed only where the bare (nominative / citation) form of the value is
  grammatical, e.g. after a colon or in a naming frame ("the next name in the
  atlas is ...").
* **CLDR-only forms** that need no translation: lists such as
  "France, Japan and Peru" built with CLDR list patterns.  Languages for which
  we have no template translations (``CLDR_ONLY_LANGS``) are supported with
  these forms only; asking for such a language restricts *every* language of
  the request to these forms so that the text stays parallel.

Sentence ids
------------
An id such as ``"s0712345"`` encodes the content itself (a source block and an
index in that source), not the position in one particular draw: the same id
means the same content for every seed.  The seed only chooses *which* contents
are drawn.  This is what makes ``exclude`` work across calls, e.g. for the
unpaired text of MOST pretraining::

    paired = generate_parallel_text(DEFAULT_LANGS, 3000, seed=0)
    unpaired = generate_parallel_text(DEFAULT_LANGS, 5000, seed=1,
                                      exclude=set(paired.ids))

``unpaired`` then shares no id with ``paired``, and no text either (in any
requested language).  Ids are stable for a given code version, language set
and seed.

Text hygiene
------------
All text is Unicode NFC, single-spaced, without digits (numbers are spelt out
so that the transcript matches what a TTS engine says), without markup, bidi
control marks or typographic apostrophes (normalised to ``'``).
"""

from __future__ import annotations

import functools
import itertools
import random
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple, Union

from babel import Locale
from babel.lists import format_list
from babel.units import get_unit_name
from num2words import num2words

from usm_espnet.data.languages import FLEURS_LANGUAGES, check_language

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
# Template translations
# ---------------------------------------------------------------------------
# Slots: {c} country, {cl} list of countries, {l} language, {ll} list of
# languages, {m} month, {ml} list of months, {w} weekday, {wl} list of
# weekdays, {cur} currency, {u} unit (plural display name), {a} {b} {r} numbers
# in words.  "(은)는" (Korean) is resolved after the previous syllable.

_TEMPLATES: Dict[str, Dict[str, str]] = {
    "en_us": {
        "c1": "The next name in the atlas is {c}.",
        "c2": "On the old map, the word {c} is written in large letters.",
        "c3": "The label on the suitcase says {c}.",
        "c4": "The answer to the last question of the quiz was {c}.",
        "c5": "My cousin wrote {c} on the postcard.",
        "cp": "On page {a} of the atlas, the first name is {c}.",
        "cl1": "The list on the board reads: {cl}.",
        "cl2": "This year the team will visit these countries: {cl}.",
        "l1": "This book is written in {l}.",
        "l2": "Language of the subtitles: {l}.",
        "l3": "The guide also speaks {l}.",
        "ll": "The course is offered in these languages: {ll}.",
        "ln": "Lesson number {a}: {l}.",
        "m1": "{m} is my favorite month.",
        "m2": "The first word on this calendar page is {m}.",
        "ml": "The market is held in these months: {ml}.",
        "w1": "Today is {w}.",
        "w2": "Tomorrow will be {w}.",
        "w3": "My favorite day of the week is {w}.",
        "wl": "The shop is open on these days: {wl}.",
        "cur": "The currency on this banknote is called the {cur}.",
        "u": "The unit in the last column of the table is {u}.",
        "add": "{a} plus {b} equals {r}.",
        "sub": "{a} minus {b} equals {r}.",
        "mul": "{a} times {b} equals {r}.",
        "page": "Please open the book to page {a}.",
        "room": "Room number {a} is on floor number {b}.",
    },
    "fr_fr": {
        "c1": "Le nom suivant dans l'atlas est {c}.",
        "c2": "Sur la vieille carte, le mot {c} est écrit en grandes lettres.",
        "c3": "Sur l'étiquette de la valise, on peut lire {c}.",
        "c4": "La réponse à la dernière question du quiz était {c}.",
        "c5": "Mon cousin a écrit {c} sur la carte postale.",
        "cp": "À la page {a} de l'atlas, le premier nom est {c}.",
        "cl1": "Sur la liste au tableau, on peut lire : {cl}.",
        "cl2": "Cette année, l'équipe visitera ces pays : {cl}.",
        "l1": "Ce livre est écrit en {l}.",
        "l2": "Langue des sous-titres : {l}.",
        "l3": "Le guide parle aussi {l}.",
        "ll": "Le cours est proposé dans ces langues : {ll}.",
        "ln": "Leçon numéro {a} : {l}.",
        "m1": "{m} est mon mois préféré.",
        "m2": "Le premier mot sur cette page du calendrier est {m}.",
        "ml": "Le marché a lieu pendant ces mois : {ml}.",
        "w1": "Aujourd'hui, nous sommes {w}.",
        "w2": "Demain, ce sera {w}.",
        "w3": "Mon jour préféré de la semaine est le {w}.",
        "wl": "Le magasin est ouvert ces jours-là : {wl}.",
        "cur": "La monnaie de ce billet s'appelle {cur}.",
        "u": "L'unité de la dernière colonne du tableau : {u}.",
        "add": "{a} plus {b} égale {r}.",
        "sub": "{a} moins {b} égale {r}.",
        "mul": "{a} fois {b} égale {r}.",
        "page": "Ouvrez le livre à la page {a}, s'il vous plaît.",
        "room": "La chambre numéro {a} se trouve à l'étage numéro {b}.",
    },
    "de_de": {
        "c1": "Der nächste Name im Atlas ist {c}.",
        "c2": "Auf der alten Karte steht das Wort {c} in großen Buchstaben.",
        "c3": "Auf dem Etikett des Koffers steht {c}.",
        "c4": "Die Antwort auf die letzte Frage des Quiz war {c}.",
        "c5": "Mein Cousin hat {c} auf die Postkarte geschrieben.",
        "cp": "Auf Seite {a} des Atlas ist der erste Name {c}.",
        "cl1": "Auf der Liste an der Tafel steht: {cl}.",
        "cl2": "Dieses Jahr besucht das Team diese Länder: {cl}.",
        "l1": "Dieses Buch ist auf {l} geschrieben.",
        "l2": "Sprache der Untertitel: {l}.",
        "l3": "Der Reiseleiter spricht auch {l}.",
        "ll": "Der Kurs wird in diesen Sprachen angeboten: {ll}.",
        "ln": "Lektion Nummer {a}: {l}.",
        "m1": "{m} ist mein Lieblingsmonat.",
        "m2": "Das erste Wort auf dieser Kalenderseite ist {m}.",
        "ml": "Der Markt findet in diesen Monaten statt: {ml}.",
        "w1": "Heute ist {w}.",
        "w2": "Morgen ist {w}.",
        "w3": "Mein Lieblingstag der Woche ist der {w}.",
        "wl": "Das Geschäft ist an diesen Tagen geöffnet: {wl}.",
        "cur": "Die Währung auf diesem Geldschein heißt {cur}.",
        "u": "Die Einheit in der letzten Spalte der Tabelle: {u}.",
        "add": "{a} plus {b} ist {r}.",
        "sub": "{a} minus {b} ist {r}.",
        "mul": "{a} mal {b} ist {r}.",
        "page": "Bitte schlagen Sie das Buch auf Seite {a} auf.",
        "room": "Zimmer Nummer {a} befindet sich im Stockwerk Nummer {b}.",
    },
    "es_419": {
        "c1": "El siguiente nombre en el atlas es {c}.",
        "c2": "En el mapa antiguo, la palabra {c} está escrita con letras grandes.",
        "c3": "La etiqueta de la maleta dice {c}.",
        "c4": "La respuesta a la última pregunta del concurso fue {c}.",
        "c5": "Mi primo escribió {c} en la postal.",
        "cp": "En la página {a} del atlas, el primer nombre es {c}.",
        "cl1": "La lista en el pizarrón dice: {cl}.",
        "cl2": "Este año el equipo visitará estos países: {cl}.",
        "l1": "Este libro está escrito en {l}.",
        "l2": "Idioma de los subtítulos: {l}.",
        "l3": "El guía también habla {l}.",
        "ll": "El curso se ofrece en estos idiomas: {ll}.",
        "ln": "Lección número {a}: {l}.",
        "m1": "{m} es mi mes favorito.",
        "m2": "La primera palabra en esta página del calendario es {m}.",
        "ml": "El mercado se celebra en estos meses: {ml}.",
        "w1": "Hoy es {w}.",
        "w2": "Mañana será {w}.",
        "w3": "Mi día favorito de la semana es el {w}.",
        "wl": "La tienda abre estos días: {wl}.",
        "cur": "La moneda de este billete se llama {cur}.",
        "u": "La unidad de la última columna de la tabla: {u}.",
        "add": "{a} más {b} es igual a {r}.",
        "sub": "{a} menos {b} es igual a {r}.",
        "mul": "{a} por {b} es igual a {r}.",
        "page": "Por favor, abran el libro en la página {a}.",
        "room": "La habitación número {a} está en el piso número {b}.",
    },
    "it_it": {
        "c1": "Il prossimo nome nell'atlante è {c}.",
        "c2": "Sulla vecchia mappa, la parola {c} è scritta a grandi lettere.",
        "c3": "Sull'etichetta della valigia c'è scritto {c}.",
        "c4": "La risposta all'ultima domanda del quiz era {c}.",
        "c5": "Mio cugino ha scritto {c} sulla cartolina.",
        "cp": "A pagina {a} dell'atlante, il primo nome è {c}.",
        "cl1": "Sulla lista alla lavagna c'è scritto: {cl}.",
        "cl2": "Quest'anno la squadra visiterà questi paesi: {cl}.",
        "l1": "Questo libro è scritto in {l}.",
        "l2": "Lingua dei sottotitoli: {l}.",
        "l3": "La guida parla anche {l}.",
        "ll": "Il corso è offerto in queste lingue: {ll}.",
        "ln": "Lezione numero {a}: {l}.",
        "m1": "{m} è il mio mese preferito.",
        "m2": "La prima parola su questa pagina del calendario è {m}.",
        "ml": "Il mercato si tiene in questi mesi: {ml}.",
        "w1": "Oggi è {w}.",
        "w2": "Domani sarà {w}.",
        "w3": "Il giorno della settimana che preferisco è {w}.",
        "wl": "Il negozio è aperto in questi giorni: {wl}.",
        "cur": "La valuta di questa banconota si chiama {cur}.",
        "u": "L'unità dell'ultima colonna della tabella: {u}.",
        "add": "{a} più {b} fa {r}.",
        "sub": "{a} meno {b} fa {r}.",
        "mul": "{a} per {b} fa {r}.",
        "page": "Per favore, aprite il libro a pagina {a}.",
        "room": "La camera numero {a} si trova al piano numero {b}.",
    },
    "pt_br": {
        "c1": "O próximo nome no atlas é {c}.",
        "c2": "No mapa antigo, a palavra {c} está escrita em letras grandes.",
        "c3": "A etiqueta da mala diz {c}.",
        "c4": "A resposta à última pergunta do quiz foi {c}.",
        "c5": "Meu primo escreveu {c} no cartão-postal.",
        "cp": "Na página {a} do atlas, o primeiro nome é {c}.",
        "cl1": "A lista no quadro diz: {cl}.",
        "cl2": "Este ano a equipe vai visitar estes países: {cl}.",
        "l1": "Este livro está escrito em {l}.",
        "l2": "Idioma das legendas: {l}.",
        "l3": "O guia também fala {l}.",
        "ll": "O curso é oferecido nestes idiomas: {ll}.",
        "ln": "Lição número {a}: {l}.",
        "m1": "{m} é o meu mês favorito.",
        "m2": "A primeira palavra nesta página do calendário é {m}.",
        "ml": "A feira acontece nestes meses: {ml}.",
        "w1": "Hoje é {w}.",
        "w2": "Amanhã será {w}.",
        "w3": "Meu dia favorito da semana é {w}.",
        "wl": "A loja abre nestes dias: {wl}.",
        "cur": "A moeda desta cédula se chama {cur}.",
        "u": "A unidade da última coluna da tabela: {u}.",
        "add": "{a} mais {b} é igual a {r}.",
        "sub": "{a} menos {b} é igual a {r}.",
        "mul": "{a} vezes {b} é igual a {r}.",
        "page": "Por favor, abram o livro na página {a}.",
        "room": "O quarto número {a} fica no andar número {b}.",
    },
    "nl_nl": {
        "c1": "De volgende naam in de atlas is {c}.",
        "c2": "Op de oude kaart staat het woord {c} in grote letters.",
        "c3": "Op het label van de koffer staat {c}.",
        "c4": "Het antwoord op de laatste vraag van de quiz was {c}.",
        "c5": "Mijn neef schreef {c} op de ansichtkaart.",
        "cp": "Op bladzijde {a} van de atlas is de eerste naam {c}.",
        "cl1": "Op de lijst op het bord staat: {cl}.",
        "cl2": "Dit jaar bezoekt het team deze landen: {cl}.",
        "l1": "Dit boek is geschreven in het {l}.",
        "l2": "Taal van de ondertitels: {l}.",
        "l3": "De gids spreekt ook {l}.",
        "ll": "De cursus wordt in deze talen aangeboden: {ll}.",
        "ln": "Les nummer {a}: {l}.",
        "m1": "{m} is mijn favoriete maand.",
        "m2": "Het eerste woord op deze kalenderpagina is {m}.",
        "ml": "De markt wordt in deze maanden gehouden: {ml}.",
        "w1": "Vandaag is het {w}.",
        "w2": "Morgen is het {w}.",
        "w3": "Mijn favoriete dag van de week is {w}.",
        "wl": "De winkel is op deze dagen open: {wl}.",
        "cur": "De munteenheid op dit bankbiljet heet {cur}.",
        "u": "De eenheid in de laatste kolom van de tabel: {u}.",
        "add": "{a} plus {b} is {r}.",
        "sub": "{a} min {b} is {r}.",
        "mul": "{a} keer {b} is {r}.",
        "page": "Sla het boek open op bladzijde {a}, alstublieft.",
        "room": "Kamer nummer {a} is op verdieping nummer {b}.",
    },
    "ru_ru": {
        "c1": "Следующее название в атласе — {c}.",
        "c2": "На старой карте крупными буквами написано слово {c}.",
        "c3": "На бирке чемодана написано: {c}.",
        "c4": "Ответ на последний вопрос викторины был такой: {c}.",
        "c5": "Мой двоюродный брат написал на открытке: {c}.",
        "cp": "На странице номер {a} атласа первое название — {c}.",
        "cl1": "В списке на доске написано: {cl}.",
        "cl2": "В этом году команда посетит эти страны: {cl}.",
        "l1": "Язык этой книги — {l}.",
        "l2": "Язык субтитров: {l}.",
        "l3": "Гид знает ещё один язык: {l}.",
        "ll": "Курс доступен на этих языках: {ll}.",
        "ln": "Урок номер {a}: {l}.",
        "m1": "{m} — мой любимый месяц.",
        "m2": "Первое слово на этой странице календаря — {m}.",
        "ml": "Ярмарка проходит в эти месяцы: {ml}.",
        "w1": "Сегодня {w}.",
        "w2": "Завтра будет {w}.",
        "w3": "Мой любимый день недели — {w}.",
        "wl": "Магазин работает в эти дни: {wl}.",
        "cur": "Название валюты на этой банкноте — {cur}.",
        "u": "Единица измерения в последнем столбце таблицы — {u}.",
        "add": "{a} плюс {b} будет {r}.",
        "sub": "{a} минус {b} будет {r}.",
        "mul": "{a} умножить на {b} будет {r}.",
        "page": "Пожалуйста, откройте книгу на странице номер {a}.",
        "room": "Комната номер {a} находится на этаже номер {b}.",
    },
    "uk_ua": {
        "c1": "Наступна назва в атласі — {c}.",
        "c2": "На старій мапі великими літерами написано слово {c}.",
        "c3": "На бірці валізи написано: {c}.",
        "c4": "Відповідь на останнє запитання вікторини була така: {c}.",
        "c5": "Мій двоюрідний брат написав на листівці: {c}.",
        "cp": "На сторінці номер {a} атласу перша назва — {c}.",
        "cl1": "У списку на дошці написано: {cl}.",
        "cl2": "Цього року команда відвідає ці країни: {cl}.",
        "l1": "Мова цієї книжки — {l}.",
        "l2": "Мова субтитрів: {l}.",
        "l3": "Гід знає ще одну мову: {l}.",
        "ll": "Курс доступний такими мовами: {ll}.",
        "ln": "Урок номер {a}: {l}.",
        "m1": "{m} — мій улюблений місяць.",
        "m2": "Перше слово на цій сторінці календаря — {m}.",
        "ml": "Ярмарок відбувається в ці місяці: {ml}.",
        "w1": "Сьогодні {w}.",
        "w2": "Завтра буде {w}.",
        "w3": "Мій улюблений день тижня — {w}.",
        "wl": "Крамниця працює в ці дні: {wl}.",
        "cur": "Назва валюти на цій банкноті — {cur}.",
        "u": "Одиниця виміру в останньому стовпці таблиці — {u}.",
        "add": "{a} плюс {b} буде {r}.",
        "sub": "{a} мінус {b} буде {r}.",
        "mul": "{a} помножити на {b} буде {r}.",
        "page": "Будь ласка, відкрийте книжку на сторінці номер {a}.",
        "room": "Кімната номер {a} розташована на поверсі номер {b}.",
    },
    "pl_pl": {
        "c1": "Następna nazwa w atlasie to {c}.",
        "c2": "Na starej mapie słowo {c} jest napisane dużymi literami.",
        "c3": "Na etykiecie walizki jest napisane: {c}.",
        "c4": "Odpowiedź na ostatnie pytanie quizu brzmiała: {c}.",
        "c5": "Mój kuzyn napisał na pocztówce: {c}.",
        "cp": "Na stronie numer {a} atlasu pierwsza nazwa to {c}.",
        "cl1": "Na liście na tablicy jest napisane: {cl}.",
        "cl2": "W tym roku drużyna odwiedzi te kraje: {cl}.",
        "l1": "Język tej książki to {l}.",
        "l2": "Język napisów: {l}.",
        "l3": "Przewodnik zna jeszcze jeden język: {l}.",
        "ll": "Kurs jest dostępny w tych językach: {ll}.",
        "ln": "Lekcja numer {a}: {l}.",
        "m1": "{m} to mój ulubiony miesiąc.",
        "m2": "Pierwsze słowo na tej stronie kalendarza to {m}.",
        "ml": "Jarmark odbywa się w tych miesiącach: {ml}.",
        "w1": "Dzisiaj jest {w}.",
        "w2": "Jutro będzie {w}.",
        "w3": "Mój ulubiony dzień tygodnia to {w}.",
        "wl": "Sklep jest otwarty w te dni: {wl}.",
        "cur": "Nazwa waluty na tym banknocie to {cur}.",
        "u": "Jednostka w ostatniej kolumnie tabeli to {u}.",
        "add": "{a} plus {b} równa się {r}.",
        "sub": "{a} minus {b} równa się {r}.",
        "mul": "{a} razy {b} równa się {r}.",
        "page": "Proszę otworzyć książkę na stronie numer {a}.",
        "room": "Pokój numer {a} znajduje się na piętrze numer {b}.",
    },
    "sv_se": {
        "c1": "Nästa namn i atlasen är {c}.",
        "c2": "På den gamla kartan står ordet {c} med stora bokstäver.",
        "c3": "På resväskans etikett står det {c}.",
        "c4": "Svaret på frågesportens sista fråga var {c}.",
        "c5": "Min kusin skrev {c} på vykortet.",
        "cp": "På sidan {a} i atlasen är det första namnet {c}.",
        "cl1": "På listan på tavlan står det: {cl}.",
        "cl2": "I år ska laget besöka dessa länder: {cl}.",
        "l1": "Den här boken är skriven på {l}.",
        "l2": "Undertexternas språk: {l}.",
        "l3": "Guiden talar också {l}.",
        "ll": "Kursen erbjuds på dessa språk: {ll}.",
        "ln": "Lektion nummer {a}: {l}.",
        "m1": "{m} är min favoritmånad.",
        "m2": "Det första ordet på den här kalendersidan är {m}.",
        "ml": "Marknaden hålls under dessa månader: {ml}.",
        "w1": "I dag är det {w}.",
        "w2": "I morgon är det {w}.",
        "w3": "Min favoritdag i veckan är {w}.",
        "wl": "Butiken har öppet dessa dagar: {wl}.",
        "cur": "Valutan på den här sedeln heter {cur}.",
        "u": "Enheten i tabellens sista kolumn är {u}.",
        "add": "{a} plus {b} är {r}.",
        "sub": "{a} minus {b} är {r}.",
        "mul": "{a} gånger {b} är {r}.",
        "page": "Öppna boken på sidan {a}, tack.",
        "room": "Rum nummer {a} ligger på våning nummer {b}.",
    },
    "tr_tr": {
        "c1": "Atlastaki bir sonraki ad: {c}.",
        "c2": "Eski haritada büyük harflerle şu kelime yazıyor: {c}.",
        "c3": "Bavulun etiketinde şu yazıyor: {c}.",
        "c4": "Yarışmanın son sorusunun cevabı şuydu: {c}.",
        "c5": "Kuzenim kartpostala şunu yazdı: {c}.",
        "cp": "Atlasın {a} numaralı sayfasındaki ilk ad: {c}.",
        "cl1": "Tahtadaki listede şunlar yazıyor: {cl}.",
        "cl2": "Takım bu yıl şu ülkeleri ziyaret edecek: {cl}.",
        "l1": "Bu kitabın dili: {l}.",
        "l2": "Altyazı dili: {l}.",
        "l3": "Rehber ayrıca {l} konuşuyor.",
        "ll": "Kurs şu dillerde sunuluyor: {ll}.",
        "ln": "{a} numaralı ders: {l}.",
        "m1": "En sevdiğim ay {m}.",
        "m2": "Bu takvim sayfasındaki ilk kelime: {m}.",
        "ml": "Pazar şu aylarda kuruluyor: {ml}.",
        "w1": "Bugün {w}.",
        "w2": "Yarın {w}.",
        "w3": "Haftanın en sevdiğim günü {w}.",
        "wl": "Dükkân şu günlerde açık: {wl}.",
        "cur": "Bu banknottaki para biriminin adı: {cur}.",
        "u": "Tablonun son sütunundaki birim: {u}.",
        "add": "{a} artı {b} eşittir {r}.",
        "sub": "{a} eksi {b} eşittir {r}.",
        "mul": "{a} çarpı {b} eşittir {r}.",
        "page": "Lütfen kitabın {a} numaralı sayfasını açın.",
        "room": "{a} numaralı oda {b} numaralı kattadır.",
    },
    "id_id": {
        "c1": "Nama berikutnya di atlas adalah {c}.",
        "c2": "Di peta lama, kata {c} ditulis dengan huruf besar.",
        "c3": "Label pada koper itu bertuliskan {c}.",
        "c4": "Jawaban untuk pertanyaan terakhir kuis itu adalah {c}.",
        "c5": "Sepupu saya menulis {c} di kartu pos.",
        "cp": "Di halaman {a} atlas, nama pertama adalah {c}.",
        "cl1": "Daftar di papan tulis berisi: {cl}.",
        "cl2": "Tahun ini tim akan mengunjungi negara-negara ini: {cl}.",
        "l1": "Buku ini ditulis dalam bahasa {l}.",
        "l2": "Bahasa subtitel: {l}.",
        "l3": "Pemandu itu juga berbicara bahasa {l}.",
        "ll": "Kursus ini tersedia dalam bahasa-bahasa ini: {ll}.",
        "ln": "Pelajaran nomor {a}: bahasa {l}.",
        "m1": "{m} adalah bulan favorit saya.",
        "m2": "Kata pertama di halaman kalender ini adalah {m}.",
        "ml": "Pasar diadakan pada bulan-bulan ini: {ml}.",
        "w1": "Hari ini hari {w}.",
        "w2": "Besok hari {w}.",
        "w3": "Hari favorit saya dalam seminggu adalah hari {w}.",
        "wl": "Toko buka pada hari-hari ini: {wl}.",
        "cur": "Mata uang pada uang kertas ini bernama {cur}.",
        "u": "Satuan di kolom terakhir tabel adalah {u}.",
        "add": "{a} tambah {b} sama dengan {r}.",
        "sub": "{a} kurang {b} sama dengan {r}.",
        "mul": "{a} kali {b} sama dengan {r}.",
        "page": "Silakan buka buku di halaman {a}.",
        "room": "Kamar nomor {a} ada di lantai {b}.",
    },
    "vi_vn": {
        "c1": "Tên tiếp theo trong tập bản đồ là {c}.",
        "c2": "Trên tấm bản đồ cũ, từ {c} được viết bằng chữ lớn.",
        "c3": "Nhãn trên chiếc vali ghi {c}.",
        "c4": "Câu trả lời cho câu hỏi cuối cùng của cuộc thi là {c}.",
        "c5": "Anh họ tôi đã viết {c} lên tấm bưu thiếp.",
        "cp": "Ở trang {a} của tập bản đồ, tên đầu tiên là {c}.",
        "cl1": "Danh sách trên bảng ghi: {cl}.",
        "cl2": "Năm nay đội sẽ đến thăm các nước sau: {cl}.",
        "l1": "Cuốn sách này được viết bằng {l}.",
        "l2": "Ngôn ngữ phụ đề: {l}.",
        "l3": "Hướng dẫn viên cũng nói được {l}.",
        "ll": "Khóa học được giảng dạy bằng các ngôn ngữ sau: {ll}.",
        "ln": "Bài số {a}: {l}.",
        "m1": "{m} là tháng tôi thích nhất.",
        "m2": "Từ đầu tiên trên trang lịch này là {m}.",
        "ml": "Phiên chợ được tổ chức vào những tháng sau: {ml}.",
        "w1": "Hôm nay là {w}.",
        "w2": "Ngày mai là {w}.",
        "w3": "Ngày tôi thích nhất trong tuần là {w}.",
        "wl": "Cửa hàng mở cửa vào những ngày sau: {wl}.",
        "cur": "Đơn vị tiền tệ trên tờ tiền này là {cur}.",
        "u": "Đơn vị ở cột cuối cùng của bảng là {u}.",
        "add": "{a} cộng {b} bằng {r}.",
        "sub": "{a} trừ {b} bằng {r}.",
        "mul": "{a} nhân {b} bằng {r}.",
        "page": "Hãy mở sách ra trang {a}.",
        "room": "Phòng số {a} ở tầng {b}.",
    },
    "hi_in": {
        "c1": "एटलस में अगला नाम {c} है।",
        "c2": "पुराने नक्शे पर {c} शब्द बड़े अक्षरों में लिखा है।",
        "c3": "सूटकेस के लेबल पर {c} लिखा है।",
        "c4": "प्रश्नोत्तरी के आख़िरी सवाल का जवाब {c} था।",
        "c5": "मेरे चचेरे भाई ने पोस्टकार्ड पर {c} लिखा।",
        "cp": "एटलस के पृष्ठ {a} पर पहला नाम {c} है।",
        "cl1": "बोर्ड पर लिखी सूची में ये नाम हैं: {cl}।",
        "cl2": "इस साल टीम इन देशों की यात्रा करेगी: {cl}।",
        "l1": "यह किताब {l} में लिखी गई है।",
        "l2": "उपशीर्षकों की भाषा: {l}।",
        "l3": "गाइड {l} भी बोलता है।",
        "ll": "यह पाठ्यक्रम इन भाषाओं में उपलब्ध है: {ll}।",
        "ln": "पाठ संख्या {a}: {l}।",
        "m1": "{m} मेरा पसंदीदा महीना है।",
        "m2": "कैलेंडर के इस पन्ने पर पहला शब्द {m} है।",
        "ml": "मेला इन महीनों में लगता है: {ml}।",
        "w1": "आज {w} है।",
        "w2": "कल {w} होगा।",
        "w3": "हफ़्ते में मेरा पसंदीदा दिन {w} है।",
        "wl": "दुकान इन दिनों खुली रहती है: {wl}।",
        "cur": "इस नोट पर छपी मुद्रा का नाम {cur} है।",
        "u": "तालिका के आख़िरी स्तंभ की इकाई {u} है।",
        "add": "{a} जमा {b} बराबर {r}।",
        "sub": "{a} घटा {b} बराबर {r}।",
        "mul": "{a} गुणा {b} बराबर {r}।",
        "page": "कृपया किताब का पृष्ठ {a} खोलिए।",
        "room": "कमरा नंबर {a} मंज़िल नंबर {b} पर है।",
    },
    "ar_eg": {
        "c1": "الاسم التالي في الأطلس هو {c}.",
        "c2": "كتبت كلمة {c} بحروف كبيرة على الخريطة القديمة.",
        "c3": "مكتوب على ملصق الحقيبة: {c}.",
        "c4": "كانت إجابة السؤال الأخير في المسابقة: {c}.",
        "c5": "كتب ابن عمي على البطاقة البريدية: {c}.",
        "cp": "في الصفحة رقم {a} من الأطلس، الاسم الأول هو {c}.",
        "cl1": "القائمة على السبورة تقول: {cl}.",
        "cl2": "هذا العام سيزور الفريق هذه البلدان: {cl}.",
        "l1": "لغة هذا الكتاب هي {l}.",
        "l2": "لغة الترجمة: {l}.",
        "l3": "المرشد يتحدث {l} أيضا.",
        "ll": "تقدم الدورة بهذه اللغات: {ll}.",
        "ln": "الدرس رقم {a}: {l}.",
        "m1": "{m} هو شهري المفضل.",
        "m2": "الكلمة الأولى في صفحة التقويم هذه هي {m}.",
        "ml": "يقام السوق في هذه الأشهر: {ml}.",
        "w1": "اليوم هو {w}.",
        "w2": "غدا هو {w}.",
        "w3": "يومي المفضل في الأسبوع هو {w}.",
        "wl": "المتجر مفتوح في هذه الأيام: {wl}.",
        "cur": "اسم العملة على هذه الورقة النقدية هو {cur}.",
        "u": "الوحدة في العمود الأخير من الجدول هي {u}.",
        "add": "{a} زائد {b} يساوي {r}.",
        "sub": "{a} ناقص {b} يساوي {r}.",
        "mul": "{a} ضرب {b} يساوي {r}.",
        "page": "من فضلك افتح الكتاب على الصفحة رقم {a}.",
        "room": "الغرفة رقم {a} في الطابق رقم {b}.",
    },
    "fa_ir": {
        "c1": "نام بعدی در اطلس {c} است.",
        "c2": "روی نقشه قدیمی، کلمه {c} با حروف درشت نوشته شده است.",
        "c3": "روی برچسب چمدان نوشته شده: {c}.",
        "c4": "پاسخ آخرین سؤال مسابقه {c} بود.",
        "c5": "پسرعمویم روی کارت پستال نوشت: {c}.",
        "cp": "در صفحه {a} اطلس، اولین نام {c} است.",
        "cl1": "در فهرست روی تخته نوشته شده: {cl}.",
        "cl2": "تیم امسال از این کشورها دیدن می‌کند: {cl}.",
        "l1": "زبان این کتاب {l} است.",
        "l2": "زبان زیرنویس: {l}.",
        "l3": "راهنما به زبان {l} هم صحبت می‌کند.",
        "ll": "این دوره به این زبان‌ها ارائه می‌شود: {ll}.",
        "ln": "درس شماره {a}: {l}.",
        "m1": "{m} ماه مورد علاقه من است.",
        "m2": "اولین کلمه در این صفحه تقویم {m} است.",
        "ml": "بازار در این ماه‌ها برپا می‌شود: {ml}.",
        "w1": "امروز {w} است.",
        "w2": "فردا {w} است.",
        "w3": "روز مورد علاقه من در هفته {w} است.",
        "wl": "مغازه در این روزها باز است: {wl}.",
        "cur": "نام واحد پول روی این اسکناس {cur} است.",
        "u": "واحد ستون آخر جدول {u} است.",
        "add": "{a} به علاوه {b} می‌شود {r}.",
        "sub": "{a} منهای {b} می‌شود {r}.",
        "mul": "{a} ضرب در {b} می‌شود {r}.",
        "page": "لطفا کتاب را در صفحه {a} باز کنید.",
        "room": "اتاق شماره {a} در طبقه {b} است.",
    },
    "el_gr": {
        "c1": "Το επόμενο όνομα στον άτλαντα είναι {c}.",
        "c2": "Στον παλιό χάρτη, η λέξη {c} είναι γραμμένη με μεγάλα γράμματα.",
        "c3": "Στην ετικέτα της βαλίτσας γράφει {c}.",
        "c4": "Η απάντηση στην τελευταία ερώτηση του κουίζ ήταν {c}.",
        "c5": "Ο ξάδερφός μου έγραψε {c} στην κάρτα.",
        "cp": "Στη σελίδα {a} του άτλαντα, το πρώτο όνομα είναι {c}.",
        "cl1": "Η λίστα στον πίνακα γράφει: {cl}.",
        "cl2": "Φέτος η ομάδα θα επισκεφθεί αυτές τις χώρες: {cl}.",
        "l1": "Η γλώσσα αυτού του βιβλίου είναι {l}.",
        "l2": "Γλώσσα υποτίτλων: {l}.",
        "l3": "Ο ξεναγός μιλάει επίσης {l}.",
        "ll": "Το μάθημα προσφέρεται σε αυτές τις γλώσσες: {ll}.",
        "ln": "Μάθημα {a}: {l}.",
        "m1": "Ο {m} είναι ο αγαπημένος μου μήνας.",
        "m2": "Η πρώτη λέξη σε αυτή τη σελίδα του ημερολογίου είναι {m}.",
        "ml": "Η αγορά γίνεται αυτούς τους μήνες: {ml}.",
        "w1": "Σήμερα είναι {w}.",
        "w2": "Αύριο είναι {w}.",
        "w3": "Η αγαπημένη μου μέρα της εβδομάδας είναι {w}.",
        "wl": "Το κατάστημα είναι ανοιχτό αυτές τις μέρες: {wl}.",
        "cur": "Το νόμισμα σε αυτό το χαρτονόμισμα λέγεται {cur}.",
        "u": "Η μονάδα στην τελευταία στήλη του πίνακα είναι {u}.",
        "add": "{a} συν {b} ίσον {r}.",
        "sub": "{a} πλην {b} ίσον {r}.",
        "mul": "{a} επί {b} ίσον {r}.",
        "page": "Παρακαλώ ανοίξτε το βιβλίο στη σελίδα {a}.",
        "room": "Το δωμάτιο {a} βρίσκεται στον όροφο {b}.",
    },
    "cmn_hans_cn": {
        "c1": "地图册里的下一个名字是{c}。",
        "c2": "在那张旧地图上，{c}这个词用大字写着。",
        "c3": "行李箱的标签上写着{c}。",
        "c4": "知识竞赛最后一道题的答案是{c}。",
        "c5": "我的表哥在明信片上写了{c}。",
        "cp": "地图册第{a}页上的第一个名字是{c}。",
        "cl1": "黑板上的名单写着：{cl}。",
        "cl2": "今年团队将访问这些国家：{cl}。",
        "l1": "这本书是用{l}写的。",
        "l2": "字幕语言：{l}。",
        "l3": "导游也会说{l}。",
        "ll": "这门课程提供以下语言：{ll}。",
        "ln": "第{a}课：{l}。",
        "m1": "{m}是我最喜欢的月份。",
        "m2": "这页日历上的第一个词是{m}。",
        "ml": "集市在这几个月举行：{ml}。",
        "w1": "今天是{w}。",
        "w2": "明天是{w}。",
        "w3": "一周中我最喜欢的一天是{w}。",
        "wl": "商店在这几天营业：{wl}。",
        "cur": "这张纸币上的货币叫{cur}。",
        "u": "表格最后一列的单位是{u}。",
        "add": "{a}加{b}等于{r}。",
        "sub": "{a}减{b}等于{r}。",
        "mul": "{a}乘以{b}等于{r}。",
        "page": "请把书翻到第{a}页。",
        "room": "{a}号房间在{b}楼。",
    },
    "ja_jp": {
        "c1": "地図帳の次の名前は{c}です。",
        "c2": "古い地図には、{c}という言葉が大きな文字で書かれています。",
        "c3": "スーツケースのラベルには{c}と書いてあります。",
        "c4": "クイズの最後の問題の答えは{c}でした。",
        "c5": "いとこは絵はがきに{c}と書きました。",
        "cp": "地図帳の{a}ページにある最初の名前は{c}です。",
        "cl1": "黒板のリストには{cl}と書いてあります。",
        "cl2": "今年、チームは次の国々を訪れます：{cl}。",
        "l1": "この本は{l}で書かれています。",
        "l2": "字幕の言語：{l}。",
        "l3": "ガイドは{l}も話せます。",
        "ll": "このコースは次の言語で提供されています：{ll}。",
        "ln": "第{a}課：{l}。",
        "m1": "{m}は私のいちばん好きな月です。",
        "m2": "このカレンダーのページの最初の言葉は{m}です。",
        "ml": "市場は次の月に開かれます：{ml}。",
        "w1": "今日は{w}です。",
        "w2": "明日は{w}です。",
        "w3": "一週間でいちばん好きな曜日は{w}です。",
        "wl": "その店は次の曜日に開いています：{wl}。",
        "cur": "この紙幣の通貨は{cur}といいます。",
        "u": "表の最後の列の単位は{u}です。",
        "add": "{a}足す{b}は{r}です。",
        "sub": "{a}引く{b}は{r}です。",
        "mul": "{a}掛ける{b}は{r}です。",
        "page": "本の{a}ページを開いてください。",
        "room": "{a}号室は{b}階にあります。",
    },
    "ko_kr": {
        "c1": "지도책의 다음 이름은 {c}입니다.",
        "c2": "낡은 지도에 큰 글씨로 쓰인 단어는 {c}입니다.",
        "c3": "여행 가방의 라벨에 적힌 글자는 {c}입니다.",
        "c4": "퀴즈 마지막 문제의 정답은 {c}입니다.",
        "c5": "사촌이 엽서에 쓴 이름은 {c}입니다.",
        "cp": "지도책 {a} 페이지의 첫 번째 이름은 {c}입니다.",
        "cl1": "칠판의 목록에는 다음이 적혀 있습니다: {cl}.",
        "cl2": "올해 팀은 다음 나라들을 방문합니다: {cl}.",
        "l1": "이 책의 언어는 {l}입니다.",
        "l2": "자막 언어: {l}.",
        "l3": "가이드는 {l}도 할 줄 압니다.",
        "ll": "이 강좌는 다음 언어로 제공됩니다: {ll}.",
        "ln": "제{a}과: {l}.",
        "m1": "{m}은 제가 가장 좋아하는 달입니다.",
        "m2": "이 달력 페이지의 첫 단어는 {m}입니다.",
        "ml": "시장이 열리는 달: {ml}.",
        "w1": "오늘은 {w}입니다.",
        "w2": "내일은 {w}입니다.",
        "w3": "일주일 중 제가 가장 좋아하는 요일은 {w}입니다.",
        "wl": "가게가 문을 여는 요일: {wl}.",
        "cur": "이 지폐의 통화 이름은 {cur}입니다.",
        "u": "표의 마지막 열의 단위는 {u}입니다.",
        "add": "{a} 더하기 {b}(은)는 {r}입니다.",
        "sub": "{a} 빼기 {b}(은)는 {r}입니다.",
        "mul": "{a} 곱하기 {b}(은)는 {r}입니다.",
        "page": "책의 {a} 페이지를 펴 주세요.",
        "room": "{a}호실은 {b}층에 있습니다.",
    },
}

#: Languages with template translations (full sentence variety).
TEMPLATE_LANGS: List[str] = sorted(_TEMPLATES)

#: Languages supported with CLDR-only forms (lists of names).  Chosen because
#: their CLDR data cover most of the names used here, in the language's own
#: script, and are mostly not copies of the English names (which rules out
#: e.g. ceb_ph, fil_ph, ig_ng, luo_ke, ms_my, sn_zw; nso_za, ny_mw, zu_za lack
#: territory names; umb_ao has no CLDR locale).  Left out as well: cy_gb and
#: lb_lu (their list patterns hold placeholders, "a(c)", "a(n)", that depend
#: on the next word), kam_ke (names in Swahili) and xh_za (mostly English).  Filled in at the end of the module.
CLDR_ONLY_LANGS: List[str] = []

#: Default languages: 13 languages in 6 scripts that espeak-ng speaks well.
DEFAULT_LANGS: List[str] = [
    "en_us", "fr_fr", "de_de", "es_419", "it_it", "pt_br",  # Latin
    "vi_vn",  # Latin (with tones)
    "ru_ru", "uk_ua",  # Cyrillic
    "el_gr",  # Greek
    "hi_in",  # Devanagari
    "ar_eg",  # Arabic
    "cmn_hans_cn",  # Han
]

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
def _slot_text(kind: str, value: Union[str, int, Tuple], lang: str) -> Optional[str]:
    """Text of a slot: one name, a number in words, or a CLDR list of names."""
    if kind in _LIST_KIND:
        names = [_name(_LIST_KIND[kind], v, lang) for v in value]
        if not all(names) or len(set(names)) != len(names):
            return None
        return normalize_text(format_list(names, style="standard", locale=_locale(lang)))
    return _name(kind, value, lang)


def _finish(lang: str, text: str) -> Optional[str]:
    """Final clean-up of a filled template: spacing, particles, capital letter."""
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


# ---------------------------------------------------------------------------
# Slot inventories.  Fixed lists (not computed at import) so that sentence ids
# keep their meaning; chosen so that every name is clean in every template
# language (a value that is unusable in some other language just makes the
# candidates that use it unavailable for requests with that language).
# ---------------------------------------------------------------------------

COUNTRY_CODES: Tuple[str, ...] = tuple("""
AC AD AF AI AL AM AO AQ AR AS AT AU AW AX AZ BB BD BE BF BG BH BI BJ BM BN BO BR BS
BT BV BW BY BZ CA CF CH CI CK CL CM CN CO CP CQ CR CU CV CW CX CY CZ DE DG DJ DK DM
DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ
GR GT GU GW GY HN HR HT HU IC ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI
KM KR KW KY KZ LA LB LI LK LR LS LT LU LV LY MA MC MD ME MG MH MK ML MN MP MQ MR MS
MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PH PK PL PN PR
PS PT PW PY QA RE RO RS RU RW SB SC SD SE SG SI SK SL SM SN SO SR SS SV SY SZ TD TG
TH TJ TK TM TN TO TR TV TW TZ UA UG UY UZ VA VE VU WS XK YE YT ZA ZM ZW
""".split())

LANGUAGE_CODES: Tuple[str, ...] = tuple("""
am as az be bg bn bs ca cs cy da de el en es et eu fa fi fr ga gl gu ha he hi hr hu
hy id ig is ja jv ka kk km kn ko ky la lb lo lt lv mg mi mk ml mn mr ms mt my ne nl
pa pl ps pt ro ru sd si sk sl so sq sr sv sw ta te tg th tk tr uk ur uz vi xh yo zh
zu yue eo fo fy haw iu kl ku ln lg om or qu rw sa sn st tn ti to ug wo yi
""".split())

CURRENCY_CODES: Tuple[str, ...] = tuple("""
EUR GBP JPY CNY INR RUB CHF CAD AUD BRL MXN KRW TRY SEK NOK DKK PLN CZK HUF ZAR EGP
IRR NGN KES IDR VND THB PHP PKR UAH ARS CLP COP PEN NZD SGD HKD ILS MAD DZD TND GHS
ETB BDT LKR MYR ISK RON BGN KZT GEL AMD AZN QAR KWD JOD IQD NPR KHR LAK MNT UZS
""".split())

UNIT_IDS: Tuple[str, ...] = tuple("""
length-kilometer length-meter length-centimeter length-millimeter length-mile
length-foot length-inch length-yard mass-kilogram mass-gram mass-tonne mass-ounce
volume-liter volume-milliliter duration-hour duration-minute duration-second
duration-day duration-week duration-month duration-year duration-century
area-hectare area-square-meter area-square-kilometer area-acre energy-kilocalorie
energy-joule power-kilowatt power-horsepower electric-volt electric-ampere
electric-ohm frequency-hertz frequency-megahertz pressure-hectopascal angle-degree
volume-cubic-meter length-light-year
""".split())

MONTHS: Tuple[int, ...] = tuple(range(1, 13))
WEEKDAYS: Tuple[int, ...] = tuple(range(7))  # CLDR order, Monday first

# ---------------------------------------------------------------------------
# Sentence sources
# ---------------------------------------------------------------------------

_ID_RE = re.compile(r"s(\d{2})(\d{5})")
_LIST_SPACE = 50_000  # candidates per random-list source (draws may repeat a list)

Spec = Dict[str, Tuple[str, object]]


@dataclass(frozen=True)
class _Source:
    """One kind of sentence: a template key (or a bare CLDR form) and its slot space."""

    block: int  # first two digits of the ids; never reuse a block for other content
    key: str  # template key; for bare sources the name of the form
    weight: float  # relative draw probability
    size: int  # number of candidate indices
    make: Callable[[int], Optional[Spec]]  # index -> slot specification
    bare: bool = False  # CLDR-only form: the text is the slot "x" alone


def _single(slot: str, kind: str, values: Sequence) -> Tuple[int, Callable[[int], Spec]]:
    return len(values), lambda k: {slot: (kind, values[k])}


def _product(axes: Sequence[Tuple[str, str, Sequence]],
             derive: Optional[Callable[[Dict[str, object]], Optional[Dict[str, int]]]] = None,
             ) -> Tuple[int, Callable[[int], Optional[Spec]]]:
    sizes = [len(values) for _, _, values in axes]
    total = 1
    for size in sizes:
        total *= size

    def make(k: int) -> Optional[Spec]:
        spec: Spec = {}
        for (slot, kind, values), size in zip(reversed(axes), reversed(sizes)):
            k, j = divmod(k, size)
            spec[slot] = (kind, values[j])
        if derive is not None:
            extra = derive({slot: value for slot, (_, value) in spec.items()})
            if extra is None:
                return None
            spec.update({slot: ("number", value) for slot, value in extra.items()})
        return spec

    return total, make


def _random_lists(slot: str, kind: str, values: Sequence, lo: int, hi: int, name: str,
                  ) -> Tuple[int, Callable[[int], Spec]]:
    def make(k: int) -> Spec:
        rng = random.Random(f"{name}:{k}")
        return {slot: (kind, tuple(rng.sample(values, rng.randint(lo, hi))))}

    return _LIST_SPACE, make


def _combinations(slot: str, kind: str, values: Sequence, sizes: Iterable[int],
                  ) -> Tuple[int, Callable[[int], Spec]]:
    combos = [c for n in sizes for c in itertools.combinations(values, n)]
    return len(combos), lambda k: {slot: (kind, combos[k])}


def _numbers(lo: int, hi: int) -> Tuple[int, ...]:
    return tuple(range(lo, hi + 1))


def _source(block: int, key: str, weight: float, space: Tuple[int, Callable], bare: bool = False) -> _Source:
    size, make = space
    return _Source(block, key, weight, size, make, bare)


_SUB_PAIRS = [(a, b) for a in range(2, 100) for b in range(1, a)]

_SOURCES: Tuple[_Source, ...] = (
    _source(1, "c1", 2.0, _single("c", "country", COUNTRY_CODES)),
    _source(2, "c2", 2.0, _single("c", "country", COUNTRY_CODES)),
    _source(3, "c3", 2.0, _single("c", "country", COUNTRY_CODES)),
    _source(4, "c4", 2.0, _single("c", "country", COUNTRY_CODES)),
    _source(5, "c5", 2.0, _single("c", "country", COUNTRY_CODES)),
    _source(6, "cp", 2.0, _product([("a", "number", _numbers(1, 200)), ("c", "country", COUNTRY_CODES)])),
    _source(7, "cl1", 3.0, _random_lists("cl", "countries", COUNTRY_CODES, 2, 4, "cl1")),
    _source(8, "cl2", 3.0, _random_lists("cl", "countries", COUNTRY_CODES, 2, 4, "cl2")),
    _source(9, "l1", 1.5, _single("l", "language", LANGUAGE_CODES)),
    _source(10, "l2", 1.5, _single("l", "language", LANGUAGE_CODES)),
    _source(11, "l3", 1.5, _single("l", "language", LANGUAGE_CODES)),
    _source(12, "ll", 2.0, _random_lists("ll", "languages", LANGUAGE_CODES, 2, 4, "ll")),
    _source(13, "ln", 1.0, _product([("a", "number", _numbers(1, 60)), ("l", "language", LANGUAGE_CODES)])),
    _source(14, "m1", 0.5, _single("m", "month", MONTHS)),
    _source(15, "m2", 0.5, _single("m", "month", MONTHS)),
    _source(16, "ml", 1.0, _combinations("ml", "months", MONTHS, (2, 3))),
    _source(17, "w1", 0.5, _single("w", "weekday", WEEKDAYS)),
    _source(18, "w2", 0.5, _single("w", "weekday", WEEKDAYS)),
    _source(19, "w3", 0.5, _single("w", "weekday", WEEKDAYS)),
    _source(20, "wl", 1.0, _combinations("wl", "weekdays", WEEKDAYS, (2, 3, 4))),
    _source(21, "cur", 1.0, _single("cur", "currency", CURRENCY_CODES)),
    _source(22, "u", 1.0, _single("u", "unit", UNIT_IDS)),
    _source(23, "add", 1.5, _product([("a", "number", _numbers(1, 99)), ("b", "number", _numbers(1, 99))],
                                     lambda v: {"r": v["a"] + v["b"]})),
    _source(24, "sub", 1.5, _product([("ab", "pair", _SUB_PAIRS)],
                                     lambda v: {"a": v["ab"][0], "b": v["ab"][1], "r": v["ab"][0] - v["ab"][1]})),
    _source(25, "mul", 1.0, _product([("a", "number", _numbers(2, 20)), ("b", "number", _numbers(2, 20))],
                                     lambda v: {"r": v["a"] * v["b"]})),
    _source(26, "page", 1.0, _single("a", "number", _numbers(1, 999))),
    _source(27, "room", 1.0, _product([("a", "number", _numbers(1, 999)), ("b", "number", _numbers(1, 20))])),
    # CLDR-only forms (no translation needed): bare lists of names.
    _source(40, "countries", 2.0, _random_lists("x", "countries", COUNTRY_CODES, 2, 4, "bare-countries"), True),
    _source(41, "languages", 1.0, _random_lists("x", "languages", LANGUAGE_CODES, 2, 4, "bare-languages"), True),
    _source(42, "months", 0.5, _combinations("x", "months", MONTHS, (2, 3)), True),
    _source(43, "weekdays", 0.5, _combinations("x", "weekdays", WEEKDAYS, (2, 3, 4)), True),
    _source(44, "currencies", 1.0, _random_lists("x", "currencies", CURRENCY_CODES, 2, 3, "bare-currencies"), True),
)
_SOURCE_BY_BLOCK: Dict[int, _Source] = {s.block: s for s in _SOURCES}
assert len(_SOURCE_BY_BLOCK) == len(_SOURCES) and all(s.size <= 100_000 for s in _SOURCES)
assert all(s.bare or all(s.key in t for t in _TEMPLATES.values()) for s in _SOURCES)


def _sentence_id(block: int, index: int) -> str:
    return f"s{block:02d}{index:05d}"


def _parse_id(sent_id: str) -> Tuple[_Source, int]:
    match = _ID_RE.fullmatch(sent_id)
    source = _SOURCE_BY_BLOCK.get(int(match.group(1))) if match else None
    if source is None or int(match.group(2)) >= source.size:
        raise ValueError(f"{sent_id!r} is not a sentence id of usm_espnet.standin.parallel_text")
    return source, int(match.group(2))


def _render(source: _Source, index: int, langs: Sequence[str]) -> Optional[Dict[str, str]]:
    """Texts of one candidate in every language, or None if unusable in one of them."""
    spec = source.make(index)
    if spec is None:
        return None
    spec = {slot: value for slot, value in spec.items() if value[0] != "pair"}
    texts = {}
    for lang in langs:
        values = {}
        for slot, (kind, value) in spec.items():
            values[slot] = _slot_text(kind, value, lang)
            if values[slot] is None:
                return None
        template = "{x}" if source.bare else _TEMPLATES[lang][source.key]
        text = _finish(lang, template.format(**values))
        if text is None:
            return None
        texts[lang] = text
    return texts


class _Drawer:
    """Draws the indices of one source in a seeded random order, without repeats."""

    def __init__(self, source: _Source, seed: int, used: Set[int]) -> None:
        self.size = source.size
        self.used = used
        self.rng = random.Random(f"parallel-text/{seed}/{source.block}")
        self.order: Optional[List[int]] = None
        if self.size <= 5000:  # small: a full permutation
            self.order = list(range(self.size))
            self.rng.shuffle(self.order)
            self.order.reverse()

    def next(self) -> Optional[int]:
        if self.order is not None:
            while self.order:
                k = self.order.pop()
                if k not in self.used:
                    self.used.add(k)
                    return k
            return None
        while len(self.used) < self.size:  # large: rejection sampling
            k = self.rng.randrange(self.size)
            if k not in self.used:
                self.used.add(k)
                return k
        return None


# ---------------------------------------------------------------------------
# Parallel text container
# ---------------------------------------------------------------------------


class ParallelText:
    """N-way parallel sentences: one text per (sentence id, language).

    Args:
        ids: sentence ids (unique).
        langs: FLEURS language codes (unique).
        texts: ``texts[lang][sent_id]`` for every language and id.
    """

    def __init__(self, ids: Sequence[str], langs: Sequence[str],
                 texts: Mapping[str, Mapping[str, str]]) -> None:
        self.ids: List[str] = list(ids)
        self.langs: List[str] = list(langs)
        if len(set(self.ids)) != len(self.ids):
            raise ValueError("duplicate sentence ids")
        if len(set(self.langs)) != len(self.langs):
            raise ValueError(f"duplicate languages in {self.langs}")
        self._texts: Dict[str, Dict[str, str]] = {}
        for lang in self.langs:
            row = texts.get(lang)
            if row is None:
                raise ValueError(f"no texts for language {lang!r}")
            missing = [i for i in self.ids if i not in row]
            if missing:
                raise ValueError(f"language {lang!r} lacks {len(missing)} sentence(s), e.g. {missing[0]!r}")
            self._texts[lang] = {i: row[i] for i in self.ids}
            bad = [i for i, t in self._texts[lang].items() if "\t" in t or "\n" in t or "\r" in t]
            if bad:
                raise ValueError(f"text of {bad[0]!r} in {lang!r} contains a tab or line break")

    def text(self, sent_id: str, lang: str) -> str:
        """The text of one sentence in one language.

        Args:
            sent_id: a sentence id of this set.
            lang: one of ``self.langs``.
        """
        if lang not in self._texts:
            raise KeyError(f"language {lang!r} not in this parallel text ({self.langs})")
        try:
            return self._texts[lang][sent_id]
        except KeyError:
            raise KeyError(f"sentence id {sent_id!r} not in this parallel text") from None

    def sentences(self, lang: str) -> Dict[str, str]:
        """All sentences of one language, ``{sent_id: text}`` in ``self.ids`` order.

        Args:
            lang: one of ``self.langs``.
        """
        if lang not in self._texts:
            raise KeyError(f"language {lang!r} not in this parallel text ({self.langs})")
        return dict(self._texts[lang])

    def subset(self, ids: Iterable[str]) -> "ParallelText":
        """A ParallelText restricted to ``ids`` (kept in the given order).

        Args:
            ids: sentence ids of this set.
        """
        ids = list(ids)
        return ParallelText(ids, self.langs, {l: {i: self.text(i, l) for i in ids} for l in self.langs})

    def __len__(self) -> int:
        return len(self.ids)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, ParallelText) and self.ids == other.ids and self.langs == other.langs
                and self._texts == other._texts)

    def __repr__(self) -> str:
        return f"ParallelText({len(self.ids)} sentences, langs={self.langs})"


# ---------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------


def _check_langs(langs: Sequence[str]) -> List[str]:
    if isinstance(langs, str):
        raise TypeError("langs must be a sequence of language codes, not a string")
    langs = list(langs)
    if not langs:
        raise ValueError("no languages given")
    if len(set(langs)) != len(langs):
        raise ValueError(f"duplicate languages in {langs}")
    for lang in langs:
        check_language(lang)
        if lang not in SUPPORTED_LANGS:
            raise ValueError(
                f"language {lang!r} ({FLEURS_LANGUAGES[lang][0]}) is a FLEURS language but is not "
                f"supported by usm_espnet.standin.parallel_text (no template translations and no usable "
                f"CLDR data); supported: {' '.join(SUPPORTED_LANGS)}"
            )
    return langs


def _available_sources(langs: Sequence[str]) -> List[_Source]:
    bare_only = any(lang not in _TEMPLATES for lang in langs)
    return [s for s in _SOURCES if s.bare or not bare_only]


def generate_parallel_text(langs: Sequence[str], num_sentences: int, seed: int = 0,
                           exclude: Optional[Iterable[str]] = None) -> ParallelText:
    """Generate ``num_sentences`` n-way parallel sentences.

    Candidates are drawn in a seeded order that mixes all sentence sources; a
    candidate is kept only if its text is new within each language (compared
    by ``text_key``, i.e. also after lower-casing and removing punctuation)
    and clean in every language.  The result is deterministic for
    ``(langs, num_sentences, seed, exclude)``, and a smaller ``num_sentences``
    gives a subset of a larger one.  If any language of ``langs`` has no
    template translations (``CLDR_ONLY_LANGS``), only the CLDR-only list forms
    are used, for every language.

    Args:
        langs: FLEURS codes from ``SUPPORTED_LANGS``.
        num_sentences: number of sentences to produce.
        seed: chooses which contents are drawn (ids keep their meaning across seeds).
        exclude: sentence ids (e.g. ``other.ids`` of an earlier call, any seed)
            that must not be produced; sentences whose text equals the text of
            an excluded id in any requested language are not produced either.
            Use this to draw unpaired text disjoint from a paired set.

    Returns:
        ParallelText with ids sorted.

    Raises:
        UnknownLanguageError: a code that is not a FLEURS code.
        ValueError: a FLEURS language that is not supported (the message names
            it), or more sentences than can be generated distinct in every language.
    """
    langs = _check_langs(langs)
    if num_sentences < 0:
        raise ValueError(f"num_sentences must be >= 0, got {num_sentences}")
    sources = _available_sources(langs)
    used: Dict[int, Set[int]] = {s.block: set() for s in sources}
    seen: Dict[str, Set[str]] = {lang: set() for lang in langs}
    for sent_id in exclude or ():
        source, index = _parse_id(sent_id)
        if source.block not in used or index in used[source.block]:
            continue
        used[source.block].add(index)
        texts = _render(source, index, langs)
        for lang, text in (texts or {}).items():
            seen[lang].add(text_key(text))
    capacity = sum(s.size - len(used[s.block]) for s in sources)
    mode = "CLDR-only list forms" if any(l not in _TEMPLATES for l in langs) else "templates and CLDR forms"
    if num_sentences > capacity:
        raise ValueError(
            f"cannot generate {num_sentences} distinct sentences for {langs}: at most {capacity} "
            f"candidates exist ({mode})"
        )
    rng = random.Random(f"parallel-text/{seed}")
    drawers = {s.block: _Drawer(s, seed, used[s.block]) for s in sources}
    active = list(sources)
    chosen: Dict[str, Dict[str, str]] = {}
    while len(chosen) < num_sentences:
        if not active:
            raise ValueError(
                f"cannot generate {num_sentences} distinct sentences for {langs}: only "
                f"{len(chosen)} exist ({mode})"
            )
        source = rng.choices(active, weights=[s.weight for s in active])[0]
        index = drawers[source.block].next()
        if index is None:
            active.remove(source)
            continue
        texts = _render(source, index, langs)
        if texts is None:
            continue
        keys = {lang: text_key(texts[lang]) for lang in langs}
        if any(keys[lang] in seen[lang] for lang in langs):
            continue
        for lang in langs:
            seen[lang].add(keys[lang])
        chosen[_sentence_id(source.block, index)] = texts
    ids = sorted(chosen)
    return ParallelText(ids, langs, {lang: {i: chosen[i][lang] for i in ids} for lang in langs})


# ---------------------------------------------------------------------------
# Splits
# ---------------------------------------------------------------------------


def _text_groups(pt: ParallelText) -> List[List[str]]:
    """Groups of ids whose texts (``text_key``) coincide, transitively, in any language."""
    parent = {i: i for i in pt.ids}

    def find(i: str) -> str:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for lang in pt.langs:
        first: Dict[str, str] = {}
        for sent_id, text in pt.sentences(lang).items():
            other = first.setdefault(text_key(text), sent_id)
            if other != sent_id:
                parent[find(sent_id)] = find(other)
    groups: Dict[str, List[str]] = {}
    for sent_id in pt.ids:
        groups.setdefault(find(sent_id), []).append(sent_id)
    return list(groups.values())


def split_ids(pt: ParallelText,
              fractions: Optional[Dict[str, float]] = None,
              seed: int = 0, cover_chars: bool = True) -> Dict[str, List[str]]:
    """Split sentence ids into disjoint sets (e.g. train/dev/test).

    Ids whose text coincides in any language (compared by ``text_key``, so
    also after lower-casing and removing punctuation) are grouped and each
    group goes to one split, so no held-out sentence text (in any language)
    appears in train.  The split named ``"train"`` (else the largest fraction) receives
    everything not held out; the others are filled to about their fraction.

    Args:
        pt: the parallel text.
        fractions: split name -> fraction (positive, summing to 1).
        seed: seed of the random assignment.
        cover_chars: hold out only groups whose characters (per language) all
            still occur in train, so that a character-level model sees every
            held-out character in training.

    Returns:
        split name -> ids (in ``pt.ids`` order).
    """
    if fractions is None:
        fractions = {"train": 0.8, "dev": 0.1, "test": 0.1}
    if not fractions or any(f <= 0 for f in fractions.values()):
        raise ValueError(f"fractions must be positive: {fractions}")
    if abs(sum(fractions.values()) - 1.0) > 1e-6:
        raise ValueError(f"fractions must sum to 1: {fractions}")
    train = "train" if "train" in fractions else max(fractions, key=lambda k: fractions[k])
    held_out = [name for name in fractions if name != train]
    groups = _text_groups(pt)
    order = list(range(len(groups)))
    random.Random(f"split/{seed}").shuffle(order)
    n = len(pt.ids)
    target = {name: round(fractions[name] * n) for name in held_out}
    filled = {name: 0 for name in held_out}
    group_chars: List[Set[Tuple[str, str]]] = []
    counts: Dict[Tuple[str, str], int] = {}
    for group in groups:
        chars = {(lang, ch) for lang in pt.langs for i in group for ch in pt.text(i, lang) if not ch.isspace()}
        group_chars.append(chars)
        for c in chars:
            counts[c] = counts.get(c, 0) + 1
    assignment = {name: set() for name in fractions}
    for g in order:
        open_splits = [name for name in held_out if filled[name] < target[name]]
        name = max(open_splits, key=lambda s: target[s] - filled[s]) if open_splits else train
        if name != train and cover_chars and any(counts[c] <= 1 for c in group_chars[g]):
            name = train
        if name != train:
            for c in group_chars[g]:
                counts[c] -= 1
            filled[name] += len(groups[g])
        assignment[name].update(groups[g])
    return {name: [i for i in pt.ids if i in assignment[name]] for name in fractions}


# ---------------------------------------------------------------------------
# TSV
# ---------------------------------------------------------------------------


def write_parallel_tsv(pt: ParallelText, path: Union[str, Path]) -> None:
    """Write ``pt`` as UTF-8 TSV: header ``id<TAB>lang1<TAB>...``, one row per sentence.

    Args:
        pt: the parallel text.
        path: output file.
    """
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("\t".join(["id", *pt.langs]) + "\n")
        for sent_id in pt.ids:
            f.write("\t".join([sent_id, *(pt.text(sent_id, lang) for lang in pt.langs)]) + "\n")


def read_parallel_tsv(path: Union[str, Path]) -> ParallelText:
    """Read a TSV written by ``write_parallel_tsv``.

    Args:
        path: the TSV file.

    Raises:
        ValueError: malformed file; the message names ``file:line``.
        UnknownLanguageError: a header column that is not a FLEURS code.
    """
    with open(path, encoding="utf-8", newline="") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    lines = [line[:-1] if line.endswith("\r") else line for line in lines]
    if not lines:
        raise ValueError(f"{path}:1: empty file, expected a header 'id<TAB><lang>...'")
    header = lines[0].split("\t")
    if header[0] != "id" or len(header) < 2:
        raise ValueError(f"{path}:1: header must be 'id<TAB><lang1><TAB>...', got {lines[0]!r}")
    langs = header[1:]
    for lang in langs:
        try:
            check_language(lang)
        except ValueError as err:
            raise type(err)(f"{path}:1: {err}") from None
    if len(set(langs)) != len(langs):
        raise ValueError(f"{path}:1: duplicate language columns in {langs}")
    ids: List[str] = []
    texts: Dict[str, Dict[str, str]] = {lang: {} for lang in langs}
    for lineno, line in enumerate(lines[1:], start=2):
        cols = line.split("\t")
        if len(cols) != len(header):
            raise ValueError(f"{path}:{lineno}: expected {len(header)} tab-separated columns "
                             f"(id + {len(langs)} languages), found {len(cols)}")
        sent_id = cols[0]
        if not sent_id or sent_id in texts[langs[0]]:
            raise ValueError(f"{path}:{lineno}: empty or duplicate sentence id {sent_id!r}")
        ids.append(sent_id)
        for lang, text in zip(langs, cols[1:]):
            texts[lang][sent_id] = text
    return ParallelText(ids, langs, texts)


# ---------------------------------------------------------------------------
# Supported languages
# ---------------------------------------------------------------------------

CLDR_ONLY_LANGS[:] = """
af_za am_et as_in ast_es az_az be_by bg_bg bn_in bs_ba ca_es ckb_iq cs_cz da_dk
et_ee ff_sn fi_fi ga_ie gl_es gu_in ha_ng he_il hr_hr hu_hu hy_am is_is jv_id ka_ge
kea_cv kk_kz km_kh kn_in ky_kg lg_ug ln_cd lo_la lt_lt lv_lv mi_nz mk_mk
ml_in mn_mn mr_in mt_mt my_mm nb_no ne_np oc_fr om_et or_in pa_in ps_af ro_ro sd_in
sk_sk sl_si so_so sr_rs sw_ke ta_in te_in tg_tj th_th ur_pk uz_uz wo_sn yo_ng
yue_hant_hk
""".split()
assert not set(CLDR_ONLY_LANGS) & set(TEMPLATE_LANGS)
#: Every language that ``generate_parallel_text`` accepts.
SUPPORTED_LANGS: List[str] = sorted(TEMPLATE_LANGS + CLDR_ONLY_LANGS)
