"""Patient matching: PID-3 identifiers → member id through the roster's MRN crosswalk."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from shared.events import MemberRosterV1, PatientIdentifier

Crosswalk = Mapping[tuple[str, str], str]  # (assigning authority, MRN) -> member_id


@dataclass(frozen=True)
class Match:
    member_id: str | None
    ambiguous: bool = False  # identifiers point at different members: left unmatched

    @property
    def matched(self) -> bool:
        return self.member_id is not None


def crosswalk_entries(roster: MemberRosterV1) -> list[tuple[tuple[str, str], str]]:
    """The crosswalk rows a roster snapshot contributes."""
    return [((x.assigning_authority, x.mrn), roster.member_id) for x in roster.mrns]


def match_member(ids: Iterable[PatientIdentifier], crosswalk: Crosswalk) -> Match:
    """The member the identifiers belong to. Identifiers of type MR are tried first; an
    identifier without an assigning authority never matches (MRNs are only unique per
    authority). Two identifiers naming different members is ambiguous and matches nobody."""
    ordered = sorted(ids, key=lambda i: i.id_type != "MR")
    found: set[str] = set()
    first: str | None = None
    for ident in ordered:
        if not ident.assigning_authority:
            continue
        member = crosswalk.get((ident.assigning_authority, ident.id))
        if member is not None:
            found.add(member)
            first = first or member
    if len(found) > 1:
        return Match(None, ambiguous=True)
    return Match(first)
