"""FLEURS language codes (as published with the corpus) with names and scripts.

Per-module tables elsewhere map these codes to tool-specific ids: espeak-ng voices
(``usm_espnet.standin.espeak``), CLDR locales and num2words languages
(``usm_espnet.standin.parallel_text``).
"""

import difflib
from typing import Dict, Iterable, List, Tuple

# code: (English name, script)
FLEURS_LANGUAGES: Dict[str, Tuple[str, str]] = {
    "af_za": ("Afrikaans", "Latin"), "am_et": ("Amharic", "Ethiopic"),
    "ar_eg": ("Arabic", "Arabic"), "as_in": ("Assamese", "Bengali"),
    "ast_es": ("Asturian", "Latin"), "az_az": ("Azerbaijani", "Latin"),
    "be_by": ("Belarusian", "Cyrillic"), "bg_bg": ("Bulgarian", "Cyrillic"),
    "bn_in": ("Bengali", "Bengali"), "bs_ba": ("Bosnian", "Latin"),
    "ca_es": ("Catalan", "Latin"), "ceb_ph": ("Cebuano", "Latin"),
    "ckb_iq": ("Sorani Kurdish", "Arabic"), "cmn_hans_cn": ("Mandarin Chinese", "Han"),
    "cs_cz": ("Czech", "Latin"), "cy_gb": ("Welsh", "Latin"),
    "da_dk": ("Danish", "Latin"), "de_de": ("German", "Latin"),
    "el_gr": ("Greek", "Greek"), "en_us": ("English", "Latin"),
    "es_419": ("Spanish", "Latin"), "et_ee": ("Estonian", "Latin"),
    "fa_ir": ("Persian", "Arabic"), "ff_sn": ("Fula", "Latin"),
    "fi_fi": ("Finnish", "Latin"), "fil_ph": ("Filipino", "Latin"),
    "fr_fr": ("French", "Latin"), "ga_ie": ("Irish", "Latin"),
    "gl_es": ("Galician", "Latin"), "gu_in": ("Gujarati", "Gujarati"),
    "ha_ng": ("Hausa", "Latin"), "he_il": ("Hebrew", "Hebrew"),
    "hi_in": ("Hindi", "Devanagari"), "hr_hr": ("Croatian", "Latin"),
    "hu_hu": ("Hungarian", "Latin"), "hy_am": ("Armenian", "Armenian"),
    "id_id": ("Indonesian", "Latin"), "ig_ng": ("Igbo", "Latin"),
    "is_is": ("Icelandic", "Latin"), "it_it": ("Italian", "Latin"),
    "ja_jp": ("Japanese", "Japanese"), "jv_id": ("Javanese", "Latin"),
    "ka_ge": ("Georgian", "Georgian"), "kam_ke": ("Kamba", "Latin"),
    "kea_cv": ("Kabuverdianu", "Latin"), "kk_kz": ("Kazakh", "Cyrillic"),
    "km_kh": ("Khmer", "Khmer"), "kn_in": ("Kannada", "Kannada"),
    "ko_kr": ("Korean", "Hangul"), "ky_kg": ("Kyrgyz", "Cyrillic"),
    "lb_lu": ("Luxembourgish", "Latin"), "lg_ug": ("Ganda", "Latin"),
    "ln_cd": ("Lingala", "Latin"), "lo_la": ("Lao", "Lao"),
    "lt_lt": ("Lithuanian", "Latin"), "luo_ke": ("Luo", "Latin"),
    "lv_lv": ("Latvian", "Latin"), "mi_nz": ("Maori", "Latin"),
    "mk_mk": ("Macedonian", "Cyrillic"), "ml_in": ("Malayalam", "Malayalam"),
    "mn_mn": ("Mongolian", "Cyrillic"), "mr_in": ("Marathi", "Devanagari"),
    "ms_my": ("Malay", "Latin"), "mt_mt": ("Maltese", "Latin"),
    "my_mm": ("Burmese", "Myanmar"), "nb_no": ("Norwegian Bokmal", "Latin"),
    "ne_np": ("Nepali", "Devanagari"), "nl_nl": ("Dutch", "Latin"),
    "nso_za": ("Northern Sotho", "Latin"), "ny_mw": ("Nyanja", "Latin"),
    "oc_fr": ("Occitan", "Latin"), "om_et": ("Oromo", "Latin"),
    "or_in": ("Odia", "Odia"), "pa_in": ("Punjabi", "Gurmukhi"),
    "pl_pl": ("Polish", "Latin"), "ps_af": ("Pashto", "Arabic"),
    "pt_br": ("Portuguese", "Latin"), "ro_ro": ("Romanian", "Latin"),
    "ru_ru": ("Russian", "Cyrillic"), "sd_in": ("Sindhi", "Arabic"),
    "sk_sk": ("Slovak", "Latin"), "sl_si": ("Slovenian", "Latin"),
    "sn_zw": ("Shona", "Latin"), "so_so": ("Somali", "Latin"),
    "sr_rs": ("Serbian", "Cyrillic"), "sv_se": ("Swedish", "Latin"),
    "sw_ke": ("Swahili", "Latin"), "ta_in": ("Tamil", "Tamil"),
    "te_in": ("Telugu", "Telugu"), "tg_tj": ("Tajik", "Cyrillic"),
    "th_th": ("Thai", "Thai"), "tr_tr": ("Turkish", "Latin"),
    "uk_ua": ("Ukrainian", "Cyrillic"), "umb_ao": ("Umbundu", "Latin"),
    "ur_pk": ("Urdu", "Arabic"), "uz_uz": ("Uzbek", "Latin"),
    "vi_vn": ("Vietnamese", "Latin"), "wo_sn": ("Wolof", "Latin"),
    "xh_za": ("Xhosa", "Latin"), "yo_ng": ("Yoruba", "Latin"),
    "yue_hant_hk": ("Cantonese", "Han"), "zu_za": ("Zulu", "Latin"),
}


