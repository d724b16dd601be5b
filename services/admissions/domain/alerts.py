"""Hospitalist alerts: which encounters warrant one, and the utilisation they carry.

An alert is due for an inpatient admission (A01 with an inpatient class, or A06 to
inpatient) and for an ED registration (A04 or A01 with an ED class) of a member who is
attributed (roster status active) and eligible on the day of the event. A08 and the other
changes update an open alert; A11 retracts it. Alerts are raised only while the encounter is
open: a visit whose discharge is already known when its admit is first seen gets its care
transition, not an alert.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.events import MemberRosterV1

from .encounters import CANCELLED, Encounter
from .rules import DEFAULT_RULES, AdmissionRules

INPATIENT_ADMIT, ED_VISIT = "inpatient_admit", "ed_visit"


@dataclass(frozen=True)
class AlertCandidate:
    kind: str
    encounter: Encounter
    cause: uuid.UUID  # the ADT event that admitted / registered


def alert_candidates(encounters: dict[str, Encounter]) -> list[AlertCandidate]:
    out = []
    for enc in encounters.values():
        if enc.status == CANCELLED:
            continue
        if enc.inpatient_cause is not None:
            out.append(AlertCandidate(INPATIENT_ADMIT, enc, enc.inpatient_cause))
        if enc.ed_cause is not None:
            out.append(AlertCandidate(ED_VISIT, enc, enc.ed_cause))
    return out


def attributed_on(roster: MemberRosterV1 | None, when: datetime) -> bool:
    return roster is not None and roster.status == "active" and roster.eligible_on(when.date())


@dataclass(frozen=True)
class PriorVisits:
    admits_30d: int = 0
    admits_90d: int = 0
    ed_visits_30d: int = 0
    ed_visits_90d: int = 0


def prior_visits(encounters: dict[str, Encounter], at: datetime, exclude_key: str,
                 rules: AdmissionRules = DEFAULT_RULES) -> PriorVisits:
    """Inpatient admissions and ED visits that started in the 30/90 days before ``at``."""
    short, long = rules.lookback_days
    counts = [0, 0, 0, 0]
    for enc in encounters.values():
        if enc.key == exclude_key or enc.status == CANCELLED:
            continue
        for slot, since in ((0, enc.inpatient_since), (2, enc.ed_since)):
            if since is None or since >= at:
                continue
            age = at - since
            if age <= timedelta(days=short):
                counts[slot] += 1
            if age <= timedelta(days=long):
                counts[slot + 1] += 1
    return PriorVisits(*counts)


def fingerprint(*parts: object) -> str:
    """A short stable digest of JSON-able parts (pydantic models are dumped first)."""
    def plain(p: object) -> object:
        if hasattr(p, "model_dump"):
            return p.model_dump(mode="json")  # type: ignore[union-attr]
        if isinstance(p, (tuple, list)):
            return [plain(x) for x in p]
        return p
    text = json.dumps([plain(p) for p in parts], sort_keys=True, default=str)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def alert_details(enc: Encounter) -> str:
    """What an ``AlertUpdatedV1`` carries; a change in it is worth an update."""
    return fingerprint(enc.location, enc.patient_class, enc.attending, enc.diagnoses)
