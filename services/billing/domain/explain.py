"""Explain a statement figure: its inputs, the contract clauses that applied, the arithmetic.

``explain_figure`` takes what the statement is computed from (the contract, the month's facts)
plus the member-level inputs behind the figure (member months, classified claim lines) and
returns a JSON-able explanation whose ``amount`` is the statement's figure:

- ``fees`` / ``fees:<tier>``: the member months, each with its eligible days and fee;
- ``cost_of_care``, ``carve_outs`` / ``carve_out:<category>``: the claim lines counted and
  the ones excluded with the reason (carve-out, outside eligibility, voided, replaced, held,
  duplicate);
- ``bonus:<rule id>``: the measured value against the levels, and the member months for a
  PMPM bonus;
- ``shared_savings``: the year-to-date terms month by month and the one rounding.

Clauses are named by their place in the contract file (``versions[1].pmpm_fees.high``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

from .claim_lines import COUNTED, ClaimLineItem
from .contract import TIERS, Contract, ContractVersion
from .coverage import MemberMonth, member_month_share, pmpm_fee_cents
from .facts import PeriodFacts
from .figures import period_figures
from .money import format_cents as money, format_fraction
from .month_close import estimates
from .periods import performance_year

CLAIM_FIGURES = ("cost_of_care", "carve_outs")


def figure_names(contract: Contract, period: str) -> list[str]:
    """The figures ``explain_figure`` knows for this contract month."""
    v = contract.version_for(period)
    if v is None:
        return []
    names = ["fees", *(f"fees:{t}" for t in TIERS), "cost_of_care", "carve_outs",
             *(f"carve_out:{c.category}" for c in v.carve_outs), *(f"bonus:{b.id}" for b in v.bonuses)]
    return names + (["shared_savings"] if v.shared_savings is not None else [])


def parse_figure(contract: Contract, period: str, figure: str) -> tuple[str, str | None]:
    """(kind, qualifier): fees/tier, cost_of_care, carve_outs/category, bonus/rule id, shared_savings.
    ``ValueError`` naming the figures this contract month has."""
    known = figure_names(contract, period)
    found = _normal(figure)
    if found not in {_normal(n) for n in known}:
        raise ValueError(f"unknown figure {figure!r} for {contract.contract_id} {period}; one of: {', '.join(known)}")
    return found


_ALIASES = {"pmpm_fee": "fees", "member_months": "fees", "carve_out": "carve_outs", "bonus_estimate": "bonus",
            "shared_savings_estimate": "shared_savings"}


def _normal(figure: str) -> tuple[str, str | None]:
    kind, _, qual = figure.strip().partition(":")
    return _ALIASES.get(kind, kind), qual or None


def _version_info(contract: Contract, v: ContractVersion) -> dict[str, Any]:
    i = contract.versions.index(v)
    return {"clause": f"versions[{i}]", "version": v.version, "effective_from": v.effective_from.isoformat(),
            "effective_to": v.effective_to.isoformat() if v.effective_to else None,
            "member_month_rule": v.member_month_rule, "rounding": v.rounding}


def _rule_text(vi: dict[str, Any]) -> str:
    c = vi["clause"]
    if vi["member_month_rule"] == "prorated":
        how = ("a member month counts its eligible days ÷ the days of the month; a fee is the monthly fee × that "
               "fraction")
    else:
        how = "a member month counts in full when at least one day is eligible"
    return (f"{c}.member_month_rule = {vi['member_month_rule']}: {how}; each posted amount is computed exactly and "
            f"rounded once to the cent ({c}.rounding = {vi['rounding']})")


def explain_figure(contract: Contract, period: str, figure: str, facts: Mapping[str, PeriodFacts],
                   months: Sequence[MemberMonth] = (), lines: Sequence[ClaimLineItem] = (),
                   partial: bool = False) -> dict[str, Any]:
    """The explanation of one figure (``ValueError`` for an unknown figure or a month with no
    version in force). ``months``: the contract month's member months; ``lines``: its claim
    lines as ``claim_lines.member_claim_lines`` classifies them; ``partial``: they are one
    member's only (the sums are that member's, the amount the whole figure's)."""
    kind, qual = parse_figure(contract, period, figure)
    found = estimates(contract, period, facts)
    assert found is not None  # parse_figure found a version
    fig, bonuses, savings = found
    vi = _version_info(contract, fig.version)
    out: dict[str, Any] = {"contract_id": contract.contract_id, "period": period, "figure": figure, "version": vi}
    if kind == "fees":
        out.update(_fees(fig.version, vi, period, months, qual))
    elif kind in ("cost_of_care", "carve_outs"):
        out.update(_claims(kind, qual, fig, lines, partial))
    elif kind == "bonus":
        b = next(b for b in bonuses if b.rule.id == qual)
        out.update(_bonus(contract, fig, b, months if b.rule.basis == "pmpm" else (), vi))
    else:
        assert savings is not None
        out.update(_savings(contract, period, facts, savings))
    return out


