"""Roster CSV (``shared.formats.ROSTER_COLUMNS``): one member per row, streamed.

``roster_body_fields(row)`` turns one row (column → text) into ``MemberRosterV1`` body fields
(the wiring adds the envelope and ``roster_load_id``). Rejections carry the line number and
the column that is wrong, never a name, date or identifier from the row.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any, TextIO

from shared.formats import LIST_SEPARATOR, ROSTER_COLUMNS, ROSTER_REQUIRED

from .csv_common import (
    NUL_IN_ROW, ROW_UNREADABLE, FieldError, check_header, open_csv, opt_date, parse_date, read_header, read_rows,
    rest_of_file, split_list,
)
from .records import ParsedRoster, Position, Progress, ProgressCallback, Rejection, validate_roster_fields


def _opt(v: str | None) -> str | None:
    v = (v or "").strip()
    return v or None


def roster_body_fields(row: Mapping[str, str]) -> dict[str, Any] | str:
    """Validated ``MemberRosterV1`` body fields of one roster row, or the reason it is invalid."""
    get = lambda k: (row.get(k) or "")  # noqa: E731
    try:
        missing = [c for c in sorted(ROSTER_REQUIRED) if not get(c).strip()]
        if missing:
            raise FieldError("empty required column(s): " + ", ".join(missing))
        mrns = []
        for item in split_list(get("mrns"), LIST_SEPARATOR):
            authority, sep, mrn = item.partition(":")
            if not sep or not authority.strip() or not mrn.strip():
                raise FieldError("mrns: each entry must be AUTHORITY:MRN")
            mrns.append({"assigning_authority": authority.strip(), "mrn": mrn.strip()})
        start = parse_date(get("eligibility_start"), "eligibility_start")
        end = opt_date(get("eligibility_end"), "eligibility_end")
        if end is not None and end < start:
            raise FieldError("eligibility_end is before eligibility_start")
        fields = {
            "member_id": get("member_id").strip(),
            "given_name": get("given_name").strip(),
            "family_name": get("family_name").strip(),
            "birth_date": parse_date(get("birth_date"), "birth_date"),
            "sex": get("sex").strip().upper(),
            "mrns": tuple(mrns),
            "pcp_practice_id": get("pcp_practice_id").strip(),
            "pcp_npi": _opt(get("pcp_npi")),
            "hospitalist_group": _opt(get("hospitalist_group")),
            "pod": _opt(get("pod")),
            "contract_id": get("contract_id").strip(),
            "program": _opt(get("program")),
            "risk_tier": (_opt(get("risk_tier")) or "low").lower(),
            "eligibility": ({"start": start, "end": end},),
        }
    except FieldError as exc:
        return str(exc)
    return validate_roster_fields(fields)


def iter_roster_csv(
    source: str | os.PathLike[str] | TextIO,
    on_progress: ProgressCallback | None = None,
    *,
    progress_every: int = 5000,
) -> Iterator[ParsedRoster | Rejection]:
    """Roster rows in file order; a repeated member id is rejected (the first row counts)."""
    progress = Progress()
    source_file = os.path.basename(os.fspath(source)) if isinstance(source, (str, os.PathLike)) else None
    seen: dict[str, int] = {}
    with open_csv(source, progress) as (reader, counter):
        header, header_raw, readable = read_header(reader, counter)
        if header is None:
            index, problem = None, ("the file is empty (no header line)" if readable
                                    else "the header " + ROW_UNREADABLE[8:])
        else:
            index, problem = check_header(header, ROSTER_COLUMNS, ROSTER_REQUIRED)
        if index is None:
            progress.rejected += 1
            yield Rejection(problem, Position(source_file, lines=(1,)), "file", raw=rest_of_file(counter, header_raw))
        else:
            for row, line_no, raw in read_rows(reader, counter):
                progress.units += 1
                if on_progress and progress.units % progress_every == 0:
                    progress.bytes_read = counter.count
                    on_progress(progress)
                pos = Position(source_file, lines=(line_no,))
                if row is None:
                    progress.rejected += 1
                    yield Rejection(ROW_UNREADABLE, pos, "row", raw=header_raw + raw)
                    continue
                if not any(c.strip() for c in row):
                    continue
                values = {name: (row[i] if i < len(row) else "") for name, i in index.items()}
                member = (values.get("member_id") or "").strip() or None
                reason = None
                if "\x00" in raw:
                    reason = NUL_IN_ROW
                elif len(row) > len(index):
                    reason = "more values than header columns"
                if reason is not None:
                    progress.rejected += 1
                    yield Rejection(reason, pos, "row", raw=header_raw + raw, key=member)
                    continue
                result = roster_body_fields(values)
                if isinstance(result, str):
                    progress.rejected += 1
                    yield Rejection(result, pos, "row", raw=header_raw + raw, key=member)
                    continue
                first = seen.get(result["member_id"])
                if first is not None:
                    progress.rejected += 1
                    yield Rejection(f"member_id appears again (first on line {first})", pos, "row",
                                    raw=header_raw + raw, key=member)
                    continue
                seen[result["member_id"]] = line_no
                progress.accepted += 1
                yield ParsedRoster(result, line_no)
        progress.bytes_read = counter.count
        progress.done = True
        if on_progress:
            on_progress(progress)
