"""Corrections whose original was never received (no I/O).

A replacement or void names an original claim; when that original is neither in the file
being loaded nor among the claim versions loaded before, the correction is *held*: it counts
for nothing until the original arrives (``shared.claim_versions``), and the load's report says
so in a warning that names positions, never values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import NamedTuple

from shared.claim_versions import families

from .records import Position


class ClaimLink(NamedTuple):
    """A claim version without its body: enough to find its family (``shared.claim_versions``)."""

    event_id: str
    claim_id: str
    frequency_code: str
    original_claim_id: str | None
    position: Position | None = None


def members_with_corrections(links: Mapping[str, list[ClaimLink]]) -> list[str]:
    """The members of this file with a replacement or a void, sorted."""
    return sorted(m for m, ls in links.items() if any(x.frequency_code != "1" for x in ls))


def held_corrections(links: Mapping[str, list[ClaimLink]], before: Mapping[str, Iterable[ClaimLink]]) -> list[ClaimLink]:
    """This file's corrections (``links``, per member) whose original is in neither the file nor
    ``before`` (the versions loaded earlier, per member). ``before`` may hold this file's own
    versions too (recorded as the broker confirmed them): the file's copies, with their
    positions, are the ones named."""
    held: list[ClaimLink] = []
    for mid in members_with_corrections(links):
        mine = {x.event_id for x in links[mid]}
        earlier = [x for x in before.get(mid, ()) if x.event_id not in mine]
        for fam in families([*earlier, *links[mid]]):
            if fam.held:
                held.extend(v for v in fam.versions if v.event_id in mine)
    return held


def held_warning(held: list[ClaimLink]) -> str | None:
    if not held:
        return None
    voids = sum(1 for x in held if x.frequency_code == "8")
    where = "; ".join(x.position.describe() for x in held[:10] if x.position is not None)
    more = f"; and {len(held) - 10} more" if len(held) > 10 else ""
    return (f"{len(held)} correction(s) ({len(held) - voids} replacement(s), {voids} void(s)) name an original claim "
            "not received yet (not in this file, not loaded before): they are held and count for nothing until it "
            f"arrives; a void that never finds its original voids nothing ({where}{more})")
