"""Tests for usm_espnet.scoring (normalisation, counts, trn reading, outputs)."""

import json
import logging
import unicodedata
from pathlib import Path

import pytest

from usm_espnet.scoring.asr import (
    ErrorCounts,
    LangScore,
    average,
    read_trn,
    read_utt2lang,
    score_asr,
    score_utterance,
    write_scores,
)
from usm_espnet.scoring.normalize import is_unsegmented, normalize_text


# --------------------------------------------------------------------- normalise
def test_normalize_removes_case_and_punctuation() -> None:
    assert normalize_text("Hello, World!  How ARE you?") == "hello world how are you"
    assert normalize_text("state-of-the-art (really)…") == "state of the art really"
    assert normalize_text("«Bonjour» — ça va ?") == "bonjour ça va"
    assert normalize_text("  tabs\tand\nnewlines  ") == "tabs and newlines"


def test_normalize_apostrophe_inside_word_joins() -> None:
    assert normalize_text("Don't stop") == "dont stop"
    assert normalize_text("it’s 'quoted'") == "its quoted"


def test_normalize_symbols_removed_but_letter_symbols_kept() -> None:
    assert normalize_text("100% + $5 = €") == "100 5"
    # U+A789 MODIFIER LETTER COLON (category Sk) is a length letter.
    assert unicodedata.category("\ua789") == "Sk"
    assert normalize_text("a\ua789b") == "a\ua789b"


def test_normalize_nfkc_and_casefold() -> None:
    assert normalize_text("ＡＢＣ ﬁne Straße") == "abc fine strasse"


def test_normalize_keeps_devanagari_combining_marks() -> None:
    text = "नमस्ते, दुनिया!"
    out = normalize_text(text)
    assert out == "नमस्ते दुनिया"
    marks = [c for c in out if unicodedata.category(c).startswith("M")]
    assert len(marks) == len([c for c in text if unicodedata.category(c).startswith("M")])
    assert "\u094d" in out  # virama


def test_normalize_keeps_arabic_harakat() -> None:
    text = "مَرْحَبًا، بِالعالم؟"
    out = normalize_text(text)
    assert out == "مَرْحَبًا بِالعالم"
    for mark in ("\u064e", "\u0652", "\u064b", "\u0650"):
        assert mark in out


def test_normalize_drops_invisible_controls() -> None:
    assert normalize_text("a\u200bb\u200f c\ufeff") == "ab c"
    assert normalize_text("می\u200cخواهم") == "می\u200cخواهم"  # ZWNJ kept


def test_normalize_turkish_i() -> None:
    assert normalize_text("IŞIK İstanbul", "tr_tr") == "ışık istanbul"
    assert normalize_text("IS", "en_us") == "is"


def test_normalize_is_idempotent_on_fleurs_style_text() -> None:
    for text in ("the cat sat on the mat", "नमस्ते दुनिया", "今天天气很好"):
        assert normalize_text(text) == text
        assert normalize_text(normalize_text(text)) == text


def test_is_unsegmented() -> None:
    for lang in ("cmn_hans_cn", "yue_hant_hk", "ja_jp", "th_th", "lo_la", "km_kh",
                 "my_mm", "ja", "zh-CN"):
        assert is_unsegmented(lang), lang
    for lang in ("en_us", "hi_in", "ms_my", "ko_kr", "vi_vn", None, ""):
        assert not is_unsegmented(lang), lang


# ------------------------------------------------------------------------ counts
def test_error_counts_rate() -> None:
    assert ErrorCounts(errors=1, ref_len=4).rate == 25.0
    assert ErrorCounts(errors=3, ref_len=0).rate == 0.0


