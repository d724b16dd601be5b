"""A member's claims with adjustments: originals, replacements and voids.

Every version received is kept (``ClaimBook``); what counts is derived from the set, never
from arrival order, by the platform's one rule (``shared.claim_versions``, the same module
billing uses):

- versions are linked into one *family* through ``claim_id`` and ``original_claim_id``
  (REF*F8), transitively, so a chain of replacements is one family;
- a family none of whose versions is an original is *held*: a replacement or a void whose
  original has not arrived counts for nothing until it does;
- the current version of a family ranks highest by its place in the correction chain, then
  frequency (1 < 7 < 8), then what it says about when it was made (version sequence,
  adjudication date, received date, the sender's creation time), then claim id and event id;
  when that is a void the family is withdrawn.

So a void that arrives before its original still withdraws it, and a replacement supersedes
its prior version whichever came first. Nothing is edited away: the book keeps all versions,
and the history the engine sees is recomputed from the current ones.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from shared.claim_versions import counted_versions, distinct_versions, families, held_versions


def _book_order(c: Any) -> tuple:
    return (c.claim_id, c.frequency_code, str(c.event_id))


@dataclass(frozen=True)
class ClaimBook:
    """Every distinct claim version received for one member (``shared.events.ClaimV1`` objects
    or the store's slim rows), in a deterministic order (claim id, frequency, event id)."""

    versions: tuple[Any, ...] = ()

    @classmethod
    def from_claims(cls, claims: Iterable[Any]) -> "ClaimBook":
        """The book of ``claims`` in any order, redeliveries and re-sent copies included: one
        object per version (the same version under two event ids: the smaller id)."""
        kept, _ = distinct_versions(claims)
        return cls(tuple(sorted(kept, key=_book_order)))

    def __len__(self) -> int:
        return len(self.versions)


def apply_claim(book: ClaimBook, claim: Any) -> ClaimBook:
    """The book with ``claim`` added; unchanged if this version (same event id, or the same
    claim id, frequency, prior claim and stamps) is already there."""
    return ClaimBook.from_claims([*book.versions, claim])


def family_of(book: ClaimBook, claim_id: str) -> list[Any]:
    """Every version linked to ``claim_id`` (in version order, current last)."""
    for fam in families(book.versions):
        if claim_id in fam.claim_ids:
            return list(fam.versions)
    return []


def current_claims(book: ClaimBook) -> list[Any]:
    """The current version of every family that is neither voided nor held, by claim id."""
    return counted_versions(book.versions)


def held_claims(book: ClaimBook) -> list[Any]:
    """Versions waiting for their original (replacements and voids of held families)."""
    return held_versions(book.versions)
