"""ED visits of one member from two sources, deduplicated.

From ADT: the admissions service's ED alerts (an ED registration, patient class E, of an
attributed member) and its ED discharges (a visit first seen at discharge gets no alert), one
visit per encounter key, with the arrival moment. From claims: a claim recording an ED visit
(revenue 045x, place of service 23, CPT 99281-99285) gives the visit's date but no time.

A claim visit is the same visit as an ADT visit of the member whose local arrival date (the
hospital's own offset) is the claim's date or the day before (a visit past midnight is billed on
either); the closest date wins and each ADT visit takes at most one claim. The merged visit keeps
the ADT arrival time and takes the claim's principal diagnosis (final coding) over the ADT
working diagnosis.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timezone

_NEVER = datetime.min.replace(tzinfo=timezone.utc)


@dataclass(frozen=True, slots=True)
class EdVisit:
    member_id: str
    day: date                      # local date of arrival (ADT) or the claim's ED date
    arrival: datetime | None       # tz-aware arrival (ADT only)
    primary_dx: str | None
    from_adt: bool
    from_claims: bool
    encounter_key: str | None = None
    claim_id: str | None = None

    @property
    def sources(self) -> str:
        return "both" if self.from_adt and self.from_claims else ("adt" if self.from_adt else "claims")


def merge_visits(adt: Iterable[EdVisit], claims: Iterable[EdVisit]) -> list[EdVisit]:
    merged = sorted(adt, key=lambda v: (v.day, v.arrival or _NEVER, v.encounter_key or ""))
    used = [False] * len(merged)
    extra: list[EdVisit] = []
    for c in sorted(claims, key=lambda v: (v.day, v.claim_id or "")):
        best = None
        for i, a in enumerate(merged):
            if used[i]:
                continue
            lag = (c.day - a.day).days
            if lag in (0, 1) and (best is None or lag < (c.day - merged[best].day).days):
                best = i
        if best is None:
            extra.append(c)
            continue
        used[best] = True
        a = merged[best]
        merged[best] = replace(a, from_claims=True, claim_id=c.claim_id, primary_dx=c.primary_dx or a.primary_dx)
    return sorted(merged + extra, key=lambda v: (v.day, v.arrival or _NEVER))
