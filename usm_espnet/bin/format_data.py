"""Stage 2 of the ASR template: 16 kHz mono audio, duration filter, language tokens.

    python -m usm_espnet.bin.format_data --in_dir data/train --out_dir dump/raw/train \
        --min_dur 0.3 --max_dur 20 [--lang_token true] [--nj 2]

Audio already stored as 16 kHz mono files is referenced in place; anything else
(another rate, several channels, ark, pipes, segments) is decoded, resampled and
written as 16-bit wav under ``<out_dir>.wav/``. Unreadable audio is a counted,
logged skip. The output data dir gets ``utt2num_samples`` (ESPnet's shape file).
"""

import argparse
import logging
import os
import sys
from multiprocessing import Pool
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from usm_espnet.bin._cli import setup_logging
from usm_espnet.utils import replace_dir, str2bool

logger = logging.getLogger("format_data")
SR = 16000


def _plain_path(spec: str) -> Optional[str]:
    s = spec.strip()
    if s.endswith("|") or ":" in os.path.basename(s) or s.startswith("ark:"):
        return None
    return s


_JOB: Dict = {}


def _init(job: Dict) -> None:
    _JOB.update(job)


def _one(utt: str) -> Tuple[str, Optional[str], int, str]:
    """-> (utt, wav path or None when skipped, num_samples, reason)."""
    import soundfile as sf

    from usm_espnet.data.audio import AudioError, load_audio, probe_audio_file
    from usm_espnet.data.validate import check_finite

    data = _JOB["data"]
    seg = data.segments.get(utt) if data.segments else None
    rec = seg[0] if seg else utt
    spec = data.wav_scp[rec]
    path = None if seg else _plain_path(spec)
    try:
        if path is not None:
            info = probe_audio_file(path)  # missing, truncated, unreadable: skipped
            if info.samplerate == SR and info.channels == 1 and info.frames > 0:
                check_finite(info)  # referenced in place: nothing else reads its samples
                return utt, os.path.abspath(path), info.frames, ""
        x = load_audio(spec, target_sr=SR, segment=(seg[1], seg[2]) if seg else None)
        if x.size == 0:
            raise AudioError(f"{spec}: no samples")
        out = os.path.join(_JOB["wav_dir"], f"{utt}.wav")
        sf.write(out, x, SR, subtype="PCM_16")
        return utt, os.path.abspath(out), int(x.shape[0]), ""
    except (AudioError, OSError, ValueError) as e:
        return utt, None, 0, f"{e}"


