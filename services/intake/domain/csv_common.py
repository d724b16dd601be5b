"""Shared pieces of the CSV parsers: opening, header check, progress, field parsers."""

from __future__ import annotations

import csv
import difflib
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TextIO

from .records import Progress


class FieldError(ValueError):
    """A column's value is wrong; the message names the column, never the value."""


class _Counting:
    """Line source for ``csv.reader`` that counts characters (progress) and keeps the text of
    the row being read (a quoted field may span lines) for the dead-letter topic."""

    def __init__(self, fh: TextIO) -> None:
        self._fh = fh
        self.count = 0
        self._pending: list[str] = []

    def __iter__(self) -> "_Counting":
        return self

    def __next__(self) -> str:
        line = next(self._fh)
        self.count += len(line)
        self._pending.append(line)
        return line

    def take(self) -> str:
        """The text of the row(s) read since the last ``take``."""
        text = "".join(self._pending)
        self._pending.clear()
        return text if text.endswith("\n") else text + "\n"


ROW_UNREADABLE = "the row cannot be read as CSV (an unterminated quote, or a field longer than 128 KB)"
NUL_IN_ROW = "the row contains a NUL character"
MAX_RAW_CHARS = 900_000  # a dead letter must stay under the broker's default 1 MB message size


def read_rows(reader, counter: _Counting) -> Iterator[tuple[list[str] | None, int, str]]:
    """``(row, line number, raw text)``; ``row`` is None for a row ``csv`` cannot read (the
    parser must reject it, not raise)."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error:
            yield None, reader.line_num, counter.take()[:MAX_RAW_CHARS]
            continue
        yield row, reader.line_num, counter.take()


def read_header(reader, counter: _Counting) -> tuple[list[str] | None, str, bool]:
    """``(header, raw text, readable)``: header None at end of file or when unreadable."""
    try:
        header = next(reader, None)
    except csv.Error:
        return None, counter.take()[:MAX_RAW_CHARS], False
    return header, counter.take() if header is not None else "", True


def rest_of_file(counter: _Counting, head: str) -> str:
    """``head`` and the rest of the file's text, up to ``MAX_RAW_CHARS`` (a rejected file is
    dead-lettered with its rows, not only its header)."""
    size = len(head)
    for line in counter:
        size += len(line)
        if size > MAX_RAW_CHARS:
            break
    return (head + counter.take())[:MAX_RAW_CHARS]


@contextmanager
def open_csv(source: str | os.PathLike[str] | TextIO, progress: Progress) -> Iterator[tuple[csv.reader, _Counting]]:
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        progress.total_bytes = path.stat().st_size
        with path.open("r", encoding="utf-8-sig", newline="", errors="replace") as fh:
            counter = _Counting(fh)
            yield csv.reader(counter), counter
    else:
        counter = _Counting(source)
        yield csv.reader(counter), counter


_FIELD_NAME = re.compile(r"[a-z_]{1,40}")


def unknown_names(names: list[tuple[int, str]], known: tuple[str, ...], what: str = "column",
                  name_fields: bool = False) -> str:
    """Unknown header cells / keys by position, with the known name each may be meant as - never
    the text itself (a file without its header line has patient data in its first line). With
    ``name_fields`` (JSON keys), a key spelled like a field name (lower-case letters and
    underscores, no digits) is named: an identifier or a name is never spelled so."""
    parts = []
    for pos, name in names[:10]:
        guess = difflib.get_close_matches(name, known, n=1, cutoff=0.8)
        label = f"'{name}'" if name_fields and _FIELD_NAME.fullmatch(name) else f"{what} {pos}"
        parts.append(label + (f" (did you mean {guess[0]}?)" if guess else ""))
    more = f" and {len(names) - 10} more" if len(names) > 10 else ""
    return ", ".join(parts) + more


def check_header(header: list[str], known: tuple[str, ...], required: frozenset[str]) -> tuple[dict[str, int] | None, str]:
    """Column index by name, or (None, reason) when required columns are missing or unknown ones
    appear. The reason names known columns and positions, never a header cell's own text."""
    names = [h.strip().lower() for h in header]
    expected = f" (expected: {', '.join(known)})"
    if names and not any(n in known for n in names):
        return None, (f"header rejected: the first line is not a header - none of its {len(names)} value(s) is a "
                      f"column name{expected}")
    missing = sorted(required - set(names))
    unknown = [(i, n) for i, n in enumerate(names, 1) if n and n not in known]
    dupes = sorted({n for n in names if n in known and names.count(n) > 1})
    problems = []
    if missing:
        problems.append("missing required columns: " + ", ".join(missing))
    if unknown:
        problems.append("unknown columns: " + unknown_names(unknown, known))
    if dupes:
        problems.append("repeated columns: " + ", ".join(dupes))
    if problems:
        return None, "header rejected: " + "; ".join(problems) + expected
    return {n: i for i, n in enumerate(names) if n}, ""


def parse_date(text: str, column: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise FieldError(f"{column} is not an ISO date (YYYY-MM-DD)") from None


def opt_date(text: str, column: str) -> date | None:
    return parse_date(text, column) if text.strip() else None


def parse_decimal(text: str, column: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise FieldError(f"{column} is not a decimal number") from None
    if not value.is_finite():
        raise FieldError(f"{column} is not a decimal number")
    return value


def opt_decimal(text: str, column: str) -> Decimal | None:
    return parse_decimal(text, column) if text.strip() else None


def split_list(text: str, sep: str = ";") -> tuple[str, ...]:
    return tuple(p.strip() for p in text.split(sep) if p.strip())
