"""Applying ADT events and roster snapshots to a member's state (merges: ``merges.py``).

Each change rebuilds the member's encounters, stays and readmissions from the stored facts
(order-independent), works out which alerts, transitions and readmissions should exist, and
compares that with what was already published (``PatientState.emitted``):

- new and due → raised / emitted;  changed → updated (same entity id, new event);
- no longer there → retracted / cancelled (A11 cancel admit, A13 cancel discharge, A40 merge).

Ids are deterministic. An entity's id is ``derive_id(<ADT event that caused it>, "<kind>:<member>")``
(a readmission's: ``derive_id("<member>|<readmit encounter>", "readmission")``); the id of each
published event is ``derive_id(<cause being applied>, "<event_type>:<entity id>")``. Replaying
the same inputs yields the same ids, and a cause already in ``applied`` yields nothing.
Functions return new state; the input state is not modified.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from shared.calendar import BusinessCalendar
from shared.events import (
    AdtEventV2, AlertRaisedV1, AlertRetractedV1, AlertUpdatedV1, CareTransitionCancelledV1, CareTransitionV1,
    Event, MemberRosterV1, ReadmissionV1, derive_id,
)

from .alerts import INPATIENT_ADMIT, alert_candidates, alert_details, attributed_on, fingerprint, prior_visits
from .encounters import CANCELLED, DISCHARGED, Encounter, build_encounters
from .patient_state import ALERT, READMISSION, TRANSITION, Emitted, PatientState
from .readmissions import Readmission, Stay, inpatient_stays, readmissions
from .rules import DEFAULT_RULES, AdmissionRules
from .transitions import transition_terms


@dataclass(frozen=True)
class Env:
    rules: AdmissionRules = DEFAULT_RULES
    calendar: BusinessCalendar = field(default_factory=BusinessCalendar)
    source: str = "admissions"


@dataclass
class Outcome:
    state: PatientState
    events: list[Event]
    encounters: dict[str, Encounter]
    duplicate: bool = False
    merge_from: tuple[str, ...] = ()  # A40: patient keys whose records should move into this one


@dataclass(frozen=True)
class Cause:
    id: uuid.UUID
    trigger: str  # A01 … A40, or "roster"
    time: datetime


class _Pass:
    """One reconciliation of a state against what should have been published."""

    def __init__(self, state: PatientState, roster: MemberRosterV1 | None, env: Env, cause: Cause, now: datetime):
        self.state, self.roster, self.env, self.cause, self.now = state, roster, env, cause, now
        self.member = state.member_id
        self.encounters = build_encounters(state.facts.values(), env.rules)
        self.events: list[Event] = []

    def envelope(self, cls: type[Event], entity_id: uuid.UUID, occurred_at: datetime) -> dict[str, Any]:
        kind = cls.model_fields["event_type"].default
        return cls.envelope(
            occurred_at=occurred_at, source=self.env.source, member_id=self.member, causation_id=self.cause.id,
            event_id=derive_id(self.cause.id, f"{kind}:{entity_id}"), recorded_at=self.now,
        )

    def roster_terms(self, rec: Emitted | None) -> dict[str, Any]:
        """PCP practice, pod and contract: from the roster, else as first published."""
        if self.roster is not None:
            return {"pcp_practice_id": self.roster.pcp_practice_id, "pod": self.roster.pod,
                    "contract_id": self.roster.contract_id}
        payload = rec.payload if rec else {}
        return {k: payload.get(k) for k in ("pcp_practice_id", "pod", "contract_id")}

    def gone_reason(self, encounter_key: str, kind: str) -> str:
        enc = self.encounters.get(encounter_key)
        if enc is None:
            return "A40 merge: the encounter moved to another patient record" if self.cause.trigger == "A40" \
                else "the encounter moved to another patient record"
        if enc.status == CANCELLED:
            return "A11 cancel admit"
        if kind == TRANSITION and enc.status != DISCHARGED:
            return "A13 cancel discharge"
        return f"{self.cause.trigger}: no longer applies"

    def run(self) -> list[Event]:
        if self.member is None:
            return []  # unmatched: facts are kept; nothing is published until a roster entry matches
        rules = self.env.rules
        stays = inpatient_stays(self.encounters.values(), rules)
        readmits = readmissions(stays, rules)
        self.alerts(readmits)
        self.transitions(stays, readmits)
        self.readmissions(readmits)
        return self.events

    def retire(self, kind: str, wanted: Collection[str], make) -> None:
        for key, rec in list(self.state.emitted.items()):
            if rec.kind == kind and rec.active and key not in wanted:
                self.events.append(make(rec, self.gone_reason(rec.encounter_key, kind)))
                self.state.emitted[key] = replace(rec, active=False)

    # ---------------------------------------------------------------- alerts

    def alerts(self, readmits: list[Readmission]) -> None:
        readmitted = {e.key for r in readmits for e in r.readmit.encounters}
        wanted: set[str] = set()
        for cand in alert_candidates(self.encounters):
            enc = cand.encounter
            alert_id = derive_id(cand.cause, f"alert:{self.member}")
            key = str(alert_id)
            wanted.add(key)
            rec = self.state.emitted.get(key)
            digest = alert_details(enc)
            flag = cand.kind == INPATIENT_ADMIT and enc.key in readmitted
            if rec is None or not rec.active:
                origin = self.state.facts.get(str(cand.cause))
                if origin is None or not enc.is_open or not attributed_on(self.roster, origin.occurred_at):
                    continue
                counts = prior_visits(self.encounters, origin.occurred_at, enc.key, self.env.rules)
                r = self.roster
                assert r is not None
                self.events.append(AlertRaisedV1(
                    **self.envelope(AlertRaisedV1, alert_id, origin.occurred_at),
                    alert_id=alert_id, kind=cand.kind, encounter_key=enc.key, facility=enc.facility,
                    patient_class=enc.patient_class, trigger=origin.trigger, event_time=origin.occurred_at,
                    location=enc.location, attending=enc.attending, diagnoses=enc.diagnoses,
                    pcp_practice_id=r.pcp_practice_id, pcp_npi=r.pcp_npi, hospitalist_group=r.hospitalist_group,
                    pod=r.pod, program=r.program, contract_id=r.contract_id,
                    admits_30d=counts.admits_30d, admits_90d=counts.admits_90d,
                    ed_visits_30d=counts.ed_visits_30d, ed_visits_90d=counts.ed_visits_90d,
                    readmission=flag, received_at=origin.recorded_at,
                ))
                self.state.emitted[key] = Emitted(ALERT, alert_id, enc.key, digest, True,
                                                  {"kind": cand.kind, "readmission": flag})
            elif ((enc.is_open and rec.digest != digest) or rec.payload.get("readmission", False) != flag):
                # Details change only while the stay is open; the readmission flag follows the facts
                # whenever they arrive: a prior stay's discharge may come after this stay ended (the
                # facilities' feeds are keyed apart, so their events are not ordered with each other).
                flag_changed = rec.payload.get("readmission", False) != flag
                self.events.append(AlertUpdatedV1(
                    **self.envelope(AlertUpdatedV1, alert_id, self.cause.time),
                    alert_id=alert_id, trigger=self.cause.trigger, location=enc.location,
                    patient_class=enc.patient_class, attending=enc.attending, diagnoses=enc.diagnoses,
                    readmission=flag if flag_changed else None,
                ))
                self.state.emitted[key] = replace(rec, digest=digest, payload={**rec.payload, "readmission": flag})
        self.retire(ALERT, wanted, lambda rec, reason: AlertRetractedV1(
            **self.envelope(AlertRetractedV1, rec.entity_id, self.cause.time), alert_id=rec.entity_id, reason=reason))

    # ---------------------------------------------------------------- transitions

    def transitions(self, stays: list[Stay], readmits: list[Readmission]) -> None:
        rules = self.env.rules
        wanted: set[str] = set()
        for enc in self.encounters.values():
            if enc.status != DISCHARGED or enc.discharge_cause is None or enc.patient_class not in rules.transition_classes:
                continue
            assert enc.discharge_time is not None
            tid = derive_id(enc.discharge_cause, f"transition:{self.member}")
            key = str(tid)
            wanted.add(key)
            terms = transition_terms(enc, stays, readmits, self.env.calendar, rules)
            digest = fingerprint(terms)
            rec = self.state.emitted.get(key)
            if rec is None or not rec.active:
                if not attributed_on(self.roster, enc.discharge_time):
                    continue
            elif rec.digest == digest:
                continue
            who = self.roster_terms(rec)
            self.events.append(CareTransitionV1(
                **self.envelope(CareTransitionV1, tid, enc.discharge_time), transition_id=tid, **terms, **who))
            self.state.emitted[key] = Emitted(TRANSITION, tid, enc.key, digest, True, who)
        self.retire(TRANSITION, wanted, lambda rec, reason: CareTransitionCancelledV1(
            **self.envelope(CareTransitionCancelledV1, rec.entity_id, self.cause.time),
            transition_id=rec.entity_id, reason=reason))

    # ---------------------------------------------------------------- readmissions

    def readmissions(self, readmits: list[Readmission]) -> None:
        wanted: set[str] = set()
        for r in readmits:
            rid = derive_id(f"{self.member}|{r.readmit.first.key}", "readmission")
            key = str(rid)
            wanted.add(key)
            assert r.index.discharge_date is not None
            body = {
                "index_encounter_key": r.index.last.key, "index_discharge_date": r.index.discharge_date,
                "readmit_encounter_key": r.readmit.first.key, "admit_date": r.readmit.admit_date,
                "days_since_discharge": r.days,
            }
            digest = fingerprint(body)
            rec = self.state.emitted.get(key)
            if rec is None or not rec.active:
                if not attributed_on(self.roster, r.readmit.admit_time):
                    continue
            elif rec.digest == digest:
                continue
            who = self.roster_terms(rec)
            event = ReadmissionV1(
                **self.envelope(ReadmissionV1, rid, r.readmit.admit_time), readmission_id=rid, **body,
                pcp_practice_id=who["pcp_practice_id"], contract_id=who["contract_id"])
            self.events.append(event)
            payload = event.model_dump(mode="json", include=set(body) | {"pcp_practice_id", "contract_id"})
            self.state.emitted[key] = Emitted(READMISSION, rid, r.readmit.first.key, digest, True,
                                              {**payload, "pod": who["pod"]})
        self.retire(READMISSION, wanted, lambda rec, reason: ReadmissionV1(
            **self.envelope(ReadmissionV1, rec.entity_id, self.cause.time), readmission_id=rec.entity_id,
            retracted=True, **{k: v for k, v in rec.payload.items() if k != "pod"}))


def run_pass(state: PatientState, roster: MemberRosterV1 | None, env: Env, cause: Cause, now: datetime) -> Outcome:
    p = _Pass(state, roster, env, cause, now)
    return Outcome(state, p.run(), p.encounters)


def apply_adt(state: PatientState, event: AdtEventV2, *, roster: MemberRosterV1 | None, now: datetime,
              env: Env = Env()) -> Outcome:
    """Apply one ADT event. ``roster`` is the member's latest snapshot (None while unmatched)."""
    key = str(event.event_id)
    if key in state.applied:
        return Outcome(state, [], build_encounters(state.facts.values(), env.rules), duplicate=True)
    new = state.copy()
    new.applied.add(key)
    new.facts[key] = event.model_copy(update={"raw": None}) if event.raw is not None else event
    out = run_pass(new, roster, env, Cause(event.event_id, event.trigger, event.occurred_at), now)
    if event.trigger == "A40":
        survivors = {p.key() for p in event.patient_ids}
        out.merge_from = tuple(dict.fromkeys(p.key() for p in event.prior_patient_ids if p.key() not in survivors))
    return out


def apply_roster(state: PatientState, roster: MemberRosterV1, *, now: datetime, env: Env = Env()) -> Outcome:
    """A new roster snapshot of the member: alerts/transitions now due (e.g. eligibility added)."""
    key = str(roster.event_id)
    if key in state.applied:
        return Outcome(state, [], build_encounters(state.facts.values(), env.rules), duplicate=True)
    new = state.copy()
    new.applied.add(key)
    return run_pass(new, roster, env, Cause(roster.event_id, "roster", now), now)


def current_encounters(state: PatientState, rules: AdmissionRules = DEFAULT_RULES) -> dict[str, Encounter]:
    return build_encounters(state.facts.values(), rules)