def _month_rows(version: ContractVersion, period: str, months: Sequence[MemberMonth], tier: str | None):
    rows = []
    for m in sorted(months, key=lambda m: (m.tier, m.member_id)):
        if tier is not None and m.tier != tier:
            continue
        share = member_month_share(version.member_month_rule, m.runs, m.days_in_month)
        fee = pmpm_fee_cents(version.member_month_rule, version.fee_cents(m.tier), m.runs, m.days_in_month,
                             version.rounding)
        rows.append({"member_id": m.member_id, "tier": m.tier, "eligible_days": m.eligible_days,
                     "days_in_month": m.days_in_month, "member_months": format_fraction(share), "fee": money(fee),
                     "_share": share, "_fee": fee})
    return rows


def _fees(version: ContractVersion, vi: dict[str, Any], period: str, months: Sequence[MemberMonth],
          tier: str | None) -> dict[str, Any]:
    rows = _month_rows(version, period, months, tier)
    c = vi["clause"]
    arithmetic = [_rule_text(vi)]
    total = 0
    for t in [tier] if tier else TIERS:
        mine = [r for r in rows if r["tier"] == t]
        if not mine:
            continue
        rate = version.fee_cents(t)
        groups: Counter = Counter((r["eligible_days"], r["days_in_month"], r["_fee"]) for r in mine)
        parts = []
        for (days, n, fee), count in sorted(groups.items(), reverse=True):
            share = "" if version.member_month_rule == "any_day" else f" × {days}/{n} = {money(fee)}"
            parts.append(f"{count} × ({money(rate)}{share}) = {money(count * fee)}")
        sub = sum(r["_fee"] for r in mine)
        total += sub
        mm = sum((r["_share"] for r in mine), Fraction(0))
        arithmetic.append(f"{t} ({c}.pmpm_fees.{t} = {money(rate)}): " + " + ".join(parts)
                          + f"; {len(mine)} member(s), {format_fraction(mm)} member months, {money(sub)}")
    arithmetic.append(f"total fees = {money(total)}")
    for r in rows:
        r.pop("_share"), r.pop("_fee")
    return {"amount": money(total), "account": "pmpm_fee", "arithmetic": arithmetic, "member_months": rows,
            "counts": {"member_months": len(rows)}}


def _claims(kind: str, category: str | None, fig, lines: Sequence[ClaimLineItem], partial: bool) -> dict[str, Any]:
    if kind == "cost_of_care":
        take = lambda i: i.status == "cost_of_care"  # noqa: E731
        amount, account = fig.cost_of_care_cents, "cost_of_care"
    else:
        take = lambda i: i.status == "carve_out" and (category is None or i.category == category)  # noqa: E731
        amount = fig.carve_outs.get(category, 0) if category else fig.carve_out_cents
        account = "carve_out"
    counted = [i for i in lines if take(i)]
    excluded = [i for i in lines if not take(i) and (i.status not in COUNTED or kind == "cost_of_care")]
    total = sum(i.paid_cents for i in counted)
    by_reason: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for i in excluded:
        by_reason[i.status][0] += 1
        by_reason[i.status][1] += i.paid_cents
    what = "cost of care" if kind == "cost_of_care" else f"carve-out {category or '(all categories)'}"
    arithmetic = [f"{what} = Σ paid on the counted lines of the claims' current versions = "
                  f"{money(total)} ({len(counted)} line(s), {len({(i.member_id, i.family) for i in counted})} "
                  "claim(s))"]
    arithmetic += [f"excluded {status}: {n} item(s), {money(cents)} paid" for status, (n, cents) in sorted(by_reason.items())]
    if total != amount and not partial:  # the statement reads the aggregated rows; they agree unless a recompute is pending
        arithmetic.append(f"note: the statement's aggregate is {money(amount)} (the worker has not yet applied "
                          "every event)")
    return {"amount": money(amount), "account": account, "arithmetic": arithmetic,
            "claims_counted": [i.as_dict() for i in counted], "claims_excluded": [i.as_dict() for i in excluded],
            "counts": {"claims_counted": len(counted),
                       "claims_excluded": {s: n for s, (n, _) in sorted(by_reason.items())}}}


