"""Tests for usm_espnet.standin.coraal: the CORAAL stand-in's layout and markup, read back by the corpus readers."""

import pytest
import soundfile as sf

from usm_espnet.corpora.coraal import (
    TRANSCRIPT_COLUMNS,
    normalize_coraal,
    read_coraal_metadata,
    read_coraal_transcript,
)
from usm_espnet.standin.coraal import make_standin_coraal


def test_standin_layout_and_markup(tmp_path):
    out = tmp_path / "standin"
    st = make_standin_coraal(out, components=["PRV"], interviews_per_component=3,
                             turns_per_interview=3, seed=4, nj=1, progress=False)
    assert st.interviews == 3 and st.num_skipped == 0
    assert (out / "PRV_metadata_2023.06.txt").exists()
    meta = read_coraal_metadata(out / "PRV_metadata_2023.06.txt")
    assert len(meta) == 3
    seen = set()
    for file, m in meta.items():
        wav = out / "PRV_audio_part01_2023.06" / f"{file}.wav"
        txt = out / "PRV_textfiles_2023.06" / f"{file}.txt"
        info = sf.info(wav)
        assert info.samplerate == 44100 and info.channels == 1
        assert txt.read_text().splitlines()[0] == "\t".join(TRANSCRIPT_COLUMNS)
        rows = read_coraal_transcript(txt, on_error="raise")
        assert {r.spkr for r in rows} == {m.spkr, "PRV_int_01"}
        assert all(r.end <= info.duration for r in rows)
        for r in rows:
            norm = normalize_coraal(r.content, where=r.where)  # never unclosed
            seen.update(k for k, v in (("pause", norm.num_pauses), ("masked", norm.num_masked),
                                       ("nonspeech", norm.num_nonspeech)) if v)
            seen.update(["overlap"] if norm.overlap else [])
    assert {"pause", "masked"} <= seen
    again = make_standin_coraal(out, components=["PRV"], interviews_per_component=3,
                                turns_per_interview=3, seed=4, nj=1, progress=False)
    assert again.reused
    with pytest.raises(ValueError, match="three-letter codes"):
        make_standin_coraal(tmp_path / "x", components=["PR"], nj=1)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "f").write_text("x")
    with pytest.raises(ValueError, match="not made by make_standin_coraal"):
        make_standin_coraal(tmp_path / "busy", nj=1)
