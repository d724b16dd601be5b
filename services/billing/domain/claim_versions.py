"""Which version of each claim counts, and what each of its lines paid, in cents.

A claim *family* is an original and everything that replaces (frequency 7) or voids
(frequency 8) it, linked through ``original_claim_id`` (or the reused ``claim_id``). Which
version counts is the platform's one rule, ``shared.claim_versions`` — the module the gaps
service's claim book uses too, so both services always count the same versions:

- a family without an original is *held* (a replacement or a void whose original has not
  arrived counts for nothing; ``explain`` lists it);
- otherwise its current version ranks highest by its place in the correction chain, then
  frequency (original < replacement < void), then what it says about when it was made
  (version sequence, adjudication date, received date, the sender's creation time), then claim
  id and event id — never the time a file was loaded;
- the same version under two event ids counts once (the smaller id); a void as the current
  version means the family contributes nothing.

The answer depends only on the set of claim events, so replaying them in any order gives the
same costs. The family id (the original's claim id) names the ledger rule ``claim:<family>``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from shared.claim_versions import Family, current_versions, families, families_of, family_closure
from shared.events import ClaimV1

from .money import allocate, to_cents

__all__ = ["Family", "PaidLine", "current_paid_lines", "current_versions", "families", "families_of",
           "family_closure", "paid_lines"]


@dataclass(frozen=True, slots=True)
class PaidLine:
    """One paid service line of a claim's current version."""

    family: str
    line_number: int
    service_date: date
    procedure_code: str | None  # None on revenue-code-only institutional lines
    revenue_code: str | None
    paid_cents: int


def paid_lines(family: str, claim: ClaimV1) -> list[PaidLine]:
    """The claim's lines with paid cents (half even from the ``Decimal`` amounts).

    A line's own ``paid_amount`` counts; a line without one paid nothing — unless no line
    carries a paid amount and the claim header does, in which case the header amount is
    allocated to the lines in proportion to their charges (cents sum exactly).
    """
    lines = sorted(claim.lines, key=lambda ln: ln.line_number)
    if not lines:
        return []
    if all(ln.paid_amount is None for ln in lines) and claim.paid_amount is not None:
        weights = [max(to_cents(ln.charge_amount), 0) for ln in lines]
        amounts = allocate(to_cents(claim.paid_amount), weights)
    else:
        amounts = [to_cents(ln.paid_amount) if ln.paid_amount is not None else 0 for ln in lines]
    return [
        PaidLine(family, ln.line_number, ln.service_date,
                 ln.procedure_code.strip().upper() if ln.procedure_code else None,
                 ln.revenue_code.strip().upper() if ln.revenue_code else None, cents)
        for ln, cents in zip(lines, amounts)
        if cents != 0
    ]


def current_paid_lines(claims: Iterable[ClaimV1]) -> list[PaidLine]:
    """Every paid line of every claim family's current version."""
    out: list[PaidLine] = []
    for family, claim in sorted(current_versions(claims).items()):
        out.extend(paid_lines(family, claim))
    return out
