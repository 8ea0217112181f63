"""N-way parallel multilingual text for the synthetic stand-in corpora.

Every sentence id names one *content*; its text in each language is a
translation of the same content, so the same ids can be used for ASR in every
language and for X->English speech translation (the ``en_us`` text of an id is
the reference translation of every other language's text of that id).

Where the sentences come from
-----------------------------
* **Templates** written for this project (``_TEMPLATES``, read from
  ``usm_espnet/standin/data/templates.json``), one translation per
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

import itertools
import json
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple, Union

from usm_espnet.data.languages import FLEURS_LANGUAGES, check_language
from usm_espnet.standin.slot_values import finish_text, slot_text, text_key

# ---------------------------------------------------------------------------
# Template translations
# ---------------------------------------------------------------------------
# Slots: {c} country, {cl} list of countries, {l} language, {ll} list of
# languages, {m} month, {ml} list of months, {w} weekday, {wl} list of
# weekdays, {cur} currency, {u} unit (plural display name), {a} {b} {r} numbers
# in words.  "(은)는" (Korean) is resolved after the previous syllable.

_TEMPLATES: Dict[str, Dict[str, str]] = json.loads(
    (Path(__file__).parent / "data" / "templates.json").read_text(encoding="utf-8"))

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
            values[slot] = slot_text(kind, value, lang)
            if values[slot] is None:
                return None
        template = "{x}" if source.bare else _TEMPLATES[lang][source.key]
        text = finish_text(lang, template.format(**values))
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
