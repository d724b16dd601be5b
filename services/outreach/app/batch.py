"""Consumed events → tasks: the working set of one batch (one unit of work, one transaction).

``TaskBatch.starter(ctx, staff)`` is the ``begin(uow, events)`` the worker gives the routes table:
it loads every member of the batch (tasks and facts) and the nurses' open loads in a few
queries. The handlers (``handlers.py``, one per (topic, event type)) then take the events in
order: each records the member facts its event carries, asks the domain for the intents and
hands them to :meth:`TaskBatch.apply` (new tasks are placed — continuity, least loaded,
priority — and the chosen nurse's load grows by one before the next), then records what the
event teaches for later events (roster snapshot, diagnoses). :meth:`TaskBatch.finish` rescores
the touched members' open tasks, writes everything through the unit of work with bulk
statements, counts the metrics once the transaction committed and returns one
``TaskLifecycleV1`` per transition for ``outreach.tasks`` (ids ``uuid5(task, "lifecycle:v<n>")``),
which the consumer writes, confirmed, before it commits.

Updates check the version read (``StaleTask`` → the consumer rolls back, reloads and decides
again). ``Reprioritize`` keeps the version and writes only the readmission mark, event ids and
priority.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

from shared.errors import InvalidEvent
from shared.events import Event, TaskLifecycleV1, utcnow

from .. import metrics
from ..domain import (
    CancelTask, CloseTask, CreateTask, DecisionContext, Intent, MemberState, Reprioritize, RequeueTask, Task,
    Transition, lifecycle_event, place_new_task, rescore,
)
from ..domain.model import TERMINAL
from .member_facts import MemberFacts, priority_context
from .ports import REPRIORITIZE_FIELDS, SYSTEM_FIELDS, StaleTask, UnitOfWork
from .staff import Staff

STRENGTH = {"rescore": 0, "reprioritize": 1, "system": 2}


@dataclass
class Member:
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
    risk_tiers: dict[str, dict] = field(default_factory=dict)
    risk_changes: dict[str, dict] = field(default_factory=dict)
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

    def write(self, uow: UnitOfWork) -> None:
        # Updates first: a task closed in this batch gives up its open key (one open task per
        # key) before a task created in the same batch takes it (a gap closed and opened again).
        by = {kind: [(t, self.expected.get(i, 0)) for i, t in self.updated.items() if self.how[i] == kind]
              for kind in STRENGTH}
        uow.tasks.update(by["system"], tuple(dict.fromkeys(SYSTEM_FIELDS + REPRIORITIZE_FIELDS)))
        uow.tasks.update(by["reprioritize"], REPRIORITIZE_FIELDS)
        uow.tasks.update(by["rescore"], ("priority",), check_version=False)
        uow.tasks.insert(list(self.created.values()))
        uow.tasks.insert_transitions(self.transitions)
        uow.members.save(profiles=list(self.profiles.values()), diagnoses=sorted(self.diagnoses),
                         gaps=list(self.gaps.values()), encounters=list(self.encounters.values()),
                         risk_tiers=list(self.risk_tiers.values()), risk_changes=list(self.risk_changes.values()))


class TaskBatch:
    """One batch of consumed events over one unit of work."""

    def __init__(self, uow: UnitOfWork, ctx: DecisionContext, staff: Staff, members: dict[str, Member],
                 loads: dict[str, int], as_of: date) -> None:
        self.uow = uow
        self.ctx = ctx
        self.staff = staff
        self.weights = ctx.rules.priority
        self.members = members
        self.loads = loads
        self.as_of = as_of
        self.changes = Changes()
        self.touched: dict[str, None] = {}
        self.relevant = [m for rule in ctx.rules.referrals for group in rule.all_of for m in group]

    @classmethod
    def starter(cls, ctx: DecisionContext, staff: Staff, *, today: Callable[[], date] | None = None
                ) -> Callable[[UnitOfWork, Sequence[Event]], TaskBatch]:
        """``begin(uow, events)`` for the routes table, with the configuration bound."""

        def begin(uow: UnitOfWork, events: Sequence[Event]) -> TaskBatch:
            member_ids = {e.member_id for e in events if e.member_id}
            facts = uow.members.facts(member_ids)
            tasks = uow.tasks.of_members(member_ids)
            members = {m: Member(facts[m], {t.task_id: t for t in tasks[m]}, {t.task_id: t.version for t in tasks[m]})
                       for m in member_ids}
            loads = uow.tasks.open_loads(staff.front_line_ids())
            as_of = today() if today else utcnow().astimezone(ctx.tz).date()
            return cls(uow, ctx, staff, members, loads, as_of)

        return begin

    # ------------------------------------------------------------------ for the handlers
    def member(self, event: Event) -> Member:
        """The event's member (rescored at the end of the batch)."""
        if not event.member_id:
            raise InvalidEvent("event has no member_id", field="member_id")
        self.touched[event.member_id] = None
        return self.members[event.member_id]

    def apply(self, member: Member, intents: Sequence[Intent]) -> None:
        """Carry out the domain's intents in memory; ``finish`` writes them."""
        changes = self.changes
        for intent in intents:
            task = intent.task
            if isinstance(intent, CreateTask):
                pctx = priority_context(member.facts, member.tasks.values(), self.ctx.tz)
                placed, chosen, _score = place_new_task(
                    intent, staff=self.staff.for_queue(task.role, task.pod), loads=self.loads,
                    member_tasks=tuple(member.tasks.values()), priority_ctx=pctx, weights=self.weights,
                    calendar=self.ctx.calendar, as_of=self.as_of)
                if chosen.assignee:
                    self.loads[chosen.assignee] = self.loads.get(chosen.assignee, 0) + 1
                member.tasks[placed.task.task_id] = placed.task
                changes.created[placed.task.task_id] = placed.task
                changes.created_kinds.append(placed.task.kind)
                changes.record(placed.task, placed.transition)
                continue
            before = member.tasks.get(task.task_id)
            if before is None or before.version != intent.expected_version:
                raise StaleTask("decision on a task version that is not the current one")
            member.tasks[task.task_id] = task
            if isinstance(intent, Reprioritize):
                changes.change(task, "reprioritize", member.loaded_versions.get(task.task_id))
                continue
            if isinstance(intent, (CloseTask, CancelTask, RequeueTask)):
                if before.assignee and (task.status in TERMINAL or task.assignee != before.assignee):
                    self.loads[before.assignee] = max(0, self.loads.get(before.assignee, 0) - 1)
                changes.change(task, "system", member.loaded_versions.get(task.task_id))
                changes.record(task, intent.transition)

    def record_gap(self, member: Member, row: dict) -> None:
        member.facts.gaps[row["gap_key"]] = row
        self.changes.gaps[(row["member_id"], row["gap_key"])] = row

    def record_encounter(self, member: Member, row: dict) -> None:
        member.facts.encounters[row["encounter_id"]] = row
        self.changes.encounters[row["encounter_id"]] = row

    def record_profile(self, member: Member, profile, stamp, row: dict) -> None:
        member.facts.profile = profile
        member.facts.roster_stamp = stamp
        self.changes.profiles[row["member_id"]] = row

    def record_risk_tiers(self, member: Member, history: tuple, stamp: tuple, row: dict, change: dict) -> None:
        """The member's computed tier history (the priority reads it: rescored at the end) and what
        drove the latest change (the task page's risk view when the risk API does not answer)."""
        member.facts.risk_history = history
        member.facts.risk_stamp = stamp
        self.changes.risk_tiers[row["member_id"]] = row
        self.changes.risk_changes[row["member_id"]] = {"member_id": row["member_id"], "decided_on": stamp[0],
                                                       "change": change}

    def record_diagnoses(self, member: Member, codes: frozenset[str]) -> None:
        """Codes the referral rules look at, learnt after deciding on the event that carried them."""
        facts = member.facts
        for code in {c for c in codes if any(m.matches(c) for m in self.relevant)} - facts.diagnoses:
            facts.diagnoses.add(code)
            self.changes.diagnoses.add((facts.member_id, code))

    # ------------------------------------------------------------------ end of the batch
    def finish(self) -> list[Event]:
        for member_id in self.touched:
            self._rescore(self.members[member_id])
        self.changes.write(self.uow)
        created = list(self.changes.created_kinds)
        finished = list(self.changes.finished)
        if created or finished:
            def count() -> None:
                for kind in created:
                    metrics.TASKS_CREATED.labels(kind).inc()
                for task, transition in finished:
                    metrics.count_finished(task, transition)

            self.uow.after_commit(count)
        return list(self.changes.events)

    def _rescore(self, member: Member) -> None:
        """Priority of the member's open tasks with what the batch taught us (no version change)."""
        pctx = priority_context(member.facts, member.tasks.values(), self.ctx.tz)
        for task_id, task in list(member.tasks.items()):
            if task.status in TERMINAL:
                continue
            after, _ = rescore(task, pctx, self.weights, self.ctx.calendar, self.as_of)
            if after.priority == task.priority:
                continue
            member.tasks[task_id] = after
            self.changes.change(after, "rescore", None)
