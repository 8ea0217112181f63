"""Tests for usm_espnet.standin.parallel_text and slot_values (n-way parallel synthetic text)."""

import dataclasses
import re
import unicodedata
from pathlib import Path
from typing import Set

import pytest

from usm_espnet.data.languages import FLEURS_LANGUAGES, UnknownLanguageError
from usm_espnet.standin import parallel_text as P
from usm_espnet.standin import slot_values as SV
from usm_espnet.standin.parallel_text import (
    DEFAULT_LANGS,
    SUPPORTED_LANGS,
    ParallelText,
    generate_parallel_text,
    read_parallel_tsv,
    split_ids,
    write_parallel_tsv,
)

N = 400  # sentences in the shared default-language set


@pytest.fixture(scope="module")
def pt() -> ParallelText:
    return generate_parallel_text(DEFAULT_LANGS, N, seed=0)


def _scripts_of(text: str) -> Set[str]:
    """Unicode scripts of the letters of ``text``, from the character names."""
    scripts = set()
    for ch in text:
        if unicodedata.category(ch).startswith("L"):
            name = unicodedata.name(ch)
            scripts.add("HAN" if name.startswith("CJK UNIFIED IDEOGRAPH") else name.split()[0])
    return scripts


# --------------------------------------------------------------------------- languages


def test_default_langs_are_supported_fleurs_codes() -> None:
    assert len(DEFAULT_LANGS) >= 12 and len(set(DEFAULT_LANGS)) == len(DEFAULT_LANGS)
    assert all(lang in FLEURS_LANGUAGES for lang in DEFAULT_LANGS)
    assert set(DEFAULT_LANGS) <= set(SUPPORTED_LANGS)
    assert set(DEFAULT_LANGS) <= set(P.TEMPLATE_LANGS)  # full sentence variety
    assert "ja_jp" not in DEFAULT_LANGS
    assert all(lang in SV.BABEL_LOCALE for lang in SUPPORTED_LANGS)


def test_default_langs_span_five_scripts_by_their_letters(pt: ParallelText) -> None:
    per_lang = {}
    for lang in DEFAULT_LANGS:
        scripts = _scripts_of("".join(pt.sentences(lang).values()))
        per_lang[lang] = scripts
        assert len(scripts) == 1, (lang, scripts)  # one script per language, no stray letters
    all_scripts = set().union(*per_lang.values())
    assert len(all_scripts) >= 5, all_scripts
    assert {"LATIN", "CYRILLIC", "GREEK", "DEVANAGARI", "ARABIC", "HAN"} <= all_scripts


def test_supported_langs_count_and_scripts() -> None:
    assert len(P.TEMPLATE_LANGS) >= 20
    assert len(SUPPORTED_LANGS) >= 80
    assert len({FLEURS_LANGUAGES[l][1] for l in SUPPORTED_LANGS}) >= 20


# --------------------------------------------------------------------------- generation


def test_at_least_300_distinct_sentences_per_default_language(pt: ParallelText) -> None:
    assert len(pt.ids) == N
    for lang in DEFAULT_LANGS:
        texts = list(pt.sentences(lang).values())
        assert len(set(texts)) == N >= 300, lang


def test_same_ids_in_every_language(pt: ParallelText) -> None:
    assert pt.langs == DEFAULT_LANGS
    assert len(set(pt.ids)) == len(pt.ids) and pt.ids == sorted(pt.ids)
    for lang in pt.langs:
        assert list(pt.sentences(lang)) == pt.ids
    assert all(i.startswith("s") and len(i) == 8 for i in pt.ids)


def test_deterministic_and_seed_dependent(pt: ParallelText) -> None:
    again = generate_parallel_text(DEFAULT_LANGS, N, seed=0)
    assert again == pt
    other = generate_parallel_text(DEFAULT_LANGS, N, seed=1)
    assert other.ids != pt.ids
    # an id means the same content whatever the seed
    for sent_id in set(other.ids) & set(pt.ids):
        assert all(other.text(sent_id, l) == pt.text(sent_id, l) for l in DEFAULT_LANGS)


