"""Claims CSV (``shared.formats.CLAIM_CSV_COLUMNS``): one row per service line, streamed.

Rows of one claim (same ``claim_id`` and ``frequency_code``) must be contiguous; the claim
fields repeat on every row and must agree. The optional columns ``version_sequence``,
``adjudication_date`` and ``received_date`` (``shared.formats.CLAIM_CSV_VERSION_COLUMNS``) say
which version of a claim is later; nothing in a CSV file orders versions by its load time. ``procedure_code`` may be empty on a line that has a
``revenue_code`` (an institutional line billed by revenue code only). A bad row is rejected with its line number and the
column that is wrong; the claim it belongs to is then not loaded (a partial claim would
understate it) and is reported with all its line numbers.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, TextIO

from shared.formats import CLAIM_CSV_COLUMNS, CLAIM_CSV_REQUIRED, CLAIM_CSV_VERSION_COLUMNS, LIST_SEPARATOR

from .csv_common import (
    NUL_IN_ROW, ROW_UNREADABLE, FieldError, check_header, open_csv, opt_date, opt_decimal, parse_date, read_header,
    read_rows, rest_of_file, split_list,
)
from .records import ParsedClaim, Position, Progress, ProgressCallback, Rejection, validate_claim

CLAIM_COLUMNS = ("claim_id", "frequency_code", "original_claim_id", "claim_type", "member_id", "payer_id",
                 "billing_npi", "rendering_npi", "place_of_service", "type_of_bill", "admission_date",
                 "discharge_date", "discharge_status", "diagnoses", *CLAIM_CSV_VERSION_COLUMNS)


class _Pending:
    __slots__ = ("key", "header", "first_line", "lines", "line_numbers", "bad", "raw")

    def __init__(self, key: tuple[str, str], header: tuple[str, ...], line_no: int) -> None:
        self.key = key
        self.header = header
        self.first_line = line_no
        self.lines: list[dict[str, Any]] = []
        self.line_numbers: list[int] = []
        self.bad: list[tuple[int, str]] = []  # (line number, reason)
        self.raw: list[str] = []


def _opt(text: str) -> str | None:
    t = text.strip()
    return t or None


def _line(get, line_no: int) -> dict[str, Any]:
    try:
        number = int(get("line_number"))
    except ValueError:
        raise FieldError("line_number is not a whole number") from None
    proc = get("procedure_code").strip().upper()
    revenue = _opt(get("revenue_code"))
    if not proc and not revenue:
        raise FieldError("procedure_code is empty (and there is no revenue_code)")
    svc = get("service_date")
    if not svc.strip():
        raise FieldError("service_date is empty")
    return {
        "line_number": number,
        "procedure_code": proc or None,  # None: an institutional line billed by revenue code only
        "modifiers": tuple(m.upper() for m in split_list(get("modifiers"), LIST_SEPARATOR)),
        "revenue_code": revenue,
        "service_date": parse_date(svc, "service_date"),
        "service_date_end": opt_date(get("service_date_end"), "service_date_end"),
        "units": opt_decimal(get("units"), "units") or Decimal(1),
        "charge_amount": opt_decimal(get("charge_amount"), "charge_amount") or Decimal(0),
        "allowed_amount": opt_decimal(get("allowed_amount"), "allowed_amount"),
        "paid_amount": opt_decimal(get("paid_amount"), "paid_amount"),
        "rendering_npi": _opt(get("rendering_npi")),
    }


def _claim_fields(p: _Pending, get_header: dict[str, str], source_file: str | None) -> dict[str, Any]:
    h = get_header
    lines = p.lines
    paid = [ln["paid_amount"] for ln in lines if ln["paid_amount"] is not None]
    dates = [ln["service_date"] for ln in lines]
    ends = [ln["service_date_end"] or ln["service_date"] for ln in lines]
    institutional = h["claim_type"] == "institutional"
    return {
        "member_id": h["member_id"],
        "claim_id": h["claim_id"],
        "frequency_code": h["frequency_code"] or "1",
        "original_claim_id": _opt(h["original_claim_id"]),
        "claim_type": h["claim_type"],
        "payer_id": _opt(h["payer_id"]),
        "billing_npi": _opt(h["billing_npi"]),
        "rendering_npi": _opt(h["rendering_npi"]),
        "place_of_service": _opt(h["place_of_service"]),
        "type_of_bill": _opt(h["type_of_bill"]),
        "admission_date": opt_date(h["admission_date"], "admission_date"),
        "discharge_date": opt_date(h["discharge_date"], "discharge_date"),
        "discharge_status": _opt(h["discharge_status"]),
        "statement_from": min(dates) if institutional and dates else None,
        "statement_to": max(ends) if institutional and ends else None,
        "diagnoses": tuple(d.replace(".", "").upper() for d in split_list(h["diagnoses"], LIST_SEPARATOR)),
        "lines": tuple(sorted(lines, key=lambda ln: ln["line_number"])),
        "total_charge": sum((ln["charge_amount"] for ln in lines), Decimal(0)),
        "paid_amount": sum(paid, Decimal(0)) if paid else None,
        "source_file": source_file,
        "version_sequence": _opt_int(h["version_sequence"], "version_sequence"),
        "adjudication_date": opt_date(h["adjudication_date"], "adjudication_date"),
        "received_date": opt_date(h["received_date"], "received_date"),
    }


def _opt_int(text: str, column: str) -> int | None:
    t = text.strip()
    if not t:
        return None
    if not t.isdigit():
        raise FieldError(f"{column} is not a whole number")
    return int(t)


class ClaimRowGrouper:
    """Claim lines (one per row, claim columns repeated) → claims, for CSV and JSON lines.

    ``add(line_no, get, raw)`` takes one row (``get(column) -> str``) and yields what it
    completes; ``finish()`` yields the last claim. ``header_raw`` is prepended to the raw text
    of rejections so a dead letter is a loadable file on its own.
    """

    def __init__(self, progress: Progress, source_file: str | None, header_raw: str = "") -> None:
        self.progress = progress
        self.source_file = source_file
        self.header_raw = header_raw
        self.seen: dict[tuple[str, str], int] = {}
        self.pending: _Pending | None = None
        self.pending_header: dict[str, str] = {}

    def _flush(self) -> Iterator[ParsedClaim | Rejection]:
        p, self.pending = self.pending, None
        if p is None:
            return
        progress = self.progress
        pos = Position(self.source_file, lines=tuple(p.line_numbers))
        member = self.pending_header.get("member_id") or None
        raw = self.header_raw + "".join(p.raw)
        if p.bad:
            progress.rejected += 1
            why = "; ".join(f"line {n}: {reason}" for n, reason in p.bad[:3])
            more = f"; and {len(p.bad) - 3} more line(s)" if len(p.bad) > 3 else ""
            yield Rejection(f"claim not loaded: {why}{more}", pos, "claim", raw=raw, key=member)
            return
        try:
            fields = _claim_fields(p, self.pending_header, self.source_file)
        except FieldError as exc:
            progress.rejected += 1
            yield Rejection(str(exc), pos, "claim", raw=raw, key=member)
            return
        checked = validate_claim(fields)
        if isinstance(checked, str):
            progress.rejected += 1
            yield Rejection(checked, pos, "claim", raw=raw, key=member)
        else:
            progress.accepted += 1
            progress.lines += len(p.lines)
            yield ParsedClaim(checked, pos)

    def add(self, line_no: int, get, raw: str, too_many_values: bool = False) -> Iterator[ParsedClaim | Rejection]:
        progress = self.progress
        key = (get("claim_id").strip(), get("frequency_code").strip() or "1")
        header_vals = tuple(get(c).strip() for c in CLAIM_COLUMNS)
        member = get("member_id").strip() or None
        pending = self.pending
        if pending is None or pending.key != key:
            yield from self._flush()
            if key in self.seen:
                progress.rejected += 1
                yield Rejection(f"claim rows are not contiguous: this claim started on line {self.seen[key]}",
                                Position(self.source_file, lines=(line_no,)), "line",
                                raw=self.header_raw + raw, key=member)
                return
            self.seen[key] = line_no
            pending = self.pending = _Pending(key, header_vals, line_no)
            self.pending_header = {c: v for c, v in zip(CLAIM_COLUMNS, header_vals)}
        pending.line_numbers.append(line_no)
        pending.raw.append(raw)
        reason = None
        if "\x00" in raw:
            reason = NUL_IN_ROW
        elif too_many_values:
            reason = "more values than header columns"
        elif header_vals != pending.header:
            diff = [c for c, a, b in zip(CLAIM_COLUMNS, header_vals, pending.header) if a != b]
            reason = f"claim columns differ from the claim's first line ({', '.join(diff)})"
        else:
            missing = [c for c in sorted(CLAIM_CSV_REQUIRED) if not get(c).strip()
                       and not (c == "procedure_code" and get("revenue_code").strip())]
            if missing:
                reason = "empty required column(s): " + ", ".join(missing)
        if reason is None:
            try:
                pending.lines.append(_line(get, line_no))
            except FieldError as exc:
                reason = str(exc)
        if reason is not None:
            pending.bad.append((line_no, reason))
            progress.rejected += 1
            # Reported here; its text is dead-lettered with the claim it belongs to.
            yield Rejection(reason, Position(self.source_file, lines=(line_no,)), "line",
                            raw=self.header_raw + raw, key=member, covered=True)

    def finish(self) -> Iterator[ParsedClaim | Rejection]:
        yield from self._flush()


def iter_claims_csv(
    source: str | os.PathLike[str] | TextIO,
    on_progress: ProgressCallback | None = None,
    *,
    source_file: str | None = None,
    progress_every: int = 5000,
) -> Iterator[ParsedClaim | Rejection]:
    """Claims of a claims CSV in file order, with line-numbered rejections."""
    progress = Progress()
    if source_file is None and isinstance(source, (str, os.PathLike)):
        source_file = os.path.basename(os.fspath(source))
    with open_csv(source, progress) as (reader, counter):
        header, header_raw, readable = read_header(reader, counter)
        if header is None:
            progress.rejected += 1
            reason = "the file is empty (no header line)" if readable else "the header " + ROW_UNREADABLE[8:]
            yield Rejection(reason, Position(source_file, lines=(1,)), "file", raw=rest_of_file(counter, header_raw))
            _finish(progress, counter, on_progress)
            return
        index, problem = check_header(header, CLAIM_CSV_COLUMNS + CLAIM_CSV_VERSION_COLUMNS, CLAIM_CSV_REQUIRED)
        if index is None:
            progress.rejected += 1
            yield Rejection(problem, Position(source_file, lines=(1,)), "file", raw=rest_of_file(counter, header_raw))
            _finish(progress, counter, on_progress)
            return
        grouper = ClaimRowGrouper(progress, source_file, header_raw)
        for row, line_no, raw in read_rows(reader, counter):
            progress.units += 1
            if on_progress and progress.units % progress_every == 0:
                progress.bytes_read = counter.count
                on_progress(progress)
            if row is None:
                progress.rejected += 1
                yield Rejection(ROW_UNREADABLE, Position(source_file, lines=(line_no,)), "row",
                                raw=header_raw + raw)
                continue
            if not any(c.strip() for c in row):
                continue

            def get(name: str, _row=row) -> str:
                i = index.get(name)
                return _row[i] if i is not None and i < len(_row) else ""

            yield from grouper.add(line_no, get, raw, len(row) > len(index))
        yield from grouper.finish()
        _finish(progress, counter, on_progress)


def _finish(progress: Progress, counter, on_progress: ProgressCallback | None) -> None:
    progress.bytes_read = counter.count
    progress.done = True
    if on_progress:
        on_progress(progress)
