"""MOST training-step time relative to BEST-RQ alone, measured in one run on CPU.

    python bench/most_speed.py [--seconds 4] [--repeats 5] [--threads 0]

Both models are built by their ESPnet tasks from the shipped configs
(``conf/pretrain/best_rq_tiny.yaml`` and ``conf/pretrain/most_tiny.yaml``: the
same frontend and encoder), so this is what a step of stage 5 costs. One
training step = forward + backward + Adam update, on waveforms:

* BEST-RQ: ``speech_batch_size`` untranscribed utterances (most_tiny's: 8);
* MOST, warm-up (``most_step < text_start_step``): the same untranscribed batch
  plus ``paired_batch_size`` transcribed utterances;
* MOST, all three streams: plus ``text_batch_size`` unspoken sentences.

Utterances are ``--seconds`` long; transcripts and sentences have 14 tokens per
second of speech (about a character rate). Each step is timed ``--repeats``
times after a warm-up; medians are compared. The last line is
``most_step_ratio=<x>`` (all three streams / BEST-RQ), a ratio of two times
measured in this run, so it is comparable across machines.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

VOCAB = 64  # a grapheme inventory of the stand-in's size
TOKENS_PER_SECOND = 14


def _median_time(fn, repeats: int) -> float:
    fn()  # warm-up
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def _build(tmp: Path):
    from usm_espnet.tasks.best_rq import BestRQTask
    from usm_espnet.tasks.most import MOSTTask

    tokens = tmp / "tokens.txt"
    tokens.write_text("\n".join(["<blank>", "<unk>"] + [f"t{i}" for i in range(VOCAB - 3)]
                                + ["<sos/eos>"]) + "\n")
    torch.manual_seed(0)
    bq = BestRQTask.build_model(BestRQTask.get_parser().parse_args(
        ["--config", str(ROOT / "conf/pretrain/best_rq_tiny.yaml"), "--output_dir", str(tmp)]))
    torch.manual_seed(0)
    most = MOSTTask.build_model(MOSTTask.get_parser().parse_args(
        ["--config", str(ROOT / "conf/pretrain/most_tiny.yaml"), "--token_list", str(tokens),
         "--token_type", "char", "--output_dir", str(tmp)]))
    return bq, most


def measure(seconds: float, repeats: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        bq, most = _build(Path(tmp))
    cfg = most.config
    g = torch.Generator().manual_seed(0)
    n = int(16000 * seconds)
    n_tok = max(2, int(TOKENS_PER_SECOND * seconds))

    def wav(b):
        return torch.randn(b, n, generator=g) * 0.1, torch.full((b,), n)

    def toks(b):
        return torch.randint(2, VOCAB - 1, (b, n_tok), generator=g), torch.full((b,), n_tok)

    speech, speech_len = wav(cfg.speech_batch_size)
    paired, paired_len = wav(cfg.paired_batch_size)
    ptext, ptext_len = toks(cfg.paired_batch_size)
    text, text_len = toks(cfg.text_batch_size)

    def stepper(model, **batch):
        opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-4)
        model.train()

        def step():
            opt.zero_grad(set_to_none=True)
            loss, _, _ = model(**batch)
            loss.backward()
            opt.step()
        return step

    t_bq = _median_time(stepper(bq, speech=speech, speech_lengths=speech_len), repeats)
    two = dict(speech=speech, speech_lengths=speech_len, paired_speech=paired,
               paired_speech_lengths=paired_len, paired_text=ptext, paired_text_lengths=ptext_len)
    most.most_step.fill_(0)  # warm-up phase: the text stream is ignored
    t_two = _median_time(stepper(most, **two), repeats)
    most.most_step.fill_(cfg.text_start_step)
    t_all = _median_time(stepper(most, **two, text=text, text_lengths=text_len), repeats)
    return {"bestrq": t_bq, "most_warmup": t_two, "most": t_all, "cfg": cfg,
            "params_bq": sum(p.numel() for p in bq.parameters()),
            "params_most": sum(p.numel() for p in most.parameters())}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=4.0, help="seconds per utterance")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    a = p.parse_args(argv)
    if a.seconds <= 0 or a.repeats < 1:
        print("ERROR: --seconds must be > 0 and --repeats >= 1", file=sys.stderr)
        return 2
    if a.threads:
        torch.set_num_threads(a.threads)
    r = measure(a.seconds, a.repeats)
    c = r["cfg"]
    print(f"# tiny configs, {a.seconds:g} s utterances, torch threads {torch.get_num_threads()}, "
          f"median of {a.repeats}; BEST-RQ {r['params_bq'] / 1e6:.2f}M params, "
          f"MOST {r['params_most'] / 1e6:.2f}M params")
    print(f"BEST-RQ step ({c.speech_batch_size} untranscribed): {r['bestrq'] * 1000:.0f} ms")
    print(f"MOST step, warm-up ({c.speech_batch_size} untranscribed + {c.paired_batch_size} paired): "
          f"{r['most_warmup'] * 1000:.0f} ms, ratio {r['most_warmup'] / r['bestrq']:.2f}")
    print(f"MOST step, all streams (+ {c.text_batch_size} unspoken sentences): "
          f"{r['most'] * 1000:.0f} ms, ratio {r['most'] / r['bestrq']:.2f}")
    print(f"most_step_ratio={r['most'] / r['bestrq']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
