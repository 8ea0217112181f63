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
import sys

from usm_espnet.registry import register
from usm_espnet.utils import str2bool

register(["espnet2.tasks.asr"])


def _wants_greedy(argv) -> bool:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--ctc_greedy", default="false")
    known, _ = p.parse_known_args(argv)
    try:
        return str2bool(known.ctc_greedy)
    except argparse.ArgumentTypeError as e:
        raise SystemExit(f"ERROR: --ctc_greedy: {e}") from None


def main(cmd=None):
    argv = list(sys.argv[1:] if cmd is None else cmd)
    from usm_espnet.bin import preflight

    if not preflight.skipped() and "--help" not in argv and "-h" not in argv:
        try:  # a bad wav is one error line here, not a DataLoader traceback mid-decoding
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