def test_smaller_request_is_a_subset(pt: ParallelText) -> None:
    small = generate_parallel_text(DEFAULT_LANGS, 100, seed=0)
    assert set(small.ids) <= set(pt.ids)
    assert all(small.text(i, "fr_fr") == pt.text(i, "fr_fr") for i in small.ids)


def test_text_is_clean_for_tts_and_cer(pt: ParallelText) -> None:
    for lang in DEFAULT_LANGS:
        for sent_id, text in pt.sentences(lang).items():
            assert not any(ch.isdigit() for ch in text), (lang, text)  # numbers are spelt out
            assert unicodedata.normalize("NFC", text) == text
            assert text == " ".join(text.split()), (lang, text)  # single spaces, stripped
            assert not set(text) & set("<>[](){}/\\|_*#@&%\"\t\n\u200e\u200f\u00a0\u2019"), (lang, text)


_SCRIPT_WORDS = {
    "Latin": {"LATIN"}, "Cyrillic": {"CYRILLIC"}, "Greek": {"GREEK"}, "Arabic": {"ARABIC"},
    "Devanagari": {"DEVANAGARI"}, "Han": {"HAN"}, "Hangul": {"HANGUL"},
    "Japanese": {"HAN", "HIRAGANA", "KATAKANA", "KATAKANA-HIRAGANA", "IDEOGRAPHIC"},
}


def test_all_template_languages_clean_and_in_their_script() -> None:
    many = generate_parallel_text(P.TEMPLATE_LANGS, 300, seed=5)
    for lang in many.langs:
        texts = many.sentences(lang).values()
        assert len(set(texts)) == 300
        assert not any(ch.isdigit() for t in texts for ch in t), lang
        assert _scripts_of("".join(texts)) <= _SCRIPT_WORDS[FLEURS_LANGUAGES[lang][1]], lang


def test_translations_express_the_same_content() -> None:
    add = next(s for s in P._SOURCES if s.key == "add")  # index 0: one plus one
    texts = P._render(add, 0, ["en_us", "fr_fr", "de_de", "ru_ru", "cmn_hans_cn", "hi_in", "el_gr", "ko_kr"])
    assert texts == {
        "en_us": "One plus one equals two.", "fr_fr": "Un plus un égale deux.",
        "de_de": "Eins plus eins ist zwei.", "ru_ru": "Один плюс один будет два.",
        "cmn_hans_cn": "一加一等于二。", "hi_in": "एक जमा एक बराबर दो।",
        "el_gr": "Ένα συν ένα ίσον δύο.", "ko_kr": "일 더하기 일은 이입니다.",
    }
    country = next(s for s in P._SOURCES if s.key == "c1")
    i = P.COUNTRY_CODES.index("FR")
    texts = P._render(country, i, ["en_us", "de_de", "ru_ru", "cmn_hans_cn"])
    assert texts == {"en_us": "The next name in the atlas is France.",
                     "de_de": "Der nächste Name im Atlas ist Frankreich.",
                     "ru_ru": "Следующее название в атласе — Франция.",
                     "cmn_hans_cn": "地图册里的下一个名字是法国。"}


def test_number_spellers() -> None:
    assert [SV.spell_number(n, "cmn_hans_cn") for n in (10, 15, 105, 110, 1010)] == [
        "十", "十五", "一百零五", "一百一十", "一千零一十"]
    assert SV.spell_number(101, "el_gr") == "εκατόν ένα" and SV.spell_number(100, "el_gr") == "εκατό"
    assert SV.spell_number(345, "hi_in") == "तीन सौ पैंतालीस"
    assert SV.spell_number(21, "tr_tr") == "yirmi bir" and SV.spell_number(1100, "tr_tr") == "bin yüz"
    assert SV.spell_number(101, "nl_nl") == "honderdeen" and SV.spell_number(1, "nl_nl") == "één"
    assert SV.spell_number(40, "sv_se") == "fyrtio"
    for lang in P.TEMPLATE_LANGS:
        for n in range(0, 1000, 37):
            words = SV.spell_number(n, lang)
            assert words and not any(ch.isdigit() for ch in words), (lang, n)


