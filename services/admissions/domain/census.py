"""Census: who is in which facility now, by facility and by practice."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from shared.events import Location

from .encounters import Encounter
from .rules import DEFAULT_RULES, AdmissionRules


@dataclass(frozen=True)
class CensusEntry:
    member_id: str
    practice_id: str | None
    encounter_key: str
    facility: str
    patient_class: str | None
    location: Location | None
    since: datetime | None
    length_of_stay_days: int | None


def census_entries(
    member_id: str, practice_id: str | None, encounters: Iterable[Encounter], *, as_of: date | None = None,
    classes: frozenset[str] | None = None, rules: AdmissionRules = DEFAULT_RULES,
) -> list[CensusEntry]:
    """Open encounters of one member whose class is counted (inpatient by default)."""
    wanted = rules.inpatient_classes if classes is None else classes
    return [
        CensusEntry(member_id, practice_id, e.key, e.facility, e.patient_class, e.location, e.start_time(),
                    e.length_of_stay(as_of))
        for e in encounters
        if e.is_open and e.patient_class in wanted
    ]


def census_by_facility(entries: Iterable[CensusEntry]) -> dict[str, int]:
    return dict(Counter(e.facility for e in entries))


def census_by_practice(entries: Iterable[CensusEntry]) -> dict[str, dict[str, int]]:
    """practice → facility → members in house."""
    out: dict[str, Counter[str]] = {}
    for e in entries:
        out.setdefault(e.practice_id or "(none)", Counter())[e.facility] += 1
    return {p: dict(c) for p, c in out.items()}
