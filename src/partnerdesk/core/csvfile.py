"""CSV as partnerdesk writes it (the ledger's statements and the operators' exports):
UTF-8 with a byte-order mark, so Excel opens Cyrillic and Polish letters intact; header
names that are API field names, the same in every language; numbers with a dot; and no
text cell that a spreadsheet would run as a formula (one that starts with = + - @, a tab
or a carriage return gets a ' in front).

``csv_pieces`` writes rows a few hundred at a time from any iterable, so a million rows
read through a server-side cursor never sit in memory."""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal

BOM = "\ufeff"
FLUSH_ROWS = 500  # written to the answer at a time
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value) -> str | int:
    """What a spreadsheet shows as it is: no formula, instants and dates in ISO 8601,
    amounts as numbers (a negative one is a number, not a formula)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime.date):  # a datetime too
        return value.isoformat()
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal):
        # Hours kept to the minute: four decimals, as the API gives them (0.1667).
        return format(value.quantize(Decimal("0.0001")).normalize(), "f")
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_pieces(header: Sequence[str], rows: Iterable[Sequence]) -> Iterator[str]:
    """The mark and the header first, then the rows (each value through ``cell``)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write(BOM)
    writer.writerow(header)
    for written, row in enumerate(rows, 1):
        writer.writerow([cell(value) for value in row])
        if written % FLUSH_ROWS == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def write_pieces(pieces: Iterable[str], path: str) -> int:
    """Write the CSV to ``path`` ("-": standard output) as it comes; the number of rows
    written after the header."""
    import sys

    lines = 0
    target = sys.stdout if path == "-" else open(path, "w", encoding="utf-8", newline="")  # noqa: SIM115
    try:
        for piece in pieces:
            target.write(piece)
            lines += piece.count("\r\n")
        target.flush()
    finally:
        if target is not sys.stdout:
            target.close()
    return max(lines - 1, 0)
