"""The ESPnet-plugin promise and the entry points' ``--help``.

* every ``python -m usm_espnet.bin.*`` answers ``--help`` without importing torch or
  ESPnet's tasks (the ESPnet-task-backed ones print a cached text, see
  ``usm_espnet/bin/_help.py``), and the cached texts equal what the parsers print;
* ``usm_espnet.bin.asr_train`` accepts every option of ``espnet2.bin.asr_train``
  (an ``asr.sh`` command line parses to the same options);
* after only ``import usm_espnet``, ESPnet's own ``Speech2Text`` loads and runs a
  model with ``encoder: chunk_conformer``.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tiny_model import TOKENS, tiny_chunk_conformer

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / "usm_espnet" / "bin"
ENTRY_POINTS = sorted(p.stem for p in BIN.glob("*.py") if not p.stem.startswith("_"))
#: What --help may cost in CPU seconds (user + sys of the child). Idle, the light
#: entry points take 0.1-0.7 s and the cached ESPnet ones 0.3 s; building ESPnet's
#: parser (importing torch and espnet2.tasks) takes 8-20 s.
HELP_CPU_SECONDS = 3.0
HEAVY_MODULES = ("torch", "espnet2.tasks.abs_task")


def _env(**extra):
    return dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", **extra)


def test_help_of_every_entry_point_is_fast_and_imports_neither_torch_nor_espnet_tasks(
        tmp_path):
    assert len(ENTRY_POINTS) >= 20
    slow, heavy, failed, times = [], [], [], []
    for name in ENTRY_POINTS:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        r = subprocess.run([sys.executable, "-X", "importtime", "-m", f"usm_espnet.bin.{name}",
                            "--help"], cwd=tmp_path, env=_env(USM_HELP_CACHE=str(tmp_path / "c")),
                           capture_output=True, text=True, timeout=300)
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        times.append(f"{name} {wall:.2f}s wall {cpu:.2f}s cpu")
        imported = {ln.rsplit("|", 1)[-1].strip() for ln in r.stderr.splitlines()
                    if ln.startswith("import time:")}
        if r.returncode != 0 or "usage:" not in r.stdout:
            failed.append(f"{name}: rc {r.returncode}: {r.stderr[-500:]}")
        if imported & set(HEAVY_MODULES):
            heavy.append(f"{name}: {sorted(imported & set(HEAVY_MODULES))}")
        if cpu > HELP_CPU_SECONDS:
            slow.append(f"{name}: {cpu:.1f} s CPU ({wall:.1f} s wall)")
    print("\n".join(times))
    assert not failed, failed
    assert not heavy, f"--help imports heavy modules (move imports after parsing): {heavy}"
    assert not slow, f"--help slower than {HELP_CPU_SECONDS} s CPU: {slow}"


def test_asr_inference_help_lists_espnet_and_our_options():
    from usm_espnet.bin import _help

    text = _help.get_help("asr_inference")
    for opt in ("--asr_train_config", "--beam_size", "--ctc_weight", "--lm_train_config",
                "--ctc_greedy", "--adapters_dir", "--lang_token_sets"):
        assert opt in text, opt
    assert "3.19% CER" in text  # ESPnet's help string that broke argparse's formatting


def test_cached_help_texts_are_current():
    """The shipped help texts equal the parsers' (regenerate: python -m usm_espnet.bin._help --update)."""
    from usm_espnet.bin import _help

    for name in _help.HEAVY:
        snap = _help.SNAPSHOT_DIR / f"{name}.txt"
        shipped = _help._read(snap, _help.key(name))
        assert shipped is not None, (
            f"{snap} is stale (our parser code, ESPnet, torch or Python changed): run "
            f"python -m usm_espnet.bin._help --update")
        assert shipped == _help.build(name), f"{snap} differs from the parser's help"


def test_stale_help_is_rebuilt_and_cached(tmp_path, monkeypatch):
    from usm_espnet.bin import _help

    monkeypatch.setenv("USM_HELP_CACHE", str(tmp_path))
    monkeypatch.setattr(_help, "SNAPSHOT_DIR", tmp_path / "none")
    monkeypatch.setattr(_help, "build", lambda name: f"usage: built {name}\n")
    assert _help.get_help("asr_train") == "usage: built asr_train\n"
    monkeypatch.setattr(_help, "build", lambda name: pytest.fail("not taken from the cache"))
    assert _help.get_help("asr_train") == "usage: built asr_train\n"
    (tmp_path / "asr_train.txt").write_text("usm-espnet help oldkey\nusage: old\n")
    monkeypatch.setattr(_help, "build", lambda name: "usage: new\n")
    assert _help.get_help("asr_train") == "usage: new\n"


# ---------------------------------------------------------- ESPnet drop-in (training)


