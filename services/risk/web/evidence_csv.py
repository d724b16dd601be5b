"""The ED evidence as CSV: one line per practice, month and program period, counts and shares."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from ..domain.ed_evidence import MonthRow

COLUMNS = ("practice_id", "month", "period", "visits", "open_hours", "closed_hours", "unknown_hours", "closed_share",
           "avoidable", "avoidable_share", "avoidable_closed_hours", "in_extended_slots", "from_adt_only",
           "from_claims_only", "from_both")


def evidence_csv(rows: Iterable[MonthRow]) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(COLUMNS)
    for r in rows:
        d = r.to_dict()
        w.writerow(["" if d[c] is None else d[c] for c in COLUMNS])
    return out.getvalue()