def test_score_utterance_sub_and_ins() -> None:
    wer, cer, nref, nhyp = score_utterance("a b c", "a x c d", "en_us")
    assert (wer.substitutions, wer.deletions, wer.insertions) == (1, 0, 1)
    assert (wer.errors, wer.ref_len, wer.num_utts) == (2, 3, 1)
    assert wer.rate == pytest.approx(200 / 3)
    # chars incl. spaces: "a b c" (5) vs "a x c d" (7): 1 sub + 2 ins
    assert (cer.substitutions, cer.deletions, cer.insertions) == (1, 0, 2)
    assert cer.ref_len == 5
    assert (nref, nhyp) == ("a b c", "a x c d")


def test_score_utterance_deletion_and_empty() -> None:
    wer, _, _, _ = score_utterance("a b c d", "a c d", "en_us")
    assert (wer.substitutions, wer.deletions, wer.insertions, wer.ref_len) == (0, 1, 0, 4)
    wer, cer, _, _ = score_utterance("a b", "", "en_us")
    assert (wer.deletions, wer.errors, cer.deletions, cer.ref_len) == (2, 2, 3, 3)
    wer, cer, _, _ = score_utterance("!!", "x y", "en_us")
    assert (wer.ref_len, wer.insertions, wer.rate) == (0, 2, 0.0)


def test_normalisation_applied_before_scoring() -> None:
    wer, cer, _, _ = score_utterance("Hello, World!", "hello world", "en_us")
    assert wer.errors == 0 and cer.errors == 0


def test_unsegmented_wer_is_over_characters() -> None:
    wer, cer, _, _ = score_utterance("今天 天气很好。", "今天天汽好", "cmn_hans_cn")
    assert wer.ref_len == 6  # characters, space and punctuation removed
    assert (wer.substitutions, wer.deletions, wer.insertions) == (1, 1, 0)
    assert (cer.errors, cer.ref_len) == (2, 6)
    # The same text scored as a space-delimited language gives 2 words.
    wer2, _, _, _ = score_utterance("今天 天气很好。", "今天天汽好", "en_us")
    assert wer2.ref_len == 2


def test_score_asr_per_language_and_macro_average() -> None:
    refs = {"e1": "a b c d", "e2": "e f", "h1": "नमस्ते दुनिया", "z1": "今天天气"}
    hyps = {"e1": "a b c d", "e2": "e g", "h1": "नमस्ते", "z1": "今天天气"}
    u2l = {"e1": "en_us", "e2": "en_us", "h1": "hi_in", "z1": "cmn_hans_cn"}
    scores = score_asr(refs, hyps, u2l)
    assert list(scores) == ["cmn_hans_cn", "en_us", "hi_in"]
    en = scores["en_us"]
    assert isinstance(en, LangScore)
    assert (en.wer.errors, en.wer.ref_len, en.wer.num_utts) == (1, 6, 2)
    assert en.utt_ids == ["e1", "e2"]
    assert scores["hi_in"].wer.rate == 50.0
    assert scores["cmn_hans_cn"].wer.rate == 0.0
    mean_wer, mean_cer = average(scores)
    # macro: (0 + 100/6 + 50) / 3, not pooled (2 / 9)
    assert mean_wer == pytest.approx((0 + 100 / 6 + 50) / 3)
    cers = [s.cer.rate for s in scores.values()]
    assert mean_cer == pytest.approx(sum(cers) / 3)


def test_average_empty_raises() -> None:
    with pytest.raises(ValueError):
        average({})


def test_missing_hyps_error_mode() -> None:
    refs = {f"u{i}": "a b" for i in range(8)}
    u2l = {u: "en_us" for u in refs}
    with pytest.raises(ValueError) as exc:
        score_asr(refs, {"u0": "a b"}, u2l, missing="error")
    msg = str(exc.value)
    assert "7 utterances" in msg and "u1" in msg and "(+2 more)" in msg
    assert "u7" not in msg


def test_missing_hyps_empty_mode(caplog: pytest.LogCaptureFixture) -> None:
    refs = {"u1": "a b", "u2": "c d e"}
    with caplog.at_level(logging.WARNING):
        scores = score_asr(refs, {"u1": "a b"}, {"u1": "en_us", "u2": "en_us"},
                           missing="empty")
    assert "u2" in caplog.text
    wer = scores["en_us"].wer
    assert (wer.deletions, wer.errors, wer.ref_len, wer.num_utts) == (3, 3, 5, 2)