class UnknownLanguageError(ValueError):
    """A language code that is not one of FLEURS' published codes."""


def check_language(code: str) -> str:
    """Return ``code`` if it is a FLEURS code, else raise UnknownLanguageError."""
    if code not in FLEURS_LANGUAGES:
        raise UnknownLanguageError(
            f"unknown language code {code!r}; FLEURS codes look like 'en_us', 'hi_in', "
            f"'cmn_hans_cn' (see usm_espnet.data.languages.FLEURS_LANGUAGES)"
        )
    return code


def unknown_language_error(code: str, where: str) -> UnknownLanguageError:
    """The error for ``code``, not a FLEURS code, met at ``where``, naming the closest codes.

    Args:
        code: The unknown code (``en-US``, ``hin`` ...).
        where: What held it (a path, ``path:line``, ``requested languages``).

    Returns:
        An :class:`UnknownLanguageError` (to raise) whose message starts with ``where``.
    """
    prefix = code.lower().replace("-", "_").split("_")[0]
    close = [c for c in FLEURS_LANGUAGES if c.split("_")[0] == prefix]
    close += [c for c in difflib.get_close_matches(code, FLEURS_LANGUAGES, n=3, cutoff=0.5)
              if c not in close]
    hint = f"; did you mean {', '.join(repr(c) for c in close[:3])}?" if close else ""
    return UnknownLanguageError(
        f"{where}: unknown FLEURS language code {code!r}{hint} "
        f"(codes look like 'en_us', 'hi_in', 'cmn_hans_cn'; see "
        f"usm_espnet.data.languages.FLEURS_LANGUAGES)"
    )


def requested_languages(langs: Iterable[str]) -> List[str]:
    """``langs`` without repeats (first one kept), each checked to be a FLEURS code.

    The check every reader and stand-in makes of its ``langs`` argument.

    Raises:
        ValueError: No languages.
        UnknownLanguageError: A code that is not FLEURS' (the message names the closest).
    """
    langs = list(dict.fromkeys(langs))
    if not langs:
        raise ValueError("no languages given")
    for lang in langs:
        if lang not in FLEURS_LANGUAGES:
            raise unknown_language_error(lang, "requested languages")
    return langs


def script_of(code: str) -> str:
    return FLEURS_LANGUAGES[check_language(code)][1]
