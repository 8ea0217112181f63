"""Tests for usm_espnet.standin.espeak and usm_espnet.standin.synth (espeak-ng synthesis) and its command line."""

import os
from typing import Dict, Tuple

import numpy as np
import pytest
import soundfile as sf

from usm_espnet.data.languages import FLEURS_LANGUAGES
from usm_espnet.standin import espeak as E
from usm_espnet.standin import synth as S

EN = "The quick brown fox jumps over the lazy dog."

# (text, script) per language: 16 languages in 5 scripts.
SAMPLES: Dict[str, Tuple[str, str]] = {
    "en_us": (EN, "Latin"),
    "fr_fr": ("Bonjour, comment allez-vous aujourd'hui ?", "Latin"),
    "de_de": ("Guten Morgen, wie geht es Ihnen heute?", "Latin"),
    "es_419": ("Buenos días, ¿cómo está usted hoy?", "Latin"),
    "pt_br": ("Bom dia, como você está hoje?", "Latin"),
    "ru_ru": ("Доброе утро, как у вас дела сегодня?", "Cyrillic"),
    "uk_ua": ("Доброго ранку, як ваші справи сьогодні?", "Cyrillic"),
    "bg_bg": ("Добро утро, как сте днес?", "Cyrillic"),
    "hi_in": ("नमस्ते, आज आप कैसे हैं?", "Devanagari"),
    "mr_in": ("नमस्कार, आज तुम्ही कसे आहात?", "Devanagari"),
    "ne_np": ("नमस्ते, आज तपाईंलाई कस्तो छ?", "Devanagari"),
    "ar_eg": ("صباح الخير، كيف حالك اليوم؟", "Arabic"),
    "fa_ir": ("صبح بخیر، امروز حال شما چطور است؟", "Arabic"),
    "ur_pk": ("صبح بخیر، آج آپ کیسے ہیں؟", "Arabic"),
    "cmn_hans_cn": ("早上好，你今天好吗？", "Han"),
    "yue_hant_hk": ("早晨，你今日好嗎？", "Han"),
}


@pytest.fixture(scope="module")
def spk() -> E.Speaker:
    return E.make_speakers(1, seed=3)[0]


def test_voice_table_matches_wheel() -> None:
    files = E.available_voice_files()
    assert len(E.ESPEAK_VOICES) >= 70
    for code, voice in E.ESPEAK_VOICES.items():
        assert code in FLEURS_LANGUAGES
        assert voice in files, f"{code}: no voice file {voice!r} in the wheel"
    assert set(E.VARIANTS) <= set(E.available_variants())
    assert E.supported_languages() == sorted(E.ESPEAK_VOICES)
    assert not set(E.PARTIAL_VOICES) & set(E.ESPEAK_VOICES)


def test_make_speakers() -> None:
    a = E.make_speakers(20, seed=7)
    assert a == E.make_speakers(20, seed=7)
    assert a[:5] == E.make_speakers(5, seed=7)
    assert a != E.make_speakers(20, seed=8)
    assert len({s.id for s in a}) == 20
    assert len({s.variant for s in a[:len(E.VARIANTS)]}) == len(E.VARIANTS)
    for s in a:
        assert s.variant in E.VARIANTS and 130 <= s.rate <= 200
        assert 0 <= s.pitch <= 100 and 0 <= s.pitch_range <= 100
        assert s.id.startswith(s.variant) and s.id.isalnum()
    assert E.make_speakers(0, seed=1) == []


def test_deterministic_and_speaker_dependent(spk: E.Speaker) -> None:
    a = S.synthesize(EN, "en_us", spk)
    S.synthesize(SAMPLES["ru_ru"][0], "ru_ru", E.make_speakers(3, 9)[2])  # disturb state
    b = S.synthesize(EN, "en_us", spk)
    E._close_zygote()  # a fresh espeak-ng process must agree too
    c = S.synthesize(EN, "en_us", spk)
    assert np.array_equal(a, b) and np.array_equal(a, c)
    other = next(s for s in E.make_speakers(4, 11) if s.variant != spk.variant)
    d = S.synthesize(EN, "en_us", other)
    assert len(d) != len(a) or not np.allclose(d, a)


