"""Which version of each claim counts, and what each of its lines paid, in cents.

A claim *family* is an original and everything that replaces (frequency 7) or voids
(frequency 8) it, linked through ``original_claim_id`` (or the reused ``claim_id``). The
family's current version is its latest by event time, exactly as the gaps service orders them
(``services/gaps/domain/claims.py``): ``occurred_at`` (the 837's creation time), then frequency
(original < replacement < void), then claim id, then event id. The same version received
twice under two event ids (same claim id, frequency, prior claim and ``occurred_at``) counts
once, as the smaller event id. So an older file re-sent after its replacement does not become
current again, and a late or out-of-order version converges to the same state. A void as the
current version means the family contributes nothing. The answer depends only on the set of
claim events, so replaying them in any order gives the same costs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from shared.events import ClaimV1

from .money import allocate, to_cents

_FREQUENCY_RANK = {"1": 0, "7": 1, "8": 2}


@dataclass(frozen=True, slots=True)
class PaidLine:
    """One paid service line of a claim's current version."""

    family: str
    line_number: int
    service_date: date
    procedure_code: str | None  # None on revenue-code-only institutional lines
    revenue_code: str | None
    paid_cents: int


def _root(claim_id: str, links: dict[str, str]) -> str:
    seen = {claim_id}
    while claim_id in links:
        nxt = links[claim_id]
        if nxt in seen:  # a cycle in bad data: stop where it closes
            break
        seen.add(nxt)
        claim_id = nxt
    return claim_id


def version_order(claim: ClaimV1) -> tuple:
    """The platform's claim version order (event time; the gaps service uses the same key)."""
    return (claim.occurred_at, _FREQUENCY_RANK.get(claim.frequency_code, 0), claim.claim_id, str(claim.event_id))


def _identity(claim: ClaimV1) -> tuple:
    return (claim.claim_id, claim.frequency_code, claim.original_claim_id or "", claim.occurred_at)


def _distinct_versions(claims: Iterable[ClaimV1]) -> list[ClaimV1]:
    """One claim per event id, and one per version identity (the smaller event id)."""
    by_identity: dict[tuple, ClaimV1] = {}
    for c in {c.event_id: c for c in claims}.values():
        ident = _identity(c)
        kept = by_identity.get(ident)
        if kept is None or str(c.event_id) < str(kept.event_id):
            by_identity[ident] = c
    return list(by_identity.values())


def _links(claims: Iterable[ClaimV1]) -> dict[str, str]:
    links: dict[str, str] = {}
    for c in claims:
        if c.frequency_code in ("7", "8") and c.original_claim_id and c.original_claim_id != c.claim_id:
            links[c.claim_id] = c.original_claim_id
    return links


def families_of(touched: Iterable[ClaimV1], claims: Iterable[ClaimV1]) -> frozenset[str]:
    """Family ids whose postings the ``touched`` claims can change, given the member's other
    ``claims``: their families now, and any id those families went by before (a late
    replacement in the middle of a chain joins two families into one)."""
    touched, claims = list(touched), list(claims)
    before, after = _links(claims), _links([*claims, *touched])
    roots = {_root(c.claim_id, after) for c in touched}
    out = set(roots)
    for c in [*claims, *touched]:
        if _root(c.claim_id, after) in roots:
            out.add(_root(c.claim_id, before))
    return frozenset(out)


def family_closure(touched: Iterable[ClaimV1], claims: Iterable[ClaimV1]) -> set[str]:
    """Event ids of the ``claims`` in the families of the ``touched`` claims (links from all of
    them): the only claims ``families_of`` and ``current_versions`` need for those families.
    Works on anything with ``claim_id``, ``frequency_code``, ``original_claim_id`` and
    ``event_id``, so a store can decide from slim rows which claim bodies to load."""
    touched, claims = list(touched), list(claims)
    links = _links([*claims, *touched])
    roots = {_root(c.claim_id, links) for c in touched}
    return {str(c.event_id) for c in claims if _root(c.claim_id, links) in roots}


def current_versions(claims: Iterable[ClaimV1]) -> dict[str, ClaimV1]:
    """Family id (the original claim id) → the version that counts now, voids left out."""
    unique = _distinct_versions(claims)
    links = _links(unique)
    latest: dict[str, ClaimV1] = {}
    for c in unique:
        family = _root(c.claim_id, links)
        prior = latest.get(family)
        if prior is None or version_order(c) > version_order(prior):
            latest[family] = c
    return {family: c for family, c in latest.items() if c.frequency_code != "8"}


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
