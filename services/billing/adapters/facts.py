"""Contract facts on SQL (``app.ports.ContractFacts``): gap, transition and task events as the
worker stores them, metrics fed through the API, and the rows a contract's estimates and
statements are folded from (``GROUP BY`` over member months and paid lines, done by the
database; ``app/facts.py`` folds them into ``PeriodFacts``)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from shared.db import insert_ignore, upsert
from shared.events import CareTransitionCancelledV1, CareTransitionV1, ReadmissionV1, TaskLifecycleV1, model_for

from ..app.ports import ContractRows, GapEvent, GapRow, TransitionEvent
from ..domain import MetricValue
from ..domain.satisfaction import TaskStep
from .sql import among
from .tables import fed_metrics, gap_events, member_months, paid_lines, task_steps, transition_events


class SqlContractFacts:
    def __init__(self, session: Session) -> None:
        self.session = session

    # ------------------------------------------------------------------ what the worker stores
    def add_gap_events(self, events: Sequence[GapEvent]) -> None:
        insert_ignore(self.session, gap_events, [
            {"event_id": str(e.event_id), "contract_id": e.contract_id, "gap_key": e.gap_key,
             "measure_id": e.measure_id, "status": e.status, "period_start": e.period_start,
             "period_end": e.period_end, "occurred_at": e.occurred_at, "recorded_at": e.recorded_at} for e in events])

    def gap_contracts(self, gap_keys: Sequence[str]) -> list[tuple[str, str]]:
        if not gap_keys:
            return []
        g = gap_events.c
        return [(k, c) for k, c in self.session.execute(
            select(g.gap_key, g.contract_id).where(among(self.session, g.gap_key, sorted(gap_keys))).distinct())]

    def transition_contracts(self, transition_ids: Sequence[str]) -> dict[str, str]:
        if not transition_ids:
            return {}
        te = transition_events.c
        return dict(self.session.execute(
            select(te.transition_id, te.contract_id)
            .where(te.transition_id.in_(list(transition_ids)), te.contract_id.is_not(None))).all())

    def add_transitions(self, events: Sequence[TransitionEvent]) -> None:
        insert_ignore(self.session, transition_events, [
            {"event_id": str(e.event_id), "contract_id": getattr(e, "contract_id", None),
             "transition_id": str(e.transition_id) if hasattr(e, "transition_id") else None,
             "kind": e.event_type, "occurred_at": e.occurred_at, "payload": e.model_dump_json()} for e in events])

    def add_task_steps(self, events: Sequence[TaskLifecycleV1]) -> None:
        insert_ignore(self.session, task_steps, [
            {"event_id": str(e.event_id), "task_id": str(e.task_id), "contract_id": e.contract_id,
             "to_status": e.to_status, "occurred_at": e.occurred_at, "appointment_date": e.appointment_date}
            for e in events])

    def feed_metric(self, contract_id: str, period: str, metric: str, value: str, at: datetime, by: str) -> None:
        upsert(self.session, fed_metrics, [{"contract_id": contract_id, "period": period, "metric": metric,
                                            "value": value, "recorded_at": at, "recorded_by": by}],
               ["contract_id", "period", "metric"])

    def fed_metric_rows(self, contract_id: str) -> list[dict]:
        fm = fed_metrics.c
        return [dict(r._mapping) for r in self.session.execute(
            select(fm.period, fm.metric, fm.value, fm.recorded_at).where(fm.contract_id == contract_id)
            .order_by(fm.period, fm.metric))]

    # ------------------------------------------------------------------ what a contract's figures read
    def contract_rows(self, contract_id: str, first: str, last: str) -> ContractRows:
        s, cid = self.session, contract_id
        mm = member_months.c
        months = [(p, t, r, int(n)) for p, t, r, n in s.execute(
            select(mm.period, mm.tier, mm.runs, func.count()).where(mm.contract_id == cid, mm.period.between(first, last))
            .group_by(mm.period, mm.tier, mm.runs))]
        pl = paid_lines.c
        costs = [(p, code, rev, int(cents)) for p, code, rev, cents in s.execute(
            select(pl.period, pl.procedure_code, pl.revenue_code, func.sum(pl.paid_cents))
            .where(pl.contract_id == cid, pl.period.between(first, last))
            .group_by(pl.period, pl.procedure_code, pl.revenue_code))]
        transitions, readmissions = self._transitions(cid)
        return ContractRows(months, costs, self._gap_rows(cid), transitions, readmissions, self._task_steps(cid),
                            self._fed(cid, first, last))

    def _gap_rows(self, cid: str) -> list[GapRow]:
        """Every event of the gaps ever announced under ``cid``, whichever contract each names: the
        latest status of a gap counts in its latest event's contract only."""
        g = gap_events.c
        keys = select(g.gap_key).where(g.contract_id == cid)
        q = select(g.event_id, g.contract_id, g.gap_key, g.measure_id, g.status, g.period_start, g.period_end,
                   g.occurred_at, g.recorded_at).where(g.gap_key.in_(keys))
        return [GapRow(*r) for r in self.session.execute(q)]

    def _transitions(self, cid: str) -> tuple[list, list[ReadmissionV1]]:
        te = transition_events.c
        q = select(te.payload).where(or_(te.contract_id == cid, te.contract_id.is_(None)))
        transitions: list[CareTransitionV1 | CareTransitionCancelledV1] = []
        readmissions: list[ReadmissionV1] = []
        for (payload,) in self.session.execute(q):
            data = json.loads(payload)
            event = model_for(data["event_type"], data["schema_version"]).model_validate(data)
            (readmissions if isinstance(event, ReadmissionV1) else transitions).append(event)
        return transitions, readmissions

    def _task_steps(self, cid: str) -> list[TaskStep]:
        ts = task_steps.c
        tasks = select(ts.task_id).where(ts.contract_id == cid).distinct()
        q = select(ts.task_id, ts.contract_id, ts.to_status, ts.occurred_at, ts.appointment_date, ts.event_id).where(
            ts.task_id.in_(tasks))
        return [TaskStep(*r) for r in self.session.execute(q)]

    def _fed(self, cid: str, first: str, last: str) -> dict[str, dict[str, MetricValue]]:
        fm = fed_metrics.c
        out: dict[str, dict[str, MetricValue]] = defaultdict(dict)
        for period, metric, value in self.session.execute(
                select(fm.period, fm.metric, fm.value).where(fm.contract_id == cid, fm.period.between(first, last))):
            out[period][metric] = MetricValue.of(Decimal(value))
        return out
