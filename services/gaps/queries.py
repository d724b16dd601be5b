"""The API's reads: a member's gaps, measure rates by practice / contract, load records.

Rates follow the eCQM populations: denominator = members (FUP: discharges) in the eligible
population (open, closed, due soon or excluded), exclusions = excluded, numerator = closed or
due soon - except CMS122, an inverse measure (lower is better), whose numerator is poor
control: its open gaps. rate = numerator / (denominator - exclusions).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .domain import MEASURES
from .store import gaps, ingest_loads, members

INVERSE = frozenset({"CMS122"})
IN_DENOMINATOR = ("open", "closed", "due_soon", "excluded")


def member(session: Session, member_id: str):
    return session.execute(select(members).where(members.c.member_id == member_id)).first()


def member_gaps(session: Session, member_id: str, period_start: date) -> list:
    rows = session.execute(select(gaps).where(gaps.c.member_id == member_id, gaps.c.period_start == period_start)).all()
    order = {m: i for i, m in enumerate(MEASURES)}
    return sorted(rows, key=lambda r: (order.get(r.measure_id, 99), r.instance_id or ""))


@dataclass
class RateRow:
    measure_id: str
    practice_id: str | None
    contract_id: str | None
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def inverse(self) -> bool:
        return self.measure_id in INVERSE

    def figures(self) -> dict[str, Any]:
        c = self.counts
        denominator = sum(c.get(s, 0) for s in IN_DENOMINATOR)
        exclusions = c.get("excluded", 0)
        met = c.get("closed", 0) + c.get("due_soon", 0)
        numerator = c.get("open", 0) if self.inverse else met
        eligible = denominator - exclusions
        return {
            "measure_id": self.measure_id, "practice_id": self.practice_id, "contract_id": self.contract_id,
            "denominator": denominator, "exclusions": exclusions, "numerator": numerator,
            "rate": round(numerator / eligible, 4) if eligible else None, "inverse": self.inverse,
            "open_gaps": c.get("open", 0), "closed_gaps": met, "due_soon": c.get("due_soon", 0),
            "not_applicable": c.get("not_applicable", 0),
        }


def rates(session: Session, period_start: date, *, by_practice: bool, by_contract: bool,
          measure_id: str | None = None, practice_id: str | None = None, contract_id: str | None = None) -> list[dict]:
    cols = [gaps.c.measure_id]
    if by_practice:
        cols.append(gaps.c.practice_id)
    if by_contract:
        cols.append(gaps.c.contract_id)
    stmt = select(*cols, gaps.c.status, func.count()).where(gaps.c.period_start == period_start)
    if measure_id:
        stmt = stmt.where(gaps.c.measure_id == measure_id)
    if practice_id:
        stmt = stmt.where(gaps.c.practice_id == practice_id)
    if contract_id:
        stmt = stmt.where(gaps.c.contract_id == contract_id)
    stmt = stmt.group_by(*cols, gaps.c.status)
    out: dict[tuple, RateRow] = {}
    for row in session.execute(stmt):
        m = row.measure_id
        p = row.practice_id if by_practice else None
        k = row.contract_id if by_contract else None
        rr = out.setdefault((m, p or "", k or ""), RateRow(m, p, k))
        rr.counts[row.status] = rr.counts.get(row.status, 0) + row[-1]
    order = {m: i for i, m in enumerate(MEASURES)}
    return [out[key].figures() for key in sorted(out, key=lambda t: (order.get(t[0], 99), t[1], t[2]))]


def load_record(session: Session, load_id: str) -> dict[str, Any] | None:
    row = session.execute(select(ingest_loads).where(ingest_loads.c.load_id == load_id)).first()
    if row is None:
        return None
    if row.report:
        return json.loads(row.report)
    return {"load_id": row.load_id, "kind": row.kind, "format": row.format, "mode": row.mode, "file": row.file_name,
            "sha256": row.sha256, "status": row.status, "started_at": row.started_at.isoformat(),
            "accepted": row.accepted, "rejected": row.rejected, "lines": row.lines}
