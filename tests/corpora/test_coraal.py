"""Tests for usm_espnet.corpora.coraal: normaliser, readers, preparation, CLIs (the stand-in: tests/standin)."""

import json
import shutil
import tarfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from usm_espnet.bin import make_standin_coraal as standin_bin
from usm_espnet.bin import prepare_coraal as prepare_bin
from usm_espnet.corpora.coraal import (
    DROP_REASONS,
    TRANSCRIPT_COLUMNS,
    UNSCORED_SPANS,
    CoraalFormatError,
    context_segments,
    normalize_coraal,
    prepare_coraal,
    read_coraal_metadata,
    read_coraal_transcript,
    split_interviews,
    subtract_spans,
)
from usm_espnet.data.kaldi import read_datadir, read_kaldi_map, validate_datadir

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "coraal" / "corpus"
TEXTS = "DCA_textfiles_2018.10.06"
AUDIO = "DCA_audio_part01_2018.10.06"
STEMS = ("DCA_se1_ag1_f_01_1", "DCA_se1_ag1_f_02_1", "DCA_se1_ag2_m_03_1")
AUDIO_S = 20.0
#: The whole-interview reference of each fixture file: every legible word, both speakers,
#: except those of rows dropped as mostly unintelligible (row 6 of f_01: "them"), whose time
#: is unscored instead (UNSCORED of the file).
LONGFORM_REF = {
    "DCA_se1_ag1_f_01_1": "so tell me where you grew up i grew up on right off of benning road "
                          "me and my cousin used to walk to school mm hm and what school was "
                          "that it was kramer junior high we ain't have no buses yeah okay",
    "DCA_se1_ag1_f_02_1": "how old are you we went downtown that was the last one",
    "DCA_se1_ag2_m_03_1": "what did you do for work i drove a bus for the city thirty years "
                          "then i retired",
}


#: Unscored spans of each fixture file: the mostly unintelligible row, the unclosed-markup rows.
UNSCORED = {"DCA_se1_ag1_f_01_1": [(10.2251, 11.802)],
            "DCA_se1_ag1_f_02_1": [(6.5, 8.0), (8.5, 9.0)],
            "DCA_se1_ag2_m_03_1": []}


def _corpus(tmp_path, rate=44100, stems=STEMS):
    """A copy of the fixture corpus with 20 s wavs (quiet noise) for ``stems``."""
    root = tmp_path / "coraal"
    shutil.copytree(FIXTURES, root)
    (root / AUDIO).mkdir()
    rng = np.random.default_rng(0)
    for stem in stems:
        x = (0.01 * rng.standard_normal(int(AUDIO_S * rate))).astype(np.float32)
        sf.write(root / AUDIO / f"{stem}.wav", x, rate, subtype="PCM_16")
    return root


# ------------------------------------------------------------------ normaliser


@pytest.mark.parametrize("content, text, masked, overlap", [
    ("So tell me where you grew up.", "so tell me where you grew up", 0, False),
    ("(pause 0.58)", "", 0, False),
    ("(pause)", "", 0, False),
    ("Me and my cousin [used to] walk to school <laugh>", "me and my cousin used to walk to school",
     0, True),
    ("/unintelligible/ /RD-NAME-2/ them.", "them", 2, False),
    ("It was ((Kramer)) Junior High, we ain't have no buses.",
     "it was kramer junior high we ain't have no buses", 0, False),
    ("(( )) okay", "okay", 1, False),
    ("<ts> /inaudible/ yeah.", "yeah", 1, False),
    ("(whispered) Don\u2019t goin' y'all", "don't goin y'all", 0, False),
    ("[/RD-NAME-3/ and-] them", "and them", 1, True),
    ("a /wh-/ word", "a wh word", 0, False),
    ("Mm-hm.", "mm hm", 0, False),
])
def test_normalize_coraal(content, text, masked, overlap):
    r = normalize_coraal(content)
    assert r.text == text
    assert r.num_masked == masked
    assert r.overlap is overlap
    assert r.num_words == len(text.split())


