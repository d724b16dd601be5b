"""In-memory implementations of the notifications ports, for the use-case tests."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import date

from services.notifications.domain.model import AWAITING_CONTACT, EncounterFacts, GapFacts, Member, Notification, TaskFacts
from services.notifications.domain.subscription import Subscription


class Members:
    def __init__(self) -> None:
        self.rows: dict[str, Member] = {}

    def load(self, member_ids: Iterable[str], patient_keys: Iterable[str]) -> None:
        return None

    def get(self, member_id: str) -> Member | None:
        return self.rows.get(member_id)

    def by_patient(self, patient_key: str) -> Member | None:
        return next((m for m in self.rows.values() if patient_key in m.mrns), None)

    def put(self, member: Member) -> None:
        self.rows[member.member_id] = member


class Encounters:
    def __init__(self) -> None:
        self.rows: dict[str, EncounterFacts] = {}
        self.refs: dict[str, str] = {}

    def load(self, keys, refs) -> None:
        return None

    def get(self, key: str) -> EncounterFacts | None:
        return self.rows.get(key)

    def by_ref(self, ref: str) -> EncounterFacts | None:
        return self.rows.get(self.refs.get(ref, ""))

    def put(self, encounter: EncounterFacts, refs: Iterable[str] = ()) -> None:
        self.rows[encounter.key] = encounter
        for r in refs:
            self.refs[r] = encounter.key


class Gaps:
    def __init__(self) -> None:
        self.rows: dict[str, GapFacts] = {}

    def put(self, gap: GapFacts) -> None:
        self.rows[gap.gap_key] = gap


class Tasks:
    def __init__(self) -> None:
        self.rows: dict[str, TaskFacts] = {}

    def load(self, task_ids) -> None:
        return None

    def get(self, task_id: str) -> TaskFacts | None:
        return self.rows.get(task_id)

    def put(self, task: TaskFacts) -> None:
        self.rows[task.task_id] = task

    def overdue_candidates(self, today: date, limit: int) -> list[TaskFacts]:
        return [t for t in self.rows.values() if t.status in AWAITING_CONTACT and t.due_date and t.due_date < today
                and t.overdue_notified_for != t.due_date][:limit]

    def mark_notified(self, task_id: str, due: date) -> None:
        self.rows[task_id] = replace(self.rows[task_id], overdue_notified_for=due)


class Outbox:
    def __init__(self, subs: list[Subscription]) -> None:
        self.subs = subs
        self.notes: dict[str, Notification] = {}
        self.deliveries: list[tuple[str, int, Notification]] = []  # (subscription, number, notification)
        self.counts: dict[str, int] = defaultdict(int)

    def subscriptions(self) -> Sequence[Subscription]:
        return self.subs

    def append(self, owed) -> int:
        made = 0
        for n, subs in owed:
            if str(n.event_id) in self.notes:
                continue
            self.notes[str(n.event_id)] = n
            for s in subs:
                self.counts[s.id] += 1
                self.deliveries.append((s.id, self.counts[s.id], n))
                made += 1
        return made


class Held:
    def __init__(self) -> None:
        self.rows: list = []  # AdtEventV1, in the order held

    def hold(self, event) -> None:
        self.rows.append(event)

    def load(self, patient_keys) -> None:
        return None

    def take(self, patient_keys) -> list:
        keys = set(patient_keys)
        out = [e for e in self.rows if e.patient_key in keys]
        self.rows = [e for e in self.rows if e.patient_key not in keys]
        return sorted(out, key=lambda e: e.occurred_at)

    def purge(self, older_than) -> int:
        before = len(self.rows)
        self.rows = [e for e in self.rows if e.recorded_at >= older_than]
        return before - len(self.rows)


class Unit:
    def __init__(self, subs: list[Subscription]) -> None:
        self.held = Held()
        self.members = Members()
        self.encounters = Encounters()
        self.gaps = Gaps()
        self.tasks = Tasks()
        self.outbox = Outbox(subs)

    def flush(self) -> None:
        """In memory every write is already made."""
