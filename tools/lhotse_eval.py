#!/usr/bin/env python3
"""Issue 18 item 2: does lhotse already do the job of our audio and Kaldi readers?

lhotse is not a dependency of usm-espnet; this script evaluates it beside our code on
the cases of the bad-input matrix (docs/reliability.md) that concern audio files and
Kaldi data dirs, and prints one row per case: what lhotse's ``Recording.from_file`` +
``load_audio`` and ``lhotse.kaldi.load_kaldi_data_dir`` do, and what
``usm_espnet.data.audio.load_audio`` / ``usm_espnet.data.kaldi.read_datadir`` do.
Run it with lhotse on the path (no install into the project's venv needed):

    pip install --no-deps --target /tmp/lhotse_pkgs lhotse intervaltree sortedcontainers lilcom cytoolz
    PYTHONPATH=/tmp/lhotse_pkgs:. python tools/lhotse_eval.py

Its findings (lhotse 1.33.0) are written in docs/architecture.md ("lhotse") and in the
docstrings of usm_espnet/data/audio.py and usm_espnet/data/kaldi.py.
"""

import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _short(e: BaseException) -> str:
    return f"{type(e).__name__}: {' '.join(str(e).split())[:100]}"


def audio_cases(d: Path):
    sr = 16000
    x = (0.1 * np.sin(np.arange(sr) / 10)).astype(np.float32)
    sf.write(d / "ok.wav", x, sr, subtype="PCM_16")
    sf.write(d / "rate_8k.wav", x[:8000], 8000, subtype="PCM_16")
    sf.write(d / "stereo.wav", np.stack([x, x], 1), sr, subtype="PCM_16")
    y = x.copy()
    y[100] = np.nan
    sf.write(d / "nan.wav", y, sr, subtype="FLOAT")
    sf.write(d / "zero_length.wav", x[:0], sr, subtype="PCM_16")
    raw = (d / "ok.wav").read_bytes()
    (d / "truncated.wav").write_bytes(raw[: len(raw) // 2])
    (d / "corrupt_header.wav").write_bytes(b"RIFX" + raw[4:])
    return ["ok.wav", "rate_8k.wav", "stereo.wav", "nan.wav", "zero_length.wav", "truncated.wav",
            "corrupt_header.wav", "missing.wav"]


def datadir_cases(d: Path):
    cases = {
        "duplicate_id": ("a ok.wav\nb ok.wav\n", "a hello\na again\nb x\n"),
        "text_without_audio": ("a ok.wav\n", "a hello\nzz nope\n"),
        "unsorted": ("b ok.wav\na ok.wav\n", "b x\na y\n"),
        "byte_order_mark": ("\ufeffa ok.wav\n", "a x\n"),
    }
    for name, (wav, text) in cases.items():
        p = d / name
        p.mkdir()
        (p / "wav.scp").write_text(wav.replace("ok.wav", str(d / "ok.wav")), encoding="utf-8")
        (p / "text").write_text(text)
        ids = [line.split()[0].lstrip("\ufeff") for line in wav.splitlines()]
        (p / "utt2spk").write_text("".join(f"{u} s\n" for u in ids))
        (p / "spk2utt").write_text("s " + " ".join(sorted(ids)) + "\n")
    return list(cases)


def main() -> int:
    from lhotse import Recording
    from lhotse.kaldi import load_kaldi_data_dir

    from usm_espnet.data.audio import check_wav_complete, load_audio
    from usm_espnet.data.kaldi import read_datadir

    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        os.chdir(d)
        print("| audio file | lhotse (Recording.from_file + load_audio at 16 kHz) | usm_espnet.data.audio |")
        print("|---|---|---|")
        for c in audio_cases(d):
            try:
                r = Recording.from_file(c)
                a = r.resample(16000).load_audio()
                lh = f"loads {a.shape[0]} ch x {a.shape[1]} samples" + (", NaN inside" if np.isnan(a).any() else "")
            except Exception as e:  # noqa: BLE001 - the point is to see what it raises
                lh = _short(e)
            try:
                check_wav_complete(c)
                ours = f"loads {load_audio(c, 16000).shape[0]} samples (mono)"
            except Exception as e:  # noqa: BLE001
                ours = _short(e)
            print(f"| {c} | {lh} | {ours} |")
        print()
        print("| data dir | lhotse.kaldi.load_kaldi_data_dir | usm_espnet.data.kaldi.read_datadir |")
        print("|---|---|---|")
        for c in datadir_cases(d):
            try:
                recs, sups, _ = load_kaldi_data_dir(c, sampling_rate=16000)
                lh = f"loads {len(recs)} recordings, texts {[s.text for s in sups]}"
            except Exception as e:  # noqa: BLE001
                lh = _short(e)
            try:
                read_datadir(c)
                ours = "loads"
            except Exception as e:  # noqa: BLE001
                ours = _short(e)
            print(f"| {c} | {lh} | {ours} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