def test_normalize_counts_markup_kinds():
    r = normalize_coraal("(pause 0.5) <laugh> (breathy) ((maybe)) /guess/ /RD-SCHOOL-1/ ok")
    assert (r.num_pauses, r.num_nonspeech, r.num_uncertain, r.num_masked, r.num_redacted) == (1, 2, 2, 1, 1)
    assert r.text == "maybe guess ok"
    assert r.masked_fraction == pytest.approx(1 / 4)


@pytest.mark.parametrize("content, what, column", [
    ("We [used to go out there.", "unclosed '['", 4),
    ("Uh-huh. <laugh", "unclosed '<'", 9),
    ("and/or", "unclosed '/'", 4),
    ("(pause 0.5", "unclosed '('", 1),
    ("((maybe) this", "unclosed '(('", 1),
    ("stray ] here", "unmatched ']'", 7),
    ("oops)", "unmatched ')'", 5),
])
def test_normalize_rejects_unclosed_markup(content, what, column):
    with pytest.raises(CoraalFormatError) as e:
        normalize_coraal(content, where="x.txt:7")
    assert str(e.value).startswith(f"x.txt:7: {what} at column {column}")


# ------------------------------------------------------------------ readers


def test_read_transcript_clean_file_with_bom_and_crlf():
    rows = read_coraal_transcript(FIXTURES / TEXTS / "DCA_se1_ag2_m_03_1.txt", on_error="raise")
    assert [(r.line, r.spkr, r.start, r.end) for r in rows] == [
        (1, "DCA_int_01", 0.4, 2.0), (2, "DCA_se1_ag2_m_03", 2.3, 5.9),
        (3, "DCA_se1_ag2_m_03", 6.1, 7.12), (4, "DCA_se1_ag2_m_03", 7.12, 8.4)]
    assert rows[1].content == "I drove a bus for the city, thirty years."
    assert rows[3].where.endswith("DCA_se1_ag2_m_03_1.txt:6")  # the blank line counts


def test_read_transcript_malformed_rows_skip_or_raise():
    path = FIXTURES / TEXTS / "DCA_se1_ag1_f_02_1.txt"
    rows = read_coraal_transcript(path)  # on_error="skip"
    # rows 2, 3, 5 malformed, 4 bad times, 7 back in time; 6, 8 (markup) and 11 (past the
    # audio) pass the reader, which does not know the audio or the markup rules
    assert [r.line for r in rows] == [1, 6, 8, 9, 10, 11]
    with pytest.raises(CoraalFormatError, match=r"DCA_se1_ag1_f_02_1\.txt:3: expected 5 tab-separated"):
        read_coraal_transcript(path, on_error="raise")
    with pytest.raises(ValueError, match="on_error must be"):
        read_coraal_transcript(path, on_error="ignore")


@pytest.mark.parametrize("header", ["Line\tSpkr\tStTime\tEnTime\tContent",
                                    "Line,Spkr,StTime,Content,EnTime", ""])
def test_read_transcript_bad_header(tmp_path, header):
    p = tmp_path / "DCA_x_1.txt"
    p.write_text(header + "\n1\tDCA_int_01\t0.1\thi\t0.5\n" if header else "")
    with pytest.raises(CoraalFormatError, match=r"DCA_x_1\.txt(:1)?: (expected the header|empty file)"):
        read_coraal_transcript(p)