def _bonus(contract: Contract, fig, b, months: Sequence[MemberMonth], vi: dict[str, Any]) -> dict[str, Any]:
    v = fig.version
    j = v.bonuses.index(b.rule)
    c = f"{vi['clause']}.bonuses[{j}]"
    rule = b.rule
    levels = " ; ".join(f"{'≥' if rule.better == 'higher' else '≤'} {s.target} → {money(s.amount_cents())}"
                        for s in rule.ladder())
    m = b.measured
    value = "no data" if m.value is None else (
        f"{m.numerator}/{m.denominator} = {format_fraction(m.value)}" if m.denominator else format_fraction(m.value))
    arithmetic = [f"{c} {rule.id} ({rule.kind}, {rule.subject}, basis {rule.basis}): levels {levels}",
                  f"measured as of {fig.period}'s end: {value}"]
    if b.level is None:
        arithmetic.append("no level reached: $0.00")
    elif rule.basis == "pmpm":
        arithmetic.append(f"level {b.level + 1} reached (target {b.target}): {money(b.unit_amount_cents)} × "
                          f"{format_fraction(fig.member_months)} member months = {money(b.amount_cents)} "
                          f"(rounded once, {v.rounding})")
    else:
        arithmetic.append(f"level {b.level + 1} reached (target {b.target}): annual {money(b.unit_amount_cents)} "
                          f"accrues 1/12 a month by cumulative rounding: {money(b.amount_cents)} this month")
    out: dict[str, Any] = {"amount": money(b.amount_cents), "account": "bonus_estimate", "arithmetic": arithmetic}
    if months:
        rows = _month_rows(v, fig.period, months, None)
        for r in rows:
            r.pop("_share"), r.pop("_fee"), r.pop("fee")
        out["member_months"] = rows
        out["counts"] = {"member_months": len(rows)}
    return out


def _savings(contract: Contract, period: str, facts: Mapping[str, PeriodFacts], s) -> dict[str, Any]:
    version = contract.version_for(period)
    assert version is not None and version.shared_savings is not None
    c = f"versions[{contract.versions.index(version)}].shared_savings"
    months = []
    for p in performance_year(period, version.performance_year_start_month):
        v = contract.version_for(p) or version
        f = period_figures(v, facts.get(p), p)
        bench = (v.shared_savings or version.shared_savings).benchmark_cents()
        months.append({"period": p, "version": v.version, "member_months": format_fraction(f.member_months),
                       "benchmark_pmpm": money(bench), "benchmark": format_fraction(bench * f.member_months / 100, 2),
                       "cost_of_care": money(f.cost_of_care_cents)})
    terms = version.shared_savings
    arithmetic = [
        f"benchmark = Σ benchmark PMPM ({c}.benchmark_pmpm) × member months = {format_fraction(s.benchmark_exact / 100, 6)}"
        f" (shown {money(s.benchmark_total_cents)})",
        f"actual = Σ cost of care net of carve-outs = {money(s.actual_total_cents)}",
        f"savings = benchmark − actual = {format_fraction(s.savings_exact / 100, 6)}; savings rate = "
        f"{format_fraction(s.savings_rate)} vs minimum {terms.minimum_savings_rate} ({c}.minimum_savings_rate): "
        f"{'met' if s.msr_met else 'not met'}",
        f"quality gate ({c}.quality_gate.mode = {s.quality_gate}): {'met' if s.quality_gate_met else 'not met'}"
        + "".join(f"; {g.subject} {format_fraction(g.measured.value) if g.measured.value is not None else 'no data'}"
                  f" vs {g.target} {'met' if g.met else 'not met'}" for g in s.quality_gate_checks),
        f"shared before cap = savings × {terms.sharing_rate} ({c}.sharing_rate) = {money(s.shared_before_cap_cents)};"
        f" cap = benchmark × {terms.cap_rate} ({c}.cap_rate) = {money(s.cap_cents)}",
        f"shared year to date = round(min(shared before cap, cap)) = {money(s.shared_ytd_cents)} (the one rounding, "
        f"{s.rounding})",
        f"this month posts year to date − last month's year to date = {money(s.shared_ytd_cents)} − "
        f"{money(s.prior_ytd_cents)} = {money(s.month_amount_cents)}",
    ]
    return {"amount": money(s.month_amount_cents), "account": "shared_savings_estimate", "arithmetic": arithmetic,
            "months": months,
            "note": "each month's cost of care is explained by its cost_of_care figure (claims counted and excluded)"}
