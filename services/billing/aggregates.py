"""The aggregate queries: a contract's facts per month (GROUP BY over member months and paid
lines, folded measure / readmission / satisfaction facts) and the ledger's totals."""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from shared.events import CareTransitionCancelledV1, CareTransitionV1, ReadmissionV1, model_for

from .domain import (
    Contract, CostItem, FactsBuilder, LedgerTotals, MetricValue, PeriodFacts, PostingKey, parse_runs, readmission_rate,
)
from .domain.rates import measure_rates_series
from .domain.periods import first_day, last_day, performance_year, periods_between
from .domain.satisfaction import MEDIAN_DAYS_TO_APPOINTMENT, TaskStep, chosen_metrics, median_days_to_appointment
from .store import fed_metrics, gap_events, ledger_entries, member_months, paid_lines, task_steps, transition_events


def facts_window(contract: Contract, first: str, last: str) -> tuple[str, str]:
    """The periods whose facts the estimates of ``first``..``last`` read (their performance years)."""
    version = contract.version_for(first)
    start = performance_year(first, version.performance_year_start_month if version else 1)[0]
    return start, last


def load_facts(session: Session, contract: Contract, first: str, last: str) -> dict[str, PeriodFacts]:
    """Period → facts of ``contract`` for every period ``first``..``last``."""
    cid = contract.contract_id
    builder = FactsBuilder()
    mm = member_months.c
    q = (select(mm.period, mm.tier, mm.runs, func.count()).where(mm.contract_id == cid, mm.period.between(first, last))
         .group_by(mm.period, mm.tier, mm.runs))
    rows: dict[str, dict] = defaultdict(dict)
    for period, tier, runs, n in session.execute(q):
        rows[period][(tier, parse_runs(runs))] = n
    for period, r in rows.items():
        builder.add_month_rows(cid, period, r)
    pl = paid_lines.c
    q = (select(pl.period, pl.procedure_code, pl.revenue_code, func.sum(pl.paid_cents))
         .where(pl.contract_id == cid, pl.period.between(first, last))
         .group_by(pl.period, pl.procedure_code, pl.revenue_code))
    builder.add_costs(CostItem(cid, p, code, rev, int(cents)) for p, code, rev, cents in session.execute(q))
    periods = periods_between(first, last)
    gaps = _gap_rows(session, cid)
    transitions, readmissions = _transitions(session, cid)
    steps = _task_steps(session, cid)
    fed = _fed(session, cid, first, last)
    rates = measure_rates_series(gaps, cid, [last_day(p) for p in periods])
    for p in periods:
        as_of = last_day(p)
        for measure, rate in rates[as_of].items():
            builder.set_measure(cid, p, measure, rate)
        version = contract.version_for(p)
        year_start = first_day(performance_year(p, version.performance_year_start_month if version else 1)[0])
        computed = {
            "readmission_rate": readmission_rate(transitions, readmissions, cid, year_start, as_of),
            MEDIAN_DAYS_TO_APPOINTMENT: median_days_to_appointment(steps, cid, year_start, as_of),
        }
        for name, value in chosen_metrics(computed, fed.get(p, {})).items():
            builder.set_metric(cid, p, name, value)
    return builder.for_contract(cid)


class _Gap:
    """The slice of a gap event ``measure_rates`` reads (plain slots: read many times)."""

    __slots__ = ("event_id", "contract_id", "gap_key", "measure_id", "status", "period_start", "period_end",
                 "occurred_at", "recorded_at")

    def __init__(self, event_id, contract_id, gap_key, measure_id, status, period_start, period_end, occurred_at,
                 recorded_at) -> None:
        self.event_id = event_id
        self.contract_id = contract_id
        self.gap_key = gap_key
        self.measure_id = measure_id
        self.status = status
        self.period_start = period_start
        self.period_end = period_end
        self.occurred_at = occurred_at
        self.recorded_at = recorded_at


def _gap_rows(session: Session, cid: str) -> list[_Gap]:
    """Every event of the gaps ever announced under ``cid``, whichever contract each names: the
    latest status of a gap counts in its latest event's contract only."""
    g = gap_events.c
    keys = select(g.gap_key).where(g.contract_id == cid)
    q = select(g.event_id, g.contract_id, g.gap_key, g.measure_id, g.status, g.period_start, g.period_end,
               g.occurred_at, g.recorded_at).where(g.gap_key.in_(keys))
    return [_Gap(*r) for r in session.execute(q)]