def test_read_metadata(tmp_path):
    meta = read_coraal_metadata(FIXTURES / "DCA_metadata_2018.10.06.txt")
    assert sorted(meta) == ["DCA_se1_ag1_f_01_1", "DCA_se1_ag1_f_02_1", "DCA_se1_ag2_m_03_1",
                            "DCA_se1_ag3_f_04_1"]
    assert meta["DCA_se1_ag2_m_03_1"].spkr == "DCA_se1_ag2_m_03"
    assert meta["DCA_se1_ag2_m_03_1"].fields["Gender"] == "Male"
    bad = tmp_path / "DCA_metadata_x.txt"
    bad.write_text("CORAAL.Spkr\tCORAAL.File\tAge\nDCA_a\tDCA_a_1\t30\nDCA_b\tDCA_b_1\n")
    with pytest.raises(CoraalFormatError,
                       match=r"DCA_metadata_x\.txt:3: expected 3 tab-separated fields, got 2"):
        read_coraal_metadata(bad)
    bad.write_text("CORAAL.Spkr\tCORAAL.File\nDCA_a\tDCA_a_1\nDCA_b\tDCA_a_1\n")
    with pytest.raises(CoraalFormatError, match=r":3: file 'DCA_a_1' listed with speaker 'DCA_b'"):
        read_coraal_metadata(bad)
    bad.write_text("Spkr\tFile\nDCA_a\tDCA_a_1\n")
    with pytest.raises(CoraalFormatError, match=r":1: no CORAAL.File column"):
        read_coraal_metadata(bad)


def test_split_interviews():
    spk = {f"ATL_s{i}": "ATL" for i in range(3)} | {"DCB_s0": "DCB", "DCB_s1": "DCB", "PRV_s0": "PRV"}
    split = split_interviews(spk, seed=3)
    atl = sorted(split[s] for s in spk if s.startswith("ATL"))
    assert atl == ["dev", "test", "train"]
    assert sorted(split[s] for s in ("DCB_s0", "DCB_s1")) == ["test", "train"]
    assert split["PRV_s0"] == "train"
    assert split_interviews(spk, seed=3) == split
    many = {f"LES_s{i:02d}": "LES" for i in range(20)}
    counts = {k: list(split_interviews(many).values()).count(k) for k in ("train", "dev", "test")}
    assert counts == {"train": 16, "dev": 2, "test": 2}
    with pytest.raises(ValueError, match="fractions"):
        split_interviews(spk, fractions={"train": 0.5, "dev": 0.1, "test": 0.1})


# ------------------------------------------------------------------ preparation


def _texts(d):
    return dict(read_kaldi_map(d / "text").items())


