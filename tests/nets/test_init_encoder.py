"""--init_encoder: a recipe's yaml merged with an imported encoder (usm_espnet.nets.init_encoder),
checked against the weights, and the stage template's one-line errors for bad input."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

pytest.importorskip("transformers")

from shared_data import RECIPES  # noqa: E402
from tiny_w2v_bert import TINY, tiny_w2v_bert_import  # noqa: E402

from usm_espnet.bin.init_encoder_config import main  # noqa: E402
from usm_espnet.nets import init_encoder as ie  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
FLEURS_DEBUG = RECIPES["fleurs"] / "conf" / "tuning" / "train_asr_debug.yaml"


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    return tiny_w2v_bert_import(tmp_path_factory.mktemp("w2v"))


def _yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def test_fleurs_debug_config_fine_tunes_the_imported_encoder(imported, tmp_path):
    """The merged yaml builds with ESPnet's ASRTask; init_param loads the imported weights."""
    out = tmp_path / "ft.yaml"
    assert main(["--init_encoder", str(imported), "--config", str(FLEURS_DEBUG), "--out", str(out)]) == 0
    cfg, recipe, frag = _yaml(out), _yaml(FLEURS_DEBUG), _yaml(imported / "encoder.yaml")
    assert cfg["frontend"] == "w2v_bert_fbank" and cfg["frontend_conf"] == frag["frontend_conf"]
    assert cfg["normalize"] is None and "normalize_conf" not in cfg
    assert cfg["encoder"] == "w2v_bert_conformer"
    assert cfg["encoder_conf"] == {k: v for k, v in frag["encoder_conf"].items() if k != "input_size"}
    assert cfg["init_param"] == [f"{imported.absolute()}/encoder.pth::encoder"]
    assert cfg["model"] == "usm"
    assert cfg["model_conf"] == dict(recipe["model_conf"], encoder_lr_scale=0.5, head_warmup_steps=50)
    for k in ("decoder", "optim", "optim_conf", "batch_size", "max_epoch", "seed"):
        assert cfg[k] == recipe[k], k

    from usm_espnet.registry import register

    register(["espnet2.tasks.asr"])
    from espnet2.tasks.asr import ASRTask
    from espnet2.torch_utils.load_pretrained_model import load_pretrained_model

    tok = tmp_path / "tokens.txt"
    tok.write_text("\n".join(["<blank>", "<unk>", "<space>", "a", "b", "<sos/eos>"]) + "\n")
    args = ASRTask.get_parser().parse_args(["--config", str(out), "--token_list", str(tok),
                                            "--token_type", "char", "--output_dir", str(tmp_path)])
    model = ASRTask.build_model(args)
    assert type(model).__name__ == "USMASRModel" and model.normalize is None
    assert model.encoder.output_size() == TINY["hidden_size"]
    (init_param,) = args.init_param
    load_pretrained_model(init_param, model, ignore_init_mismatch=False)
    weights = torch.load(imported / "encoder.pth", weights_only=True)
    for k, v in model.encoder.state_dict().items():
        assert torch.equal(v, weights[k]), k
    speech = torch.randn(2, 16000)
    loss, _, _ = model(speech, torch.tensor([16000, 12000]), torch.tensor([[3, 4, 3], [4, 3, -1]]),
                       torch.tensor([3, 2]))
    assert torch.isfinite(loss)


def test_attention_pattern_and_dropout_carry_over_shapes_must_match(imported, tmp_path):
    frag = _yaml(imported / "encoder.yaml")
    other = {"encoder": "chunk_conformer",
             "encoder_conf": {"output_size": 256, "num_blocks": 12, "attention_type": "chunk",
                              "chunk_seconds": 4.0, "left_context": 32, "dropout_rate": 0.1},
             "model": "espnet", "model_conf": {"ctc_weight": 1.0, "encoder_lr_scale": 0.3}}
    cfg, notes = ie.finetune_config(str(imported), other)
    ec = cfg["encoder_conf"]
    # another class: its shape is replaced, its attention pattern and dropout kept; its
    # left_context is in its own frames (40 ms) and is not carried
    assert (ec["output_size"], ec["num_blocks"]) == (32, 2)
    assert (ec["attention_type"], ec["chunk_seconds"], ec["dropout_rate"]) == ("chunk", 4.0, 0.1)
    assert "left_context" not in ec
    assert cfg["model_conf"]["encoder_lr_scale"] == 0.3  # the yaml's own value wins
    assert any("replaced" in n for n in notes)
    # the same class: a shape option that differs from the import is an error naming it
    same = {"encoder": "w2v_bert_conformer",
            "encoder_conf": dict(frag["encoder_conf"], num_blocks=24, left_context=20)}
    with pytest.raises(ie.InitEncoderError, match=r"encoder_conf.num_blocks is 24 in asr_config, 2 in"):
        ie.finetune_config(str(imported), same)
    same["encoder_conf"]["num_blocks"] = 2
    cfg, _ = ie.finetune_config(str(imported), same)
    assert cfg["encoder_conf"]["left_context"] == 20  # same class: frames mean the same
    with pytest.raises(ie.InitEncoderError, match="needs model: usm"):
        ie.finetune_config(str(imported), {"model": "maskctc"})


def _error(capsys, argv):
    rc = main(argv)
    err = [ln for ln in capsys.readouterr().err.strip().splitlines() if ln.startswith("ERROR: ")]
    assert rc == 1 and len(err) == 1, err
    return err[0]


