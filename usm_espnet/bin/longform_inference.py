"""Decode long recordings (minutes to hours) window by window with a chunk-wise attention model.

    python -m usm_espnet.bin.longform_inference --asr_train_config exp/asr/config.yaml \
        --asr_model_file exp/asr/valid.loss.ave.pth --wav_scp data/longform/wav.scp \
        --output_dir exp/asr/decode_longform [--mode auto|stream|exact|fast|onepass] [--window_seconds S] \
        [--overlap_seconds 2] [--decoder greedy|beam] [--beam_size 8] [--batch_size N] [--device cuda]

Writes ``<output_dir>/text`` (one line per recording), ``words.ctm`` (word
timestamps from CTC: ``<rec> 1 <start> <dur> <word>``) and ``stats.tsv``
(audio seconds, decoding seconds, real-time factor, peak RSS; with ``--batch_size``
above 1 a batch's decoding time is shared out in proportion to its recordings'
audio, and the log gives each batch's). Audio is read from disk span by span;
memory is bounded by one window (of the batch). ``wav.scp`` entries
must be audio files (any rate / channels ``soundfile`` reads; resampled to
16 kHz mono on the fly). A bad recording (unreadable, truncated, empty, or with
NaN/infinite samples, found when its scores are not finite) is reported and
skipped (counted); the exit status is 1 when any was skipped.
"""

import argparse
import collections
import logging
import os
import resource
import sys
import time
from typing import List, Optional

from usm_espnet.bin._cli import run, setup_logging
from usm_espnet.utils import atomic_write_text

logger = logging.getLogger("longform_inference")



def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m usm_espnet.bin.longform_inference",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--asr_train_config", required=True)
    p.add_argument("--asr_model_file", required=True)
    p.add_argument("--wav_scp", required=True, help="Kaldi wav.scp of audio files")
    p.add_argument("--output_dir", required=True)
    p.add_argument("--mode", choices=["auto", "stream", "exact", "fast", "onepass"], default="auto",
                   help="auto: stream for chunk attention and for encoders with a running state "
                   "(Gemma 3n's), else exact; stream: exact, chunk by chunk without recomputation "
                   "(chunk attention), or window by window carrying the encoder's state (Gemma 3n); "
                   "exact: each window with its whole receptive field (equals one pass); "
                   "fast: --overlap_seconds of context (exact and fast refuse an encoder with a "
                   "running state); onepass: whole recording at once "
                   "(any attention type; memory grows with length)")
    p.add_argument("--max_onepass_seconds", type=float, default=900.0,
                   help="onepass mode: longer recordings are skipped (reported, not decoded)")
    p.add_argument("--window_seconds", type=float, default=None,
                   help="output window (default: one chunk in stream mode, 10 s in stream mode for "
                   "an encoder with a running state, 60 s otherwise)")
    p.add_argument("--overlap_seconds", type=float, default=2.0)
    p.add_argument("--decoder", choices=["greedy", "beam"], default="greedy")
    p.add_argument("--beam_size", type=int, default=8)
    p.add_argument("--word_gap_seconds", type=float, default=0.0,
                   help="> 0: a pause longer than this between two emitted tokens is a word "
                   "boundary (a model trained on single utterances emits no word separator "
                   "between one utterance and the next; egs/coraal/asr1 uses 0.3); <= 0 (the "
                   "default): only the model's own separators")
    p.add_argument("--batch_size", type=int, default=1,
                   help="recordings decoded together (stream mode with chunk attention): sorted "
                   "by length, each batch runs window by window in lockstep, every block on the "
                   "whole batch (on a GPU, more work per kernel); each recording's output equals "
                   "its own decoding; memory is one window of the batch")
    p.add_argument("--device", default="cpu")
    return p


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _read_scp(path: str) -> List[tuple]:
    from usm_espnet.data.kaldi import read_kaldi_map

    scp = read_kaldi_map(path)
    out = []
    for key, value in scp.items():
        if value.rstrip().endswith("|") or ".ark:" in value:
            raise ValueError(f"{scp.where(key)}: long-form decoding reads audio files, not pipes or arks")
        out.append((key, value))
    return out


