"""Member-level accrual rules as pure functions: what *should* be posted, per key.

A desired posting is an amount in cents for a ``PostingKey`` — (contract, period, account,
member or None, rule). The ledger diff (``ledger.py``) turns "what should be" into entries to
append. Everything here is recomputed from the member's whole state (all roster snapshots
and claim versions seen), so a retro termination, a void or a replacement changes the
desired amounts of the months affected and nothing else.

Member-level accounts:

- ``pmpm_fee`` — rule ``pmpm:<tier>``: each attributed, eligible member month through the
  accrual horizon, at the tier of that month, under the contract version in force (prorated:
  the fee × eligible days ÷ days in the month, rounded once). A month outside the contract's
  term accrues nothing and is no alarm; a month inside it with no version in force is
  *unpriced* (``MemberAccrual.unpriced_months``).
- ``cost_of_care`` — rule ``claim:<family>``: paid line amounts of the claim's current
  version by service month, for lines on a day the member was eligible under the contract,
  excluding carve-outs.
- ``carve_out`` — rule ``claim:<family>:<category>``: the carved-out paid amounts, tracked
  apart from cost of care.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from shared.events import ClaimV1, MemberRosterV1

from .claim_versions import PaidLine, current_paid_lines, families as claim_families, families_of, paid_lines
from .contract import Contract, ContractVersion
from .coverage import CoverageSpan, MemberMonth, coverage_from_roster, member_months, pmpm_fee_cents
from .periods import period_of


class PostingKey(NamedTuple):
    """What a ledger balance is kept for: (contract, period, account, member or None, rule)."""

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
    procedure_code: str | None
    revenue_code: str | None
    paid_cents: int
    family: str = ""  # the claim family, so a store can replace one family's rows


@dataclass(frozen=True)
class MemberAccrual:
    """Everything one member contributes: desired postings and the rows statements aggregate."""

    member_id: str
    postings: dict[PostingKey, int]
    months: list[MemberMonth]
    costs: list[CostItem]
    unpriced_contracts: frozenset[str] = field(default_factory=frozenset)
    # contract id → eligible member months through the horizon that accrued nothing although they
    # should have: the contract is not loaded, or the month is inside the contract's term with no
    # version in force (a gap between versions); filled by ``accrue_member`` (claim-only accruals
    # leave it empty). This is what raises the "unpriced" alarm.
    unpriced_months: dict[str, int] = field(default_factory=dict)
    # contract id → eligible member months outside the contract's term (before its first version
    # or after its last): not this contract's months, nothing to price and nothing to alarm on
    outside_term_months: dict[str, int] = field(default_factory=dict)


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

    def outside_term(self, contract_id: str, period: str) -> bool:
        """A loaded contract whose term does not reach ``period`` (nothing to price there)."""
        c = self._contracts.get(contract_id)
        return c is not None and not c.in_term(period)

    def estimates_read_costs(self, contract_id: str) -> bool:
        """Whether the contract-level estimates of ``contract_id`` depend on cost of care: only
        shared savings read it (bonuses read measures, metrics and member months). True for a
        contract not loaded (its terms are unknown yet)."""
        c = self._contracts.get(contract_id)
        return c is None or any(v.shared_savings is not None for v in c.versions)

    def with_contract(self, contract: Contract) -> "ContractBook":
        """A new book with ``contract`` added or replaced (books are not mutated)."""
        return ContractBook([*(c for c in self._contracts.values() if c.contract_id != contract.contract_id), contract])


def accrue_member(
    member_id: str,
    coverage: Iterable[CoverageSpan],
    paid: Iterable[PaidLine],
    contracts: ContractBook,
    through: str,
    since: str | None = None,
) -> MemberAccrual:
    """Desired member-level postings from coverage and paid lines.

    ``through`` is the accrual horizon (normally the latest open period): PMPM fees accrue
    for months up to it. Paid lines count whatever their month, as long as the member was
    eligible on the service day under a contract version in force. ``since`` limits the
    result to periods from it on (e.g. only the month being opened); pair it with the same
    ``since`` on the ledger side so earlier keys are left alone.
    """
    paid = [p for p in paid if since is None or period_of(p.service_date) >= since]
    horizon = max([through, *(period_of(p.service_date) for p in paid)])
    months = member_months(member_id, coverage, horizon, since)
    by_period = {m.period: m for m in months}
    postings: dict[PostingKey, int] = {}
    unpriced: set[str] = set()
    unpriced_months: dict[str, int] = {}
    outside: dict[str, int] = {}
    priced: list[MemberMonth] = []
    for m in months:
        if m.period > through:
            continue
        version = contracts.version_for(m.contract_id, m.period)
        if version is None:
            if contracts.outside_term(m.contract_id, m.period):
                outside[m.contract_id] = outside.get(m.contract_id, 0) + 1
                continue
            unpriced.add(m.contract_id)
            unpriced_months[m.contract_id] = unpriced_months.get(m.contract_id, 0) + 1
            continue
        priced.append(m)
        fee = pmpm_fee_cents(version.member_month_rule, version.fee_cents(m.tier), m.runs, m.days_in_month,
                             version.rounding)
        if fee:
            postings[PostingKey(m.contract_id, m.period, "pmpm_fee", member_id, f"pmpm:{m.tier}")] = fee
    costs = _cost_postings(member_id, paid, by_period, contracts, postings, unpriced)
    postings = {k: v for k, v in postings.items() if v != 0}
    return MemberAccrual(member_id, postings, priced, costs, frozenset(unpriced), unpriced_months, outside)


def _cost_postings(
    member_id: str,
    paid: Iterable[PaidLine],
    by_period: dict[str, MemberMonth],
    contracts: ContractBook,
    postings: dict[PostingKey, int],
    unpriced: set[str],
) -> list[CostItem]:
    costs: list[CostItem] = []
    for line in paid:
        period = period_of(line.service_date)
        m = by_period.get(period)
        if m is None or not m.covers_day(line.service_date.day):
            continue  # not eligible that day: not this group's cost
        version = contracts.version_for(m.contract_id, period)
        if version is None:
            if not contracts.outside_term(m.contract_id, period):
                unpriced.add(m.contract_id)
            continue
        category = version.carve_out_category(line.procedure_code, line.revenue_code)
        if category is None:
            key = PostingKey(m.contract_id, period, "cost_of_care", member_id, f"claim:{line.family}")
        else:
            key = PostingKey(m.contract_id, period, "carve_out", member_id, f"claim:{line.family}:{category}")
        postings[key] = postings.get(key, 0) + line.paid_cents
        costs.append(CostItem(m.contract_id, period, line.procedure_code, line.revenue_code, line.paid_cents, line.family))
    return costs


def accrue_claims(
    member_id: str,
    coverage: Iterable[CoverageSpan],
    paid: Iterable[PaidLine],
    contracts: ContractBook,
) -> MemberAccrual:
    """Cost-of-care and carve-out postings for the claim families in ``paid`` only.

    The cheap path for a claim event: pass the current paid lines of the families the event
    touched (none for a void) and sync the ledger with ``families=`` those families, so a
    void reverses its family's keys and nothing else is recomputed. ``months`` is left empty.
    """
    paid = list(paid)
    postings: dict[PostingKey, int] = {}
    unpriced: set[str] = set()
    costs: list[CostItem] = []
    if paid:
        periods = sorted({period_of(p.service_date) for p in paid})
        by_period = {m.period: m for m in member_months(member_id, coverage, periods[-1], periods[0])}
        costs = _cost_postings(member_id, paid, by_period, contracts, postings, unpriced)
    return MemberAccrual(member_id, {k: v for k, v in postings.items() if v}, [], costs, frozenset(unpriced))


def claim_family(key: PostingKey) -> str | None:
    """The claim family a cost-of-care or carve-out key belongs to (None for other accounts)."""
    if key.account == "cost_of_care":
        return key.rule.removeprefix("claim:")
    if key.account == "carve_out":
        return key.rule.removeprefix("claim:").rsplit(":", 1)[0]
    return None


def accrue_member_events(
    member_id: str,
    roster: Iterable[MemberRosterV1],
    claims: Iterable[ClaimV1],
    contracts: ContractBook,
    through: str,
    since: str | None = None,
) -> MemberAccrual:
    """``accrue_member`` from the raw events seen for one member (any order, duplicates ok)."""
    return accrue_member(member_id, coverage_from_roster(roster), current_paid_lines(claims), contracts, through, since)


def accrue_claim_event(
    member_id: str,
    roster: Iterable[MemberRosterV1],
    claims: Iterable[ClaimV1],
    event: ClaimV1,
    contracts: ContractBook,
) -> tuple[MemberAccrual, frozenset[str]]:
    """The cheap path for one claim event: (the accrual of the families it touches, those
    families). ``claims`` are the member's other claim events; sync the ledger with
    ``Ledger.sync_member(..., families=families)``."""
    claims = list(claims)
    after = claim_families([*claims, event])
    families = families_of([event], claims, before=claim_families(claims), after=after)
    current = {f.family_id: c for f in after if (c := f.counted) is not None}
    paid = [ln for f in sorted(families) if f in current for ln in paid_lines(f, current[f])]
    return accrue_claims(member_id, coverage_from_roster(roster), paid, contracts), families