def format_data(in_dir: str, out_dir: str, min_dur: float = 0.3, max_dur: float = 20.0,
                lang_token: bool = False, nj: int = 2,
                require_text: bool = True, langs: Optional[List[str]] = None) -> Dict[str, int]:
    """Write a 16 kHz, duration-filtered copy of a Kaldi data dir.

    Args:
        in_dir: Source data dir (validated first).
        out_dir: Destination; replaced atomically.
        min_dur: Shortest kept utterance in seconds.
        max_dur: Longest kept utterance in seconds.
        lang_token: Prefix each transcript with ``<lang>`` from utt2lang.
        nj: Worker processes.
        require_text: Fail when ``text`` is missing; with False a text-less dir
            (untranscribed audio for pre-training) is formatted without one.
        langs: Keep only utterances of these languages (utt2lang); each must have some.

    Returns:
        Counts: kept, too_short, too_long, bad_audio (missing, unreadable,
        truncated, empty audio or NaN/infinite samples: logged, counted skips).

    Raises:
        DataDirError: ``in_dir`` is invalid (``file:line``), nothing is left, or a
            kept transcript is far too long for its audio (``text:line``, see
            :func:`usm_espnet.data.validate.check_transcripts`).
    """
    from tqdm import tqdm

    from usm_espnet.data.kaldi import DataDir, DataDirError, read_datadir, write_datadir
    from usm_espnet.data.validate import check_transcripts

    data = read_datadir(in_dir, validate=True, require_text=require_text)
    if lang_token and not data.utt2lang:
        raise DataDirError(f"{in_dir}/utt2lang: missing; --lang_token true needs it")
    utts = data.utt_ids()
    if langs:
        if not data.utt2lang:
            raise DataDirError(f"{in_dir}/utt2lang: missing; --langs needs it")
        utts = [u for u in utts if data.utt2lang.get(u) in set(langs)]
        missing = sorted(set(langs) - {data.utt2lang[u] for u in utts})
        if missing:
            have = sorted(set(data.utt2lang.values()))
            raise DataDirError(f"{in_dir}/utt2lang: no utterance of {', '.join(missing)} "
                               f"(languages here: {', '.join(have)})")
    wav_dir = f"{out_dir}.wav"
    os.makedirs(wav_dir, exist_ok=True)
    job = {"data": data, "wav_dir": wav_dir}
    results: List[Tuple[str, Optional[str], int, str]] = []
    with Pool(max(1, nj), initializer=_init, initargs=(job,)) as pool:
        for r in tqdm(pool.imap(_one, utts, chunksize=16), total=len(utts),
                      desc=f"format {Path(in_dir).name}", disable=None, file=sys.stderr):
            results.append(r)
    counts = {"kept": 0, "too_short": 0, "too_long": 0, "bad_audio": 0}
    keep: Dict[str, Tuple[str, int]] = {}
    for utt, path, n, reason in results:
        if path is None:
            counts["bad_audio"] += 1
            logger.warning("skipping %s (%s/wav.scp): %s", utt, in_dir, reason)
        elif n < min_dur * SR:
            counts["too_short"] += 1
        elif n > max_dur * SR:
            counts["too_long"] += 1
        else:
            keep[utt] = (path, n)
            counts["kept"] += 1
    if not keep:
        raise DataDirError(f"{in_dir}: no utterance left after formatting ({counts})")
    if data.text:
        check_transcripts(data.text, {u: n / SR for u, (_, n) in keep.items()})
    ids = sorted(keep)
    text = {u: data.text[u] for u in ids} if data.text else {}
    if lang_token and text:
        text = {u: f"<{data.utt2lang[u]}> {t}" for u, t in text.items()}
    out = DataDir(
        wav_scp={u: keep[u][0] for u in ids},
        text=text,
        utt2spk={u: data.utt2spk.get(u, u) for u in ids} if data.utt2spk else {},
        utt2lang={u: data.utt2lang[u] for u in ids} if data.utt2lang else {},
        utt2dur={u: keep[u][1] / SR for u in ids},
    )
    tmp = f"{out_dir}.tmp"
    write_datadir(tmp, out)
    with open(os.path.join(tmp, "utt2num_samples"), "w", encoding="utf-8") as f:
        for u in ids:
            f.write(f"{u} {keep[u][1]}\n")
    replace_dir(tmp, out_dir)
    hours = sum(n for _, n in keep.values()) / SR / 3600
    logger.info("%s -> %s: kept %d (%.2f h), too short %d, too long %d, bad audio %d",
                in_dir, out_dir, counts["kept"], hours, counts["too_short"],
                counts["too_long"], counts["bad_audio"])
    return counts


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--in_dir", required=True)
    p.add_argument("--out_dir", required=True)
    p.add_argument("--min_dur", type=float, default=0.3)
    p.add_argument("--max_dur", type=float, default=20.0)
    p.add_argument("--lang_token", type=str2bool, default=False)
    p.add_argument("--nj", type=int, default=2)
    p.add_argument("--require_text", type=str2bool, default=True,
                   help="false: accept a dir without text (untranscribed audio)")
    p.add_argument("--langs", default="", help="comma-separated: keep only these languages")
    a = p.parse_args(argv)
    setup_logging()
    from usm_espnet.data.kaldi import DataDirError
    try:
        format_data(a.in_dir, a.out_dir, a.min_dur, a.max_dur, a.lang_token, a.nj, a.require_text,
                    [x for x in a.langs.split(",") if x])
    except DataDirError as e:
        print(f"ERROR: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