def _transitions(session: Session, cid: str) -> tuple[list, list[ReadmissionV1]]:
    te = transition_events.c
    q = select(te.payload).where(or_(te.contract_id == cid, te.contract_id.is_(None)))
    transitions: list[CareTransitionV1 | CareTransitionCancelledV1] = []
    readmissions: list[ReadmissionV1] = []
    for (payload,) in session.execute(q):
        data = json.loads(payload)
        event = model_for(data["event_type"], data["schema_version"]).model_validate(data)
        (readmissions if isinstance(event, ReadmissionV1) else transitions).append(event)
    return transitions, readmissions


def _task_steps(session: Session, cid: str) -> list[TaskStep]:
    ts = task_steps.c
    tasks = select(ts.task_id).where(ts.contract_id == cid).distinct()
    q = select(ts.task_id, ts.contract_id, ts.to_status, ts.occurred_at, ts.appointment_date, ts.event_id).where(
        ts.task_id.in_(tasks))
    return [TaskStep(*r) for r in session.execute(q)]


def _fed(session: Session, cid: str, first: str, last: str) -> dict[str, dict[str, MetricValue]]:
    fm = fed_metrics.c
    out: dict[str, dict[str, MetricValue]] = defaultdict(dict)
    for period, metric, value in session.execute(
            select(fm.period, fm.metric, fm.value).where(fm.contract_id == cid, fm.period.between(first, last))):
        out[period][metric] = MetricValue.of(Decimal(value))
    return out


# ---------------------------------------------------------------- ledger totals
def ledger_totals(session: Session, contract_id: str, period: str) -> LedgerTotals:
    return ledger_totals_for(session, contract_id, period, period)[period]


def ledger_totals_for(session: Session, contract_id: str, first: str, last: str) -> dict[str, LedgerTotals]:
    """Period → what the books hold for it, for every period ``first``..``last`` (one scan)."""
    le = ledger_entries.c
    by_account: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    posted: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    late: dict[str, dict[tuple[str, str], int]] = defaultdict(lambda: defaultdict(int))
    q = (select(le.period, le.posted_period, le.account, le.adjustment, func.sum(le.amount_cents))
         .where(le.contract_id == contract_id,
                or_(le.period.between(first, last), le.posted_period.between(first, last)))
         .group_by(le.period, le.posted_period, le.account, le.adjustment))
    for period, posted_period, account, adjustment, cents in session.execute(q):
        v = int(cents)
        if first <= period <= last:
            by_account[period][account] += v
        if first <= posted_period <= last:
            posted[posted_period][account] += v
            if adjustment:
                late[posted_period][(period, account)] += v
    return {p: LedgerTotals(dict(by_account.get(p, {})), dict(posted.get(p, {})), dict(late.get(p, {})))
            for p in periods_between(first, last)}


def key_balances(session: Session) -> dict[PostingKey, int]:
    """Net per ledger key, zero nets left out: what a replay must reproduce to the cent."""
    le = ledger_entries.c
    q = (select(le.contract_id, le.period, le.account, le.member_id, le.rule, func.sum(le.amount_cents))
         .group_by(le.contract_id, le.period, le.account, le.member_id, le.rule))
    return {PostingKey(c, p, a, m, r): int(v) for c, p, a, m, r, v in session.execute(q) if int(v) != 0}


def account_balances(session: Session, contract_id: str | None = None) -> dict[tuple[str, str, str], int]:
    le = ledger_entries.c
    q = select(le.contract_id, le.period, le.account, func.sum(le.amount_cents)).group_by(
        le.contract_id, le.period, le.account)
    if contract_id is not None:
        q = q.where(le.contract_id == contract_id)
    return {(c, p, a): int(v) for c, p, a, v in session.execute(q)}


def member_month_counts(session: Session) -> dict[str, int]:
    mm = member_months.c
    return {c: int(n) for c, n in session.execute(select(mm.contract_id, func.count()).group_by(mm.contract_id))}

