"""Tests for usm_espnet.standin.covost2: the CoVoST 2 stand-in's argument checks."""

import pytest

from usm_espnet.standin.covost2 import make_standin_covost2


def test_standin_rejects_languages_it_cannot_speak(tmp_path):
    with pytest.raises(ValueError, match=r"cannot synthesise 'ja'.*it can: fr, de, es"):
        make_standin_covost2(tmp_path / "s", langs=["fr", "ja"])
    with pytest.raises(ValueError, match="unknown CoVoST 2 source language 'xx'"):
        make_standin_covost2(tmp_path / "s", langs=["xx"])
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "other").write_text("x")
    with pytest.raises(ValueError, match="not made by make_standin_covost2"):
        make_standin_covost2(tmp_path / "s", langs=["fr"])