def test_bad_input_is_one_error_line_and_nothing_written(imported, tmp_path, capsys):
    out = tmp_path / "ft.yaml"
    base = ["--config", str(FLEURS_DEBUG), "--out", str(out)]
    assert "no such directory" in _error(capsys, ["--init_encoder", str(tmp_path / "nope")] + base)
    (tmp_path / "empty").mkdir()
    msg = _error(capsys, ["--init_encoder", str(tmp_path / "empty")] + base)
    assert "not a directory written by python -m usm_espnet.bin.import_encoder" in msg
    # a run whose options change the encoder's shape: the parameter is named
    msg = _error(capsys, ["--init_encoder", str(imported), "--args",
                          "--encoder_conf linear_units=96 --batch_size 2"] + base)
    assert "parameter blocks.0.ff1.1.weight has shape (64, 32), the config's encoder" in msg, msg
    assert "has (96, 32)" in msg
    msg = _error(capsys, ["--init_encoder", str(imported), "--args", "--encoder_conf num_blocks=3"] + base)
    assert "has no encoder parameter blocks.2." in msg, msg
    # a truncated weight file
    bad = tmp_path / "trunc"
    bad.mkdir()
    for f in imported.iterdir():
        (bad / f.name).write_bytes(f.read_bytes())
    data = (bad / "encoder.pth").read_bytes()
    (bad / "encoder.pth").write_bytes(data[: len(data) // 2])
    assert "encoder.pth: unreadable or truncated" in _error(capsys, ["--init_encoder", str(bad)] + base)
    assert not out.exists() and not list(tmp_path.glob(".ft.yaml.*"))


def _run_sh(args, timeout=120):
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1",
               USM_VENV=str(Path(sys.executable).parent.parent))
    env.pop("FLEURS", None)
    r = subprocess.run(["./run.sh", "--preset", "debug", "--ssl_config", "", "--most_config", "",
                        *args], cwd=RECIPES["fleurs"], env=env, capture_output=True, text=True,
                       timeout=timeout)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip() and not ln.startswith("db.sh:")]
    return r, lines


def test_recipe_refuses_bad_init_encoder_before_any_stage(imported, tmp_path):
    """One line each, before stage 1 runs (nothing is written under the experiment dirs)."""
    exp = ["--data_dir", str(tmp_path / "data"), "--exp_dir", str(tmp_path / "exp")]
    r, lines = _run_sh(["--init_encoder", str(tmp_path / "nope")] + exp)
    assert r.returncode == 1 and len(lines) == 1 and "--init_encoder" in lines[0] \
        and "no such directory" in lines[0], r.stderr
    r, lines = _run_sh(["--init_encoder", str(imported), "--ssl_config",
                        str(RECIPES["fleurs"] / "conf" / "tuning" / "pretrain_best_rq_debug.yaml")] + exp)
    assert r.returncode == 1 and len(lines) == 1 and "--init_encoder and --ssl_config" in lines[0], r.stderr
    (tmp_path / "empty").mkdir()
    r, lines = _run_sh(["--init_encoder", str(tmp_path / "empty")] + exp)
    assert r.returncode == 1 and len(lines) == 1, r.stderr
    assert lines[0].startswith("ERROR: ") and "not a directory written by" in lines[0]
    r, lines = _run_sh(["--init_encoder", str(imported), "--asr_args",
                        "--encoder_conf linear_units=48"] + exp)
    assert r.returncode == 1 and len(lines) == 1, r.stderr
    assert "parameter blocks.0.ff1.1.weight has shape (64, 32)" in lines[0], lines
    assert not (tmp_path / "data").exists() and not (tmp_path / "exp").exists()
    # --help lists the option
    r, _ = _run_sh(["--init_encoder", str(imported), "--help"])
    assert r.returncode == 0 and f"--init_encoder [{imported}]" in r.stdout


def test_adapters_on_the_fine_tuned_imported_encoder(imported, tmp_path):
    """Stages 10-12's adapter runs (model_conf adapter_language, freeze_encoder) on the merged
    config: adapters attach to the imported encoder's blocks; only they and the head learn."""
    from usm_espnet.registry import register

    register(["espnet2.tasks.asr"])
    from espnet2.tasks.asr import ASRTask

    out = tmp_path / "ft.yaml"
    assert main(["--init_encoder", str(imported), "--config", str(FLEURS_DEBUG), "--out", str(out)]) == 0
    tok = tmp_path / "tokens.txt"
    tok.write_text("\n".join(["<blank>", "<unk>", "<space>", "a", "b", "<sos/eos>"]) + "\n")
    args = ASRTask.get_parser().parse_args(
        ["--config", str(out), "--token_list", str(tok), "--token_type", "char",
         "--output_dir", str(tmp_path), "--model_conf", "adapter_language=sw_ke",
         "--model_conf", "freeze_encoder=true",
         "--model_conf", "head_warmup_steps=0"])  # (in head warm-up the adapters wait too)
    model = ASRTask.build_model(args)
    model.train()
    loss, _, _ = model(torch.randn(2, 16000), torch.tensor([16000, 11000]),
                       torch.tensor([[3, 4, 3], [4, 3, -1]]), torch.tensor([3, 2]))
    loss.backward()
    graded = {n.split(".")[0] for n, p in model.named_parameters() if p.grad is not None}
    assert "adapters" in graded and "ctc" in graded and "encoder" not in graded, graded
    n_adapt = sum(p.numel() for n, p in model.named_parameters() if n.startswith("adapters."))
    assert 0 < n_adapt < 0.2 * sum(p.numel() for p in model.encoder.parameters())
