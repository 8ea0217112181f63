"""MOST through ESPnet's trainer: three-stream iterator, CLI training, resume, fine-tuning."""

import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
import yaml

ROOT = Path(__file__).resolve().parents[2]

FRONT_AND_ENCODER = """\
frontend_conf:
    n_fft: 256
    hop_length: 160
    n_mels: 20
encoder: usm_conformer
encoder_conf:
    output_size: 16
    attention_heads: 2
    linear_units: 32
    num_blocks: 2
    cnn_module_kernel: 5
"""
BESTRQ_CONF = """\
model_conf:
    num_quantizers: 2
    codebook_size: 16
    codebook_dim: 4
    mask_prob: 0.1
    mask_span_ms: 40
"""
MOST = FRONT_AND_ENCODER + BESTRQ_CONF + """\
most_conf:
    speech_batch_size: 3
    paired_batch_size: 2
    text_batch_size: 4
    text_start_step: 3
    align_max_cer: 1.0      # consistency from the first step (the rule has its own test)
    text_dropout_rate: 0.0
batch_type: unsorted
batch_size: 4
max_epoch: 2
num_iters_per_epoch: 3
optim: adam
optim_conf:
    lr: 0.002
best_model_criterion:
-   - valid
    - loss
    - min
keep_nbest_models: 1
use_tensorboard: false
use_matplotlib: false
seed: 0
"""
ASR = FRONT_AND_ENCODER + """\
decoder: none
model_conf:
    ctc_weight: 1.0
batch_type: unsorted
batch_size: 2
max_epoch: 1
num_iters_per_epoch: 1
optim: adam
num_att_plot: 0
use_tensorboard: false
use_matplotlib: false
seed: 0
"""
TOKENS = ["<blank>", "<unk>", "<space>", "a", "b", "c", "<sos/eos>"]
UNSPOKEN = ["abc", "cab", "a b", "bca", "cc a", "abcabc"]
WORDS = ["ab", "ba", "abba", "aab"]


def _wav(path: Path, freq: float, seconds: float, rng) -> None:
    t = np.arange(int(16000 * seconds)) / 16000
    x = 0.3 * np.sin(2 * np.pi * freq * t) + 0.01 * rng.standard_normal(t.size)
    sf.write(path, x.astype(np.float32), 16000, subtype="PCM_16")


def _make_data(root: Path) -> None:
    """data/speech (wav.scp), data/paired (wav.scp + text), data/unspoken (text), tokens."""
    rng = np.random.default_rng(0)
    for d in ("speech", "paired", "unspoken"):
        (root / "data" / d).mkdir(parents=True)
    lines = []
    for i in range(5):
        p = root / "data" / "speech" / f"s{i}.wav"
        _wav(p, 200 + 70 * i, 0.5 + 0.1 * i, rng)
        lines.append(f"s{i} {p}")
    (root / "data" / "speech" / "wav.scp").write_text("\n".join(lines) + "\n")
    wavs, texts = [], []
    for i, w in enumerate(WORDS):
        p = root / "data" / "paired" / f"p{i}.wav"
        _wav(p, 300 + 100 * i, 0.6, rng)
        wavs.append(f"p{i} {p}")
        texts.append(f"p{i} {w}")
    (root / "data" / "paired" / "wav.scp").write_text("\n".join(wavs) + "\n")
    (root / "data" / "paired" / "text").write_text("\n".join(texts) + "\n")
    (root / "data" / "unspoken" / "text").write_text(
        "".join(f"t{i} {s}\n" for i, s in enumerate(UNSPOKEN)))
    (root / "tokens.txt").write_text("\n".join(TOKENS) + "\n")


def _args(root: Path, *extra: str, config: str = MOST):
    from usm_espnet.tasks.most import MOSTTask

    (root / "most.yaml").write_text(config)
    return MOSTTask.get_parser().parse_args(
        ["--config", str(root / "most.yaml"), "--token_list", str(root / "tokens.txt"),
         "--token_type", "char", "--output_dir", str(root / "exp"), *extra])


def _epoch_results(log: str):
    """{epoch: (train part, valid part)} of ESPnet's "<n>epoch results:" lines."""
    out = {}
    for m in re.finditer(r"(\d+)epoch results: (.*)", log):
        train, _, valid = m.group(2).partition("[valid]")
        out[int(m.group(1))] = (train, valid)
    return out


