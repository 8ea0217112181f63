"""ESPnet ASR decoding with usm-espnet's classes registered.

    python -m usm_espnet.bin.asr_inference --asr_train_config exp/x/config.yaml \
        --asr_model_file exp/x/valid.acc.ave.pth --output_dir exp/x/decode \
        --data_path_and_name_and_type dump/test/wav.scp,speech,sound [--ctc_greedy true]

All of ESPnet's ``asr_inference`` options apply (beam search, CTC weight, LM
...). ``--ctc_greedy true`` instead runs batched greedy CTC decoding
(``usm_espnet.decode.ctc_greedy``), the fast path for CTC-only models; it
writes the same ``1best_recog/{text,token,token_int}`` layout.
"""

import sys

from usm_espnet.registry import register

register(["espnet2.tasks.asr"])


def main(cmd=None):
    argv = list(sys.argv[1:] if cmd is None else cmd)
    if "--ctc_greedy" in argv:
        from usm_espnet.decode.ctc_greedy import main as greedy_main

        return greedy_main(argv)
    from espnet2.bin.asr_inference import main as espnet_main

    return espnet_main(argv)


if __name__ == "__main__":
    main()
