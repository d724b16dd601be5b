"""``explain``: a statement figure traced to its inputs (CLI ``explain`` and ``GET /explain``).

Reads what the statement reads (the contract month's facts) and the member-level inputs behind
the figure: the member-month rows (fees, PMPM bonuses) or, for cost of care and carve-outs,
every member attributed to the contract with their roster snapshots and claim versions, whose
lines are classified again by the accrual rules (``domain.claim_lines``). A figure about claims
walks the contract's members: narrow it with ``member``. Also held corrections (a replacement or
a void whose original has not arrived), which count for nothing until it does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .aggregates import facts_window, load_facts
from .domain import Contract, MemberMonth, coverage_from_roster, format_cents, parse_runs
from .domain.claim_lines import member_claim_lines
from .domain.explain import CLAIM_FIGURES, explain_figure, parse_figure
from .domain.periods import days_in
from .state import chunks, held_counts, load_claims, load_snapshots
from .store import held_claims, ledger_entries, member_months

_ACCOUNT_RULES = {"fees": ("pmpm_fee", "pmpm:"), "cost_of_care": ("cost_of_care", None),
                  "carve_outs": ("carve_out", None), "bonus": ("bonus_estimate", "bonus:"),
                  "shared_savings": ("shared_savings_estimate", None)}


def explain(session: Session, contract: Contract, period: str, figure: str, *, member: str | None = None
            ) -> dict[str, Any]:
    """The explanation of ``figure`` (``ValueError``: unknown figure, or no version in force)."""
    if contract.version_for(period) is None:
        raise ValueError(f"no version of {contract.contract_id} is in force in {period}")
    kind, qual = parse_figure(contract, period, figure)
    first, last = facts_window(contract, period, period)
    facts = load_facts(session, contract, first, last)
    months = _months(session, contract.contract_id, period, member) if kind in ("fees", "bonus") else []
    lines = _claim_lines(session, contract, period, member) if kind in CLAIM_FIGURES else []
    body = explain_figure(contract, period, figure, facts, months, lines, partial=member is not None)
    body["books"] = _books(session, contract.contract_id, period, kind, qual)
    if member is not None:
        body["member_filter"] = member
        body["arithmetic"].append(f"listing only member {member}'s items; the amount is the whole figure's")
    return body


def _months(session: Session, contract_id: str, period: str, member: str | None) -> list[MemberMonth]:
    mm = member_months.c
    q = select(mm.member_id, mm.tier, mm.runs).where(mm.contract_id == contract_id, mm.period == period)
    if member is not None:
        q = q.where(mm.member_id == member)
    n = days_in(period)
    return [MemberMonth(m, contract_id, period, t, parse_runs(r), n) for m, t, r in session.execute(q)]


def _claim_lines(session: Session, contract: Contract, period: str, member: str | None) -> list:
    mm = member_months.c
    q = select(mm.member_id).where(mm.contract_id == contract.contract_id).distinct()
    if member is not None:
        q = q.where(mm.member_id == member)
    members = sorted(r[0] for r in session.execute(q))
    out = []
    for part in chunks(members, 2000):
        snapshots = load_snapshots(session, part)
        claims = load_claims(session, part)
        for mid in part:
            if claims.get(mid):
                out.extend(member_claim_lines(mid, coverage_from_roster(snapshots.get(mid, [])), claims[mid],
                                              contract, period))
    return out


def _books(session: Session, contract_id: str, period: str, kind: str, qual: str | None) -> dict[str, Any]:
    """What the ledger holds for the figure's account in the month (by the month it belongs to)."""
    account, prefix = _ACCOUNT_RULES[kind]
    le = ledger_entries.c
    q = select(func.coalesce(func.sum(le.amount_cents), 0)).where(
        le.contract_id == contract_id, le.period == period, le.account == account)
    if qual is not None and prefix is not None:
        q = q.where(le.rule == f"{prefix}{qual}")
    elif qual is not None and kind == "carve_outs":
        q = q.where(le.rule.like(f"%:{qual}"))
    return {"account": account, "net_posted": format_cents(int(session.execute(q).scalar() or 0))}


