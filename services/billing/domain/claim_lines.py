"""Every claim line of a member in a contract month, counted or excluded, with the reason.

What ``explain`` lists for cost of care and carve-outs: the same rules the accruals apply
(``claim_versions`` for which version counts, ``coverage`` for eligibility, the version's
carve-outs), each decision kept with its reason in words instead of only its sum. The lines
counted add up to the statement's figure.

Statuses: ``cost_of_care`` and ``carve_out`` (counted, in that account), ``outside_eligibility``
(the member was not eligible under the contract that day), ``replaced``, ``voided`` (the
family's current version is a void), ``void`` (the void itself), ``held`` (a correction whose
original has not arrived, or a void without its original), ``duplicate`` (the same version
received again under another event id: counted once).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from shared.claim_versions import distinct_versions, families

from .claim_versions import paid_lines
from .contract import Contract, ContractVersion
from .coverage import CoverageSpan, member_months
from .money import to_cents
from .periods import period_of

COUNTED = ("cost_of_care", "carve_out")


@dataclass(frozen=True, slots=True)
class ClaimLineItem:
    member_id: str
    family: str
    claim_id: str
    frequency_code: str
    event_id: str
    line_number: int | None
    service_date: date | None
    procedure_code: str | None
    revenue_code: str | None
    paid_cents: int
    status: str
    reason: str
    category: str | None = None  # carve-out category

    def as_dict(self) -> dict[str, Any]:
        from .money import format_cents

        return {"member_id": self.member_id, "claim_id": self.claim_id, "family": self.family,
                "frequency_code": self.frequency_code, "line_number": self.line_number,
                "service_date": self.service_date.isoformat() if self.service_date else None,
                "procedure_code": self.procedure_code, "revenue_code": self.revenue_code,
                "paid": format_cents(self.paid_cents), "status": self.status, "reason": self.reason,
                **({"category": self.category} if self.category else {})}


def carve_out_clause(contract: Contract, version: ContractVersion, category: str) -> str:
    i = contract.versions.index(version)
    j = next(k for k, c in enumerate(version.carve_outs) if c.category == category)
    c = version.carve_outs[j]
    codes = [f"{r.low}-{r.high}" if r.low != r.high else r.low for r in c.procedure_codes]
    revs = [f"revenue {r.low}-{r.high}" if r.low != r.high else f"revenue {r.low}" for r in c.revenue_codes]
    return f"versions[{i}].carve_outs[{j}] {category} ({', '.join(codes + revs)})"


def _in_period(claim: Any, period: str) -> list[Any]:
    return [ln for ln in claim.lines if period_of(ln.service_date) == period]


def member_claim_lines(member_id: str, coverage: Sequence[CoverageSpan], claims: Iterable[Any], contract: Contract,
                       period: str) -> list[ClaimLineItem]:
    """The member's claim lines with a service date in ``period``, each with its status under
    ``contract`` (lines in a month the member was attributed to another contract are left out)."""
    version = contract.version_for(period)
    if version is None:
        return []
    months = member_months(member_id, coverage, period, period)
    month = months[0] if months else None
    if month is not None and month.contract_id != contract.contract_id:
        return []
    claims = list(claims)
    _, dupes = distinct_versions(claims)
    by_id = {str(c.event_id): c for c in claims}
    out: list[ClaimLineItem] = []
    for fam in families(claims):
        counted = fam.counted
        for v in fam.versions:
            lines = _in_period(v, period)
            if not lines:
                continue
            if v is counted:
                out.extend(_counted_lines(member_id, fam.family_id, v, month, contract, version, period))
            else:
                status, reason = fam.status(v)
                out.append(_whole(member_id, fam.family_id, v, lines, status, reason))
            for other in dupes.get(str(v.event_id), ()):
                out.append(_whole(member_id, fam.family_id, by_id[other], lines, "duplicate",
                                  "the same version received again under another event id: counted once"))
    out.sort(key=lambda i: (i.member_id, i.family, i.claim_id, i.event_id, i.line_number or 0))
    return out


def _whole(member_id: str, family: str, v: Any, lines: list[Any], status: str, reason: str) -> ClaimLineItem:
    paid = sum(to_cents(ln.paid_amount) for ln in lines if ln.paid_amount is not None)
    first = min(ln.service_date for ln in lines)
    return ClaimLineItem(member_id, family, v.claim_id, v.frequency_code, str(v.event_id), None, first, None, None,
                         paid, status, reason)


def _counted_lines(member_id: str, family: str, claim: Any, month, contract: Contract, version: ContractVersion,
                   period: str) -> list[ClaimLineItem]:
    out = []
    for pl in paid_lines(family, claim):
        if period_of(pl.service_date) != period:
            continue
        base = (member_id, family, claim.claim_id, claim.frequency_code, str(claim.event_id), pl.line_number,
                pl.service_date, pl.procedure_code, pl.revenue_code, pl.paid_cents)
        if month is None or not month.covers_day(pl.service_date.day):
            out.append(ClaimLineItem(*base, "outside_eligibility",
                                     f"the member was not eligible under {contract.contract_id} on "
                                     f"{pl.service_date.isoformat()}"))
            continue
        category = version.carve_out_category(pl.procedure_code, pl.revenue_code)
        if category is None:
            out.append(ClaimLineItem(*base, "cost_of_care", "current version, eligible day, not carved out"))
        else:
            out.append(ClaimLineItem(*base, "carve_out", "carve-out: " + carve_out_clause(contract, version, category),
                                     category))
    return out
