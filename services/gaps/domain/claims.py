"""A member's claims with adjustments: originals, replacements and voids.

Every version received is kept (``ClaimBook``); what counts is derived from the set, never
from arrival order:

- versions are linked into one *family* through ``claim_id`` and ``original_claim_id``
  (REF*F8), transitively, so a chain of replacements is one family;
- the current version of a family is its last version by (``occurred_at``, frequency rank
  1 < 7 < 8, ``claim_id``, ``event_id``); when that is a void the family is withdrawn.

So a void that arrives before its original still withdraws it, and a replacement supersedes
its prior version whichever came first. Nothing is edited away: the book keeps all versions,
and the history the engine sees is recomputed from the current ones.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

_RANK = {"1": 0, "7": 1, "8": 2}


def _sort_key(c: Any) -> tuple:
    return (c.occurred_at, _RANK.get(c.frequency_code, 0), c.claim_id, str(c.event_id))


def _identity(c: Any) -> tuple:
    return (c.claim_id, c.frequency_code, c.original_claim_id or "", c.occurred_at)


@dataclass(frozen=True)
class ClaimBook:
    """Every claim version received for one member (``shared.events.ClaimV1`` objects)."""

    versions: tuple[Any, ...] = ()

    @classmethod
    def from_claims(cls, claims: Iterable[Any]) -> "ClaimBook":
        """The book ``apply_claim`` builds one claim at a time, sorted once: a version whose
        event id and identity are both new is only appended; any other goes through
        ``apply_claim`` on the sorted versions, as it would one at a time."""
        versions: list[Any] = []
        ids: set[Any] = set()
        idents: set[tuple] = set()
        ordered = True
        for c in claims:
            eid, ident = c.event_id, _identity(c)
            if eid not in ids and ident not in idents:
                versions.append(c)
                ids.add(eid)
                idents.add(ident)
                ordered = False
                continue
            if not ordered:
                versions.sort(key=_sort_key)
            versions = list(apply_claim(cls(tuple(versions)), c).versions)
            ids = {v.event_id for v in versions}
            idents = {_identity(v) for v in versions}
            ordered = True
        if not ordered:
            versions.sort(key=_sort_key)
        return cls(tuple(versions))

    def __len__(self) -> int:
        return len(self.versions)


def apply_claim(book: ClaimBook, claim: Any) -> ClaimBook:
    """The book with ``claim`` added; unchanged if this version (same event id, or the same
    claim id, frequency, prior claim and time) is already there."""
    ident = _identity(claim)
    for v in book.versions:
        if v.event_id == claim.event_id:
            return book
        if _identity(v) == ident:
            # Same version delivered twice under two ids: keep the smaller id, deterministically.
            if str(claim.event_id) < str(v.event_id):
                rest = tuple(x for x in book.versions if x is not v)
                return ClaimBook(tuple(sorted(rest + (claim,), key=_sort_key)))
            return book
    return ClaimBook(tuple(sorted(book.versions + (claim,), key=_sort_key)))


def _families(versions: tuple[Any, ...]) -> dict[str, list[Any]]:
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        root = x
        while parent.setdefault(root, root) != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    def union(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            lo, hi = sorted((ra, rb))
            parent[hi] = lo

    for v in versions:
        find(v.claim_id)
        if v.original_claim_id and v.frequency_code in ("7", "8"):
            union(v.claim_id, v.original_claim_id)
    fams: dict[str, list[Any]] = {}
    for v in versions:
        fams.setdefault(find(v.claim_id), []).append(v)
    return fams


def family_of(book: ClaimBook, claim_id: str) -> list[Any]:
    """Every version linked to ``claim_id`` (oldest first)."""
    for fam in _families(book.versions).values():
        if any(v.claim_id == claim_id or v.original_claim_id == claim_id for v in fam):
            return sorted(fam, key=_sort_key)
    return []


def current_claims(book: ClaimBook) -> list[Any]:
    """The current version of every family that is not voided, ordered by claim id."""
    out = []
    for fam in _families(book.versions).values():
        last = max(fam, key=_sort_key)
        if last.frequency_code != "8":
            out.append(last)
    out.sort(key=lambda c: (c.claim_id, str(c.event_id)))
    return out