def test_prepare_fixture_corpus(tmp_path, caplog):
    root = _corpus(tmp_path)
    out = tmp_path / "data"
    stats = prepare_coraal(root, out)
    # every row is accounted for
    assert stats.rows_in == 10 + 11 + 4
    assert stats.rows_in == stats.rows_kept + sum(stats.rows_dropped.values())
    assert stats.rows_dropped == {
        "malformed": 3, "bad_times": 1, "out_of_order": 1, "beyond_audio": 1, "unclosed_markup": 2,
        "no_speech": 2, "mostly_unintelligible": 1, "overlap": 0, "not_selected": 0}
    assert stats.rows_kept == 8 + 3 + 3
    assert stats.files_used == 3 and stats.files_in == 3
    assert "DCA_se1_ag3_f_04_1 is listed but neither" in caplog.text
    for split in ("train", "dev", "test", "test_longform"):
        validate_datadir(out / split)
    assert sorted(sum(stats.interviews[s].values()) for s in ("train", "dev", "test")) == [1, 1, 1]
    allsegs = {}
    for split in ("train", "dev", "test"):
        allsegs.update(_texts(out / split))
        comps = set(read_kaldi_map(out / split / "utt2component").values())
        assert comps == {"DCA"}
    assert allsegs["DCA_se1_ag1_f_01-DCA_se1_ag1_f_01_1-00002"] == "i grew up on right off of benning road"
    assert allsegs["DCA_int_01-DCA_se1_ag1_f_01_1-00005"] == "mm hm"
    assert allsegs["DCA_se1_ag1_f_01-DCA_se1_ag1_f_01_1-00008"] == \
        "it was kramer junior high we ain't have no buses"
    assert "DCA_se1_ag1_f_01-DCA_se1_ag1_f_01_1-00006" not in allsegs  # mostly unintelligible
    assert "DCA_se1_ag1_f_01-DCA_se1_ag1_f_01_1-00003" not in allsegs  # pause row
    # the row ending 0.3 s past the audio is clamped to it
    for split in ("train", "dev", "test"):
        data = read_datadir(out / split)
        seg = data.segments.get("DCA_se1_ag1_f_02-DCA_se1_ag1_f_02_1-00010")
        if seg:
            assert seg[1:] == (19.8, AUDIO_S)
            assert data.utt2dur["DCA_se1_ag1_f_02-DCA_se1_ag1_f_02_1-00010"] == pytest.approx(0.2)
    # the long-form reference: every legible word of the test interview, in time order
    lf = read_datadir(out / "test_longform")
    (rec, text), = lf.text.items()
    assert float(lf.utt2dur[rec]) == AUDIO_S
    assert text == LONGFORM_REF[rec]
    spans = [line.split() for line in (out / "test_longform" / UNSCORED_SPANS).read_text().splitlines()]
    assert [(float(a), float(b)) for r, a, b in spans if r == rec] == UNSCORED[rec]
    assert {r for r, _, _ in spans} <= {rec}
    assert lf.wav_scp[rec].endswith(f"{AUDIO}/{rec}.wav")
    # the skip list names file and line of each dropped row
    skipped = (out / "coraal_skipped.tsv").read_text().splitlines()
    assert len(skipped) == 1 + sum(stats.rows_dropped.values())
    assert any("DCA_se1_ag1_f_02_1.txt:7\tunclosed_markup\tunclosed '[' at column 4" in s for s in skipped)
    assert any("DCA_se1_ag1_f_02_1.txt:12\tbeyond_audio" in s for s in skipped)
    doc = json.loads((out / "coraal_prep.json").read_text())
    assert doc["stats"]["rows_dropped"] == stats.rows_dropped


def test_prepare_raise_names_file_and_line(tmp_path):
    root = _corpus(tmp_path)
    with pytest.raises(CoraalFormatError,
                       match=r"DCA_se1_ag1_f_02_1\.txt:3: expected 5 tab-separated fields"):
        prepare_coraal(root, tmp_path / "data", on_error="raise")
    (root / TEXTS / "DCA_se1_ag1_f_02_1.txt").unlink()
    (root / AUDIO / "DCA_se1_ag1_f_02_1.wav").unlink()
    txt = root / TEXTS / "DCA_se1_ag1_f_01_1.txt"
    txt.write_text(txt.read_text().replace("Road.", "Road [yeah."))
    with pytest.raises(CoraalFormatError,
                       match=r"DCA_se1_ag1_f_01_1\.txt:3: unclosed '\[' at column 56"):
        prepare_coraal(root, tmp_path / "data", on_error="raise")


def test_prepare_interviewee_only_and_options(tmp_path):
    root = _corpus(tmp_path)
    stats = prepare_coraal(root, tmp_path / "data", speakers="interviewee", drop_overlap=True)
    assert stats.rows_dropped["overlap"] == 2  # rows 4 and 5 of file 01 (one per speaker)
    assert stats.rows_dropped["not_selected"] == 3 + 1 + 1  # other interviewer rows that passed
    assert stats.rows_kept == 14 - 2 - 5
    for split in ("train", "dev", "test"):
        spk = set(read_kaldi_map(tmp_path / "data" / split / "utt2spk").values())
        assert not any("_int_" in s for s in spk)
    # the long-form reference keeps both speakers
    (rec, text), = _texts(tmp_path / "data" / "test_longform").items()
    assert text == LONGFORM_REF[rec]
    with pytest.raises(ValueError, match="speakers must be 'all' or 'interviewee'"):
        prepare_coraal(root, tmp_path / "d2", speakers="interviewers")
    with pytest.raises(ValueError, match="on_error must be 'skip' or 'raise'"):
        prepare_coraal(root, tmp_path / "d2", on_error="warn")
    with pytest.raises(CoraalFormatError, match=r"no files of component\(s\) ATL \(found: DCA\)"):
        prepare_coraal(root, tmp_path / "d2", components=["ATL"])


