"""What the engine answers per member and measure (and per discharge for FUP)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

Status = Literal["not_applicable", "excluded", "open", "closed", "due_soon"]
STATUSES: tuple[str, ...] = ("not_applicable", "excluded", "open", "closed", "due_soon")
MEASURES: tuple[str, ...] = ("CMS130", "CMS125", "CMS122", "CMS165", "FUP")


@dataclass(frozen=True, slots=True)
class EvidenceItem:
    """Mirrors ``shared.events.Evidence``: a code on a date, from a claim or a transition."""

    code: str
    code_system: str
    date: date
    claim_id: str | None = None
    value: str | None = None
    description: str | None = None

    def as_event_fields(self) -> dict:
        return {
            "code": self.code, "code_system": self.code_system, "date": self.date,
            "claim_id": self.claim_id, "value": self.value,
            "description": self.description[:200] if self.description else None,
        }


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