def check_args(args) -> None:
    """Options and files that would fail later with a traceback; raises ValueError."""
    from usm_espnet.bin.preflight import check_model_files

    if args.beam_size < 1:
        raise ValueError(f"--beam_size {args.beam_size}: the beam must hold at least 1 "
                         f"hypothesis")
    if args.batch_size < 1:
        raise ValueError(f"--batch_size {args.batch_size}: must be at least 1")
    if args.window_seconds is not None and args.window_seconds <= 0:
        raise ValueError(f"--window_seconds {args.window_seconds:g}: must be positive")
    check_model_files(args.asr_train_config, args.asr_model_file)
    if args.device != "cpu":
        import torch

        if args.device.startswith("cuda") and not torch.cuda.is_available():
            raise ValueError(f"--device {args.device}: no CUDA GPU is available on this "
                             f"machine (use --device cpu)")
        try:
            torch.device(args.device)
        except RuntimeError as e:
            raise ValueError(f"--device {args.device}: {e}") from None


def decode(args) -> int:
    import torch
    from tqdm import tqdm

    from usm_espnet.registry import register

    register(["espnet2.tasks.asr"])
    from espnet2.tasks.asr import ASRTask
    from espnet2.text.build_tokenizer import build_tokenizer
    from espnet2.text.token_id_converter import TokenIDConverter

    from usm_espnet.data.audio import AudioError, check_wav_complete
    from usm_espnet.longform.ctc import (
        StreamingGreedy,
        StreamingPrefixBeam,
        gap_frames,
        split_at_gaps,
        words_with_times,
    )
    from usm_espnet.longform.encode import AudioReader, LongFormEncoder, LongFormError

    try:
        model, train_args = ASRTask.build_model_from_file(args.asr_train_config,
                                                          args.asr_model_file, args.device)
    except Exception as e:  # noqa: BLE001 - torch.load / yaml / model building raise many types
        raise ValueError(f"{args.asr_model_file}: cannot load the model with "
                         f"{args.asr_train_config}: {type(e).__name__}: "
                         f"{str(e).splitlines()[0] if str(e) else ''}") from None
    model.eval()
    token_list = model.token_list
    converter = TokenIDConverter(token_list=token_list)
    tokenizer = build_tokenizer(token_type=train_args.token_type, bpemodel=train_args.bpemodel)
    lf = LongFormEncoder(model, args.window_seconds, args.mode, args.overlap_seconds)
    if args.batch_size > 1:
        lf.check_batchable()
    word_gap = args.word_gap_seconds if args.word_gap_seconds > 0 else None
    recs = _read_scp(args.wav_scp)
    # per recording (scp order): text line, ctm lines, stats line
    done: dict = {}
    skipped = 0
    todo = []  # (scp index, key, path, reader)
    for idx, (key, path) in enumerate(recs):
        try:
            check_wav_complete(path)
            reader = AudioReader(path)
        except (LongFormError, AudioError) as e:
            logger.error("skipping %s: %s", key, e)
            skipped += 1
            continue
        audio_s = reader.num_samples / 16000.0
        if args.mode == "onepass" and audio_s > args.max_onepass_seconds:
            logger.warning("not decoding %s: %.0f s is longer than --max_onepass_seconds %.0f "
                           "(one-pass encoding of it would not fit in memory)",
                           key, audio_s, args.max_onepass_seconds)
            done[idx] = (None, [], f"{key}\t{audio_s:.1f}\tnan\tnan\tnan")
            continue
        todo.append((idx, key, path, reader))
    if args.batch_size > 1:  # similar lengths together: little padding
        todo.sort(key=lambda r: -r[3].num_samples)

    def finish(key, emissions):
        pieces = []  # detokenised separately: a pause between them is a word boundary
        for group in split_at_gaps(emissions, gap_frames(word_gap, lf.frame_seconds)):
            piece = tokenizer.tokens2text(converter.ids2tokens([tok for tok, _, _ in group]))
            pieces += piece.replace("<space>", " ").split()
        text = " ".join(w for w in pieces if not (w.startswith("<") and w.endswith(">")))
        ctm = [f"{key} 1 {s:.2f} {e - s:.2f} {w}"
               for w, s, e in words_with_times(emissions, token_list, lf.frame_seconds, word_gap)]
        return f"{key} {text}".rstrip(), ctm

    queue = collections.deque(todo[b0: b0 + args.batch_size]
                              for b0 in range(0, len(todo), args.batch_size))
    while queue:
        batch = queue.popleft()
        readers = [r for _, _, _, r in batch]
        decs = [StreamingGreedy(blank=0) if args.decoder == "greedy"
                else StreamingPrefixBeam(beam=args.beam_size, blank=0) for _ in batch]
        failed: dict = {}  # batch position -> error
        t0 = time.time()
        total = sum(lf.num_frames(r.num_samples) for r in readers)
        name = batch[0][1] if len(batch) == 1 else f"{batch[0][1]} +{len(batch) - 1}"
        try:
            with tqdm(total=total, desc=name, unit="frame", disable=None, file=sys.stderr) as bar:
                if len(batch) == 1:
                    stream = ((o, e[None], [e.size(0)]) for o, e in lf.encode(readers[0], bar.update))
                else:
                    stream = lf.encode_batch(readers, bar.update, failed)
                for offset, enc, n in stream:
                    logp = model.ctc.log_softmax(enc)
                    live = torch.arange(logp.size(1), device=logp.device)[None, :] < torch.tensor(
                        n, device=logp.device)[:, None]
                    bad = ((~torch.isfinite(logp)).any(-1) & live).any(1).tolist()  # one sync
                    for i, k in enumerate(n):
                        if k == 0 or i in failed:
                            continue
                        if bad[i]:
                            failed[i] = ValueError(
                                f"non-finite scores from frame {offset}: the audio holds NaN or "
                                f"infinite samples there (or the model is broken)")
                            continue
                        decs[i].feed(logp[i, :k], offset)
                    if len(failed) == len(batch):  # nothing left worth encoding
                        break
        except Exception as e:  # noqa: BLE001 - one bad recording must not lose the others' results
            if len(batch) > 1:  # (out of memory, say): each recording again on its own
                logger.warning("batch %s failed (%s: %s); decoding its %d recordings one by one",
                               name, type(e).__name__, e, len(batch))
                queue.extendleft([rec] for rec in reversed(batch))
                continue
            _, key, path, _ = batch[0]
            logger.error("skipping %s (%s): %s: %s", key, path, type(e).__name__, e)
            skipped += 1
            continue
        dt = time.time() - t0
        batch_audio = sum(r.num_samples for r in readers) / 16000.0
        for i, (idx, key, path, reader) in enumerate(batch):
            if i in failed:
                e = failed[i]
                logger.error("skipping %s (%s): %s: %s", key, path, type(e).__name__, e)
                skipped += 1
                continue
            text, ctm = finish(key, decs[i].result())
            audio_s = reader.num_samples / 16000.0
            # a batch's wall time, shared out in proportion to the recordings' audio
            share = dt * audio_s / max(batch_audio, 1e-9)
            done[idx] = (text, ctm, f"{key}\t{audio_s:.1f}\t{share:.2f}\t"
                                    f"{share / max(audio_s, 1e-9):.4f}\t{_peak_rss_mb():.0f}")
            if len(batch) == 1:
                logger.info("%s: %.1f s of audio in %.1f s (RTF %.3f), peak RSS %.0f MB",
                            key, audio_s, dt, dt / max(audio_s, 1e-9), _peak_rss_mb())
        if len(batch) > 1:
            logger.info("batch of %d recordings (%s): %.1f s of audio in %.1f s (RTF %.3f), "
                        "peak RSS %.0f MB", len(batch), name, batch_audio, dt,
                        dt / max(batch_audio, 1e-9), _peak_rss_mb())
    texts = [done[i][0] for i in sorted(done) if done[i][0] is not None]
    ctm = [c for i in sorted(done) for c in done[i][1]]
    stats = ["rec\taudio_s\tdecode_s\trtf\tpeak_rss_mb"] + [done[i][2] for i in sorted(done)]
    os.makedirs(args.output_dir, exist_ok=True)
    atomic_write_text(os.path.join(args.output_dir, "text"), "".join(t + "\n" for t in texts))
    atomic_write_text(os.path.join(args.output_dir, "words.ctm"), "".join(c + "\n" for c in ctm))
    atomic_write_text(os.path.join(args.output_dir, "stats.tsv"), "\n".join(stats) + "\n")
    if skipped:
        logger.error("%d of %d recordings skipped (see above)", skipped, len(recs))
        return 1
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    args = get_parser().parse_args(argv)
    setup_logging()
    from usm_espnet.bin.preflight import PreflightError
    from usm_espnet.data.kaldi import DataDirError
    from usm_espnet.longform.encode import LongFormError

    def body() -> int:
        check_args(args)
        recs = _read_scp(args.wav_scp)
        if not recs:
            raise ValueError(f"{args.wav_scp}: no recordings (empty file): nothing to decode")
        return decode(args)

    return run(body, lambda status: status, log_format=None,
               errors=(DataDirError, LongFormError, PreflightError, ValueError))


if __name__ == "__main__":
    sys.exit(main())
