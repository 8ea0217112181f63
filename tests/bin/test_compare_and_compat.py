"""usm_espnet.bin.compare_results and usm_espnet.bin.check_encoder_compat."""

import json

import yaml

from usm_espnet.bin import check_encoder_compat, compare_results


def _scores(path, cer):
    path.parent.mkdir(parents=True, exist_ok=True)
    langs = {"en_us": {"wer": 2 * cer, "cer": cer, "num_utts": 5},
             "hi_in": {"wer": 3 * cer, "cer": cer + 10, "num_utts": 5}}
    path.write_text(json.dumps({"languages": langs,
                                "macro_average": {"wer": 2.5 * cer, "cer": cer + 5, "num_langs": 2},
                                "pooled": {}}))
    return path


def test_compare_results_writes_section_and_plot(tmp_path, capsys):
    a = _scores(tmp_path / "a" / "scores.json", 20.0)
    b = _scores(tmp_path / "b" / "scores.json", 10.0)
    md = tmp_path / "RESULTS.md"
    md.write_text("# RESULTS\n\nkept text\n")
    argv = ["--recipe_results", str(md), "--section_id", "pt", "--title", "t", "--standin", "true",
            "--row", f"from scratch={a}", "--row", f"BEST-RQ, N=16={b}",
            "--paper_source", "USM", "--paper_row", "N=1=7.4", "--paper_row", "N=16=6.9",
            "--plot", "results/pt.png"]
    assert compare_results.main(argv) == 0
    text = md.read_text()
    assert "kept text" in text and "stand-in" in text
    assert "| from scratch | 20.00 | 30.00 | **25.00** | 50.00 |" in text
    assert "| BEST-RQ, N=16 | 10.00 | 20.00 | **15.00** | 25.00 |" in text
    assert "| USM | N=16 | 6.9 |" in text
    assert (tmp_path / "results" / "pt.png").stat().st_size > 1000
    assert compare_results.main(argv) == 0  # rerun replaces the section
    assert md.read_text().count("<!-- pt start -->") == 1


def test_compare_results_errors(tmp_path, capsys):
    md = tmp_path / "R.md"
    rc = compare_results.main(["--recipe_results", str(md), "--section_id", "x", "--title", "t",
                               "--row", f"a={tmp_path / 'missing.json'}"])
    assert rc == 1 and "missing.json: not found" in capsys.readouterr().err
    rc = compare_results.main(["--recipe_results", str(md), "--section_id", "x", "--title", "t",
                               "--row", "no-equals-sign"])
    assert rc == 1 and "label=value" in capsys.readouterr().err
    assert not md.exists()


def _yaml(path, **enc):
    conf = {"output_size": 16, "num_blocks": 1, "dropout_rate": 0.1, "input_layer": "conv2d"}
    conf.update(enc)
    path.write_text(yaml.safe_dump({"frontend": "default", "frontend_conf": {"n_mels": 20},
                                    "encoder": "usm_conformer", "encoder_conf": conf}))
    return str(path)


def test_check_encoder_compat(tmp_path, capsys):
    pre = _yaml(tmp_path / "pre.yaml")
    assert check_encoder_compat.main(["--pretrained", pre, "--config",
                                      _yaml(tmp_path / "same.yaml", dropout_rate=0.3)]) == 0
    bad = _yaml(tmp_path / "bad.yaml", output_size=32, input_layer="conv2d6")
    assert check_encoder_compat.main(["--pretrained", pre, "--config", bad]) == 1
    err = capsys.readouterr().err
    assert "encoder_conf.output_size: pre-trained 16, fine-tuning 32" in err
    assert "encoder_conf.input_layer" in err
    # options that change no parameter may differ; --args overrides count
    local = _yaml(tmp_path / "local.yaml", attention_type="local")
    assert check_encoder_compat.main(["--pretrained", local, "--config", pre]) == 0
    assert check_encoder_compat.main(["--pretrained", pre, "--config", pre,
                                      "--args", "--max_epoch 3 --encoder_conf num_blocks=8"]) == 1
    assert "encoder_conf.num_blocks: pre-trained 1, fine-tuning 8" in capsys.readouterr().err
    hop = tmp_path / "hop.yaml"
    hop.write_text(open(pre).read().replace("n_mels: 20", "n_mels: 20\n  hop_length: 128"))
    assert check_encoder_compat.main(["--pretrained", pre, "--config", str(hop)]) == 1
    assert "frontend_conf.hop_length" in capsys.readouterr().err