def member_ids(body: dict[str, Any]) -> list[str]:
    """Every member an explanation names (for the audit)."""
    rows = [*body.get("member_months", ()), *body.get("claims_counted", ()), *body.get("claims_excluded", ())]
    return sorted({r["member_id"] for r in rows})


def without_members(body: dict[str, Any]) -> dict[str, Any]:
    """The explanation for a reader who may not see members: arithmetic and counts only."""
    return {k: v for k, v in body.items() if k not in ("member_months", "claims_counted", "claims_excluded")}


def page(body: dict[str, Any], limit: int, offset: int = 0) -> dict[str, Any]:
    """The lists cut to ``limit`` items from ``offset`` (the counts stay whole)."""
    out = dict(body)
    for k in ("member_months", "claims_counted", "claims_excluded"):
        if k in out:
            out[k] = out[k][offset:offset + limit]
    out["limit"], out["offset"] = limit, offset
    return out


# ---------------------------------------------------------------- held corrections
def held(session: Session, member: str | None = None, limit: int = 1000, offset: int = 0) -> dict[str, Any]:
    """Corrections whose original has not arrived: counts by kind, and the rows."""
    hc = held_claims.c
    counts = held_counts(session)
    q = select(hc.member_id, hc.claim_id, hc.frequency_code, hc.names_claim_id, hc.held_since).order_by(
        hc.held_since, hc.member_id, hc.claim_id)
    if member is not None:
        q = q.where(hc.member_id == member)
    rows = [{"member_id": m, "claim_id": c, "kind": "void" if f == "8" else "replacement",
             "waiting_for": n, "held_since": s.isoformat() if s else None}
            for m, c, f, n, s in session.execute(q.limit(limit).offset(offset))]
    return {"counts": counts, "rows": rows}


def held_text(body: dict[str, Any]) -> list[str]:
    out = [f"held corrections: {body['counts'].get('replacement', 0)} replacement(s), "
           f"{body['counts'].get('void', 0)} void(s) waiting for their original"]
    out += [f"  {r['member_id']}  claim {r['claim_id']} ({r['kind']}) waits for {r['waiting_for'] or '?'} "
            f"since {r['held_since']}" for r in body["rows"]]
    return out


def text_lines(body: dict[str, Any], limit: int) -> list[str]:
    """The explanation as text for the terminal (lists cut to ``limit`` items each)."""
    v = body["version"]
    out = [f"{body['contract_id']} {body['period']} {body['figure']} = {body['amount']}   "
           f"(version {v['version']}, {v['clause']}, {v['effective_from']}..{v['effective_to'] or 'open'}; "
           f"ledger {body['books']['account']} net {body['books']['net_posted']})", ""]
    out += body["arithmetic"]
    sections: Sequence[tuple[str, Sequence[str]]] = (
        ("member months", ("member_id", "tier", "eligible_days", "days_in_month", "member_months", "fee")),
        ("claims counted", ("member_id", "claim_id", "frequency_code", "line_number", "service_date",
                            "procedure_code", "revenue_code", "paid", "reason")),
        ("claims excluded", ("member_id", "claim_id", "frequency_code", "service_date", "paid", "status", "reason")),
    )
    for title, cols in sections:
        rows = body.get(title.replace(" ", "_"))
        if not rows:
            continue
        out += ["", f"{title} ({len(rows)}):"]
        for r in rows[:limit]:
            out.append("  " + "  ".join("" if r.get(c) is None else str(r.get(c)) for c in cols))
        if len(rows) > limit:
            out.append(f"  … {len(rows) - limit} more (--limit N, or --json for all)")
    if "months" in body:
        out += ["", "months of the performance year:"]
        out += [f"  {m['period']}  v{m['version']}  member months {m['member_months']}  benchmark PMPM "
                f"{m['benchmark_pmpm']}  benchmark {m['benchmark']}  cost of care {m['cost_of_care']}"
                for m in body["months"]]
    return out