# ------------------------------------------------------------------ in-process tests


def test_iterator_batches_carry_the_configured_stream_sizes(tmp_path):
    from usm_espnet.tasks.most import MOSTIterFactory, MOSTTask

    _make_data(tmp_path)
    d = tmp_path / "data"
    args = _args(tmp_path, "--speech_data", str(d / "speech"), "--paired_data",
                 str(d / "paired"), "--text_data", str(d / "unspoken"))
    fac = MOSTTask.build_train_iter_factory(args)
    assert fac.num_iters_per_epoch == 3
    epochs = {e: list(fac.build_iter(e)) for e in (1, 2)}
    assert all(len(v) == 3 for v in epochs.values())
    for epoch, batches in epochs.items():
        for ids, b in batches:
            assert b["speech"].shape[0] == 3 and b["speech"].dtype == torch.float32
            assert b["paired_speech"].shape[0] == 2 and b["paired_text"].shape[0] == 2
            assert int(b["speech_lengths"].max()) == b["speech"].shape[1]
            assert b["paired_text"].dtype == torch.long
            # text stream: absent before text_start_step (3), 4 sentences from then on
            assert ("text" in b) == (epoch == 2)
            if epoch == 2:
                assert b["text"].shape[0] == 4 and b["text_lengths"].shape == (4,)
                for row, n in zip(b["text"], b["text_lengths"]):
                    assert (row[n:] == -1).all() and (row[:n] >= 2).all()
            assert len(ids) == 3 + 2 + (4 if epoch == 2 else 0)
    # the padding of paired text is -1 and transcripts are tokenised by the token list
    ids, b = epochs[1][0]
    paired = [i.split(":", 1)[1] for i in ids if i.startswith("paired:")]
    words = dict(zip([f"p{i}" for i in range(4)], WORDS))
    for row, n, uid in zip(b["paired_text"], b["paired_text_lengths"], paired):
        assert [TOKENS[t] for t in row[:n].tolist()] == list(words[uid])
        assert (row[n:] == -1).all()
    # deterministic by seed and epoch: a new factory gives the same ids (resume)
    again = MOSTTask.build_train_iter_factory(args)
    assert [i for i, _ in again.build_iter(2)] == [i for i, _ in epochs[2]]
    # DDP: ranks take disjoint halves of each stream's global batch
    r0 = MOSTIterFactory(fac.datasets, fac.mixer, 3, rank=0, world_size=2)
    r1 = MOSTIterFactory(fac.datasets, fac.mixer, 3, rank=1, world_size=2)
    for step in range(6):
        full, a, c = fac.step_ids(step), r0.step_ids(step), r1.step_ids(step)
        assert {k: sorted(a[k] + c[k]) for k in full} == {k: sorted(v) for k, v in full.items()}
    with pytest.raises(ValueError, match="batch size"):
        MOSTIterFactory(fac.datasets, fac.mixer, 3, rank=0, world_size=4)


def test_bad_stream_data_names_the_file(tmp_path):
    from usm_espnet.tasks.most import MOSTTask

    _make_data(tmp_path)
    d = tmp_path / "data"

    def build(*extra, config=MOST):
        return MOSTTask.build_train_iter_factory(_args(tmp_path, *extra, config=config))

    with pytest.raises(ValueError, match=re.escape(str(d / "unspoken" / "wav.scp"))):
        build("--speech_data", str(d / "unspoken"))
    (tmp_path / "nodir").mkdir()
    (tmp_path / "nodir" / "wav.scp").write_text((d / "paired" / "wav.scp").read_text())
    with pytest.raises(ValueError, match=re.escape(str(tmp_path / "nodir" / "text"))):
        build("--paired_data", str(tmp_path / "nodir"))
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "text").write_text("")
    with pytest.raises(ValueError, match=re.escape(str(tmp_path / "empty" / "text"))
                       + ".*empty"):
        build("--text_data", str(tmp_path / "empty"))
    (tmp_path / "orphan").mkdir()
    (tmp_path / "orphan" / "wav.scp").write_text((d / "paired" / "wav.scp").read_text())
    (tmp_path / "orphan" / "text").write_text("p0 ab\nzz ab\n")
    with pytest.raises(ValueError, match=r"orphan/text:2: 'zz' has no audio"):
        build("--paired_data", str(tmp_path / "orphan"))
    with pytest.raises(ValueError, match="at least one stream"):
        build()
    # a token missing from a list without <unk> (or with --unknown_tokens error)
    (tmp_path / "odd").mkdir()
    (tmp_path / "odd" / "text").write_text("t0 abz\n")
    cfg = MOST.replace("text_start_step: 3", "text_start_step: 0")
    fac = build("--text_data", str(tmp_path / "odd"), "--unknown_tokens", "error", config=cfg)
    with pytest.raises(ValueError, match=re.escape(str(tmp_path / "odd" / "text"))
                       + ".*'t0'.*token 'z'"):
        fac.load_step(0)
    # with <unk> in the list (and the default policy) it maps to <unk>
    fac = build("--text_data", str(tmp_path / "odd"), config=cfg)
    _, b = fac.load_step(0)
    assert b["text"][0].tolist()[:3] == [3, 4, TOKENS.index("<unk>")]


