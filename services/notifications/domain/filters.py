"""Subscription filters: practice, hospitalist group, contract, program, facility, patient.

A dimension left empty matches everything; values within a dimension are ORed, dimensions are
ANDed. A subscription owned by a practice (or a hospitalist group) is always confined to it.

FHIR clients give the same filters as backport ``filter-criteria`` strings in search syntax,
``<ResourceType>?<parameter>=<value>[,<value>...]``, the resource type being the topic's focus
(``Encounter?practice=P001``, ``DetectedIssue?contract=MMO-2026``,
``Encounter?patient=Patient/M000001``). The server SHALL reject a filter it cannot apply: an
unknown parameter, a modifier, another resource type is refused with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from .model import Audience, patient_id

PARAMS = {"practice": "practices", "hospitalist-group": "hospitalist_groups", "contract": "contracts",
          "program": "programs", "facility": "facilities", "patient": "patients"}
_AUDIENCE_FIELD = {"practices": "practice_id", "hospitalist_groups": "hospitalist_group",
                   "contracts": "contract_id", "programs": "program", "facilities": "facility"}
MAX_VALUES = 200


class FilterError(ValueError):
    """A filter the server cannot apply (the message says which and why)."""


@dataclass(frozen=True)
class Filters:
    practices: frozenset[str] = frozenset()
    hospitalist_groups: frozenset[str] = frozenset()
    contracts: frozenset[str] = frozenset()
    programs: frozenset[str] = frozenset()
    facilities: frozenset[str] = frozenset()
    patients: frozenset[str] = frozenset()  # member ids

    def matches(self, a: Audience) -> bool:
        for name, attr in _AUDIENCE_FIELD.items():
            wanted = getattr(self, name)
            if wanted and getattr(a, attr) not in wanted:
                return False
        return not self.patients or a.member_id in self.patients or patient_id(a.member_id) in self.patients

    def as_dict(self) -> dict[str, list[str]]:
        return {f.name: sorted(getattr(self, f.name)) for f in fields(self) if getattr(self, f.name)}

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> "Filters":
        d = d or {}
        unknown = set(d) - {f.name for f in fields(cls)}
        if unknown:
            raise FilterError(f"unknown filter {sorted(unknown)[0]!r}; known: {', '.join(f.name for f in fields(cls))}")
        out = {}
        for f in fields(cls):
            values = d.get(f.name) or []
            if isinstance(values, str) or not all(isinstance(v, str) and v.strip() for v in values):
                raise FilterError(f"filter {f.name} must be a list of non-empty strings")
            if len(values) > MAX_VALUES:
                raise FilterError(f"filter {f.name} has more than {MAX_VALUES} values")
            out[f.name] = frozenset(v.strip() for v in values)
        return cls(**out)

    def confined_to(self, practice_id: str | None, hospitalist_group: str | None) -> "Filters":
        """The filters of a subscription owned by a practice or group: confined to the owner.
        Asking for another practice or group is an error, not a silent narrowing."""
        out = self
        for owner, name in ((practice_id, "practices"), (hospitalist_group, "hospitalist_groups")):
            if owner is None:
                continue
            wanted = getattr(out, name)
            if wanted and wanted != {owner}:
                raise FilterError(f"filter {name} names another owner than the subscription's ({owner})")
            out = _with(out, name, frozenset({owner}))
        return out

    def criteria(self, resource_type: str) -> list[str]:
        """The backport filter-criteria strings for these filters."""
        inverse = {v: k for k, v in PARAMS.items()}
        out = []
        for f in fields(self):
            values = sorted(getattr(self, f.name))
            if values:
                if f.name == "patients":
                    values = [f"Patient/{v}" for v in values]
                out.append(f"{resource_type}?{inverse[f.name]}={','.join(values)}")
        return out


def _with(filters: Filters, name: str, value: frozenset[str]) -> Filters:
    from dataclasses import replace

    return replace(filters, **{name: value})


def parse_criteria(criteria: list[str], resource_type: str) -> Filters:
    """Backport ``filter-criteria`` strings -> ``Filters`` (ANDed; the same parameter twice intersects)."""
    acc: dict[str, frozenset[str]] = {}
    for text in criteria:
        if not isinstance(text, str) or "?" not in text:
            raise FilterError("a filter criterion reads <ResourceType>?<parameter>=<value>")
        rtype, query = text.split("?", 1)
        if rtype != resource_type:
            raise FilterError(f"filter on {rtype or 'no resource type'}: this topic's resource is {resource_type}")
        for part in query.split("&"):
            if "=" not in part:
                raise FilterError(f"filter parameter without a value in {rtype}?…")
            name, raw = part.split("=", 1)
            if ":" in name:
                raise FilterError(f"filter modifier {name.split(':', 1)[1]!r} is not supported")
            if name not in PARAMS:
                raise FilterError(f"unknown filter parameter {name!r}; supported: {', '.join(PARAMS)}")
            values = frozenset(v.strip() for v in raw.split(",") if v.strip())
            if not values:
                raise FilterError(f"filter parameter {name} has no value")
            if name == "patient":
                values = frozenset(v.split("/", 1)[1] if v.startswith("Patient/") else v for v in values)
            key = PARAMS[name]
            acc[key] = acc[key] & values if key in acc else values
            if not acc[key]:
                raise FilterError(f"filter parameter {name} given twice with no value in common")
    return Filters(**acc)