def test_output_format(spk: E.Speaker) -> None:
    x = S.synthesize(EN, "en_us", spk)
    assert x.dtype == np.float32 and x.ndim == 1
    assert 0 < np.abs(x).max() <= 1.0
    y = S.synthesize(EN, "en_us", spk, sample_rate=22050)
    assert abs(len(x) / len(y) - 16000 / 22050) < 1e-3
    assert 1.0 < len(x) / 16000 < 6.0
    edge = int(0.1 * 16000)
    rms = float(np.sqrt(np.mean(x ** 2)))
    assert np.sqrt(np.mean(x[: edge // 2] ** 2)) < 0.05 * rms  # ~0.1 s silence kept
    assert np.sqrt(np.mean(x[-edge // 2:] ** 2)) < 0.05 * rms
    assert np.sqrt(np.mean(x[edge: 3 * edge] ** 2)) > 0.1 * rms  # and not much more


@pytest.mark.parametrize("snr", [0.0, 10.0, 25.0])
def test_snr(spk: E.Speaker, snr: float) -> None:
    clean = S.synthesize(EN, "en_us", spk)
    noisy = S.synthesize(EN, "en_us", spk, snr_db=snr, seed=5)
    assert noisy.shape == clean.shape
    assert np.array_equal(noisy, S.synthesize(EN, "en_us", spk, snr_db=snr, seed=5))
    assert not np.array_equal(noisy, S.synthesize(EN, "en_us", spk, snr_db=snr, seed=6))
    # a clipping guard may scale signal and noise together: undo the common gain
    gain = float(np.dot(noisy, clean) / np.dot(clean, clean))
    noise = noisy.astype(np.float64) / gain - clean
    measured = 10 * np.log10(np.mean(clean.astype(np.float64) ** 2) / np.mean(noise ** 2))
    assert abs(measured - snr) < 0.5


def _frame_energy(x: np.ndarray, sr: int = 16000) -> np.ndarray:
    n = len(x) // (sr // 100)
    return (x[:n * (sr // 100)].astype(np.float64).reshape(n, -1) ** 2).mean(axis=1)


def test_varied_acoustics_leave_no_digital_silence_and_vary(spk: E.Speaker) -> None:
    """--acoustics varied: a noise floor everywhere, pauses, edges, rate and pitch per seed."""
    varied = S.ACOUSTICS["varied"]
    clean = S.synthesize(EN, "en_us", spk)
    assert (_frame_energy(clean) == 0).sum() > 0  # espeak-ng's digital silence
    outs = [S._synthesize(EN, "en_us", spk, 16000, None, seed, varied)[0] for seed in range(6)]
    for y in outs:
        assert y.dtype == np.float32 and np.max(np.abs(y)) <= 1.0
        assert (_frame_energy(y) == 0).sum() == 0  # no 10 ms frame of exact silence
    lengths = {len(y) for y in outs}
    assert len(lengths) == 6  # rate, pauses and edges differ from one utterance to the next
    assert np.array_equal(outs[2], S._synthesize(EN, "en_us", spk, 16000, None, 2, varied)[0])
    # floor (35-55 dB down) or background noise (10-30 dB SNR) under the speech: the
    # quietest frames are quieter than the loudest, but not silent
    ranges = [10 * np.log10(_frame_energy(y).max() / np.percentile(_frame_energy(y), 5))
              for y in outs]
    assert all(5 < r < 90 for r in ranges) and max(ranges) > 25, ranges
    with pytest.raises(ValueError, match="unknown acoustics 'loud'"):
        S.acoustics_of("loud")
    assert S.acoustics_of("clean") is None and S.acoustics_of("") is None


def test_apply_acoustics_pause_goes_into_a_word_gap() -> None:
    sr = 16000
    tone = np.sin(2 * np.pi * 220 * np.arange(int(0.3 * sr)) / sr).astype(np.float32)
    edge = np.zeros(int(0.1 * sr), np.float32)
    gap = np.zeros(int(0.08 * sr), np.float32)
    x = np.concatenate([edge, tone, gap, tone, edge])
    gaps = S.silence_gaps(x, sr)
    assert len(gaps) == 1 and abs(gaps[0] - (len(edge) + len(tone) + len(gap) // 2)) <= sr // 100
    cond = S.Acoustics(pause_prob=1.0, pause_s=(0.5, 0.5), edge_s=(0.2, 0.2))
    y = S.apply_acoustics(x, sr, cond, seed=0)
    # 0.6 s of tone + 0.08 s gap + 0.5 s pause + 2 x 0.2 s edges
    assert len(y) == pytest.approx(int(0.6 * sr) + len(gap) + int(0.5 * sr) + 2 * int(0.2 * sr),
                                   abs=2)
    active = np.nonzero(_frame_energy(y) > 1e-4)[0]
    assert active[0] == pytest.approx(20, abs=1)  # the lead is 0.2 s


def test_errors(spk: E.Speaker) -> None:
    unsupported = sorted(set(FLEURS_LANGUAGES) - set(E.ESPEAK_VOICES))
    assert "zu_za" in unsupported
    with pytest.raises(E.UnsupportedLanguageError, match="supported: .*en_us"):
        S.synthesize("Sawubona", "zu_za", spk)
    with pytest.raises(E.UnsupportedLanguageError):
        S.synthesize("hello", "xx_yy", spk)
    assert issubclass(E.UnsupportedLanguageError, ValueError)
    for text in ("", "   \n"):
        with pytest.raises(ValueError):
            S.synthesize(text, "en_us", spk)
    with pytest.raises(E.SynthesisError):
        S.synthesize(".", "en_us", spk)  # speaks nothing


def test_many_languages_and_scripts() -> None:
    speakers = E.make_speakers(len(SAMPLES), seed=1)
    scripts = set()
    for (lang, (text, script)), sp in zip(SAMPLES.items(), speakers):
        assert FLEURS_LANGUAGES[lang][1] == script
        x = S.synthesize(text, lang, sp)
        assert len(x) / 16000 > 0.6, lang
        assert np.sqrt(np.mean(x ** 2)) > 1e-3, lang
        scripts.add(script)
    assert len(SAMPLES) >= 12 and len(scripts) >= 5


def test_synthesize_many(tmp_path) -> None:
    speakers = E.make_speakers(3, seed=2)
    items = [
        S.SynthItem(f"u{i}", SAMPLES[lang][0], lang, speakers[i % 3],
                    str(tmp_path / "wav" / f"u{i}.wav"), snr_db=20.0 if i % 2 else None, seed=i)
        for i, lang in enumerate(["en_us", "fr_fr", "hi_in", "ru_ru", "cmn_hans_cn"])
    ]
    items.append(S.SynthItem("bad", ".", "en_us", speakers[0], str(tmp_path / "wav" / "bad.wav")))
    stats = S.synthesize_many(items, nj=2, progress=False)
    assert (stats.num_ok, stats.num_skipped, stats.skipped_ids) == (5, 1, ["bad"])
    assert stats.cpu_seconds > 0 and stats.throughput > 1.0
    assert abs(stats.rtf * stats.throughput - 1.0) < 1e-9
    assert abs(sum(stats.utt2dur.values()) - stats.audio_seconds) < 1e-6
    assert sorted(os.listdir(tmp_path / "wav")) == [f"u{i}.wav" for i in range(5)]
    for it in items[:5]:
        info = sf.info(it.out_path)
        assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
        wav, _ = sf.read(it.out_path, dtype="float32")
        assert abs(len(wav) / 16000 - stats.utt2dur[it.utt_id]) < 1e-6
    # the clean file equals the in-process synthesis up to 16-bit quantisation
    ref = S.synthesize(items[0].text, "en_us", items[0].speaker)
    wav, _ = sf.read(items[0].out_path, dtype="float32")
    assert np.abs(wav - ref).max() < 2e-4


def _read_table(path) -> Dict[str, str]:
    with open(path, encoding="utf-8") as f:
        return dict(line.rstrip("\n").split(" ", 1) for line in f)


def test_synth_datadir_and_bin(tmp_path, capsys) -> None:
    from usm_espnet.bin.synth import main

    text_file = tmp_path / "sents.txt"
    text_file.write_text(
        "# lang<TAB>text\n"
        + "".join(f"{lang}\t{SAMPLES[lang][0]}\n" for lang in ("en_us", "fr_fr", "hi_in"))
        + "en_us\tA second English sentence.\n",
        encoding="utf-8",
    )
    out = tmp_path / "data"
    rc = main(["--langs", "en_us,fr_fr,hi_in", "--num_utts", "7", "--out_dir", str(out),
               "--num_speakers", "2", "--nj", "1", "--text_file", str(text_file),
               "--snr_db", "30", "--no_progress"])
    assert rc == 0
    printed = capsys.readouterr().out
    for word in ("utterances:", "skipped:", "audio:", "wall time:", "throughput:"):
        assert word in printed
    utt2spk = _read_table(out / "utt2spk")
    assert len(utt2spk) == 7
    assert sum(u.startswith("en_us-") for u in utt2spk) == 3
    for utt, spk_id in utt2spk.items():
        assert utt.startswith(spk_id + "-")
    assert _read_table(out / "utt2lang") == {u: u.split("-")[0] for u in utt2spk}
    wav_scp = _read_table(out / "wav.scp")
    text = _read_table(out / "text")
    utt2dur = _read_table(out / "utt2dur")
    assert set(wav_scp) == set(text) == set(utt2dur) == set(utt2spk)
    for utt, path in wav_scp.items():
        assert os.path.isfile(path) and sf.info(path).samplerate == 16000
        assert abs(sf.info(path).duration - float(utt2dur[utt])) < 0.01
    assert text[next(u for u in text if u.startswith("hi_in-"))] == SAMPLES["hi_in"][0]
    for name in ("wav.scp", "utt2spk"):
        keys = [line.split(" ", 1)[0] for line in open(out / name, encoding="utf-8")]
        assert keys == sorted(keys)
    try:
        from usm_espnet.data.kaldi import validate_datadir
    except ImportError:
        pass
    else:
        validate_datadir(str(out), require_text=True, check_audio=False)


def test_bin_help(capsys) -> None:
    from usm_espnet.bin.synth import main

    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for opt in ("--langs", "--num_utts", "--out_dir", "--num_speakers", "--seed", "--snr_db",
                "--nj", "--text_file"):
        assert opt in out
    assert main(["--list_langs"]) == 0
    assert "cmn_hans_cn\tcmn" in capsys.readouterr().out


def test_synth_datadir_parallel_text(tmp_path) -> None:
    try:
        from usm_espnet.standin.parallel_text import generate_parallel_text  # noqa: F401
    except ImportError:
        pytest.skip("usm_espnet.standin.parallel_text.generate_parallel_text not available")
    out = tmp_path / "d"
    stats = S.synth_datadir(str(out), ["en_us", "hi_in"], num_utts=4, num_speakers=2, seed=1,
                            nj=1, progress=False)
    assert stats.num_ok == 4 and stats.num_skipped == 0
    utt2lang = _read_table(out / "utt2lang")
    assert sorted(utt2lang.values()) == ["en_us", "en_us", "hi_in", "hi_in"]
    assert len(os.listdir(out / "wav")) == 4


def test_synth_datadir_uses_parallel_text_api(tmp_path, monkeypatch) -> None:
    """Default sentence source: generate_parallel_text(langs, num_sentences, seed)."""
    import sys
    import types

    calls = []

    class FakeParallelText:
        ids = ["s001", "s002"]

        def text(self, sent_id: str, lang: str) -> str:
            return {"en_us": f"Sentence number {sent_id[-1]}.",
                    "ru_ru": f"Предложение номер {sent_id[-1]}."}[lang]

    def fake_generate(langs, num_sentences, seed=0):
        calls.append((list(langs), num_sentences, seed))
        return FakeParallelText()

    mod = types.ModuleType("usm_espnet.standin.parallel_text")
    mod.generate_parallel_text = fake_generate
    monkeypatch.setitem(sys.modules, "usm_espnet.standin.parallel_text", mod)
    out = tmp_path / "d"
    stats = S.synth_datadir(str(out), ["en_us", "ru_ru"], num_utts=5, num_speakers=3, seed=4,
                            nj=1, progress=False)
    assert calls == [(["en_us", "ru_ru"], 3, 4)]
    assert stats.num_ok == 5
    text = _read_table(out / "text")
    assert sorted(u.split("-")[-1] for u in text) == ["s001", "s001", "s001r1", "s002", "s002"]
    assert text[next(u for u in text if u.startswith("ru_ru-"))].startswith("Предложение")