def test_most_tiny_yaml_matches_best_rq_tiny_and_loads_its_checkpoint(tmp_path):
    """conf/pretrain/most_tiny.yaml: built, started from a BEST-RQ tiny model, one step."""
    from espnet2.torch_utils.load_pretrained_model import load_pretrained_model

    from usm_espnet.tasks.best_rq import BestRQTask
    from usm_espnet.tasks.most import MOSTTask

    most_yaml = ROOT / "conf" / "pretrain" / "most_tiny.yaml"
    bq_yaml = ROOT / "conf" / "pretrain" / "best_rq_tiny.yaml"
    most_cfg, bq_cfg = yaml.safe_load(most_yaml.read_text()), yaml.safe_load(bq_yaml.read_text())
    for key in ("frontend", "frontend_conf", "encoder_conf", "model_conf"):
        assert most_cfg[key] == bq_cfg[key], key
    (tmp_path / "tokens.txt").write_text("\n".join(TOKENS) + "\n")
    args = MOSTTask.get_parser().parse_args(
        ["--config", str(most_yaml), "--token_list", str(tmp_path / "tokens.txt"),
         "--token_type", "char", "--output_dir", str(tmp_path / "exp")])
    assert args.encoder == bq_cfg["encoder"]
    torch.manual_seed(0)
    model = MOSTTask.build_model(args)
    bq = BestRQTask.build_model(BestRQTask.get_parser().parse_args(
        ["--config", str(bq_yaml), "--output_dir", str(tmp_path / "bq")]))
    torch.save(bq.state_dict(), tmp_path / "bq.pth")
    load_pretrained_model(str(tmp_path / "bq.pth"), model, ignore_init_mismatch=False)
    mine = model.state_dict()
    assert all(torch.equal(mine[k], v) for k, v in bq.state_dict().items())
    assert model.config.bestrq == bq.config
    model.train()
    model.most_step.fill_(model.config.text_start_step)
    text = torch.tensor([[3, 4, 5], [4, -1, -1]])

    def step():
        g = torch.Generator().manual_seed(0)
        return model(
            speech=torch.randn(2, 16000, generator=g), speech_lengths=torch.tensor([16000, 12000]),
            paired_speech=torch.randn(2, 16000, generator=g),
            paired_speech_lengths=torch.tensor([16000, 14000]),
            paired_text=text, paired_text_lengths=torch.tensor([3, 1]),
            text=text, text_lengths=torch.tensor([3, 1]))

    # the alignment rule: a random CTC head's alignments are not used yet
    assert model.config.align_max_cer == 0.5
    loss, stats, weight = step()
    assert {"loss_bestrq", "loss_asr", "paired_cer"} <= set(stats)
    assert "loss_consistency" not in stats and "loss_text_recon" not in stats
    assert float(stats["aligned"]) == 0.0 and int(model.align_ready_step) == -1
    w = 2 / (model.config.align_window + 1)  # a running mean from 1.0 (all blank)
    assert float(model.align_cer) == pytest.approx(1 - w + w * min(float(stats["paired_cer"]), 1))
    model.align_ready_step.fill_(0)  # as if the CTC head had become usable
    loss, stats, weight = step()
    assert torch.isfinite(loss).all() and int(weight) == 6
    assert {"loss_bestrq", "loss_asr", "loss_consistency", "loss_duration",
            "loss_text_recon"} <= set(stats)
    assert float(stats["aligned"]) == 1.0
    assert int(model.most_step) == model.config.text_start_step + 2
    loss.sum().backward()


