"""The ending that most ``usm_espnet.bin`` entry points share.

After parsing its options, such an entry point sets up logging, makes one library
call, turns a bad-input exception into one ``ERROR: <message>`` line on stderr with
exit status 1 (no traceback), and otherwise prints a summary and exits 0::

    args = get_parser().parse_args(argv)
    return run(lambda: prepare_x(args.corpus_dir, args.out_dir),
               lambda stats: print(stats.summary()), quiet=args.quiet)

What an entry point does before the call (parsing, ``--list_langs``) stays in it;
only the body's exceptions of the classes in ``errors`` are caught: one raised by the
summary is not.
"""

import logging
import sys
from typing import Any, Callable, Optional, Tuple, Type, Union

#: The log line of the entry points: ``2025-01-31 12:00:00,000 INFO usm_espnet.x: ...``.
#: Every entry point that sets logging up uses it, but those that run ESPnet's own main, which
#: sets ESPnet's format itself: asr_train, ssl_train and most_train (ESPnet's trainer,
#: ``[host] <time> (<module>:<line>) LEVEL: ...`` in train.log), and asr_inference, whose
#: ``--ctc_greedy`` path (usm_espnet.decode.ctc_greedy) logs like ESPnet's decoding so that a
#: decode log reads the same either way.
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

Errors = Union[Type[BaseException], Tuple[Type[BaseException], ...]]


def setup_logging(quiet: bool = False, log_format: str = LOG_FORMAT) -> None:
    """``logging.basicConfig`` at INFO (WARNING with ``quiet``) with ``log_format``."""
    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO, format=log_format)


def run(body: Callable[[], Any], report: Optional[Callable[[Any], Optional[int]]] = None, *,
        quiet: bool = False, log_format: Optional[str] = LOG_FORMAT,
        errors: Errors = (ValueError, OSError),
        describe: Callable[[BaseException], str] = str) -> int:
    """Set up logging, call ``body``, report its result; the exit status.

    Args:
        body: The work; its exceptions of the classes in ``errors`` are bad input.
        report: Called with what ``body`` returned (a summary to print); it returns the
            exit status, or None for 0. Without it ``body``'s value is dropped.
        quiet: Log at WARNING instead of INFO.
        log_format: The log line format; None leaves logging as it is (an entry point
            that logs nothing, or that set logging up itself earlier).
        errors: The exception classes reported as ``ERROR: <describe(e)>`` (status 1).
        describe: The message of a caught exception (default ``str``).

    Returns:
        1 after a caught error, otherwise ``report``'s status (0 when it gives None).
    """
    if log_format is not None:
        setup_logging(quiet, log_format)
    try:
        result = body()
    except errors as e:
        print(f"ERROR: {describe(e)}", file=sys.stderr)
        return 1
    status = report(result) if report is not None else None
    return 0 if status is None else status
