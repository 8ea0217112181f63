"""The USM paper's numbers, read from one table: ``usm_espnet/report/paper_numbers.tsv``.

Every RESULTS writer that prints a paper number beside ours takes it from that file
(``report.results.PAPER_RESULTS``, ``report.longform.PAPER_TABLE7``, and the recipes'
``compare_results --paper_row "LABEL=TABLE/ROW/METRIC"``), so a number is corrected in
one place and a test can check every key the recipes use. Each row is
``table, row, metric, value, source``; ``/work/shared/paper_numbers.md`` in the
project notes says where each number was read.

    >>> paper_value("table5", "BEST-RQ, 16 softmaxes", "FLEURS CER")
    6.9
"""

from __future__ import annotations

import csv
import functools
from pathlib import Path
from typing import Dict, List, NamedTuple, Tuple

PAPER_NUMBERS_TSV = Path(__file__).resolve().parent / "paper_numbers.tsv"
_COLUMNS = ("table", "row", "metric", "value", "source")
#: Separator of a key's parts: ``TABLE/ROW/METRIC`` (no part may contain it).
KEY_SEP = "/"


class PaperNumber(NamedTuple):
    """One number of the paper: where it sits (table, row, metric), its value and source."""

    table: str
    row: str
    metric: str
    value: float
    source: str

    @property
    def key(self) -> str:
        """``TABLE/ROW/METRIC``, as ``compare_results --paper_row LABEL=KEY`` takes it."""
        return KEY_SEP.join((self.table, self.row, self.metric))


def read_paper_numbers(path: Path = PAPER_NUMBERS_TSV) -> List[PaperNumber]:
    """Parse a paper-numbers table (tab-separated, a header, ``#`` comment lines).

    Args:
        path: The file.

    Returns:
        Its rows in file order.

    Raises:
        ValueError: A malformed line (``file:line`` in the message), a repeated
            (table, row, metric), a part containing ``/``, or a table whose rows give
            different sources.
    """
    out: List[PaperNumber] = []
    seen: Dict[Tuple[str, str, str], int] = {}
    sources: Dict[str, str] = {}
    header_seen = False
    with open(path, encoding="utf-8", newline="") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            fields = next(csv.reader([line], delimiter="\t", quoting=csv.QUOTE_NONE))
            where = f"{path}:{lineno}"
            if not header_seen:
                if tuple(fields) != _COLUMNS:
                    raise ValueError(f"{where}: header must be {' '.join(_COLUMNS)!r} "
                                     f"(tab-separated), got {fields}")
                header_seen = True
                continue
            if len(fields) != len(_COLUMNS) or not all(x.strip() for x in fields):
                raise ValueError(f"{where}: expected {len(_COLUMNS)} non-empty tab-separated "
                                 f"fields ({', '.join(_COLUMNS)}), got {fields}")
            table, row, metric, value, source = (x.strip() for x in fields)
            if any(KEY_SEP in x for x in (table, row, metric)):
                raise ValueError(f"{where}: table, row and metric may not contain "
                                 f"{KEY_SEP!r} (it separates a key's parts)")
            try:
                number = float(value)
            except ValueError:
                raise ValueError(f"{where}: value {value!r} is not a number") from None
            if (table, row, metric) in seen:
                raise ValueError(f"{where}: ({table}, {row}, {metric}) repeats line "
                                 f"{seen[(table, row, metric)]}")
            seen[(table, row, metric)] = lineno
            if sources.setdefault(table, source) != source:
                raise ValueError(f"{where}: table {table!r} has two sources: "
                                 f"{sources[table]!r} and {source!r}")
            out.append(PaperNumber(table, row, metric, number, source))
    if not header_seen:
        raise ValueError(f"{path}: no header line")
    return out


@functools.lru_cache(maxsize=1)
def _numbers() -> Dict[Tuple[str, str, str], PaperNumber]:
    return {(n.table, n.row, n.metric): n for n in read_paper_numbers()}


def paper_number(table: str, row: str, metric: str) -> PaperNumber:
    """The entry at (table, row, metric).

    Raises:
        KeyError: No such entry; the message lists the table's keys (or the tables).
    """
    try:
        return _numbers()[(table, row, metric)]
    except KeyError:
        keys = [n.key for n in _numbers().values() if n.table == table]
        known = (f"table {table!r} has: {'; '.join(keys)}" if keys else
                 f"tables: {', '.join(sorted({t for t, _, _ in _numbers()}))}")
        raise KeyError(f"no paper number {KEY_SEP.join((table, row, metric))!r} in "
                       f"{PAPER_NUMBERS_TSV.name} ({known})") from None


def paper_value(table: str, row: str, metric: str) -> float:
    """The paper's value at (table, row, metric), e.g. ``("table5", "BEST-RQ, 1 softmax",
    "FLEURS CER") -> 7.4``.

    Raises:
        KeyError: No such entry (the message lists what there is).
    """
    return paper_number(table, row, metric).value


def paper_source(table: str) -> str:
    """The source text printed under a table of the paper's numbers.

    Raises:
        KeyError: No such table.
    """
    for n in _numbers().values():
        if n.table == table:
            return n.source
    raise KeyError(f"no table {table!r} in {PAPER_NUMBERS_TSV.name} (tables: "
                   f"{', '.join(sorted({t for t, _, _ in _numbers()}))})")


def value_for_key(key: str) -> float:
    """The value of a ``TABLE/ROW/METRIC`` key.

    Raises:
        KeyError: Not three ``/``-separated parts, or no such entry.
    """
    parts = key.split(KEY_SEP)
    if len(parts) != 3:
        raise KeyError(f"a paper key looks like TABLE{KEY_SEP}ROW{KEY_SEP}METRIC, got {key!r}")
    return paper_value(*(p.strip() for p in parts))