def test_most_alignment_rule_latches_once_the_running_cer_is_low(tmp_path, caplog):
    """The consistency / duration / text losses start when the CTC head's running greedy
    CER falls to align_max_cer, the step is logged, kept in the state_dict, and stays."""
    import logging

    from usm_espnet.ssl.most import greedy_cer
    from usm_espnet.tasks.most import MOSTTask

    # greedy CER: repeats merged, blanks dropped, edit distance over reference tokens
    best = torch.tensor([[0, 3, 3, 0, 4, 4, 5], [4, 0, 0, 0, 0, 0, 0]])
    cer = greedy_cer(best, torch.tensor([7, 7]), torch.tensor([[3, 4, 5], [5, 6, -1]]),
                     torch.tensor([3, 2]))
    assert float(cer) == pytest.approx(2 / 5)  # utt 1 exact; utt 2: 4 for 5, 6 missing
    (tmp_path / "tokens.txt").write_text("\n".join(TOKENS) + "\n")
    (tmp_path / "most.yaml").write_text(MOST.replace("align_max_cer: 1.0", "align_max_cer: 0.5"))
    args = MOSTTask.get_parser().parse_args(
        ["--config", str(tmp_path / "most.yaml"), "--token_list", str(tmp_path / "tokens.txt"),
         "--token_type", "char", "--output_dir", str(tmp_path / "exp")])
    model = MOSTTask.build_model(args)
    assert not model.alignments_usable()
    caplog.set_level(logging.INFO, logger="usm_espnet.ssl.most_espnet_model")
    for i, c in enumerate([1.0, 0.9] + [0.1] * 12):
        model._update_alignment_rule(c, i)
        model.most_step += 1
        if model.alignments_usable():
            break
    ready = int(model.align_ready_step)
    assert 2 < ready < 14 and float(model.align_cer) <= 0.5
    assert f"CTC alignments usable at step {ready}" in caplog.text
    # kept in the checkpoint; a checkpoint without the buffers loads as "not aligned"
    state = model.state_dict()
    assert int(state["align_ready_step"]) == ready
    fresh = MOSTTask.build_model(args)
    fresh.load_state_dict(state)
    assert fresh.alignments_usable()
    del state["align_ready_step"], state["align_cer"]
    fresh.load_state_dict(state)
    assert not fresh.alignments_usable()


# ------------------------------------------------------------------------- CLI test