def test_prepare_skips_files_without_audio_or_with_low_rate(tmp_path):
    root = _corpus(tmp_path, stems=STEMS[:2])  # no wav for the third transcript
    sf.write(root / AUDIO / "DCA_se1_ag1_f_02_1.wav", np.zeros(8000 * 20, np.int16), 8000)
    (root / TEXTS / "DCA_se1_ag9_m_09_1.txt").write_text("\t".join(TRANSCRIPT_COLUMNS) + "\n")
    with pytest.raises(CoraalFormatError, match="no dev segment left"):
        prepare_coraal(root, tmp_path / "data")  # one interview left: no dev/test
    assert not (tmp_path / "data").exists()  # nothing written on failure
    with pytest.raises(CoraalFormatError, match=r"DCA_se1_ag1_f_02_1\.wav: 8000 Hz audio"):
        prepare_coraal(root, tmp_path / "data", on_error="raise")


def test_prepare_file_skip_counts(tmp_path):
    root = _corpus(tmp_path)
    for k in (4, 5):  # two more interviewees so that the split survives the skipped files
        src = root / TEXTS / "DCA_se1_ag2_m_03_1.txt"
        stem = f"DCA_se1_ag2_m_0{k}_1"
        (root / TEXTS / f"{stem}.txt").write_text(src.read_text().replace("ag2_m_03", f"ag2_m_0{k}"))
        shutil.copy(root / AUDIO / "DCA_se1_ag2_m_03_1.wav", root / AUDIO / f"{stem}.wav")
    sf.write(root / AUDIO / "DCA_se1_ag1_f_02_1.wav", np.zeros(8000 * 20, np.int16), 8000)
    (root / AUDIO / "DCA_se1_ag2_m_03_1.wav").write_bytes(b"RIFF not really a wav")
    (root / TEXTS / "DCA_se1_ag9_m_09_1.txt").write_text("\t".join(TRANSCRIPT_COLUMNS) + "\n")
    (root / AUDIO / "DCA_se1_ag8_m_08_1.wav").write_bytes(b"")
    stats = prepare_coraal(root, tmp_path / "data")
    assert stats.files_in == 7
    assert stats.files_skipped == {"low_sample_rate": 1, "bad_audio": 1, "no_audio": 1, "no_transcript": 1}
    assert stats.files_used == 3
    skipped = (tmp_path / "data" / "coraal_skipped.tsv").read_text()
    assert "DCA_se1_ag1_f_02_1.wav\tfile_low_sample_rate" in skipped


def test_prepare_from_archives(tmp_path):
    root = _corpus(tmp_path)
    plain = prepare_coraal(root, tmp_path / "plain")
    for d in (AUDIO, TEXTS):
        with tarfile.open(root / f"{d}.tar.gz", "w:gz") as tar:
            tar.add(root / d, arcname=d)
        shutil.rmtree(root / d)
    stats = prepare_coraal(root, tmp_path / "arch")
    assert stats.rows_dropped == plain.rows_dropped and stats.segments == plain.segments
    for split in ("train", "dev", "test", "test_longform"):
        assert _texts(tmp_path / "arch" / split) == _texts(tmp_path / "plain" / split)
    assert (tmp_path / "arch" / "coraal_extracted" / AUDIO / ".done").exists()
    wav = read_kaldi_map(tmp_path / "arch" / "test_longform" / "wav.scp")
    assert all("coraal_extracted" in v for v in wav.values())


# ------------------------------------------------------------------ entry points


