"""An in-memory RiskRepository and unit of work: the use cases' tests run without a database; and
``through_routes``, a batch as the worker handles it (decoded, dispatched by the routes table)."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import replace

from services.risk.app.batch import ScoringBatch
from services.risk.app.ports import GapStatus, MemberFacts, StoredAssessment, TierState
from services.risk.domain.claims import ClaimFacts
from services.risk.domain.members import AdtEncounter
from services.risk.routes import ROUTES
from shared.codec import decode, encode


def through_routes(uow, events, ctx) -> list:
    """What the worker does with a batch inside its transaction: each event decoded as the consumer
    decodes it (a v1 claim lifted to v2), dispatched by the routes table to its use case, the batch
    finished (facts stored, touched members re-scored); returns the tier changes."""
    decoded = []
    for e in events:
        _key, value, headers = encode(e)
        decoded.append(decode(value, headers, ROUTES.events()))
    return ROUTES.handler(lambda _session: uow, ScoringBatch.starter(ctx))(None, decoded)


class InMemoryUnitOfWork:
    """The consumer's transaction in memory: ``commit()`` runs the after-commit callbacks."""

    def __init__(self, repo) -> None:
        self.repo = repo
        self._after: list = []

    def after_commit(self, fn) -> None:
        self._after.append(fn)

    def commit(self) -> None:
        callbacks, self._after = self._after, []
        for fn in callbacks:
            fn()


def apply_batch(repo, events, ctx) -> list:
    """One batch through the routes table on ``repo``, committed."""
    uow = InMemoryUnitOfWork(repo)
    out = through_routes(uow, events, ctx)
    uow.commit()
    return out


class InMemoryRiskRepository:
    def __init__(self) -> None:
        self._members = {}
        self._segments = {}
        self._claims = defaultdict(dict)
        self._encounters = defaultdict(dict)      # member -> (key, kind) -> encounter
        self._alerts = {}                         # alert id -> (member, key, kind)
        self._readmissions = defaultdict(dict)
        self._gaps = defaultdict(dict)
        self._assessments = {}

    def members(self, ids):
        return {i: self._members[i] for i in ids if i in self._members}

    def put_members(self, members):
        self._members.update({m.member_id: m for m in members})

    def segments(self, ids):
        return {i: self._segments[i] for i in ids if i in self._segments}

    def put_segments(self, segments):
        self._segments.update(segments)

    def member_ids(self, after, limit, until=None):
        return sorted(i for i in self._members if (after is None or i > after) and (until is None or i <= until))[:limit]

    def member_facts(self, ids, *, span=None):
        if span is not None:   # the use case's promise: ids are every member id in the span
            assert ids == [i for i in sorted(self._members) if span[0] <= i <= span[1]]
        return MemberFacts(self.members(ids), self.segments(ids), self.claims(ids), self.encounters(ids),
                           self.readmissions(ids), self.open_gap_counts(ids), self.tier_states(ids))

    def add_claims(self, claims):
        for c in claims:   # kept as the table keeps them: the stored facts, read back
            self._claims[c.member_id].setdefault(
                c.event_id, ClaimFacts.from_dict(c.member_id, c.event_id, c.occurred_at, json.loads(json.dumps(c.to_dict()))))

    def claims(self, ids):
        return {i: list(self._claims[i].values()) for i in ids if self._claims.get(i)}

    def put_encounters(self, encounters):
        for enc, alert_id in encounters:
            if not enc.encounter_key and alert_id in self._alerts:   # an update found through its alert
                mid, key, kind = self._alerts[alert_id]
                cur = self._encounters[mid][(key, kind)]
                self._encounters[mid][(key, kind)] = replace(cur, primary_dx=enc.primary_dx or cur.primary_dx)
                continue
            if not enc.encounter_key:
                continue
            slot = (enc.encounter_key, enc.kind)
            cur = self._encounters[enc.member_id].get(slot)
            if cur is not None:
                enc = replace(cur, arrival=min(cur.arrival, enc.arrival),
                              local_day=min(cur.local_day, enc.local_day),
                              primary_dx=enc.primary_dx or cur.primary_dx)
            self._encounters[enc.member_id][slot] = enc
            if alert_id:
                self._alerts[alert_id] = (enc.member_id, *slot)

    def retract_alerts(self, alerts):
        for _member, alert_id in alerts:
            if alert_id in self._alerts:
                mid, key, kind = self._alerts[alert_id]
                self._encounters[mid][(key, kind)] = replace(self._encounters[mid][(key, kind)], retracted=True)

    def encounters(self, ids):
        return {i: list(self._encounters[i].values()) for i in ids if self._encounters.get(i)}

    def put_readmissions(self, readmissions):
        for r in readmissions:
            self._readmissions[r.member_id][r.readmission_id] = r

    def readmissions(self, ids):
        return {i: list(self._readmissions[i].values()) for i in ids if self._readmissions.get(i)}

    def put_gap_statuses(self, statuses: list[GapStatus]):
        for g in statuses:
            cur = self._gaps[g.member_id].get(g.gap_key)
            if cur is None or g.occurred_at >= cur.occurred_at:
                self._gaps[g.member_id][g.gap_key] = g

    def open_gap_counts(self, ids):
        return {i: sum(1 for g in self._gaps[i].values() if g.status == "open") for i in ids if self._gaps.get(i)}

    def tier_states(self, ids):
        return {i: TierState(i, list(self._assessments[i].history), self._assessments[i].summary)
                for i in ids if i in self._assessments}

    def put_assessments(self, assessments: list[StoredAssessment]):
        self._assessments.update({a.member_id: a for a in assessments})

    def assessment(self, member_id):
        return self._assessments.get(member_id)

    # for the ED evidence use case
    def ed_facts(self, after, limit):
        ids = self.member_ids(after, limit)
        return [(self._members[i], [e for e in self._encounters.get(i, {}).values() if e.kind == "ed"],
                 list(self._claims.get(i, {}).values())) for i in ids]


__all__ = ["AdtEncounter", "InMemoryRiskRepository", "InMemoryUnitOfWork", "apply_batch", "through_routes"]