def test_every_supported_language_reaches_300_distinct() -> None:
    for lang in P.CLDR_ONLY_LANGS:
        one = generate_parallel_text([lang], 300, seed=0)
        assert len(set(one.sentences(lang).values())) == 300, lang


def test_cldr_only_language_restricts_everyone_to_list_forms() -> None:
    mixed = generate_parallel_text(["en_us", "bg_bg", "th_th"], 50, seed=0)
    bare_blocks = {f"s{s.block:02d}" for s in P._SOURCES if s.bare}
    assert {i[:3] for i in mixed.ids} <= bare_blocks
    assert not any(ch.isdigit() for t in mixed.sentences("th_th").values() for ch in t)


def test_exclude_gives_disjoint_unpaired_text(pt: ParallelText) -> None:
    unpaired = generate_parallel_text(DEFAULT_LANGS, 300, seed=1, exclude=set(pt.ids))
    assert not set(unpaired.ids) & set(pt.ids)
    for lang in DEFAULT_LANGS:
        assert not set(unpaired.sentences(lang).values()) & set(pt.sentences(lang).values())
    with pytest.raises(ValueError):
        generate_parallel_text(DEFAULT_LANGS, 10, exclude={"x123"})


# --------------------------------------------------------------------------- errors


def test_error_unknown_code() -> None:
    with pytest.raises(UnknownLanguageError):
        generate_parallel_text(["en_us", "english"], 10)


def test_error_unsupported_fleurs_code() -> None:
    assert "umb_ao" in FLEURS_LANGUAGES and "umb_ao" not in SUPPORTED_LANGS
    with pytest.raises(ValueError, match="umb_ao") as info:
        generate_parallel_text(["en_us", "umb_ao"], 10)
    assert not isinstance(info.value, UnknownLanguageError)


def test_error_too_many_sentences() -> None:
    with pytest.raises(ValueError, match="distinct"):
        generate_parallel_text(DEFAULT_LANGS, 10**9)


def test_error_when_distinct_candidates_run_out(monkeypatch: pytest.MonkeyPatch) -> None:
    # Two copies of one country template: twice the candidates, but their texts coincide.
    c1 = next(s for s in P._SOURCES if s.key == "c1")
    monkeypatch.setattr(P, "_SOURCES", (c1, dataclasses.replace(c1, block=99)))
    n = len(P.COUNTRY_CODES)
    assert len(generate_parallel_text(["en_us", "ru_ru"], n).ids) == n
    with pytest.raises(ValueError, match=f"only {n} exist"):
        generate_parallel_text(["en_us", "ru_ru"], n + 1)
    with pytest.raises(ValueError, match="at most"):
        generate_parallel_text(["en_us", "ru_ru"], 2 * n + 1)


# --------------------------------------------------------------------------- splits


def test_split_has_no_held_out_text_in_train(pt: ParallelText) -> None:
    split = split_ids(pt)
    assert set(split) == {"train", "dev", "test"}
    ids = [i for part in split.values() for i in part]
    assert sorted(ids) == sorted(pt.ids)  # a partition
    for lang in pt.langs:
        train = {pt.text(i, lang) for i in split["train"]}
        for name in ("dev", "test"):
            assert not train & {pt.text(i, lang) for i in split[name]}, (lang, name)


def test_split_groups_ids_with_coinciding_text() -> None:
    ids = [f"u{i:03d}" for i in range(100)]
    en = {i: f"sentence {i}" for i in ids}
    fr = {i: f"phrase {i}" for i in ids}
    for i in ids[1:40:3]:  # same French text as u000 for a dozen ids
        fr[i] = fr["u000"]
    en["u099"] = en["u050"]  # and one English duplicate
    data = ParallelText(ids, ["en_us", "fr_fr"], {"en_us": en, "fr_fr": fr})
    for seed in range(5):
        split = split_ids(data, seed=seed, cover_chars=False)
        where = {i: name for name, part in split.items() for i in part}
        assert len({where[i] for i in ["u000", *ids[1:40:3]]}) == 1
        assert where["u099"] == where["u050"]
        for lang in data.langs:
            train = {data.text(i, lang) for i in split["train"]}
            assert not train & {data.text(i, lang) for i in split["test"] + split["dev"]}


