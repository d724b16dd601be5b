"""Statements per contract and month (a JSON-able dict and CSV rows), and the what-if.

A statement is computed from the aggregated facts and the contract, not from the ledger, so
the what-if (the same statement under a changed contract term) costs the same and posts
nothing. When ledger totals are given, the statement also shows what the books hold for the
month: amounts belonging to it, amounts booked in it, and prior-period adjustments booked in it.

Money is shown as dollar strings (``"1234.50"``), rates and member months with four decimals
(half even); nothing in a statement identifies a member.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from .bonuses import BonusEstimate
from .contract import TIERS, Contract, ContractVersion
from .contract_text import ContractError, problems_of
from .facts import PeriodFacts
from .ledger import LedgerTotals
from .measure_catalog import MEASURES, METRICS
from .money import format_cents, format_fraction
from .month_close import estimates
from .figures import PeriodFigures
from .shared_savings import SavingsEstimate

Found = tuple[PeriodFigures, list[BonusEstimate], SavingsEstimate | None]

CSV_HEADER = ("section", "item", "measure", "quantity", "rate", "target", "amount")


def _money(cents: int | None) -> str | None:
    return None if cents is None else format_cents(cents)


def _bonus(b: BonusEstimate) -> dict[str, Any]:
    rule = b.rule
    catalog = MEASURES.get(rule.measure or "") or METRICS.get(rule.metric or "")
    return {
        "rule": rule.id, "kind": rule.kind, "measure": rule.subject,
        "title": catalog.title if catalog else rule.description,
        "direction": rule.better,
        "measured": format_fraction(b.measured.value),
        "numerator": b.measured.numerator, "denominator": b.measured.denominator,
        "target": str(b.target), "met": b.met, "level": None if b.level is None else b.level + 1,
        "levels": len(rule.ladder()), "basis": rule.basis,
        "unit_amount": _money(b.unit_amount_cents), "amount": _money(b.amount_cents),
        "note": "no data" if b.measured.value is None else None,
    }


def _savings(s: SavingsEstimate | None) -> dict[str, Any] | None:
    if s is None:
        return None
    return {
        "months": f"{s.months[0]}..{s.months[-1]}", "member_months": format_fraction(s.member_months),
        "benchmark_pmpm": _money(s.benchmark_pmpm_cents), "benchmark_total": _money(s.benchmark_total_cents),
        "actual_total": _money(s.actual_total_cents), "actual_pmpm": _money(s.actual_pmpm_cents),
        "savings": _money(s.savings_cents), "savings_rate": format_fraction(s.savings_rate),
        "minimum_savings_rate": str(s.minimum_savings_rate), "msr_met": s.msr_met,
        "quality_gate": s.quality_gate, "quality_gate_met": s.quality_gate_met,
        "quality_gate_checks": [
            {"goal": c.subject, "measured": format_fraction(c.measured.value), "target": str(c.target),
             "direction": c.direction, "met": c.met}
            for c in s.quality_gate_checks
        ],
        "sharing_rate": str(s.sharing_rate), "shared_before_cap": _money(s.shared_before_cap_cents),
        "cap_rate": str(s.cap_rate), "cap": _money(s.cap_cents), "capped": s.capped,
        "shared_ytd": _money(s.shared_ytd_cents), "prior_ytd": _money(s.prior_ytd_cents),
        "month_amount": _money(s.month_amount_cents),
    }


def _ledger(t: LedgerTotals | None) -> dict[str, Any] | None:
    if t is None:
        return None
    return {
        "by_account": {a: _money(c) for a, c in sorted(t.by_account.items())},
        "posted_in_period": {a: _money(c) for a, c in sorted(t.posted_in_period.items())},
        "adjustments": [{"period": p, "account": a, "amount": _money(c)} for (p, a), c in sorted(t.adjustments.items())],
    }


def build_statement(
    contract: Contract,
    period: str,
    facts_by_period: Mapping[str, PeriodFacts],
    ledger: LedgerTotals | None = None,
) -> dict[str, Any]:
    """The statement of one contract month. ``ValueError`` when no version is in force."""
    return _statement(contract, period, _estimates(contract, period, facts_by_period), ledger)


def _estimates(contract: Contract, period: str, facts_by_period: Mapping[str, PeriodFacts]) -> Found:
    found = estimates(contract, period, facts_by_period)
    if found is None:
        raise ValueError("no version of the contract is in force in this period")
    return found


def _totals(found: Found) -> dict[str, int]:
    fig, bonuses, savings = found
    return {
        "fees": fig.fees_cents, "cost_of_care": fig.cost_of_care_cents, "carve_outs": fig.carve_out_cents,
        "bonuses": sum(b.amount_cents for b in bonuses),
        "shared_savings_ytd": savings.shared_ytd_cents if savings else 0,
        "shared_savings_month": savings.month_amount_cents if savings else 0,
    }


def _statement(contract: Contract, period: str, found: Found, ledger: LedgerTotals | None) -> dict[str, Any]:
    fig, bonuses, savings = found
    version = fig.version
    return {
        "contract_id": contract.contract_id, "payer": contract.payer, "contract_name": contract.name,
        "period": period, "version": version.version, "member_month_rule": version.member_month_rule,
        "member_months": {
            "by_tier": [
                {"tier": t, "members": fig.members_by_tier[t],
                 "member_months": format_fraction(fig.member_months_by_tier[t]),
                 "fee_pmpm": _money(version.fee_cents(t)), "fees": _money(fig.fees_by_tier[t])}
                for t in TIERS
            ],
            "members": sum(fig.members_by_tier.values()),
            "member_months": format_fraction(fig.member_months),
            "fees": _money(fig.fees_cents),
        },
        "cost_of_care": {"total": _money(fig.cost_of_care_cents), "pmpm": _money(fig.cost_pmpm_cents())},
        "carve_outs": {"by_category": {c: _money(v) for c, v in fig.carve_outs.items()}, "total": _money(fig.carve_out_cents)},
        "bonuses": {"rules": [_bonus(b) for b in bonuses], "total": _money(sum(b.amount_cents for b in bonuses))},
        "shared_savings": _savings(savings),
        "ledger": _ledger(ledger),
    }


def statement_rows(statement: Mapping[str, Any]) -> list[tuple[str, ...]]:
    """The statement flattened to CSV rows (header ``CSV_HEADER`` first)."""
    def row(*cells: Any) -> tuple[str, ...]:
        return tuple("" if c is None else str(c).lower() if isinstance(c, bool) else str(c) for c in cells)

    rows = [CSV_HEADER]
    mm = statement["member_months"]
    for t in mm["by_tier"]:
        rows.append(row("member_months", t["tier"], "", t["member_months"], t["fee_pmpm"], "", t["fees"]))
    rows.append(row("member_months", "total", "", mm["member_months"], "", "", mm["fees"]))
    coc = statement["cost_of_care"]
    rows.append(row("cost_of_care", "total", "", mm["member_months"], coc["pmpm"], "", coc["total"]))
    for cat, amount in statement["carve_outs"]["by_category"].items():
        rows.append(row("carve_out", cat, "", "", "", "", amount))
    rows.append(row("carve_out", "total", "", "", "", "", statement["carve_outs"]["total"]))
    for b in statement["bonuses"]["rules"]:
        qty = f"{b['numerator']}/{b['denominator']}" if b["denominator"] is not None else b["note"]
        rows.append(row("bonus", b["rule"], b["measure"], qty, b["measured"], b["target"], b["amount"]))
    rows.append(row("bonus", "total", "", "", "", "", statement["bonuses"]["total"]))
    s = statement["shared_savings"]
    if s is not None:
        for name in ("benchmark_pmpm", "actual_pmpm", "benchmark_total", "actual_total", "savings",
                     "shared_before_cap", "cap", "shared_ytd", "prior_ytd", "month_amount"):
            rows.append(row("shared_savings", name, "", s["member_months"], "", "", s[name]))
        rows.append(row("shared_savings", "savings_rate", "", "", s["savings_rate"], s["minimum_savings_rate"], ""))
        rows.append(row("shared_savings", "msr_met", "", "", s["msr_met"], "", ""))
        for c in s["quality_gate_checks"]:
            rows.append(row("shared_savings", "quality_gate", c["goal"], "", c["measured"], c["target"], ""))
        rows.append(row("shared_savings", "quality_gate_met", s["quality_gate"], "", s["quality_gate_met"], "", ""))
        rows.append(row("shared_savings", "sharing_rate", "", "", s["sharing_rate"], "", ""))
        rows.append(row("shared_savings", "cap_rate", "", "", s["cap_rate"], "", ""))
    led = statement.get("ledger")
    if led:
        for account, amount in led["by_account"].items():
            rows.append(row("ledger", account, "belongs_to_period", "", "", "", amount))
        for account, amount in led["posted_in_period"].items():
            rows.append(row("ledger", account, "booked_in_period", "", "", "", amount))
        for adj in led["adjustments"]:
            rows.append(row("ledger_adjustment", adj["account"], adj["period"], "", "", "", adj["amount"]))
    return rows


def statement_csv(statement: Mapping[str, Any]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(statement_rows(statement))
    return buf.getvalue()


_IDENTITY = ("id", "category")


def _merge(base: Any, change: Any) -> Any:
    if isinstance(base, dict) and isinstance(change, Mapping):
        out = dict(base)
        for k, v in change.items():
            out[k] = _merge(base.get(k), v)
        return out
    if isinstance(base, list) and isinstance(change, list):
        for ident in _IDENTITY:
            if all(isinstance(x, dict) and ident in x for x in [*base, *change]) and base:
                out = list(base)
                index = {x[ident]: i for i, x in enumerate(out)}
                for x in change:
                    if x[ident] in index:
                        out[index[x[ident]]] = _merge(out[index[x[ident]]], x)
                    else:
                        out.append(x)
                return out
    return change


def with_overrides(contract: Contract, period: str, overrides: Mapping[str, Any]) -> Contract:
    """The contract with ``overrides`` merged into the version in force in ``period``.

    Mappings merge key by key; lists of bonuses (by ``id``) and carve-outs (by ``category``)
    merge item by item; anything else is replaced. ``ContractError`` when the result is invalid.
    """
    version = contract.version_for(period)
    if version is None:
        raise ContractError(["no version of the contract is in force in this period"], source="what-if")
    merged = _merge(version.model_dump(mode="json"), overrides)
    try:
        new_version = ContractVersion.model_validate(merged)
        versions = tuple(new_version if v.version == version.version else v for v in contract.versions)
        return Contract.model_validate({**contract.model_dump(mode="json"), "versions": [v.model_dump(mode="json") for v in versions]})
    except ValidationError as err:
        raise ContractError(problems_of(err), source="what-if") from None


def what_if(
    contract: Contract,
    period: str,
    facts_by_period: Mapping[str, PeriodFacts],
    overrides: Mapping[str, Any],
) -> dict[str, Any]:
    """The month's statement now and under changed terms, with the differences. Posts nothing."""
    base_found = _estimates(contract, period, facts_by_period)
    changed_contract = with_overrides(contract, period, overrides)
    changed_found = _estimates(changed_contract, period, facts_by_period)
    a, b = _totals(base_found), _totals(changed_found)
    return {
        "contract_id": contract.contract_id, "period": period, "overrides": dict(overrides),
        "base": _statement(contract, period, base_found, None),
        "what_if": _statement(changed_contract, period, changed_found, None),
        "difference": {k: format_cents(b[k] - a[k]) for k in a},
    }
