"""Pre-aggregated facts per contract month: what month close and statements work from.

Statements never walk members. They read, per (contract, period):

- member-month rows: (tier, eligible day runs) → number of members. For ``any_day`` every row
  is one member month per member; for ``prorated`` the runs give the days. Keeping the runs
  (a few hundred distinct patterns at most) makes prorated fees exact and lets a what-if
  switch the member-month rule.
- cost rows: (procedure code, revenue code) → paid cents, so a what-if can move a code in or
  out of a carve-out.
- measure rates (numerator, denominator as of the period's end) and metric values.

A store keeps one row per member month and per paid line and groups them (``GROUP BY contract,
period, tier, runs``); ``FactsBuilder`` does the same in memory.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from .accruals import CostItem, MemberAccrual
from .coverage import MemberMonth

Runs = tuple[tuple[int, int], ...]


def runs_text(runs: Runs) -> str:
    """``((1, 10), (20, 31))`` → ``"1-10,20-31"`` (a column a store can group by)."""
    return ",".join(f"{a}-{b}" for a, b in runs)


def parse_runs(text: str) -> Runs:
    out = []
    for part in text.split(","):
        a, _, b = part.partition("-")
        out.append((int(a), int(b)))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class MeasureRate:
    """Members in the numerator and the denominator of a measure, as of a period's end."""

    numerator: int
    denominator: int

    @property
    def rate(self) -> Fraction | None:
        return Fraction(self.numerator, self.denominator) if self.denominator else None


@dataclass(frozen=True, slots=True)
class MetricValue:
    """A metric's value (e.g. readmission rate 3/40, median days to appointment 6)."""

    value: Fraction
    numerator: int | None = None
    denominator: int | None = None

    @classmethod
    def of(cls, value: Decimal | Fraction | int | str) -> "MetricValue":
        return cls(Fraction(Decimal(value) if isinstance(value, str) else value))

    @classmethod
    def ratio(cls, numerator: int, denominator: int) -> "MetricValue | None":
        return cls(Fraction(numerator, denominator), numerator, denominator) if denominator else None


@dataclass(frozen=True)
class PeriodFacts:
    contract_id: str
    period: str
    member_months: Mapping[tuple[str, Runs], int] = field(default_factory=dict)
    costs: Mapping[tuple[str, str | None], int] = field(default_factory=dict)
    measures: Mapping[str, MeasureRate] = field(default_factory=dict)
    metrics: Mapping[str, MetricValue] = field(default_factory=dict)


class FactsBuilder:
    """Groups member months, paid lines, measure rates and metrics into ``PeriodFacts``."""

    def __init__(self) -> None:
        self._months: dict[tuple[str, str], Counter] = defaultdict(Counter)
        self._costs: dict[tuple[str, str], Counter] = defaultdict(Counter)
        self._measures: dict[tuple[str, str], dict[str, MeasureRate]] = defaultdict(dict)
        self._metrics: dict[tuple[str, str], dict[str, MetricValue]] = defaultdict(dict)

    def add_months(self, months: Iterable[MemberMonth]) -> None:
        for m in months:
            self._months[(m.contract_id, m.period)][(m.tier, m.runs)] += 1

    def add_month_rows(self, contract_id: str, period: str, rows: Mapping[tuple[str, Runs], int]) -> None:
        """Rows already grouped elsewhere (e.g. by a SQL ``GROUP BY``)."""
        self._months[(contract_id, period)].update(rows)

    def add_costs(self, costs: Iterable[CostItem]) -> None:
        for c in costs:
            self._costs[(c.contract_id, c.period)][(c.procedure_code, c.revenue_code)] += c.paid_cents

    def add_accrual(self, accrual: MemberAccrual) -> None:
        self.add_months(accrual.months)
        self.add_costs(accrual.costs)

    def set_measure(self, contract_id: str, period: str, measure_id: str, rate: MeasureRate) -> None:
        self._measures[(contract_id, period)][measure_id] = rate

    def set_metric(self, contract_id: str, period: str, metric: str, value: MetricValue) -> None:
        self._metrics[(contract_id, period)][metric] = value

    def build(self) -> dict[tuple[str, str], PeriodFacts]:
        keys = set(self._months) | set(self._costs) | set(self._measures) | set(self._metrics)
        return {
            (c, p): PeriodFacts(
                c, p,
                dict(self._months.get((c, p), {})),
                {k: v for k, v in self._costs.get((c, p), {}).items() if v},
                dict(self._measures.get((c, p), {})),
                dict(self._metrics.get((c, p), {})),
            )
            for c, p in sorted(keys)
        }

    def for_contract(self, contract_id: str) -> dict[str, PeriodFacts]:
        """Period → facts of one contract (what the estimates and statements take)."""
        return {p: f for (c, p), f in self.build().items() if c == contract_id}
