"""Consumed events → ledger entries: the working set of one batch (one unit of work, one
transaction).

``LedgerBatch.starter(accruals)`` is the ``begin(uow, events)`` the worker gives the routes table
(and the rebuild too): it reads the context (contracts in force, closed months, the open month),
decides which computed tier histories of the batch replace the stored ones, and loads the
batch's members in a few queries (``MemberWork``: every key of a member with a roster snapshot
or a new tier history; only the claim families they touch for members with claims only). The
use cases (``handlers.py``, one per (topic, event type)) then take the events in order.
:meth:`LedgerBatch.finish` writes the members' rows and the facts, marks the contract months
whose facts changed dirty, settles the contract estimates when their turn came
(``Accruals.pacing``), appends the new entries and returns them as ``ledger.entry`` events,
which the consumer writes to ``billing.accruals`` (confirmed) before it commits. Entry ids
derive from the source event and the key, so a redelivered event posts nothing new (and
``processed_events`` drops it before that). Metrics are counted once the transaction committed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from shared.events import (
    CareTransitionCancelledV1, ClaimV1, Event, MemberRosterV1, RiskTierChangedV1, TaskLifecycleV1,
)

from .. import metrics
from ..domain.computed_tiers import history_of, newer_histories
from ..domain.periods import period_of
from .context import Accruals, AccrualSettings, Context
from .ledger import post, settle
from .member_work import MemberWork
from .ports import GapEvent, TransitionEvent, UnitOfWork


def merge_marks(into: dict[str, str], marks: dict[str, str]) -> None:
    """Contract → the earliest period whose facts changed."""
    for c, p in marks.items():
        if p < into.get(c, "9999-99"):
            into[c] = p


class LedgerBatch:
    """One batch of consumed events over one unit of work."""

    def __init__(self, uow: UnitOfWork, accruals: Accruals, ctx: Context, work: MemberWork | None,
                 tiered: dict[str, RiskTierChangedV1], risk_causes: dict[str, str]) -> None:
        self.uow = uow
        self.accruals = accruals
        self.ctx = ctx
        self.work = work
        self.tiered = tiered  # member → the new computed tier history the batch brings
        self.risk_causes = risk_causes  # member → the event id of their last risk.tiers event in the batch
        self.gaps: list[GapEvent] = []
        self.transitions: list[TransitionEvent] = []
        self.tasks: list[TaskLifecycleV1] = []

    @classmethod
    def starter(cls, accruals: Accruals | AccrualSettings) -> Callable[[UnitOfWork, Sequence[Event]], LedgerBatch]:
        """``begin(uow, events)`` for the routes table, over one process's ``Accruals``."""
        if isinstance(accruals, AccrualSettings):
            accruals = Accruals(accruals)

        def begin(uow: UnitOfWork, events: Sequence[Event]) -> LedgerBatch:
            ctx = accruals.context(uow)
            risk = [e for e in events if isinstance(e, RiskTierChangedV1)]
            tiered = newer_histories(risk, uow.members.risk_stamps(sorted({e.member_id for e in risk}))) if risk else {}
            roster = [e.member_id for e in events if isinstance(e, MemberRosterV1)]
            claims = [e for e in events if isinstance(e, ClaimV1)]
            work = None
            if roster or claims or tiered:
                work = MemberWork(uow, roster + sorted(tiered), ctx.book, ctx.closed, ctx.open_month,
                                  claim_events=claims, coverage_cache=accruals.coverage,
                                  risk={m: (str(e.event_id), history_of(e)) for m, e in tiered.items()})
            return cls(uow, accruals, ctx, work, tiered, {e.member_id: str(e.event_id) for e in risk})

        return begin

    # ------------------------------------------------------------------ for the handlers
    def roster(self, event: MemberRosterV1) -> None:
        self.work.roster(event)

    def claim(self, event: ClaimV1) -> None:
        self.work.claim(event)

    def tier_history(self, event: RiskTierChangedV1) -> None:
        """A member whose computed tiers changed is re-accrued (once, for their last event of the
        batch) when billing has a roster snapshot of them."""
        mid = event.member_id
        if mid in self.tiered and self.risk_causes.get(mid) == str(event.event_id) and self.work.snapshots.get(mid):
            self.work.recompute(mid, event.event_id)

    def gap(self, event: GapEvent) -> None:
        self.gaps.append(event)

    def transition(self, event: TransitionEvent) -> None:
        self.transitions.append(event)

    def task_step(self, event: TaskLifecycleV1) -> None:
        self.tasks.append(event)

    # ------------------------------------------------------------------ end of the batch
    def finish(self) -> list[Event]:
        uow, pending = self.uow, metrics.Pending()
        marks: dict[str, str] = {}
        postings = []
        if self.work is not None:
            postings.extend(self.work.postings)
            merge_marks(marks, self.work.finish(pending))
        if self.tiered:
            uow.members.save_risk_histories([(m, str(e.event_id), e.decided_on, e.occurred_at, history_of(e))
                                             for m, e in sorted(self.tiered.items())])
        merge_marks(marks, self._facts())
        uow.books.mark_dirty(marks)
        pacing = self.accruals.pacing
        if pacing.due():
            postings.extend(pacing.timed(lambda: settle(uow, self.ctx)))
        return post(uow, postings, pending, self.accruals.clock())

    def _facts(self) -> dict[str, str]:
        """Store the gap, transition and task events; the contract months they change."""
        uow, marks = self.uow, {}
        uow.facts.add_gap_events(self.gaps)
        by_key: dict[str, str] = {}
        for e in self.gaps:
            month = period_of(e.occurred_at.date())
            merge_marks(marks, {e.contract_id: month})
            by_key[e.gap_key] = min(month, by_key.get(e.gap_key, month))
        # a gap counts in its latest event's contract: every contract the gap was announced under
        # may gain or lose it
        for key, contract in uow.facts.gap_contracts(sorted(by_key)):
            merge_marks(marks, {contract: by_key[key]})
        cancelled = [str(e.transition_id) for e in self.transitions if isinstance(e, CareTransitionCancelledV1)]
        known = uow.facts.transition_contracts(cancelled)
        for e in self.transitions:
            contract = getattr(e, "contract_id", None)
            tid = str(e.transition_id) if hasattr(e, "transition_id") else None
            contract = contract or known.get(tid or "")
            if contract:
                merge_marks(marks, {contract: period_of(e.occurred_at.date())})
        uow.facts.add_transitions(self.transitions)
        uow.facts.add_task_steps(self.tasks)
        for e in self.tasks:
            if e.to_status == "scheduled" and e.contract_id:
                merge_marks(marks, {e.contract_id: period_of(e.occurred_at.date())})
        return marks
