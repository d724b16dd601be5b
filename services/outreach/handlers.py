"""Events in → tasks out, one batch per transaction (run by ``shared.consumer.BatchConsumer``).

For a batch: load every member's tasks and facts in a few queries; for each event in order,
record the member facts it carries (gaps, encounters), call the domain's ``decide``, place new
tasks (continuity, least loaded, priority; the chosen nurse's load grows by one before the next
create), apply the intents in memory, then learn the roster snapshot and diagnoses. Finally
rescore the touched members' open tasks and write everything with bulk statements; the
lifecycle events (one per transition, deterministic ids) are returned for the consumer to write
to ``outreach.tasks`` before it commits.

Updates check the version read (``StaleTask`` → the consumer rolls back, reloads and decides
again). ``Reprioritize`` keeps the version and writes only the readmission mark, event ids and
priority. Roster snapshots older than the stored one are ignored.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.orm import Session

from shared.db import insert_ignore, upsert
from shared.errors import InvalidEvent
from shared.events import (
    CareTransitionCancelledV1, CareTransitionV1, ClaimV1, Event, GapClosedV1, GapExcludedV1, GapOpenedV1,
    MemberRosterV1, PortalMessageSentV1, ReadmissionV1, RiskTierChangedV1, TaskLifecycleV1, utcnow,
)

from . import metrics, persistence, risk_tiers, store
from .directory import Staff
from .domain import (
    CancelTask, CloseTask, CreateTask, DecisionContext, MemberState, Reprioritize, RequeueTask, Task, Transition,
    decide, diagnosis_codes, lifecycle_event, place_new_task, profile_from_roster, rescore,
)
from .domain.model import TERMINAL
from .persistence import MemberFacts
from .commit_hooks import after_commit

log = logging.getLogger(__name__)

CONSUMED = (GapOpenedV1, GapClosedV1, GapExcludedV1, CareTransitionV1, CareTransitionCancelledV1, ReadmissionV1,
            ClaimV1, MemberRosterV1, PortalMessageSentV1, RiskTierChangedV1)
MAX_CODE = 16
STRENGTH = {"rescore": 0, "reprioritize": 1, "system": 2}
MAX_GAP_KEY = 400  # stored in a primary key; a longer one can never be stored: dead-letter it


@dataclass
class _Member:
    facts: MemberFacts
    tasks: dict[uuid.UUID, Task]
    loaded_versions: dict[uuid.UUID, int]

    def state(self) -> MemberState:
        p = self.facts
        return MemberState(p.member_id, tuple(self.tasks.values()), p.profile, frozenset(p.diagnoses))


@dataclass
class Changes:
    """Everything a batch writes, collapsed per task (several changes of one task in one batch
    become one row write checked against the version first read)."""

    created: dict[uuid.UUID, Task] = field(default_factory=dict)
    updated: dict[uuid.UUID, Task] = field(default_factory=dict)  # the latest state of each changed task
    # what the batch did to it, strongest first: system (status change: full write, version checked),
    # reprioritize (readmission mark, event ids, priority; version checked, kept), rescore (priority only)
    how: dict[uuid.UUID, str] = field(default_factory=dict)
    expected: dict[uuid.UUID, int] = field(default_factory=dict)
    transitions: list[Transition] = field(default_factory=list)
    events: list[TaskLifecycleV1] = field(default_factory=list)
    profiles: dict[str, dict] = field(default_factory=dict)
    diagnoses: set[tuple[str, str]] = field(default_factory=set)
    gaps: dict[tuple[str, str], dict] = field(default_factory=dict)
    encounters: dict[str, dict] = field(default_factory=dict)
    created_kinds: list[str] = field(default_factory=list)
    finished: list[tuple[Task, Transition]] = field(default_factory=list)

    def record(self, task: Task, transition: Transition) -> None:
        self.transitions.append(transition)
        self.events.append(lifecycle_event(task, transition))
        if transition.to_status in TERMINAL:
            self.finished.append((task, transition))

    def change(self, task: Task, how: str, loaded_version: int | None) -> None:
        """Keep the task's latest state; the write is the strongest kind of change it had."""
        if task.task_id in self.created:
            self.created[task.task_id] = task
            return
        self.updated[task.task_id] = task
        if STRENGTH[how] > STRENGTH.get(self.how.get(task.task_id, ""), -1):
            self.how[task.task_id] = how
        if loaded_version is not None:
            # checked against the version read when the batch loaded the task, however many
            # changes the batch made to it
            self.expected[task.task_id] = loaded_version

    def flush(self, session: Session) -> None:
        # Updates first: a task closed in this batch gives up its open key (ux_tasks_open_key)
        # before a task created in the same batch takes it (a gap closed and opened again).
        by = {kind: [(t, self.expected.get(i, 0)) for i, t in self.updated.items() if self.how[i] == kind]
              for kind in STRENGTH}
        persistence.update_tasks(session, by["system"],
                                 tuple(dict.fromkeys(store.SYSTEM_COLUMNS + store.REPRIORITIZE_COLUMNS)))
        persistence.update_tasks(session, by["reprioritize"], store.REPRIORITIZE_COLUMNS)
        persistence.update_tasks(session, by["rescore"], ("priority",), check_version=False)
        persistence.insert_tasks(session, list(self.created.values()))
        persistence.insert_transitions(session, self.transitions)
        upsert(session, store.member_profiles, list(self.profiles.values()), ["member_id"])
        insert_ignore(session, store.member_diagnoses, [{"member_id": m, "code": c} for m, c in sorted(self.diagnoses)])
        upsert(session, store.member_gaps, list(self.gaps.values()), ["member_id", "gap_key"])
        upsert(session, store.encounters, list(self.encounters.values()), ["encounter_id"])