def test_cli_prepare_ok_and_error(tmp_path, capsys):
    root = _corpus(tmp_path)
    assert prepare_bin.main(["--corpus_dir", str(root), "--out_dir", str(tmp_path / "d"), "--quiet"]) == 0
    assert "rows dropped: malformed 3" in capsys.readouterr().out
    rc = prepare_bin.main(["--corpus_dir", str(root), "--out_dir", str(tmp_path / "d"),
                           "--on_error", "raise", "--quiet"])
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("ERROR")]
    assert rc == 1 and len(err) == 1 and err[0].startswith("ERROR: ")
    assert "DCA_se1_ag1_f_02_1.txt:3: expected 5 tab-separated fields" in err[0]
    assert standin_bin.main(["--out_root", str(tmp_path / "s"), "--components", "A1"]) == 1
    assert "three-letter codes" in capsys.readouterr().err


def test_drop_reasons_are_documented():
    import usm_espnet.corpora.coraal_text as mod

    for reason in DROP_REASONS:
        assert f"``{reason}``" in mod.__doc__


def test_subtract_spans():
    assert subtract_spans([(1.0, 5.0)], [(2.0, 3.0)]) == [(1.0, 2.0), (3.0, 5.0)]
    assert subtract_spans([(1.0, 5.0)], [(0.0, 6.0)]) == []
    assert subtract_spans([(1.0, 3.0), (2.0, 4.0)], []) == [(1.0, 4.0)]
    assert subtract_spans([(4.0, 6.0)], [(3.0, 4.5)]) == [(4.5, 6.0)]


def test_context_segments_hold_exactly_the_speech_in_their_span():
    import random
    rows = [(1.0, 2.0, "kept", "one", "u1"), (2.0, 3.0, "no_speech", "", "p"),
            (3.0, 4.0, "kept", "two", "u2"), (4.5, 5.5, "speech_dropped", "", "x"),
            (6.0, 7.0, "kept", "three", "u3"), (6.8, 7.5, "kept", "yeah", "u4"),
            (9.0, 10.0, "kept", "four", "u5")]
    seen = {}
    for seed in range(20):
        for utt, (st, en, text, n) in context_segments(rows, 8.0, 12.0, random.Random(seed)).items():
            seen.setdefault(utt, set()).add(text)
            inside = [r for r in rows if r[2] != "no_speech" and r[0] < en and r[1] > st]
            # every speech row the span touches lies wholly inside it, and its words are the text
            assert all(st <= r[0] and r[1] <= en for r in inside)
            assert text == " ".join(r[3] for r in inside)
            assert " ".join(r[3] for r in inside if r[2] == "speech_dropped") == ""
            assert 0.0 <= st and en <= 12.0
    # u1 spans the pause and may take u2, never the dropped row's time; u3 and u4 overlap:
    # u3 alone would cut u4 (never made), u3 with u4 is whole; u4 alone would cut u3
    assert seen["u1-ctx"] == {"one", "one two"}
    assert seen["u3-ctx"] == {"three yeah", "three yeah four"} and "u4-ctx" not in seen
    assert seen["u5-ctx"] == {"four"}


def test_prepare_train_context_segments(tmp_path):
    root = _corpus(tmp_path)
    out = tmp_path / "data"
    plain = prepare_coraal(root, tmp_path / "plain")
    stats = prepare_coraal(root, out, train_context_seconds=8.0)
    train = read_datadir(out / "train")
    ctx = {u: t for u, t in train.text.items() if u.endswith("-ctx")}
    assert ctx and stats.segments["train"] == plain.segments["train"] + len(ctx)
    for split in ("dev", "test", "test_longform"):  # only the train split changes
        assert _texts(out / split) == _texts(tmp_path / "plain" / split)
    validate_datadir(out / "train")
    with pytest.raises(ValueError, match="train_context_seconds"):
        prepare_coraal(root, tmp_path / "bad", train_context_seconds=-1.0)
