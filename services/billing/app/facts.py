"""A contract's facts per month — member months and paid lines (grouped by the store), measure
rates, the readmission rate and the satisfaction metrics — what its estimates and statements
are computed from."""

from __future__ import annotations

from collections import defaultdict

from ..domain import Contract, CostItem, FactsBuilder, PeriodFacts, parse_runs, readmission_rate
from ..domain.periods import first_day, last_day, performance_year, periods_between
from ..domain.rates import measure_rates_series
from ..domain.satisfaction import MEDIAN_DAYS_TO_APPOINTMENT, chosen_metrics, median_days_to_appointment
from .ports import UnitOfWork


def facts_window(contract: Contract, first: str, last: str) -> tuple[str, str]:
    """The periods whose facts the estimates of ``first``..``last`` read (their performance years)."""
    version = contract.version_for(first)
    start = performance_year(first, version.performance_year_start_month if version else 1)[0]
    return start, last


def contract_facts(uow: UnitOfWork, contract: Contract, first: str, last: str) -> dict[str, PeriodFacts]:
    """Period → facts of ``contract`` for every period ``first``..``last``."""
    cid = contract.contract_id
    rows = uow.facts.contract_rows(cid, first, last)
    builder = FactsBuilder()
    months: dict[str, dict] = defaultdict(dict)
    for period, tier, runs, n in rows.month_counts:
        months[period][(tier, parse_runs(runs))] = n
    for period, r in months.items():
        builder.add_month_rows(cid, period, r)
    builder.add_costs(CostItem(cid, p, code, rev, cents) for p, code, rev, cents in rows.cost_sums)
    periods = periods_between(first, last)
    rates = measure_rates_series(rows.gaps, cid, [last_day(p) for p in periods])
    for p in periods:
        as_of = last_day(p)
        for measure, rate in rates[as_of].items():
            builder.set_measure(cid, p, measure, rate)
        version = contract.version_for(p)
        year_start = first_day(performance_year(p, version.performance_year_start_month if version else 1)[0])
        computed = {
            "readmission_rate": readmission_rate(rows.transitions, rows.readmissions, cid, year_start, as_of),
            MEDIAN_DAYS_TO_APPOINTMENT: median_days_to_appointment(rows.steps, cid, year_start, as_of),
        }
        for name, value in chosen_metrics(computed, rows.fed.get(p, {})).items():
            builder.set_metric(cid, p, name, value)
    return builder.for_contract(cid)
