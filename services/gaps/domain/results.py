"""What the engine answers per member and measure (and per discharge for FUP)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from typing import Literal

Status = Literal["not_applicable", "excluded", "open", "closed", "due_soon"]
STATUSES: tuple[str, ...] = ("not_applicable", "excluded", "open", "closed", "due_soon")
MEASURES: tuple[str, ...] = ("CMS130", "CMS125", "CMS122", "CMS165", "FUP")


@dataclass(frozen=True, slots=True)
class EvidenceItem:
    """A code on a date, from a claim or a transition: the domain's one evidence type. The events
    carry it as ``shared.events.Evidence`` (``as_event_fields``), the API answers
    ``web.models.EvidenceOut`` (built from its attributes)."""

    code: str
    code_system: str
    date: date
    claim_id: str | None = None
    value: str | None = None
    description: str | None = None

    def as_event_fields(self) -> dict:
        """Its fields for ``shared.events.Evidence`` (the description cut to the event's 200)."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["description"] = self.description[:200] if self.description else None
        return out


@dataclass(frozen=True, slots=True)
class MeasureResult:
    measure_id: str
    measure_version: str
    period_start: date
    period_end: date
    status: Status
    reason: str
    evidence: tuple[EvidenceItem, ...] = ()
    due_date: date | None = None
    lapses_on: date | None = None
    instance_id: str | None = None

    def gap_key(self, member_id: str) -> str:
        """``member|measure|period start[|instance]``: one gap's identity across evaluations."""
        key = f"{member_id}|{self.measure_id}|{self.period_start.isoformat()}"
        return f"{key}|{self.instance_id}" if self.instance_id else key
