"""The gaps repositories on SQLAlchemy (``app/ports.py``), each over the unit of work's session.

Rows are built and read in ``rows.py``; the member state is loaded and the many-row writes made in
``states.py`` (a few statements per batch, however many members). A row with a NUL character is
refused as ``InvalidEvent`` before the statement that would write it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date, datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from shared.audit import record_access
from shared.chunks import chunks
from shared.db import upsert
from shared.events import Event, MemberRosterV1

from ..app.ports import GapChange, GapView, MemberState, MemberView, RateCount, Span, Stamp
from .rows import claim_row, evidence_from_json, gap_row, member_row, storable, transition_row
from .states import CHUNK, bulk_insert_ignore, bulk_upsert, load_states, lock_members
from .tables import audit, claim_versions, gaps, maintenance_runs, members, transition_events


class SqlMembers:
    def __init__(self, session: Session) -> None:
        self.session = session

    def stamps(self, member_ids: Sequence[str]) -> dict[str, Stamp]:
        stored: dict[str, Stamp] = {}
        for part in chunks(list(member_ids), CHUNK):
            for row in self.session.execute(select(members.c.member_id, members.c.occurred_at, members.c.event_id)
                                            .where(members.c.member_id.in_(part))):
                stored[row.member_id] = (row.occurred_at, row.event_id)
        return stored

    def save(self, snapshots: Sequence[MemberRosterV1], at: datetime) -> None:
        rows = [storable(member_row(ev, at), "roster snapshot") for ev in snapshots]
        bulk_upsert(self.session, members, rows, ["member_id"])

    def ids(self) -> list[str]:
        return list(self.session.scalars(select(members.c.member_id).order_by(members.c.member_id)))

    def lock(self, member_ids: Iterable[str], *, span: Span | None = None) -> None:
        lock_members(self.session, member_ids, span=span)


class SqlClaims:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, events: Sequence[Event]) -> None:
        bulk_insert_ignore(self.session, claim_versions, [storable(claim_row(c), "claim") for c in events])


class SqlTransitions:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, events: Sequence[Event]) -> None:
        bulk_insert_ignore(self.session, transition_events,
                           [storable(transition_row(t), "care transition") for t in events])


class SqlGaps:
    def __init__(self, session: Session) -> None:
        self.session = session

    def states(self, member_ids: Iterable[str], period_start: date, *, span: Span | None = None
               ) -> dict[str, MemberState]:
        return load_states(self.session, member_ids, period_start, span=span)

    def save(self, changes: Sequence[GapChange]) -> None:
        rows = [gap_row(c.member_id, c.gap, c.result, c.kept_evidence, c.cause_id, c.at) for c in changes]
        bulk_upsert(self.session, gaps, rows, ["member_id", "gap_key"])

    def open_counts(self, period_start: date) -> dict[str, int]:
        rows = self.session.execute(select(gaps.c.measure_id, func.count()).where(
            gaps.c.period_start == period_start, gaps.c.status == "open").group_by(gaps.c.measure_id))
        return {m: n for m, n in rows}

    def lapsing(self, period_start: date, day: date, horizon: date) -> list[str]:
        return list(self.session.scalars(select(gaps.c.member_id).where(
            gaps.c.period_start == period_start,
            or_((gaps.c.status == "closed") & (gaps.c.lapses_on <= horizon),
                (gaps.c.status == "open") & (gaps.c.due_date < day)))))


class SqlReads:
    def __init__(self, session: Session) -> None:
        self.session = session

    def member(self, member_id: str) -> MemberView | None:
        row = self.session.execute(select(members).where(members.c.member_id == member_id)).first()
        if row is None:
            return None
        body = json.loads(row.body)
        return MemberView(member_id=row.member_id, status=row.status, pcp_practice_id=row.pcp_practice_id,
                          contract_id=row.contract_id, pod=row.pod, sex=row.sex, birth_date=row.birth_date,
                          names={"given_name": body.get("given_name"), "family_name": body.get("family_name")})

    def member_gaps(self, member_id: str, period_start: date) -> list[GapView]:
        rows = self.session.execute(select(gaps).where(gaps.c.member_id == member_id,
                                                       gaps.c.period_start == period_start)).all()
        return [GapView(gap_key=g.gap_key, measure_id=g.measure_id, measure_version=g.measure_version,
                        period_start=g.period_start, period_end=g.period_end, instance_id=g.instance_id,
                        status=g.status, reason=g.reason, evidence=evidence_from_json(g.evidence),
                        due_date=g.due_date, lapses_on=g.lapses_on, practice_id=g.practice_id,
                        contract_id=g.contract_id, updated_at=g.updated_at) for g in rows]

    def rate_counts(self, period_start: date, *, by_practice: bool, by_contract: bool, measure_id: str | None,
                    practice_id: str | None, contract_id: str | None) -> list[RateCount]:
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
        return [(row.measure_id, row.practice_id if by_practice else None, row.contract_id if by_contract else None,
                 row.status, row[-1]) for row in self.session.execute(stmt)]


class SqlRuns:
    def __init__(self, session: Session) -> None:
        self.session = session

    def last_day(self, job: str) -> date | None:
        return self.session.scalar(select(maintenance_runs.c.last_day).where(maintenance_runs.c.job == job))

    def finished(self, job: str, day: date, at: datetime) -> None:
        upsert(self.session, maintenance_runs, [{"job": job, "last_day": day, "finished_at": at}], ["job"])


class SqlAudit:
    def __init__(self, session: Session) -> None:
        self.session = session

    def record(self, *, user_id: str, role: str, member_ids: Iterable[str | None], action: str, endpoint: str,
               detail: str | None = None) -> None:
        record_access(self.session, audit, user_id=user_id, role=role, member_ids=member_ids, action=action,
                      endpoint=endpoint, detail=detail)
