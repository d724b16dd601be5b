"""Member-level accrual rules as pure functions: what *should* be posted, per key.

A desired posting is an amount in cents for a ``PostingKey`` — (contract, period, account,
member or None, rule). The ledger diff (``ledger.py``) turns "what should be" into entries to
append. Everything here is recomputed from the member's whole state (all roster snapshots
and claim versions seen), so a retro termination, a void or a replacement changes the
desired amounts of the months affected and nothing else.

Member-level accounts:

- ``pmpm_fee`` — rule ``pmpm:<tier>``: each attributed, eligible member month through the
  accrual horizon, at the tier of that month, under the contract version in force.
- ``cost_of_care`` — rule ``claim:<family>``: paid line amounts of the claim's current
  version by service month, for lines on a day the member was eligible under the contract,
  excluding carve-outs.
- ``carve_out`` — rule ``claim:<family>:<category>``: the carved-out paid amounts, tracked
  apart from cost of care.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from shared.events import ClaimV1, MemberRosterV1

from .claim_versions import PaidLine, current_paid_lines
from .contract import Contract, ContractVersion
from .coverage import CoverageSpan, MemberMonth, coverage_from_roster, member_months, pmpm_fee_cents
from .periods import period_of


@dataclass(frozen=True, slots=True, order=True)
class PostingKey:
    contract_id: str
    period: str
    account: str
    member_id: str | None
    rule: str

    def text(self) -> str:
        """Stable text of the key: the ``kind`` given to ``derive_id`` for entry ids."""
        return f"{self.contract_id}|{self.period}|{self.account}|{self.member_id or ''}|{self.rule}"


@dataclass(frozen=True, slots=True)
class CostItem:
    """A paid line attributed to a contract month: input to the statement aggregates."""

    contract_id: str
    period: str
    procedure_code: str
    revenue_code: str | None
    paid_cents: int


@dataclass(frozen=True)
class MemberAccrual:
    """Everything one member contributes: desired postings and the rows statements aggregate."""

    member_id: str
    postings: dict[PostingKey, int]
    months: list[MemberMonth]
    costs: list[CostItem]
    unpriced_contracts: frozenset[str] = field(default_factory=frozenset)


class ContractBook:
    """The loaded contracts by id, with the version lookup the rules need (memoised)."""

    def __init__(self, contracts: Iterable[Contract] = ()) -> None:
        self._contracts: dict[str, Contract] = {c.contract_id: c for c in contracts}
        self._memo: dict[tuple[str, str], ContractVersion | None] = {}

    def get(self, contract_id: str) -> Contract | None:
        return self._contracts.get(contract_id)

    def __contains__(self, contract_id: object) -> bool:
        return contract_id in self._contracts

    def __iter__(self):
        return iter(self._contracts.values())

    def version_for(self, contract_id: str, period: str) -> ContractVersion | None:
        key = (contract_id, period)
        if key not in self._memo:
            c = self._contracts.get(contract_id)
            self._memo[key] = c.version_for(period) if c is not None else None
        return self._memo[key]

    def with_contract(self, contract: Contract) -> "ContractBook":
        """A new book with ``contract`` added or replaced (books are not mutated)."""
        return ContractBook([*(c for c in self._contracts.values() if c.contract_id != contract.contract_id), contract])


def accrue_member(
    member_id: str,
    coverage: Iterable[CoverageSpan],
    paid: Iterable[PaidLine],
    contracts: ContractBook,
    through: str,
) -> MemberAccrual:
    """Desired member-level postings from coverage and paid lines.

    ``through`` is the accrual horizon (normally the latest open period): PMPM fees accrue
    for months up to it. Paid lines count whatever their month, as long as the member was
    eligible on the service day under a contract version in force.
    """
    paid = list(paid)
    horizon = max([through, *(period_of(p.service_date) for p in paid)])
    months = member_months(member_id, coverage, horizon)
    by_period = {m.period: m for m in months}
    postings: dict[PostingKey, int] = {}
    unpriced: set[str] = set()
    priced: list[MemberMonth] = []
    for m in months:
        if m.period > through:
            continue
        version = contracts.version_for(m.contract_id, m.period)
        if version is None:
            unpriced.add(m.contract_id)
            continue
        priced.append(m)
        fee = pmpm_fee_cents(version.member_month_rule, version.fee_cents(m.tier), m.runs, m.days_in_month)
        if fee:
            postings[PostingKey(m.contract_id, m.period, "pmpm_fee", member_id, f"pmpm:{m.tier}")] = fee
    costs: list[CostItem] = []
    for line in paid:
        period = period_of(line.service_date)
        m = by_period.get(period)
        if m is None or not m.covers_day(line.service_date.day):
            continue  # not eligible that day: not this group's cost
        version = contracts.version_for(m.contract_id, period)
        if version is None:
            unpriced.add(m.contract_id)
            continue
        category = version.carve_out_category(line.procedure_code, line.revenue_code)
        if category is None:
            key = PostingKey(m.contract_id, period, "cost_of_care", member_id, f"claim:{line.family}")
        else:
            key = PostingKey(m.contract_id, period, "carve_out", member_id, f"claim:{line.family}:{category}")
        postings[key] = postings.get(key, 0) + line.paid_cents
        costs.append(CostItem(m.contract_id, period, line.procedure_code, line.revenue_code, line.paid_cents))
    postings = {k: v for k, v in postings.items() if v != 0}
    return MemberAccrual(member_id, postings, priced, costs, frozenset(unpriced))


def accrue_member_events(
    member_id: str,
    roster: Iterable[MemberRosterV1],
    claims: Iterable[ClaimV1],
    contracts: ContractBook,
    through: str,
) -> MemberAccrual:
    """``accrue_member`` from the raw events seen for one member (any order, duplicates ok)."""
    return accrue_member(member_id, coverage_from_roster(roster), current_paid_lines(claims), contracts, through)

