"""ESPnet ASR decoding with usm-espnet's classes registered.

    python -m usm_espnet.bin.asr_inference --asr_train_config exp/x/config.yaml \
        --asr_model_file exp/x/valid.acc.ave.pth --output_dir exp/x/decode \
        --data_path_and_name_and_type dump/test/wav.scp,speech,sound [--ctc_greedy true]

All of ESPnet's ``asr_inference`` options apply (beam search, CTC weight, LM
...). ``--ctc_greedy true`` instead runs batched greedy CTC decoding
(``usm_espnet.decode.ctc_greedy``), the fast path for CTC-only models; it
writes the same ``1best_recog/{text,token,token_int}`` layout.

The audio of ``--data_path_and_name_and_type ...,sound`` is checked first
(:func:`usm_espnet.bin.preflight.check_decoding`): a missing, unreadable,
truncated, empty, non-finite, multi-channel or wrong-rate file is one
``ERROR: wav.scp:line: ...`` line and exit status 1.
"""

import argparse
import re
import sys

if __name__ == "__main__":  # --help from a cached text, without importing ESPnet (8-20 s)
    from usm_espnet.bin._help import exit_if_help

    exit_if_help("asr_inference")

from usm_espnet.utils import str2bool  # noqa: E402

_FORMAT_FIELD = re.compile(r"%\([a-z_]+\)[sdrfg]")


def get_parser() -> argparse.ArgumentParser:
    """ESPnet's ``asr_inference`` parser plus our options (``--ctc_greedy`` and its own).

    ESPnet's help text holds a bare ``%`` ("3.19% CER") that argparse reads as a
    format directive, so its ``--help`` fails; such help strings are escaped here.
    """
    from usm_espnet.registry import register

    register(["espnet2.tasks.asr"])
    from espnet2.bin.asr_inference import get_parser as espnet_parser

    from usm_espnet.decode.ctc_greedy import get_parser as greedy_parser

    p = espnet_parser()
    p.description = (__doc__.split("\n\n")[0] + " " + (p.description or "")).strip()
    for action in p._actions:  # noqa: SLF001 - argparse has no public list
        if isinstance(action.help, str) and "%" in action.help:
            try:
                action.help % dict(vars(action), prog=p.prog)
            except (ValueError, TypeError, KeyError):
                parts = _FORMAT_FIELD.split(action.help)
                fields = _FORMAT_FIELD.findall(action.help)
                escaped = [x.replace("%", "%%") for x in parts]
                action.help = "".join(a + b for a, b in zip(escaped, fields + [""]))
    group = p.add_argument_group("usm-espnet options")
    group.add_argument("--ctc_greedy", type=str2bool, default=False,
                       help="batched greedy CTC decoding (usm_espnet.decode.ctc_greedy) instead "
                            "of ESPnet's beam search: the fast path for CTC-only models")
    known = p._option_string_actions  # noqa: SLF001
    for action in greedy_parser()._actions:  # noqa: SLF001
        if not action.option_strings or any(o in known for o in action.option_strings):
            continue
        group.add_argument(*action.option_strings, dest=action.dest, default=action.default,
                           type=action.type, metavar=action.metavar,
                           help="(with --ctc_greedy true) " + (action.help or ""))
    return p


def _wants_greedy(argv) -> bool:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--ctc_greedy", default="false")
    known, _ = p.parse_known_args(argv)
    try:
        return str2bool(known.ctc_greedy)
    except argparse.ArgumentTypeError as e:
        raise SystemExit(f"ERROR: --ctc_greedy: {e}") from None


def _check_options(argv) -> None:
    """Values ESPnet would accept and then fail on; raises PreflightError."""
    from usm_espnet.bin.preflight import PreflightError

    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--beam_size", default=None)
    p.add_argument("--ngpu", default=None)
    known, _ = p.parse_known_args(argv)
    if known.beam_size is not None:
        try:
            beam = int(known.beam_size)
        except ValueError:
            raise PreflightError(f"--beam_size: expected an integer, got "
                                 f"{known.beam_size!r}") from None
        if beam < 1:
            raise PreflightError(f"--beam_size {beam}: the beam must hold at least 1 "
                                 f"hypothesis (1 is greedy search)")
    if known.ngpu is not None and known.ngpu not in ("0",):
        import torch

        if not torch.cuda.is_available():
            raise PreflightError(f"--ngpu {known.ngpu}: no CUDA GPU is available on this "
                                 f"machine (decode on the CPU with --ngpu 0)")


def main(cmd=None):
    argv = list(sys.argv[1:] if cmd is None else cmd)
    from usm_espnet.bin._help import help_requested

    if help_requested(argv):
        get_parser().print_help()
        return 0
    from usm_espnet.bin import preflight
    from usm_espnet.registry import register

    register(["espnet2.tasks.asr"])
    try:  # a bad wav is one error line here, not a DataLoader traceback mid-decoding
        _check_options(argv)
        if not preflight.skipped():
            preflight.check_decoding(argv)
    except preflight.PreflightError as e:
        print(f"ERROR: {e}", file=sys.stderr)
        return 1
    if _wants_greedy(argv):
        from usm_espnet.decode.ctc_greedy import main as greedy_main

        return greedy_main(_drop_flag(argv, "--ctc_greedy"))
    argv = _drop_flag(argv, "--ctc_greedy")
    from espnet2.bin.asr_inference import main as espnet_main

    return espnet_main(argv)


def _drop_flag(argv, flag):
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
            continue
        if a == flag:
            skip = True
            continue
        if a.startswith(flag + "="):
            continue
        out.append(a)
    return out


if __name__ == "__main__":
    sys.exit(main())