def test_missing_language_and_bad_mode() -> None:
    with pytest.raises(ValueError, match="utt2lang"):
        score_asr({"u1": "a"}, {"u1": "a"}, {})
    with pytest.raises(ValueError):
        score_asr({"u1": "a"}, {"u1": "a"}, {"u1": "en_us"}, missing="skip")


# ------------------------------------------------------------------------- files
def test_read_trn_kaldi_with_empty_hyp(tmp_path: Path) -> None:
    p = tmp_path / "text"
    p.write_text("u1 hello world\nu2\nu3 \n\nu4  spaced   text \n", encoding="utf-8")
    assert read_trn(p) == {"u1": "hello world", "u2": "", "u3": "", "u4": "spaced   text"}


def test_read_trn_sclite_format(tmp_path: Path) -> None:
    p = tmp_path / "hyp.trn"
    p.write_text("hello world (spk-u1)\n (spk-u2)\n", encoding="utf-8")
    assert read_trn(p) == {"spk-u1": "hello world", "spk-u2": ""}


def test_read_trn_malformed_line_names_file_and_line(tmp_path: Path) -> None:
    p = tmp_path / "text"
    p.write_text("u1 ok\nu2 fine\n  no id here\n", encoding="utf-8")
    with pytest.raises(ValueError) as exc:
        read_trn(p)
    assert f"{p}:3" in str(exc.value)

    p.write_text("u1 ok\nu1 again\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"text:2: duplicate"):
        read_trn(p)

    t = tmp_path / "x.trn"
    t.write_text("good (u1)\nbad line\n", encoding="utf-8")
    with pytest.raises(ValueError) as exc:
        read_trn(t, fmt="trn")
    assert f"{t}:2" in str(exc.value)

    b = tmp_path / "bin"
    b.write_bytes(b"u1 ok\nu2 \xff\xfe\n")
    with pytest.raises(ValueError, match=r"bin:2"):
        read_trn(b)


def test_read_utt2lang(tmp_path: Path) -> None:
    p = tmp_path / "utt2lang"
    p.write_text("u1 en_us\nu2 hi_in\n", encoding="utf-8")
    assert read_utt2lang(p) == {"u1": "en_us", "u2": "hi_in"}
    p.write_text("u1 en_us extra\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"utt2lang:1"):
        read_utt2lang(p)


def test_write_scores(tmp_path: Path) -> None:
    refs = {"e1": "A b, c.", "h1": "नमस्ते दुनिया"}
    hyps = {"e1": "a x c d", "h1": "नमस्ते दुनिया"}
    u2l = {"e1": "en_us", "h1": "hi_in"}
    scores = score_asr(refs, hyps, u2l)
    write_scores(tmp_path / "score", scores, refs, hyps)
    doc = json.loads((tmp_path / "score" / "scores.json").read_text(encoding="utf-8"))
    assert doc["languages"]["en_us"]["wer_counts"]["substitutions"] == 1
    assert doc["languages"]["en_us"]["wer_counts"]["insertions"] == 1
    assert doc["languages"]["en_us"]["wer"] == pytest.approx(200 / 3, abs=1e-3)
    assert doc["macro_average"]["num_langs"] == 2
    lines = (tmp_path / "score" / "per_utt.tsv").read_text(encoding="utf-8").splitlines()
    assert lines[0].split("\t")[:5] == ["utt", "lang", "ref", "hyp", "cer"]
    row = dict(zip(lines[0].split("\t"), lines[1].split("\t")))
    assert row["utt"] == "e1" and row["ref"] == "a b c" and row["lang"] == "en_us"
    assert float(row["cer"]) == pytest.approx(60.0)
    ali = (tmp_path / "score" / "alignments.txt").read_text(encoding="utf-8")
    assert "e1" in ali and "h1" not in ali.split("hi_in", 1)[1]
