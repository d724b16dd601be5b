"""In-memory repositories and unit of work for the portal's use cases (no database, no broker)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from services.portal.app.ports import PendingLogin, SessionRecord
from services.portal.domain.model import CareTask, Clinician, Encounter, Gap, Member, Message, Practice, Reply
from shared.errors import DeliveryError, TransientError
from tests.support.fake_uow import FakeUnitOfWorkBase


@dataclass
class Store:
    members: dict[str, Member] = field(default_factory=dict)
    encounters: dict[tuple[str, str], Encounter] = field(default_factory=dict)
    gaps: dict[str, Gap] = field(default_factory=dict)
    tasks: dict[uuid.UUID, CareTask] = field(default_factory=dict)
    messages: dict[uuid.UUID, Message] = field(default_factory=dict)
    replies: dict[uuid.UUID, Reply] = field(default_factory=dict)
    sessions: dict[str, SessionRecord] = field(default_factory=dict)
    failures: list[tuple[str, datetime]] = field(default_factory=list)
    pending: dict[str, PendingLogin] = field(default_factory=dict)
    audit: list[dict] = field(default_factory=list)
    commits: int = 0


class _Members:
    def __init__(self, s: Store) -> None:
        self.s = s

    def get(self, member_id):
        return self.s.members.get(member_id)

    def put(self, member):
        self.s.members[member.member_id] = member


class _Encounters:
    def __init__(self, s: Store) -> None:
        self.s = s

    def get(self, member_id, encounter_key):
        return self.s.encounters.get((member_id, encounter_key))

    def by_alert(self, member_id, alert_id):
        return next((e for e in self.s.encounters.values() if e.alert_id == alert_id and e.member_id == member_id), None)

    def by_transition(self, member_id, transition_id):
        return next((e for e in self.s.encounters.values()
                     if e.transition_id == transition_id and e.member_id == member_id), None)

    def put(self, e):
        self.s.encounters[(e.member_id, e.encounter_key)] = e

    def of_member(self, member_id):
        return [e for e in self.s.encounters.values() if e.member_id == member_id]


class _Keyed:
    def __init__(self, data: dict, key: str) -> None:
        self.data, self.key = data, key

    def get(self, k):
        return self.data.get(k)

    def put(self, v):
        self.data[getattr(v, self.key)] = v

    def add(self, v):
        if getattr(v, self.key) in self.data:
            return False
        self.data[getattr(v, self.key)] = v
        return True

    def of_member(self, member_id):
        return [v for v in self.data.values() if v.member_id == member_id]


class _Sessions:
    def __init__(self, s: Store) -> None:
        self.s = s

    def add(self, r):
        self.s.sessions[r.session_hash] = r

    def get(self, h):
        return self.s.sessions.get(h)

    def touch(self, h, at):
        from dataclasses import replace
        self.s.sessions[h] = replace(self.s.sessions[h], last_seen_at=at)

    def revoke(self, h, at):
        from dataclasses import replace
        self.s.sessions[h] = replace(self.s.sessions[h], revoked=True)


class _Attempts:
    def __init__(self, s: Store) -> None:
        self.s = s

    def failures_since(self, key, since):
        return [at for k, at in self.s.failures if k == key and at >= since]

    def record_failure(self, key, at):
        self.s.failures.append((key, at))

    def clear(self, key):
        self.s.failures = [(k, at) for k, at in self.s.failures if k != key]


class _Pending:
    def __init__(self, s: Store) -> None:
        self.s = s

    def add(self, p):
        self.s.pending[p.state_hash] = p

    def take(self, h):
        return self.s.pending.pop(h, None)


class _Audit:
    def __init__(self, s: Store) -> None:
        self.s = s

    def record(self, **row):
        self.s.audit.append(row)


class FakeUnitOfWork(FakeUnitOfWorkBase):
    """All-or-nothing on a copy of the store (``tests.support.fake_uow``): ``commit`` writes the copy
    back and runs the after-commit callbacks; leaving the block without a commit drops the copy."""

    def __init__(self, store: Store | None = None) -> None:
        super().__init__(store or Store())

    @property
    def committed(self) -> Store:
        return self.store

    @property
    def commits(self) -> int:
        return self.store.commits

    def _bind(self, s: Store) -> None:
        super()._bind(s)
        self.members = _Members(s)
        self.encounters = _Encounters(s)
        self.gaps = _Keyed(s.gaps, "gap_key")
        self.tasks = _Keyed(s.tasks, "task_id")
        self.messages = _Keyed(s.messages, "message_id")
        self.replies = _Keyed(s.replies, "reply_id")
        self.sessions = _Sessions(s)
        self.attempts = _Attempts(s)
        self.pending_logins = _Pending(s)
        self.audit = _Audit(s)

    def commit_failure(self) -> Exception:
        return TransientError("commit failed")


def dispatch(uow: FakeUnitOfWork, *events) -> list:
    """One batch as the worker runs it: in one transaction, each event to the use case of its route
    (``services.portal.routes``), the batch finished, then the commit (what the consumer pipeline
    does, minus the dedupe and Kafka). A batch that raises keeps nothing and counts nothing."""
    from services.portal.routes import ROUTES

    with uow:
        out = ROUTES.handler(lambda _session: uow)(None, list(events))
        uow.commit()
    return out


class FakePublisher:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list = []
        self.fail = fail

    def publish(self, events):
        if self.fail:
            raise DeliveryError("broker down")
        self.sent.extend(events)


class FakeDirectory:
    def practice(self, practice_id):
        return Practice(practice_id, f"Practice {practice_id}", "555-0100")

    def clinician(self, npi):
        return Clinician(npi, "Dr. Test Example") if npi else None

    def facility(self, facility_id):
        return {"MERCY": "Mercy Synthetic Hospital"}.get(facility_id, facility_id)

    def staff_name(self, user_id):
        return {"nurse.east1": "Nurse East 1"}.get(user_id or "")