@pytest.mark.timeout(900)
def test_most_train_cli_collect_stats_train_resume_and_finetune(tmp_path, run_module):
    from espnet2.torch_utils.load_pretrained_model import load_pretrained_model

    from usm_espnet.tasks.best_rq import BestRQTask

    _make_data(tmp_path)
    (tmp_path / "most.yaml").write_text(MOST)
    valid = ["--valid_data_path_and_name_and_type", "data/paired/wav.scp,speech,sound",
             "--valid_data_path_and_name_and_type", "data/paired/text,text,text"]
    common = ["--config", "most.yaml", "--token_list", "tokens.txt", "--token_type", "char",
              "--ngpu", "0", "--num_workers", "0", *valid]
    # (a) collect_stats on the untranscribed speech (global_mvn) and the dev set (shapes)
    run_module(["usm_espnet.bin.most_train", *common, "--collect_stats", "true",
                "--train_data_path_and_name_and_type", "data/speech/wav.scp,speech,sound",
                "--output_dir", "stats"], tmp_path)
    assert (tmp_path / "stats" / "train" / "feats_stats.npz").exists()
    assert (tmp_path / "stats" / "valid" / "speech_shape").exists()

    # a BEST-RQ tiny model of the same encoder, saved as ssl_train would save it
    (tmp_path / "bq.yaml").write_text(FRONT_AND_ENCODER + BESTRQ_CONF)
    torch.manual_seed(1)
    bq = BestRQTask.build_model(BestRQTask.get_parser().parse_args(
        ["--config", str(tmp_path / "bq.yaml"), "--output_dir", str(tmp_path / "bq")]))
    torch.save(bq.state_dict(), tmp_path / "bq.pth")

    # (b) 2 epochs x 3 steps with all three streams, from the BEST-RQ checkpoint
    train = [*common, "--speech_data", "data/speech", "--paired_data", "data/paired",
             "--text_data", "data/unspoken", "--valid_shape_file", "stats/valid/speech_shape",
             "--normalize", "global_mvn",
             "--normalize_conf", "stats_file=stats/train/feats_stats.npz", "--output_dir", "exp"]
    r = run_module(["usm_espnet.bin.most_train", *train, "--init_param", "bq.pth"], tmp_path)
    log = r.stderr
    assert "Loading pretrained params from bq.pth" in log
    res = _epoch_results(log)
    assert sorted(res) == [1, 2]
    for epoch, (tr, va) in res.items():
        for key in ("loss_bestrq", "loss_asr", "loss_consistency", "loss_duration"):
            assert f"{key}=" in tr, (epoch, key)
        # (c) the schedule: no unspoken text in steps 0-2, text from step 3 (epoch 2)
        assert ("loss_text_recon=" in tr) == (epoch == 2), tr
        assert "loss_asr=" in va and "loss_bestrq" not in va  # validation: CTC only
    ck = torch.load(tmp_path / "exp" / "checkpoint.pth", map_location="cpu")
    assert int(ck["model"]["most_step"]) == 6
    # resume: epoch 3 continues at step 6 with all streams
    r = run_module(["usm_espnet.bin.most_train", *train, "--resume", "true",
                    "--max_epoch", "3"], tmp_path)
    res = _epoch_results(r.stderr)
    assert sorted(res) == [3] and "loss_text_recon=" in res[3][0]
    ck = torch.load(tmp_path / "exp" / "checkpoint.pth", map_location="cpu")
    assert int(ck["model"]["most_step"]) == 9
    most_state = torch.load(tmp_path / "exp" / "valid.loss.best.pth", map_location="cpu")
    # the BEST-RQ quantizer (frozen) is the one MOST started from
    assert torch.equal(most_state["quantizer.codebooks"], bq.state_dict()["quantizer.codebooks"])

    # (d) ASR fine-tuning starts from the MOST encoder
    (tmp_path / "asr.yaml").write_text(ASR)
    r = run_module(["usm_espnet.bin.asr_train", "--config", "asr.yaml",
                    "--token_list", "tokens.txt", "--token_type", "char",
                    "--ngpu", "0", "--num_workers", "0",
                    "--train_data_path_and_name_and_type", "data/paired/wav.scp,speech,sound",
                    "--train_data_path_and_name_and_type", "data/paired/text,text,text",
                    *valid, "--train_shape_file", "stats/valid/speech_shape",
                    "--valid_shape_file", "stats/valid/speech_shape",
                    "--normalize", "global_mvn",
                    "--normalize_conf", "stats_file=stats/train/feats_stats.npz",
                    "--init_param", "exp/valid.loss.best.pth:encoder:encoder",
                    "--output_dir", "asr"], tmp_path)
    (tmp_path / "asr" / "train.log").write_text(r.stderr)  # what a recipe's train.log holds
    assert "Loading pretrained params from exp/valid.loss.best.pth:encoder:encoder" in \
        (tmp_path / "asr" / "train.log").read_text()
    # ... and the load is exact: every encoder weight, nothing left over
    from espnet2.tasks.asr import ASRTask

    args = ASRTask.get_parser().parse_args(
        ["--config", str(tmp_path / "asr.yaml"), "--token_list", str(tmp_path / "tokens.txt"),
         "--token_type", "char", "--output_dir", str(tmp_path / "asr2")])
    model = ASRTask.build_model(args)
    load_pretrained_model(f"{tmp_path / 'exp' / 'valid.loss.best.pth'}:encoder:encoder",
                          model, ignore_init_mismatch=False)
    enc = {k[len("encoder."):]: v for k, v in most_state.items() if k.startswith("encoder.")}
    mine = model.encoder.state_dict()
    assert set(enc) == set(mine)
    assert all(torch.equal(enc[k], mine[k]) for k in enc)
