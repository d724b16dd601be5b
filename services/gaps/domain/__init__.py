"""Pure domain of the gaps service: no Kafka, no database, no files.

Public API (what the wiring calls):

- ``evaluate_member(member, history, settings, codes) -> list[MeasureResult]``
- ``MeasureSettings``, ``Period``, ``Member``, ``ClinicalHistory`` (+ ``ServiceEvent``,
  ``DiagnosisEvent``, ``Discharge``), ``CodeSets``
- claim versions: ``ClaimBook``, ``apply_claim``, ``current_claims``
- history: ``history_from_claims``, ``discharge_from_transition``, ``TransitionBook``
- events: ``StoredGap``, ``diff_statuses``
"""

from .claims import ClaimBook, apply_claim, current_claims
from .clinical import TransitionBook, discharge_from_transition, history_from_claims
from .codesets import Band, CodeRow, CodeSets
from .context import DEFAULT_VERSIONS, MeasureSettings
from .engine import evaluate_member
from .gap_events import GapDiff, StoredGap, diff_statuses
from .history import ClinicalHistory, DiagnosisEvent, Discharge, Member, ServiceEvent
from .periods import Period, age_on
from .results import MEASURES, EvidenceItem, MeasureResult

__all__ = [
    "Band", "ClaimBook", "ClinicalHistory", "CodeRow", "CodeSets", "DEFAULT_VERSIONS", "DiagnosisEvent",
    "Discharge", "EvidenceItem", "GapDiff", "MEASURES", "MeasureResult", "MeasureSettings", "Member",
    "Period", "ServiceEvent", "StoredGap", "TransitionBook", "age_on", "apply_claim", "current_claims",
    "diff_statuses", "discharge_from_transition", "evaluate_member", "history_from_claims",
]