def test_split_fractions_hold_approximately(pt: ParallelText) -> None:
    split = split_ids(pt, {"train": 0.7, "dev": 0.1, "test": 0.2}, seed=3)
    sizes = {k: len(v) for k, v in split.items()}
    assert abs(sizes["train"] - 0.7 * N) <= 0.03 * N
    assert abs(sizes["dev"] - 0.1 * N) <= 0.03 * N
    assert abs(sizes["test"] - 0.2 * N) <= 0.03 * N
    assert split == split_ids(pt, {"train": 0.7, "dev": 0.1, "test": 0.2}, seed=3)
    with pytest.raises(ValueError):
        split_ids(pt, {"train": 0.7, "test": 0.2})


def test_split_covers_held_out_characters_in_train(pt: ParallelText) -> None:
    split = split_ids(pt)
    for lang in pt.langs:
        train_chars = set("".join(pt.text(i, lang) for i in split["train"]))
        held = set("".join(pt.text(i, lang) for i in split["dev"] + split["test"]))
        assert held <= train_chars, (lang, held - train_chars)


# --------------------------------------------------------------------------- tsv


def test_tsv_round_trip(pt: ParallelText, tmp_path: Path) -> None:
    path = tmp_path / "text.tsv"
    write_parallel_tsv(pt, path)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "\t".join(["id", *DEFAULT_LANGS]) and len(lines) == N + 1
    back = read_parallel_tsv(path)
    assert back == pt


def test_tsv_malformed_row_names_file_and_line(pt: ParallelText, tmp_path: Path) -> None:
    path = tmp_path / "bad.tsv"
    write_parallel_tsv(pt.subset(pt.ids[:5]), path)
    lines = path.read_text(encoding="utf-8").split("\n")
    lines[3] = lines[3].rsplit("\t", 1)[0]  # third data row loses a column
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(ValueError, match=re.escape(f"{path}:4:")):
        read_parallel_tsv(path)
    path.write_text("id\ten_us\txx_yy\ns1\ta\tb\n", encoding="utf-8")
    with pytest.raises(UnknownLanguageError, match=re.escape(f"{path}:1")):
        read_parallel_tsv(path)
    path.write_text("", encoding="utf-8")
    with pytest.raises(ValueError, match=re.escape(f"{path}:1")):
        read_parallel_tsv(path)


def test_slot_inventories_are_clean_in_every_template_language() -> None:
    inventories = [("country", P.COUNTRY_CODES), ("language", P.LANGUAGE_CODES),
                   ("currency", P.CURRENCY_CODES), ("unit", P.UNIT_IDS),
                   ("month", P.MONTHS), ("weekday", P.WEEKDAYS)]
    for lang in P.TEMPLATE_LANGS:
        for kind, codes in inventories:
            names = [SV._name(kind, code, lang) for code in codes]
            assert all(names), (lang, kind, [c for c, n in zip(codes, names) if not n])
            assert len(set(names)) == len(names), (lang, kind)


def test_split_groups_texts_that_differ_only_in_case_or_punctuation() -> None:
    ids = [f"u{i:03d}" for i in range(50)]
    en = {i: f"sentence {i}." for i in ids}
    en["u049"] = "SENTENCE U000"  # same as u000 once normalised
    data = ParallelText(ids, ["en_us"], {"en_us": en})
    for seed in range(5):
        split = split_ids(data, seed=seed, cover_chars=False)
        where = {i: name for name, part in split.items() for i in part}
        assert where["u049"] == where["u000"]
    assert SV.text_key("Hello, World!") == SV.text_key("hello world") == "hello world"
