"""The SQLAlchemy implementation of ``app.ports.RiskRepository`` on one session (one transaction)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from datetime import date

from sqlalchemy import JSON, String, Text, and_, bindparam, cast, func, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from shared.db import insert_ignore, upsert

from ..app.ports import GapStatus, MemberFacts, StoredAssessment, TierState
from ..domain.claims import ClaimFacts
from ..domain.members import AdtEncounter, Member, Readmission
from ..domain.segments import Segment
from . import tables as t

CHUNK = 1000


def _chunks(ids: Iterable[str]) -> Iterable[list[str]]:
    ids = list(dict.fromkeys(ids))
    for i in range(0, len(ids), CHUNK):
        yield ids[i:i + CHUNK]


def _d(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


class SqlRiskRepository:
    def __init__(self, session: Session) -> None:
        self.s = session
        self._pg = session.get_bind().dialect.name == "postgresql"

    def _for_members(self, q, column, ids: Iterable[str], span: tuple[str, str] | None = None) -> list:
        """The rows of ``q`` whose ``column`` is one of ``ids``, or within ``span`` (inclusive: a chunk of
        the full re-score reads a key range). On PostgreSQL a list is one array parameter joined as
        ``IN (SELECT unnest(:ids))`` (nested-loop index look-ups: an expanded IN list of 1,000 ids
        cost more to render and parse than the query took, and from about 2,000 ids PostgreSQL
        planned it as a sequential scan of the table); elsewhere IN lists of ``CHUNK``."""
        if span is not None:
            return self.s.execute(q.where(column >= span[0], column <= span[1])).all()
        if self._pg:
            ids = list(dict.fromkeys(ids))
            if not ids:
                return []
            wanted = select(func.unnest(bindparam("member_ids", ids, type_=ARRAY(String)))).scalar_subquery()
            return self.s.execute(q.where(column.in_(wanted))).all()
        rows = []
        for chunk in _chunks(ids):
            rows += self.s.execute(q.where(column.in_(chunk))).all()
        return rows

    # ------------------------------------------------------------------ members
    def members(self, ids: Iterable[str], span: tuple[str, str] | None = None) -> dict[str, Member]:
        return {r.member_id: _member(r) for r in self._for_members(_MEMBERS, t.members.c.member_id, ids, span)}

    def put_members(self, members: list[Member]) -> None:
        upsert(self.s, t.members, [{
            "member_id": m.member_id, "birth_date": m.birth_date, "sex": m.sex, "practice_id": m.practice_id,
            "contract_id": m.contract_id, "roster_tier": m.roster_tier, "status": m.status, "pod": m.pod,
            "eligibility": [[s.isoformat(), e.isoformat() if e else None] for s, e in m.eligibility],
            "practices": [[s.isoformat(), e.isoformat() if e else None, p] for s, e, p in m.practices],
            "roster_at": m.roster_at,
        } for m in members], ["member_id"])

    def segments(self, ids: Iterable[str], span: tuple[str, str] | None = None) -> dict[str, Segment]:
        q = select(t.segments.c.member_id, t.segments.c.dual, t.segments.c.institutional, t.segments.c.orec)
        return {mid: Segment(dual, inst, orec, True)
                for mid, dual, inst, orec in self._for_members(q, t.segments.c.member_id, ids, span)}

    def put_segments(self, segments: dict[str, Segment]) -> None:
        upsert(self.s, t.segments, [{"member_id": k, "dual": v.dual, "institutional": v.institutional, "orec": v.orec}
                                    for k, v in segments.items()], ["member_id"])

    def member_ids(self, after: str | None, limit: int, until: str | None = None) -> list[str]:
        q = select(t.members.c.member_id).order_by(t.members.c.member_id).limit(limit)
        if after is not None:
            q = q.where(t.members.c.member_id > after)
        if until is not None:
            q = q.where(t.members.c.member_id <= until)
        return list(self.s.execute(q).scalars())

    def member_facts(self, ids: list[str], *, span: tuple[str, str] | None = None) -> MemberFacts:
        """Seven reads (a key range for a full re-score chunk, else the ids)."""
        return MemberFacts(self.members(ids, span), self.segments(ids, span), self.claims(ids, span),
                           self.encounters(ids, span), self.readmissions(ids, span), self.open_gap_counts(ids, span),
                           self.tier_states(ids, span))

    # ------------------------------------------------------------------ facts
    def add_claims(self, claims: list[ClaimFacts]) -> None:
        insert_ignore(self.s, t.claims, [{"member_id": c.member_id, "event_id": c.event_id, "occurred_at": c.occurred_at,
                                          "ed": c.ed_day is not None, "facts": c.to_dict()} for c in claims])

    def claims(self, ids: Iterable[str], span: tuple[str, str] | None = None) -> dict[str, list[ClaimFacts]]:
        out: dict[str, list[ClaimFacts]] = defaultdict(list)
        for mid, eid, at, facts in self._for_members(_CLAIMS, t.claims.c.member_id, ids, span):
            out[mid].append(ClaimFacts.from_dict(mid, eid, at, _loads(facts)))
        return dict(out)

    def put_encounters(self, encounters: list[tuple[AdtEncounter, str | None]]) -> None:
        for enc, alert_id in encounters:
            if not enc.encounter_key:   # an alert update: find the encounter through its alert
                if alert_id and enc.primary_dx:
                    self.s.execute(update(t.encounters).where(t.encounters.c.alert_id == alert_id)
                                   .values(primary_dx=enc.primary_dx))
                continue
            key = and_(t.encounters.c.member_id == enc.member_id, t.encounters.c.encounter_key == enc.encounter_key,
                       t.encounters.c.kind == enc.kind)
            cur = self.s.execute(select(t.encounters).where(key)).mappings().first()
            if cur is None:
                self.s.execute(t.encounters.insert().values(
                    member_id=enc.member_id, encounter_key=enc.encounter_key, kind=enc.kind, arrival=enc.arrival,
                    local_day=enc.local_day, primary_dx=enc.primary_dx, retracted=False, alert_id=alert_id))
                continue
            values = {}
            if enc.arrival < cur["arrival"]:
                values.update(arrival=enc.arrival, local_day=enc.local_day)
            if enc.primary_dx and enc.primary_dx != cur["primary_dx"]:
                values["primary_dx"] = enc.primary_dx
            if alert_id and not cur["alert_id"]:
                values["alert_id"] = alert_id
            if values:
                self.s.execute(update(t.encounters).where(key).values(**values))

    def retract_alerts(self, alerts: list[tuple[str, str]]) -> None:
        ids = [a for _, a in alerts]
        for chunk in _chunks(ids):
            self.s.execute(update(t.encounters).where(t.encounters.c.alert_id.in_(chunk)).values(retracted=True))

    def encounters(self, ids: Iterable[str], span: tuple[str, str] | None = None) -> dict[str, list[AdtEncounter]]:
        out: dict[str, list[AdtEncounter]] = defaultdict(list)
        for r in self._for_members(select(t.encounters), t.encounters.c.member_id, ids, span):
            out[r.member_id].append(_encounter(r))
        return dict(out)

    def put_readmissions(self, readmissions: list[Readmission]) -> None:
        upsert(self.s, t.readmissions, [{"member_id": r.member_id, "readmission_id": r.readmission_id,
                                         "admit_day": r.admit_day, "retracted": r.retracted} for r in readmissions],
               ["member_id", "readmission_id"])

    def readmissions(self, ids: Iterable[str], span: tuple[str, str] | None = None) -> dict[str, list[Readmission]]:
        out: dict[str, list[Readmission]] = defaultdict(list)
        q = select(t.readmissions.c.member_id, t.readmissions.c.readmission_id, t.readmissions.c.admit_day,
                   t.readmissions.c.retracted)
        for mid, rid, day, retracted in self._for_members(q, t.readmissions.c.member_id, ids, span):
            out[mid].append(Readmission(mid, rid, day, retracted))
        return dict(out)

    def put_gap_statuses(self, statuses: list[GapStatus]) -> None:
        latest: dict[tuple[str, str], GapStatus] = {}
        for g in statuses:
            cur = latest.get((g.member_id, g.gap_key))
            if cur is None or g.occurred_at >= cur.occurred_at:
                latest[(g.member_id, g.gap_key)] = g
        if not latest:
            return
        stored = {}
        keys = list(latest)
        for i in range(0, len(keys), CHUNK):
            q = select(t.gaps.c.member_id, t.gaps.c.gap_key, t.gaps.c.occurred_at).where(
                tuple_(t.gaps.c.member_id, t.gaps.c.gap_key).in_(keys[i:i + CHUNK]))
            stored.update({(m, k): at for m, k, at in self.s.execute(q)})
        rows = [{"member_id": g.member_id, "gap_key": g.gap_key, "status": g.status, "occurred_at": g.occurred_at}
                for key, g in latest.items() if key not in stored or g.occurred_at >= stored[key]]
        upsert(self.s, t.gaps, rows, ["member_id", "gap_key"])

    def open_gap_counts(self, ids: Iterable[str], span: tuple[str, str] | None = None) -> dict[str, int]:
        q = select(t.gaps.c.member_id, func.count()).where(t.gaps.c.status == "open").group_by(t.gaps.c.member_id)
        return {m: n for m, n in self._for_members(q, t.gaps.c.member_id, ids, span)}

    # ------------------------------------------------------------------ results
    def tier_states(self, ids: Iterable[str], span: tuple[str, str] | None = None) -> dict[str, TierState]:
        out = {}
        for r in self._for_members(_ASSESSMENTS, t.assessments.c.member_id, ids, span):
            a = _assessment(r)
            out[a.member_id] = TierState(a.member_id, list(a.history), a.summary)
        return out

    def put_assessments(self, assessments: list[StoredAssessment]) -> None:
        if not assessments:
            return
        if self._pg:
            # one statement for the whole chunk, its rows one JSON parameter (json_to_recordset): client
            # and server CPU together ~31 ms per 2,000 rows, against ~52 ms for an array parameter per
            # column and several times that for an executemany
            self.s.execute(_UPSERT_ASSESSMENTS_PG, {"rows": json.dumps([{
                "member_id": a.member_id, "contract_id": a.contract_id, "practice_id": a.practice_id,
                "assessed_on": a.assessed_on.isoformat(), "model": a.model, "raw_score": a.raw_score,
                "payment_score": a.payment_score, "computed_tier": a.computed_tier, "tier_in_force": a.tier_in_force,
                "history": _history(a), "reasons": list(a.reasons),
            } for a in assessments])})
            return
        upsert(self.s, t.assessments, [{
            "member_id": a.member_id, "contract_id": a.contract_id, "practice_id": a.practice_id,
            "assessed_on": a.assessed_on, "model": a.model, "raw_score": a.raw_score, "payment_score": a.payment_score,
            "computed_tier": a.computed_tier, "tier_in_force": a.tier_in_force,
            "history": _history(a), "reasons": list(a.reasons),
        } for a in assessments], ["member_id"])

    def assessment(self, member_id: str) -> StoredAssessment | None:
        r = self.s.execute(_ASSESSMENTS.where(t.assessments.c.member_id == member_id)).first()
        return _assessment(r) if r is not None else None

    def ed_facts(self, after: str | None, limit: int) -> list[tuple[Member, list[AdtEncounter], list[ClaimFacts]]]:
        q = _MEMBERS.order_by(t.members.c.member_id).limit(limit)
        if after is not None:
            q = q.where(t.members.c.member_id > after)
        members = [_member(r) for r in self.s.execute(q).all()]
        ids = [m.member_id for m in members]
        if not ids:
            return []
        span = (ids[0], ids[-1])   # every member between them, in the database's order: read the key range
        encs: dict[str, list[AdtEncounter]] = defaultdict(list)
        claims: dict[str, list[ClaimFacts]] = defaultdict(list)
        for r in self._for_members(select(t.encounters).where(t.encounters.c.kind == "ed"), t.encounters.c.member_id,
                                   ids, span):
            encs[r.member_id].append(_encounter(r))
        # every version of a family with an ED version: the current one may be a void or a replacement
        for mid, eid, at, facts in self._for_members(_CLAIMS, t.claims.c.member_id, ids, span):
            claims[mid].append(ClaimFacts.from_dict(mid, eid, at, _loads(facts)))
        return [(m, encs.get(m.member_id, []), claims.get(m.member_id, [])) for m in members]


def _history(a: StoredAssessment) -> list:
    return [[d.isoformat(), tier] for d, tier in a.history]


_ASSESSMENT_COLUMNS = (("member_id", "varchar"), ("contract_id", "varchar"), ("practice_id", "varchar"),
                       ("assessed_on", "date"), ("model", "varchar"), ("raw_score", "float8"),
                       ("payment_score", "float8"), ("computed_tier", "varchar"), ("tier_in_force", "varchar"),
                       ("history", "json"), ("reasons", "json"))
_UPSERT_ASSESSMENTS_PG = text(
    f"INSERT INTO {t.assessments.name} ({', '.join(c for c, _ in _ASSESSMENT_COLUMNS)}) "
    f"SELECT {', '.join(c for c, _ in _ASSESSMENT_COLUMNS)} FROM json_to_recordset(CAST(:rows AS json)) "
    f"AS u({', '.join(f'{c} {ty}' for c, ty in _ASSESSMENT_COLUMNS)}) ON CONFLICT (member_id) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c, _ in _ASSESSMENT_COLUMNS[1:]))


# JSON columns are read as their text and parsed here: psycopg's JSON loader cost ~9 µs a row, the
# text ~1 µs plus ~3 µs for json.loads (a full re-score reads ~4 claim rows per member).
_loads = json.loads
_CLAIMS = select(t.claims.c.member_id, t.claims.c.event_id, t.claims.c.occurred_at,
                 cast(t.claims.c.facts, Text).label("facts"))
_MEMBERS = select(*(cast(c, Text).label(c.name) if isinstance(c.type, JSON) else c for c in t.members.columns))
_ASSESSMENTS = select(*(cast(c, Text).label(c.name) if isinstance(c.type, JSON) else c
                        for c in t.assessments.columns))


def _member(r) -> Member:
    """A row of ``_MEMBERS`` (by name; the JSON columns as text)."""
    return Member(
        member_id=r.member_id, birth_date=r.birth_date, sex=r.sex, practice_id=r.practice_id,
        contract_id=r.contract_id, roster_tier=r.roster_tier, status=r.status, pod=r.pod,
        eligibility=tuple((date.fromisoformat(s), _d(e)) for s, e in _loads(r.eligibility)),
        practices=tuple((date.fromisoformat(s), _d(e), p) for s, e, p in _loads(r.practices)),
        roster_at=r.roster_at,
    )


def _assessment(r) -> StoredAssessment:
    return StoredAssessment(r.member_id, r.contract_id, r.practice_id, r.assessed_on, r.model,
                            r.raw_score, r.payment_score, r.computed_tier, r.tier_in_force,
                            tuple((date.fromisoformat(d), tier) for d, tier in _loads(r.history)),
                            tuple(_loads(r.reasons) or ()))


def _encounter(r) -> AdtEncounter:
    return AdtEncounter(r.member_id, r.encounter_key, r.kind, r.arrival, r.local_day, r.primary_dx, r.retracted)