class TaskHandler:
    """``handler(session, events) -> lifecycle events`` for ``BatchConsumer``."""

    def __init__(self, ctx: DecisionContext, staff: Staff, *, today: Callable[[], date] | None = None) -> None:
        self.ctx = ctx
        self.staff = staff
        self.weights = ctx.rules.priority
        self._today = today
        self._relevant = [m for rule in ctx.rules.referrals for group in rule.all_of for m in group]

    def today(self) -> date:
        return self._today() if self._today else utcnow().astimezone(self.ctx.tz).date()

    def __call__(self, session: Session, events: Sequence[Event]) -> list[Event]:
        members = self._load(session, {e.member_id for e in events if e.member_id})
        loads = persistence.open_loads(session, self.staff.front_line_ids())
        changes = Changes()
        as_of = self.today()
        touched: set[str] = set()
        tiers = risk_tiers.store_events(session, [e for e in events if isinstance(e, RiskTierChangedV1)])
        for member_id, history in tiers.items():   # only the priority reads them: re-scored below
            members[member_id].facts.risk_history = history
            touched.add(member_id)
        for event in events:
            if isinstance(event, RiskTierChangedV1):
                continue
            if not event.member_id:
                raise InvalidEvent("event has no member_id", field="member_id")
            member = members[event.member_id]
            self._apply(event, member, changes, loads, as_of)
            touched.add(event.member_id)
        for member_id in touched:
            self._rescore(members[member_id], changes, as_of)
        changes.flush(session)
        _count_after_commit(session, changes)
        return list(changes.events)

    # ------------------------------------------------------------------ loading
    def _load(self, session: Session, member_ids: set[str]) -> dict[str, _Member]:
        facts = persistence.load_facts(session, member_ids)
        tasks = persistence.tasks_of_members(session, member_ids)
        return {
            m: _Member(facts[m], {t.task_id: t for t in tasks[m]}, {t.task_id: t.version for t in tasks[m]})
            for m in member_ids
        }

    # ------------------------------------------------------------------ one event
    def _apply(self, event: Event, member: _Member, changes: Changes, loads: dict[str, int], as_of: date) -> None:
        if isinstance(event, MemberRosterV1) and _older_snapshot(event, member.facts):
            return
        self._learn_before(event, member, changes)
        for intent in decide(event, member.state(), self.ctx):
            task = intent.task
            if isinstance(intent, CreateTask):
                pctx = persistence.priority_context(member.facts, member.tasks.values(), self.ctx.tz)
                placed, chosen, _score = place_new_task(
                    intent, staff=self.staff.for_queue(task.role, task.pod), loads=loads,
                    member_tasks=tuple(member.tasks.values()), priority_ctx=pctx, weights=self.weights,
                    calendar=self.ctx.calendar, as_of=as_of)
                if chosen.assignee:
                    loads[chosen.assignee] = loads.get(chosen.assignee, 0) + 1
                member.tasks[placed.task.task_id] = placed.task
                changes.created[placed.task.task_id] = placed.task
                changes.created_kinds.append(placed.task.kind)
                changes.record(placed.task, placed.transition)
                continue
            before = member.tasks.get(task.task_id)
            if before is None or before.version != intent.expected_version:
                raise persistence.StaleTask("decision on a task version that is not the current one")
            member.tasks[task.task_id] = task
            if isinstance(intent, Reprioritize):
                changes.change(task, "reprioritize", member.loaded_versions.get(task.task_id))
                continue
            if isinstance(intent, (CloseTask, CancelTask, RequeueTask)):
                if before.assignee and (task.status in TERMINAL or task.assignee != before.assignee):
                    loads[before.assignee] = max(0, loads.get(before.assignee, 0) - 1)
                changes.change(task, "system", member.loaded_versions.get(task.task_id))
                changes.record(task, intent.transition)
        self._learn_after(event, member, changes)

    def _rescore(self, member: _Member, changes: Changes, as_of: date) -> None:
        """Priority of the member's open tasks with what the batch taught us (no version change)."""
        pctx = persistence.priority_context(member.facts, member.tasks.values(), self.ctx.tz)
        for task_id, task in list(member.tasks.items()):
            if task.status in TERMINAL:
                continue
            after, _ = rescore(task, pctx, self.weights, self.ctx.calendar, as_of)
            if after.priority == task.priority:
                continue
            member.tasks[task_id] = after
            changes.change(after, "rescore", None)

    # ------------------------------------------------------------------ member facts
    def _learn_before(self, event: Event, member: _Member, changes: Changes) -> None:
        """Facts that only feed the priority: recorded before deciding so new tasks see them."""
        facts = member.facts
        if isinstance(event, (GapOpenedV1, GapClosedV1, GapExcludedV1)):
            if len(event.gap_key) > MAX_GAP_KEY:
                raise InvalidEvent(f"gap_key is longer than {MAX_GAP_KEY} characters", field="gap_key")
            current = facts.gaps.get(event.gap_key)
            if current is not None and (current["occurred_at"], current["recorded_at"]) > (
                    event.occurred_at, event.recorded_at):
                return
            row = {
                "member_id": event.member_id, "gap_key": event.gap_key, "measure_id": event.measure_id,
                "measure_version": event.measure_version, "status": event.status, "reason": event.reason,
                "due_date": event.due_date, "evidence": [e.model_dump(mode="json") for e in event.evidence],
                "occurred_at": event.occurred_at, "recorded_at": event.recorded_at, "event_id": str(event.event_id),
            }
            facts.gaps[event.gap_key] = row
            changes.gaps[(event.member_id, event.gap_key)] = row
        elif isinstance(event, CareTransitionV1):
            row = {
                "encounter_id": str(event.transition_id), "member_id": event.member_id, "kind": "discharge",
                "facility": event.facility, "patient_class": event.patient_class, "admit_at": event.admit_time,
                "discharge_at": event.discharge_time, "admit_date": None,
                "disposition": event.discharge_disposition, "length_of_stay_days": event.length_of_stay_days,
                "diagnoses": [d.model_dump(mode="json") for d in event.diagnoses], "readmission": event.readmission,
                "status": "active", "event_id": str(event.event_id), "occurred_at": event.occurred_at,
            }
            self._encounter(facts, changes, row)
        elif isinstance(event, CareTransitionCancelledV1):
            row = facts.encounters.get(str(event.transition_id))
            if row is not None:
                self._encounter(facts, changes, {**row, "status": "cancelled"})
        elif isinstance(event, ReadmissionV1):
            row = {
                "encounter_id": str(event.readmission_id), "member_id": event.member_id, "kind": "readmission",
                "facility": None, "patient_class": "I", "admit_at": None, "discharge_at": None,
                "admit_date": event.admit_date, "disposition": None, "length_of_stay_days": None,
                "diagnoses": [], "readmission": True, "status": "retracted" if event.retracted else "active",
                "event_id": str(event.event_id), "occurred_at": event.occurred_at,
            }
            self._encounter(facts, changes, row)

    @staticmethod
    def _encounter(facts: MemberFacts, changes: Changes, row: dict) -> None:
        facts.encounters[row["encounter_id"]] = row
        changes.encounters[row["encounter_id"]] = row

    def _learn_after(self, event: Event, member: _Member, changes: Changes) -> None:
        """Facts the decisions read as 'known before this event': roster snapshot, diagnoses."""
        facts = member.facts
        if isinstance(event, MemberRosterV1):
            facts.profile = profile_from_roster(event)
            facts.roster_stamp = (event.occurred_at, event.recorded_at)
            changes.profiles[event.member_id] = _profile_row(event)
        codes = {c for c in diagnosis_codes(event)
                 if len(c) <= MAX_CODE and any(m.matches(c) for m in self._relevant)}
        for code in codes - facts.diagnoses:
            facts.diagnoses.add(code)
            changes.diagnoses.add((member.facts.member_id, code))


def _older_snapshot(event: MemberRosterV1, facts: MemberFacts) -> bool:
    return facts.roster_stamp is not None and (event.occurred_at, event.recorded_at) < facts.roster_stamp


def _profile_row(event: MemberRosterV1) -> dict:
    return {
        "member_id": event.member_id, "practice_id": event.pcp_practice_id, "contract_id": event.contract_id,
        "pod": event.pod, "risk_tier": event.risk_tier, "status": event.status,
        "eligibility": [[s.start.isoformat(), s.end.isoformat() if s.end else None] for s in event.eligibility],
        "given_name": event.given_name, "family_name": event.family_name, "birth_date": event.birth_date,
        "roster_event_id": str(event.event_id), "roster_occurred_at": event.occurred_at,
        "roster_recorded_at": event.recorded_at,
    }


def _count_after_commit(session: Session, changes: Changes) -> None:
    created = list(changes.created_kinds)
    finished = list(changes.finished)

    def count() -> None:
        for kind in created:
            metrics.TASKS_CREATED.labels(kind).inc()
        for task, transition in finished:
            metrics.count_finished(task, transition)

    if created or finished:
        after_commit(session, count)
