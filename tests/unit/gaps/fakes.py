"""In-memory repositories and unit of work for the gaps use cases (``app/ports.py``): no database,
no Kafka. They keep the rules the SQL adapters keep — one roster snapshot per member (the one
the use case chose to save), a claim version or transition event kept once per (member, event id),
one row per (member, gap key) with the evidence of the result that produced it (or the evidence
it had, when the evaluation no longer produces it) — and the shared in-memory unit of work makes
a batch all-or-nothing (``tests/support/fake_uow.py``).

``apply_batch`` runs a batch through the routes table as the consumer pipeline does, committed;
``deliver`` adds the pipeline's ``processed_events`` dedupe in front of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone

from services.gaps.app.batch import GapsBatch
from services.gaps.app.evaluation import Evaluator
from services.gaps.app.ports import GapView, MemberState, MemberView, StoreUnavailable
from services.gaps.domain import Member
from services.gaps.routes import ROUTES
from services.gaps.settings import GapsSettings
from tests.support.fake_uow import FakeUnitOfWorkBase

from .builders import CODES

AS_OF = date(2026, 6, 30)


def evaluator(**settings) -> Evaluator:
    """The measures of the 2026 period, evaluated as of 2026-06-30, over the shipped code lists."""
    return Evaluator(GapsSettings(measurement_year=2026, evaluation_date=AS_OF, environment="test", **settings), CODES)


@dataclass
class Store:
    """What the database would hold."""

    members: dict[str, object] = field(default_factory=dict)  # member → its kept roster snapshot (the event)
    claims: dict[tuple[str, str], object] = field(default_factory=dict)  # (member, event id) → claim version
    transitions: dict[tuple[str, str], object] = field(default_factory=dict)
    gaps: dict[tuple[str, str], dict] = field(default_factory=dict)  # (member, gap key) → the gap's row
    runs: dict[str, date] = field(default_factory=dict)
    audit: list[dict] = field(default_factory=list)
    processed: set[str] = field(default_factory=set)  # the consumer pipeline's dedupe
    published: list = field(default_factory=list)  # what went to Kafka (confirmed before each commit)
    commits: int = 0


class Members:
    def __init__(self, s: Store) -> None:
        self.s = s
        self.locked: list[str] = []

    def stamps(self, member_ids):
        return {m: (e.occurred_at, str(e.event_id)) for m in member_ids if (e := self.s.members.get(m)) is not None}

    def save(self, snapshots, at):
        for e in snapshots:
            self.s.members[e.member_id] = e

    def ids(self):
        return sorted(self.s.members)

    def lock(self, member_ids, *, span=None):
        self.locked.extend(sorted(set(member_ids)))


class Inputs:
    def __init__(self, kept: dict) -> None:
        self.kept = kept

    def add(self, events):
        for e in events:
            self.kept.setdefault((e.member_id, str(e.event_id)), e)


class Gaps:
    def __init__(self, s: Store) -> None:
        self.s = s

    def states(self, member_ids, period_start, *, span=None):
        ids = [m for m in self.s.members if span[0] <= m <= span[1]] if span else list(member_ids)
        states = {m: MemberState() for m in ids}
        for m, st in states.items():
            snap = self.s.members.get(m)
            st.member = None if snap is None else Member(m, snap.birth_date, snap.sex, snap.pcp_practice_id,
                                                         snap.contract_id, snap.status)
            st.claims = [c for (mid, _), c in self.s.claims.items() if mid == m]
            st.transitions = [t for (mid, _), t in self.s.transitions.items() if mid == m]
            for (mid, key), row in self.s.gaps.items():
                if mid == m and row["gap"].period_start == period_start:
                    st.gaps[key] = row["gap"]
                    st.gap_evidence[key] = row["evidence"]
        return states

    def save(self, changes):
        for c in changes:
            evidence = c.result.evidence if c.result is not None else (c.kept_evidence or ())
            self.s.gaps[(c.member_id, c.gap.gap_key)] = {
                "gap": c.gap, "evidence": evidence, "lapses_on": c.result.lapses_on if c.result else None,
                "cause": c.cause_id, "at": c.at}

    def open_counts(self, period_start):
        out: dict[str, int] = {}
        for row in self.s.gaps.values():
            g = row["gap"]
            if g.period_start == period_start and g.status == "open":
                out[g.measure_id] = out.get(g.measure_id, 0) + 1
        return out

    def lapsing(self, period_start, day, horizon):
        return [m for (m, _), row in self.s.gaps.items() if row["gap"].period_start == period_start and (
            (row["gap"].status == "closed" and row["lapses_on"] and row["lapses_on"] <= horizon)
            or (row["gap"].status == "open" and row["gap"].due_date and row["gap"].due_date < day))]


class Reads:
    def __init__(self, s: Store) -> None:
        self.s = s

    def member(self, member_id):
        e = self.s.members.get(member_id)
        if e is None:
            return None
        return MemberView(member_id, e.status, e.pcp_practice_id, e.contract_id, e.pod, e.sex, e.birth_date,
                          {"given_name": e.given_name, "family_name": e.family_name})

    def member_gaps(self, member_id, period_start):
        out = []
        for (m, key), row in self.s.gaps.items():
            g = row["gap"]
            if m == member_id and g.period_start == period_start:
                out.append(GapView(key, g.measure_id, g.measure_version, g.period_start, g.period_end or g.period_start,
                                   g.instance_id, g.status, g.reason, tuple(row["evidence"]), g.due_date,
                                   row["lapses_on"], g.practice_id, g.contract_id, row["at"]))
        return out

    def rate_counts(self, period_start, *, by_practice, by_contract, measure_id, practice_id, contract_id):
        counts: dict[tuple, int] = {}
        for row in self.s.gaps.values():
            g = row["gap"]
            if g.period_start != period_start or (measure_id and g.measure_id != measure_id) or (
                    practice_id and g.practice_id != practice_id) or (contract_id and g.contract_id != contract_id):
                continue
            k = (g.measure_id, g.practice_id if by_practice else None, g.contract_id if by_contract else None, g.status)
            counts[k] = counts.get(k, 0) + 1
        return [(*k, n) for k, n in counts.items()]


class Runs:
    def __init__(self, s: Store) -> None:
        self.s = s

    def last_day(self, job):
        return self.s.runs.get(job)

    def finished(self, job, day, at):
        self.s.runs[job] = day


class Audit:
    def __init__(self, s: Store) -> None:
        self.s = s

    def record(self, *, user_id, role, member_ids, action, endpoint, detail=None):
        self.s.audit.extend({"user_id": user_id, "member_id": m, "action": action, "endpoint": endpoint,
                             "detail": detail} for m in member_ids)


class FakeUnitOfWork(FakeUnitOfWorkBase):
    """All-or-nothing on a copy of the store; ``commit`` publishes first (Kafka confirmed them: not
    part of a rollback; no producer: ``RuntimeError``, as the SQL unit of work), a failed commit is
    ``StoreUnavailable``."""

    def __init__(self, store: Store, *, producer: bool = True) -> None:
        self.producer = producer
        super().__init__(store)

    def _bind(self, s: Store) -> None:
        super()._bind(s)
        self.members, self.gaps, self.reads = Members(s), Gaps(s), Reads(s)
        self.claims, self.transitions = Inputs(s.claims), Inputs(s.transitions)
        self.runs, self.audit = Runs(s), Audit(s)
        self._outbox: list = []

    def publish(self, events):
        self._outbox.extend(events)

    def commit_failure(self) -> Exception:
        return StoreUnavailable("commit failed")

    def commit(self):
        if self._outbox:
            if not self.producer:
                raise RuntimeError("status changes to announce and no producer")
            self.store.published.extend(self._outbox)
            self._outbox = []
        super().commit()


def factory(store: Store, *, producer: bool = True):
    return lambda: FakeUnitOfWork(store, producer=producer)


def apply_batch(store: Store, evaluator: Evaluator, events, *, uow: FakeUnitOfWork | None = None) -> list:
    """One batch through the routes table on the in-memory store, committed (what the consumer
    pipeline does, minus the dedupe and Kafka); the derived events are published."""
    uow = uow or FakeUnitOfWork(store)
    with uow:
        out = ROUTES.handler(lambda _session: uow, GapsBatch.starter(evaluator))(None, list(events))
        uow.publish(out)
        uow.commit()
    return out


def deliver(store: Store, evaluator: Evaluator, events, *, uow: FakeUnitOfWork | None = None) -> list:
    """``apply_batch`` behind the pipeline's dedupe: events already processed are skipped, and the
    batch's ids are recorded in the same transaction."""
    uow = uow or FakeUnitOfWork(store)
    with uow:
        fresh = []
        for e in events:
            if str(e.event_id) not in uow.working.processed:
                uow.working.processed.add(str(e.event_id))
                fresh.append(e)
        out = ROUTES.handler(lambda _session: uow, GapsBatch.starter(evaluator))(None, fresh) if fresh else []
        uow.publish(out)
        uow.commit()
    return out


def at(month: int, day: int, hour: int = 9) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=timezone.utc)
