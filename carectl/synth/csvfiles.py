"""Rows of the flat files: the roster (shared ROSTER_COLUMNS) and claims (CLAIM_CSV_COLUMNS)."""

from __future__ import annotations

from shared.formats import LIST_SEPARATOR

from . import reference as ref
from .claims import Claim
from .population import Person


def roster_row(p: Person, practice: ref.Practice, *, show_end: bool = True) -> list[str]:
    """A ROSTER_COLUMNS row; ``show_end`` False leaves the eligibility end open (not yet known)."""
    e = p.eligibility_end
    return [p.member_id, p.given_name, p.family_name, p.birth_date.isoformat(), p.sex, p.mrn_field,
            practice.practice_id, p.pcp_npi, practice.hospitalist_group, practice.pod, p.contract_id,
            p.program, p.risk_tier, p.eligibility_start.isoformat(), e.isoformat() if (e and show_end) else ""]


def cents(c: int) -> str:
    return f"{c // 100}.{c % 100:02d}" if c >= 0 else f"-{(-c) // 100}.{(-c) % 100:02d}"


def claim_csv_rows(c: Claim, include_paid: bool) -> list[list[str]]:
    rows = []
    inst = c.kind == "I"
    head = [c.claim_id, c.frequency, c.original_id, "institutional" if inst else "professional",
            c.sub.member_id, c.payer_id, c.billing_npi, c.rendering_npi, "" if inst else c.pos,
            c.tob if inst else "", c.admission.date().isoformat() if c.admission else "",
            c.discharge_date.isoformat() if c.discharge_date else "", c.discharge_status if inst else "",
            LIST_SEPARATOR.join(c.dx)]
    for (n, code, mods, rev, frm, to, units, charge, allowed, paid, _pos, _ptr) in c.lines:
        rows.append(head + [str(n), code or "", LIST_SEPARATOR.join(mods), rev, frm.isoformat(),
                            to.isoformat() if to != frm else "", str(units), cents(charge),
                            cents(allowed) if include_paid else "", cents(paid) if include_paid else ""])
    return rows