def test_asr_train_accepts_every_option_of_espnet_asr_train(tmp_path):
    from espnet2.bin.asr_train import get_parser as espnet_parser

    from usm_espnet.bin.asr_train import get_parser as our_parser

    theirs, ours = espnet_parser(), our_parser()
    missing = sorted(set(theirs._option_string_actions) - set(ours._option_string_actions))
    assert not missing, f"options of espnet2.bin.asr_train that ours lacks: {missing}"
    for opt, action in theirs._option_string_actions.items():
        mine = ours._option_string_actions[opt]
        assert mine.dest == action.dest and mine.nargs == action.nargs, opt
        if action.choices is not None:
            assert set(action.choices) <= set(mine.choices), opt
    # an egs2/TEMPLATE/asr1/asr.sh stage 11 command line, as asr.sh builds it
    (tmp_path / "tokens.txt").write_text("\n".join(TOKENS) + "\n")
    (tmp_path / "train.yaml").write_text("encoder: conformer\nencoder_conf:\n  num_blocks: 1\n"
                                         "max_epoch: 3\n")
    d = tmp_path / "dump"
    argv = ["--use_preprocessor", "true", "--bpemodel", "none", "--token_type", "char",
            "--token_list", str(tmp_path / "tokens.txt"), "--non_linguistic_symbols", "none",
            "--cleaner", "none", "--g2p", "none",
            "--valid_data_path_and_name_and_type", f"{d}/dev/wav.scp,speech,sound",
            "--valid_shape_file", f"{d}/stats/valid/speech_shape",
            "--resume", "true", "--ignore_init_mismatch", "false", "--fold_length", "80000",
            "--output_dir", str(tmp_path / "exp"), "--config", str(tmp_path / "train.yaml"),
            "--frontend_conf", "fs=16k", "--normalize", "global_mvn",
            "--normalize_conf", f"stats_file={d}/stats/train/feats_stats.npz",
            "--train_data_path_and_name_and_type", f"{d}/train/wav.scp,speech,sound",
            "--train_data_path_and_name_and_type", f"{d}/train/text,text,text",
            "--train_shape_file", f"{d}/stats/train/speech_shape", "--fold_length", "150",
            "--ngpu", "0", "--dist_init_method", "env://",
            "--multiprocessing_distributed", "true"]
    assert vars(ours.parse_args(argv)) == vars(theirs.parse_args(argv))


# --------------------------------------------------- ESPnet drop-in (Python, decoding)


SPEECH2TEXT = r"""
import json, sys
import usm_espnet
cheap = "torch" not in sys.modules
import numpy as np
from espnet2.bin.asr_inference import Speech2Text
s2t = Speech2Text(asr_train_config=sys.argv[1], asr_model_file=sys.argv[2], device="cpu",
                  ctc_weight=1.0, lm_weight=0.0, beam_size=2, nbest=1)
wav = np.random.default_rng(0).standard_normal(24000).astype("float32") * 0.1
text, tokens, ids, hyp = s2t(wav)[0]
print(json.dumps({"cheap": cheap, "encoder": type(s2t.asr_model.encoder).__module__,
                  "text": text, "tokens": tokens}))
"""


def test_speech2text_loads_a_chunk_conformer_model_after_import_usm_espnet(tmp_path):
    d = tiny_chunk_conformer(tmp_path / "model")
    r = subprocess.run([sys.executable, "-c", SPEECH2TEXT, str(d / "config.yaml"),
                        str(d / "model.pth")], cwd=tmp_path, env=_env(),
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-4000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["cheap"], "import usm_espnet imported torch"
    assert out["encoder"] == "usm_espnet.nets.chunk_conformer"
    assert isinstance(out["text"], str) and isinstance(out["tokens"], list)


def test_espnet_knows_our_classes_only_after_import_usm_espnet_also_by_pth(tmp_path):
    """Control (ESPnet alone does not know chunk_conformer), then the .pth start-up import
    of docs/espnet_plugin.md, processed after ESPnet's task was imported: registers at once."""
    site_dir = tmp_path / "site"
    site_dir.mkdir()
    (site_dir / "usm_espnet_register.pth").write_text("import usm_espnet\n")
    code = ("import site, sys\n"
            "from espnet2.tasks.asr import encoder_choices, model_choices\n"
            "before = 'chunk_conformer' in encoder_choices.classes\n"
            "site.addsitedir(sys.argv[1])\n"
            "print(before, 'usm_espnet' in sys.modules, "
            "encoder_choices.get_class('chunk_conformer').__module__, "
            "'usm' in model_choices.classes)\n")
    r = subprocess.run([sys.executable, "-c", code, str(site_dir)], cwd=tmp_path, env=_env(),
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip().splitlines()[-1] == \
        "False True usm_espnet.nets.chunk_conformer True"
