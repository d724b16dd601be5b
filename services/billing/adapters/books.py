"""The books on SQL (``app.ports.Books``): every contract file loaded (the latest load of an id is
in force), closed months, the worker's state (open month, applied contracts) and the dirty marks
(contract-level estimates to recompute, from a period on)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from shared.db import upsert

from ..domain import ClosedMonths
from .tables import billing_state, closed_months, contracts, dirty_contracts


class SqlBooks:
    def __init__(self, session: Session) -> None:
        self.session = session

    def current_contracts(self) -> dict[str, tuple[int, str, str]]:
        c = contracts.c
        latest = select(c.contract_id, func.max(c.seq).label("seq")).group_by(c.contract_id).subquery()
        q = select(c.contract_id, c.seq, c.fingerprint, c.document).join(latest, c.seq == latest.c.seq)
        return {r.contract_id: (r.seq, r.fingerprint, r.document) for r in self.session.execute(q)}

    def save_contract(self, contract_id: str, fingerprint: str, source: str, document: str, at: datetime,
                      by: str) -> int:
        res = self.session.execute(insert(contracts).values(
            contract_id=contract_id, fingerprint=fingerprint, source=source[:500], document=document, loaded_at=at,
            loaded_by=by))
        return int(res.inserted_primary_key[0])

    def closed(self) -> ClosedMonths:
        return ClosedMonths(frozenset((r[0], r[1]) for r in self.session.execute(
            select(closed_months.c.contract_id, closed_months.c.period))))

    def close(self, contract_id: str, period: str, at: datetime, by: str) -> None:
        self.session.execute(insert(closed_months).values(contract_id=contract_id, period=period, closed_at=at,
                                                          closed_by=by))

    def get_state(self, key: str) -> str | None:
        return self.session.execute(select(billing_state.c.value).where(billing_state.c.key == key)).scalar()

    def set_state(self, key: str, value: str) -> None:
        upsert(self.session, billing_state, [{"key": key, "value": value}], ["key"])

    def mark_dirty(self, marks: Mapping[str, str]) -> None:
        if not marks:
            return
        d = dirty_contracts.c
        existing = dict(self.session.execute(select(d.contract_id, d.from_period)
                                             .where(d.contract_id.in_(list(marks)))).all())
        rows = [{"contract_id": c, "from_period": min(p, existing.get(c, p))} for c, p in sorted(marks.items())]
        upsert(self.session, dirty_contracts, rows, ["contract_id"])

    def take_dirty(self) -> dict[str, str]:
        marks = self.peek_dirty()
        if marks:
            self.session.execute(delete(dirty_contracts))
        return marks

    def peek_dirty(self) -> dict[str, str]:
        d = dirty_contracts.c
        return dict(self.session.execute(select(d.contract_id, d.from_period)).all())
