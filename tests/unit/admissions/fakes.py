"""In-memory repositories and unit of work for admissions' use cases (``app/ports.py``): no
database, no Kafka. They keep what the SQL adapters keep — a patient state survives storage as
its stored form (``state_to_dict``), a roster snapshot's MRNs replace the member's crosswalk rows,
an alert's acknowledgment is kept when it changes, commits are all or nothing — so the use cases
are tested for what they do, fast; ``tests/integration/admissions`` runs them on PostgreSQL and
SQLite through the real consumer pipeline."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import timezone

from shared.errors import TransientError
from shared.events import AlertRaisedV1

from services.admissions.app.scope import Scope
from services.admissions.domain.patient_state import state_from_dict, state_to_dict
from tests.support.fake_uow import FakeUnitOfWorkBase


class CommitFailed(TransientError):
    """The database lost the connection during the commit: the consumer retries the batch."""


@dataclass
class Store:
    """What the database would hold."""

    rosters: dict = field(default_factory=dict)  # member → MemberRosterV1
    crosswalk: dict = field(default_factory=dict)  # (authority, MRN) → member
    merged: dict = field(default_factory=dict)  # patient key → owner
    states: dict = field(default_factory=dict)  # owner → (stored form, version)
    encounters: dict = field(default_factory=dict)  # (owner, encounter key) → row
    census: dict = field(default_factory=dict)  # (member, encounter key) → row
    alerts: dict = field(default_factory=dict)  # alert id → row
    audit: list = field(default_factory=list)
    quirks: list = field(default_factory=list)
    commits: int = 0


class Crosswalk:
    def __init__(self, s: Store) -> None:
        self.s = s

    def members_of(self, pairs):
        return {p: (self.s.crosswalk[p], self.s.rosters.get(self.s.crosswalk[p])) for p in pairs
                if p in self.s.crosswalk}

    def rosters(self, member_ids):
        return {m: self.s.rosters[m] for m in member_ids if m in self.s.rosters}

    def save_rosters(self, rosters, at):
        for r in rosters:
            self.s.rosters[r.member_id] = r
            self.s.crosswalk = {p: m for p, m in self.s.crosswalk.items() if m != r.member_id}
        for r in rosters:
            for x in r.mrns:
                self.s.crosswalk[(x.assigning_authority, x.mrn)] = r.member_id

    def merged_into(self, patient_keys):
        return {k: self.s.merged[k] for k in patient_keys if k in self.s.merged}

    def save_merged(self, merged, at):
        self.s.merged.update(merged)

    def scope_of_member(self, member_id):
        r = self.s.rosters.get(member_id)
        return (r.hospitalist_group, r.pod) if r else None


class PatientStates:
    def __init__(self, s: Store) -> None:
        self.s = s

    def load(self, owners):
        return {o: (state_from_dict(copy.deepcopy(self.s.states[o][0])), self.s.states[o][1])
                for o in owners if o in self.s.states}

    def save(self, new, changed, gone, at):
        for state in new:
            if state.owner in self.s.states:
                raise ValueError(f"duplicate key: {state.owner}")
            self.s.states[state.owner] = (state_to_dict(state), 1)
        for state, version in changed:
            self.s.states[state.owner] = (state_to_dict(state), version)
        for owner in gone:
            del self.s.states[owner]

    def unmatched(self):
        return sum(1 for stored, _ in self.s.states.values() if stored["member_id"] is None)


class Encounters:
    def __init__(self, s: Store) -> None:
        self.s = s

    def save(self, encounters, gone_encounters, census, gone_census):
        for key in gone_encounters:
            self.s.encounters.pop(tuple(key), None)
        for row in encounters:
            self.s.encounters[(row["owner"], row["encounter_key"])] = dict(row)
        for key in gone_census:
            self.s.census.pop(tuple(key), None)
        for row in census:
            self.s.census[(row["member_id"], row["encounter_key"])] = dict(row)

    def of_member(self, member_id):
        rows = [r for r in self.s.encounters.values() if r["member_id"] == member_id]
        return sorted(rows, key=lambda r: (r["admit_time"] is None, -(r["admit_time"].timestamp() if r["admit_time"]
                                                                      else 0), r["encounter_key"]))

    def census_by_facility(self):
        out: dict[str, int] = {}
        for r in self.s.census.values():
            out[r["facility"]] = out.get(r["facility"], 0) + 1
        return sorted(out.items())

    def census_by_practice(self):
        out: dict[str, dict[str, int]] = {}
        for r in self.s.census.values():
            by = out.setdefault(r["practice_id"] or "(none)", {})
            by[r["facility"]] = by.get(r["facility"], 0) + 1
        return out

    def census_members(self, facility, scope: Scope):
        return [dict(r) for r in self.s.census.values()
                if r["facility"] == facility and scope.allows(r["hospitalist_group"], r["pod"])]


class Alerts:
    def __init__(self, s: Store) -> None:
        self.s = s

    def load(self, alert_ids):
        return {a: copy.deepcopy(self.s.alerts[a]) for a in alert_ids if a in self.s.alerts}

    def save(self, new, changed):
        for row in new:
            details = row["details"]
            stored = dict(row, details=details.model_dump(mode="json") if isinstance(details, AlertRaisedV1)
                          else copy.deepcopy(details))
            self.s.alerts[row["alert_id"]] = stored
        for row in changed:
            current = self.s.alerts[row["alert_id"]]
            for name in ("status", "readmission", "updated_at", "retract_reason"):
                current[name] = row[name]
            current["details"] = copy.deepcopy(row["details"])

    def _view(self, row):
        return {**{k: v for k, v in row.items() if k != "details"}, "trigger": row["details"].get("trigger")}

    def inbox(self, scope, *, status, group, limit, before):
        rows = [r for r in self.s.alerts.values() if scope.allows(r["hospitalist_group"], r["pod"])
                and (group is None or r["hospitalist_group"] == group) and _in_status(r, status)
                and (before is None or r["raised_at"] < before)]
        rows.sort(key=lambda r: (r["raised_at"].astimezone(timezone.utc), r["alert_id"]), reverse=True)
        return [self._view(r) for r in rows[:limit]]

    def get(self, alert_id):
        row = self.s.alerts.get(alert_id)
        return self._view(row) if row else None

    def acknowledge(self, alert_id, user_id, at):
        row = self.s.alerts.get(alert_id)
        if row is not None and row["acknowledged_at"] is None:
            row["acknowledged_by"], row["acknowledged_at"] = user_id, at


def _in_status(row, status: str) -> bool:
    if status == "all":
        return True
    if status == "retracted":
        return row["status"] == "retracted"
    return row["status"] == "open" and (row["acknowledged_at"] is None) == (status == "open")


class Audit:
    def __init__(self, s: Store) -> None:
        self.s = s

    def record(self, *, user_id, role, member_ids, action, endpoint, detail=None):
        for m in dict.fromkeys(member_ids):
            self.s.audit.append({"user_id": user_id, "role": role, "member_id": m, "action": action,
                                 "endpoint": endpoint, "detail": detail})


class Feeds:
    def __init__(self, s: Store) -> None:
        self.s = s

    def report(self, facility):
        return [r for r in self.s.quirks if facility is None or r["facility"] == facility]


class FakeUnitOfWork(FakeUnitOfWorkBase):
    """All-or-nothing on a copy of the store (``tests.support.fake_uow``); a failed commit is a
    ``CommitFailed`` (transient: the batch is retried)."""

    def _bind(self, s: Store) -> None:
        super()._bind(s)
        self.crosswalk, self.states, self.encounters = Crosswalk(s), PatientStates(s), Encounters(s)
        self.alerts, self.audit, self.feeds = Alerts(s), Audit(s), Feeds(s)

    def commit_failure(self) -> Exception:
        return CommitFailed("commit failed")


def factory(store: Store):
    return lambda: FakeUnitOfWork(store)


def apply_batch(store: Store, begin, events) -> list:
    """One batch through the routes table on the in-memory store, committed (what the consumer
    pipeline does, minus the processed-events dedupe and Kafka); returns the derived events."""
    from services.admissions.routes import ROUTES

    uow = FakeUnitOfWork(store)
    with uow:
        out = ROUTES.handler(lambda _session: uow, begin)(None, list(events))
        uow.commit()
    return out
