"""The SQLAlchemy implementation of ``app.ports.RiskRepository`` on one session (one transaction)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date

from sqlalchemy import and_, select, tuple_, update
from sqlalchemy.orm import Session

from shared.db import Database, upsert

from ..app.ports import GapStatus, StoredAssessment, TierState
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


def open_database(url: str, *, pool_size: int = 5) -> Database:
    return Database(url, t.metadata, pool_size=pool_size)


class SqlRiskRepository:
    def __init__(self, session: Session) -> None:
        self.s = session

    # ------------------------------------------------------------------ members
    def members(self, ids: Iterable[str]) -> dict[str, Member]:
        out = {}
        for chunk in _chunks(ids):
            for r in self.s.execute(select(t.members).where(t.members.c.member_id.in_(chunk))).mappings():
                out[r["member_id"]] = _member(r)
        return out

    def put_members(self, members: list[Member]) -> None:
        upsert(self.s, t.members, [{
            "member_id": m.member_id, "birth_date": m.birth_date, "sex": m.sex, "practice_id": m.practice_id,
            "contract_id": m.contract_id, "roster_tier": m.roster_tier, "status": m.status, "pod": m.pod,
            "eligibility": [[s.isoformat(), e.isoformat() if e else None] for s, e in m.eligibility],
            "practices": [[s.isoformat(), e.isoformat() if e else None, p] for s, e, p in m.practices],
            "roster_at": m.roster_at,
        } for m in members], ["member_id"])

    def segments(self, ids: Iterable[str]) -> dict[str, Segment]:
        out = {}
        for chunk in _chunks(ids):
            for r in self.s.execute(select(t.segments).where(t.segments.c.member_id.in_(chunk))).mappings():
                out[r["member_id"]] = Segment(r["dual"], r["institutional"], r["orec"], True)
        return out

    def put_segments(self, segments: dict[str, Segment]) -> None:
        upsert(self.s, t.segments, [{"member_id": k, "dual": v.dual, "institutional": v.institutional, "orec": v.orec}
                                    for k, v in segments.items()], ["member_id"])

    def member_ids(self, after: str | None, limit: int) -> list[str]:
        q = select(t.members.c.member_id).order_by(t.members.c.member_id).limit(limit)
        if after is not None:
            q = q.where(t.members.c.member_id > after)
        return list(self.s.execute(q).scalars())

    # ------------------------------------------------------------------ facts
    def add_claims(self, claims: list[ClaimFacts]) -> None:
        from shared.db import insert_ignore

        insert_ignore(self.s, t.claims, [{"member_id": c.member_id, "event_id": c.event_id, "occurred_at": c.occurred_at,
                                          "ed": c.ed_day is not None, "facts": c.to_dict()} for c in claims])

    def claims(self, ids: Iterable[str]) -> dict[str, list[ClaimFacts]]:
        out: dict[str, list[ClaimFacts]] = defaultdict(list)
        for chunk in _chunks(ids):
            q = select(t.claims.c.member_id, t.claims.c.event_id, t.claims.c.occurred_at, t.claims.c.facts) \
                .where(t.claims.c.member_id.in_(chunk))
            for mid, eid, at, facts in self.s.execute(q):
                out[mid].append(ClaimFacts.from_dict(mid, eid, at, facts))
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

    def encounters(self, ids: Iterable[str]) -> dict[str, list[AdtEncounter]]:
        out: dict[str, list[AdtEncounter]] = defaultdict(list)
        for chunk in _chunks(ids):
            for r in self.s.execute(select(t.encounters).where(t.encounters.c.member_id.in_(chunk))).mappings():
                out[r["member_id"]].append(_encounter(r))
        return dict(out)

    def put_readmissions(self, readmissions: list[Readmission]) -> None:
        upsert(self.s, t.readmissions, [{"member_id": r.member_id, "readmission_id": r.readmission_id,
                                         "admit_day": r.admit_day, "retracted": r.retracted} for r in readmissions],
               ["member_id", "readmission_id"])

    def readmissions(self, ids: Iterable[str]) -> dict[str, list[Readmission]]:
        out: dict[str, list[Readmission]] = defaultdict(list)
        for chunk in _chunks(ids):
            for r in self.s.execute(select(t.readmissions).where(t.readmissions.c.member_id.in_(chunk))).mappings():
                out[r["member_id"]].append(Readmission(r["member_id"], r["readmission_id"], r["admit_day"],
                                                       r["retracted"]))
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

    def open_gap_counts(self, ids: Iterable[str]) -> dict[str, int]:
        from sqlalchemy import func

        out = {}
        for chunk in _chunks(ids):
            q = select(t.gaps.c.member_id, func.count()).where(t.gaps.c.member_id.in_(chunk),
                                                                t.gaps.c.status == "open").group_by(t.gaps.c.member_id)
            out.update({m: n for m, n in self.s.execute(q)})
        return out

    # ------------------------------------------------------------------ results
    def tier_states(self, ids: Iterable[str]) -> dict[str, TierState]:
        out = {}
        for chunk in _chunks(ids):
            for r in self.s.execute(select(t.assessments).where(t.assessments.c.member_id.in_(chunk))).mappings():
                a = _assessment(r)
                out[a.member_id] = TierState(a.member_id, list(a.history), a.summary)
        return out

    def put_assessments(self, assessments: list[StoredAssessment]) -> None:
        upsert(self.s, t.assessments, [{
            "member_id": a.member_id, "contract_id": a.contract_id, "practice_id": a.practice_id,
            "assessed_on": a.assessed_on, "model": a.model, "raw_score": a.raw_score, "payment_score": a.payment_score,
            "computed_tier": a.computed_tier, "tier_in_force": a.tier_in_force,
            "history": [[d.isoformat(), tier] for d, tier in a.history], "reasons": list(a.reasons),
        } for a in assessments], ["member_id"])

    def assessment(self, member_id: str) -> StoredAssessment | None:
        r = self.s.execute(select(t.assessments).where(t.assessments.c.member_id == member_id)).mappings().first()
        return _assessment(r) if r is not None else None

    def ed_facts(self, after: str | None, limit: int) -> list[tuple[Member, list[AdtEncounter], list[ClaimFacts]]]:
        q = select(t.members).order_by(t.members.c.member_id).limit(limit)
        if after is not None:
            q = q.where(t.members.c.member_id > after)
        members = [_member(r) for r in self.s.execute(q).mappings()]
        ids = [m.member_id for m in members]
        encs: dict[str, list[AdtEncounter]] = defaultdict(list)
        claims: dict[str, list[ClaimFacts]] = defaultdict(list)
        for chunk in _chunks(ids):
            for r in self.s.execute(select(t.encounters).where(t.encounters.c.member_id.in_(chunk),
                                                               t.encounters.c.kind == "ed")).mappings():
                encs[r["member_id"]].append(_encounter(r))
            # every version of a family with an ED version: the current one may be a void or a replacement
            q = select(t.claims.c.member_id, t.claims.c.event_id, t.claims.c.occurred_at, t.claims.c.facts) \
                .where(t.claims.c.member_id.in_(chunk))
            for mid, eid, at, facts in self.s.execute(q):
                claims[mid].append(ClaimFacts.from_dict(mid, eid, at, facts))
        return [(m, encs.get(m.member_id, []), claims.get(m.member_id, [])) for m in members]


def _member(r) -> Member:
    return Member(
        member_id=r["member_id"], birth_date=r["birth_date"], sex=r["sex"], practice_id=r["practice_id"],
        contract_id=r["contract_id"], roster_tier=r["roster_tier"], status=r["status"], pod=r["pod"],
        eligibility=tuple((date.fromisoformat(s), _d(e)) for s, e in r["eligibility"]),
        practices=tuple((date.fromisoformat(s), _d(e), p) for s, e, p in r["practices"]),
        roster_at=r["roster_at"],
    )


def _assessment(r) -> StoredAssessment:
    return StoredAssessment(r["member_id"], r["contract_id"], r["practice_id"], r["assessed_on"], r["model"],
                            r["raw_score"], r["payment_score"], r["computed_tier"], r["tier_in_force"],
                            tuple((date.fromisoformat(d), tier) for d, tier in r["history"]),
                            tuple(r["reasons"] or ()))


def _encounter(r) -> AdtEncounter:
    return AdtEncounter(r["member_id"], r["encounter_key"], r["kind"], r["arrival"], r["local_day"], r["primary_dx"],
                        r["retracted"])
