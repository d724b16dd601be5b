"""Encounters, rebuilt from the ADT events applied to one member (or unmatched patient).

An encounter is keyed by sending facility + visit number (PV1-19). Its state is a fold over
its events in event-time order (EVN-6/EVN-2/PV1-44/45/MSH-7), never arrival order, so a late
A01 that arrives after the A03 of the same visit yields the same encounter as the on-time
sequence. Ties in time are broken by the trigger's place in a visit (pre-admit, admit,
changes, transfer, update, discharge, cancels), then by message time and event id.

A time known only to the day (or month, or year) is a period, not its first instant: it sorts
at the start of its period for registrations and admissions, at its end for discharges and
cancels, and in its middle for transfers and updates — so an admission dated to the day and
a discharge timed the same day keep their order.

HL7's explicit null ``""`` (``AdtEventV2.cleared``) clears the value an earlier event set:
patient class, location, attending, disposition; a cleared admit or discharge time falls back
to the time of the event that admitted or discharged. Events about the person (``scope``
patient: A28, A31, A40, an A08 without PV1) belong to no encounter.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from shared.events import AdtEventV2, Clinician, Diagnosis, Location

from .rules import DEFAULT_RULES, AdmissionRules

PREADMITTED, ACTIVE, DISCHARGED, CANCELLED, UNKNOWN = "preadmitted", "active", "discharged", "cancelled", "unknown"
CANCELS = frozenset({"A11", "A12", "A13"})
_RANK = {"A05": 0, "A01": 1, "A04": 1, "A06": 2, "A07": 2, "A02": 3, "A12": 4, "A08": 5, "A03": 6, "A13": 7,
         "A11": 8, "A40": 9}


_ANCHOR = {"year": "%Y", "month": "%Y%m"}


def encounter_key(event: AdtEventV2) -> str | None:
    """``<sending facility>|<visit number>``; without PV1-19, ``<facility>|@<admit date>``
    (PV1-44, else the event date, at its precision: ``@2026`` for a year). Events about the
    person (A28, A31, A40, an A08 without PV1) concern no encounter: None."""
    if event.scope == "patient" or event.trigger == "A40":
        return None
    if event.visit_number:
        return f"{event.sending_facility}|{event.visit_number}"
    if event.admit_time is not None:
        anchor, precision = event.admit_time, event.admit_time_precision
    else:
        anchor, precision = event.occurred_at, event.occurred_at_precision
    return f"{event.sending_facility}|@{anchor.strftime(_ANCHOR.get(precision or '', '%Y%m%d'))}"


def _period_end(start: datetime, precision: str) -> datetime:
    if precision == "day":
        return start + timedelta(days=1)
    if precision == "month":
        return start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
    return start.replace(year=start.year + 1)


def ordering_time(event: AdtEventV2) -> datetime:
    """The instant an event sorts at (see the module's docstring for times that are periods)."""
    precision = event.occurred_at_precision
    start = event.occurred_at
    if precision in ("hour", "minute", "second"):
        return start
    rank = _RANK.get(event.trigger, 5)
    if rank <= 2:
        return start
    end = _period_end(start, precision) - timedelta(microseconds=1)
    return end if rank >= 6 else start + (end - start) / 2


def event_order(event: AdtEventV2) -> tuple:
    return (ordering_time(event), _RANK.get(event.trigger, 5), event.message_time or event.occurred_at,
            str(event.event_id))


@dataclass(frozen=True)
class Encounter:
    key: str
    facility: str
    visit_number: str | None
    patient_key: str | None
    status: str  # preadmitted | active | discharged | cancelled | unknown
    patient_class: str | None
    admit_time: datetime | None
    discharge_time: datetime | None
    disposition: str | None
    location: Location | None
    attending: Clinician | None
    diagnoses: tuple[Diagnosis, ...]
    inpatient_since: datetime | None  # when it became an inpatient stay (A01/A06, or class I)
    inpatient_cause: uuid.UUID | None  # the A01/A04/A06 that made it an inpatient admission
    ed_since: datetime | None
    ed_cause: uuid.UUID | None  # the A04/A01 with an ED class that registered the ED visit
    discharge_cause: uuid.UUID | None  # the first A03 of the current discharge
    event_ids: tuple[uuid.UUID, ...]  # applied, in event-time order
    last_event_time: datetime

    @property
    def is_open(self) -> bool:
        return self.status == ACTIVE

    def start_time(self) -> datetime | None:
        return self.inpatient_since or self.admit_time or self.ed_since

    def length_of_stay(self, as_of: date | None = None) -> int | None:
        """Days from the admit date to the discharge date (or ``as_of`` while still in)."""
        start = self.start_time()
        if start is None:
            return None
        end = self.discharge_time.date() if self.discharge_time else as_of
        return None if end is None else max((end - start.date()).days, 0)


class _Fold:
    """Mutable working state of one encounter while its events are replayed."""

    def __init__(self) -> None:
        self.status = UNKNOWN
        self.cls: str | None = None
        self.admit: datetime | None = None
        self.discharge: datetime | None = None
        self.disposition: str | None = None
        self.location: Location | None = None
        self.locations: list[Location | None] = []
        self.attending: Clinician | None = None
        self.diagnoses: tuple[Diagnosis, ...] = ()
        self.inp_since: datetime | None = None
        self.inp_cause: uuid.UUID | None = None
        self.ed_since: datetime | None = None
        self.ed_cause: uuid.UUID | None = None
        self.discharge_cause: uuid.UUID | None = None
        self.admitted_at: datetime | None = None    # event time of the admitting event
        self.discharged_at: datetime | None = None  # event time of the discharging event

    def clear(self, e: AdtEventV2) -> None:
        """HL7's explicit null: the sender deleted these values."""
        cleared = e.cleared
        if "patient_class" in cleared:
            self.cls = None
        if "location" in cleared:
            self.location = None
        if "attending" in cleared:
            self.attending = None
        if "discharge_disposition" in cleared:
            self.disposition = None
        if "admit_time" in cleared:
            self.admit = self.admitted_at
        if "discharge_time" in cleared and self.status == DISCHARGED:
            self.discharge = self.discharged_at

    def cancel_admit(self) -> None:
        self.status = CANCELLED
        self.inp_since = self.inp_cause = self.ed_since = self.ed_cause = None
        self.discharge = self.disposition = self.discharge_cause = None

    def apply(self, e: AdtEventV2, rules: AdmissionRules) -> None:
        t = e.trigger
        if e.cleared and t not in CANCELS:
            self.clear(e)
        if t not in CANCELS:
            self.cls = e.patient_class or self.cls
            self.attending = e.attending or self.attending
            self.diagnoses = e.diagnoses or self.diagnoses
            if e.admit_time:
                self.admit = e.admit_time
        if t == "A05":
            if self.status in (UNKNOWN, CANCELLED):
                self.status = PREADMITTED
            self.location = e.location or self.location
        elif t in ("A01", "A04"):
            self.status = ACTIVE
            self.discharge = self.disposition = self.discharge_cause = None
            self.admit = e.admit_time or self.admit or e.occurred_at
            self.admitted_at = self.admitted_at or e.occurred_at
            self.location = e.location or self.location
            if self.cls in rules.inpatient_classes and self.inp_cause is None:
                self.inp_since, self.inp_cause = self.admit, e.event_id
            if self.cls in rules.ed_classes and self.ed_cause is None:
                self.ed_since, self.ed_cause = self.admit, e.event_id
        elif t == "A06":
            if self.status in (UNKNOWN, PREADMITTED):
                self.status = ACTIVE
            if self.cls in rules.inpatient_classes and self.inp_cause is None:
                self.inp_since, self.inp_cause = e.occurred_at, e.event_id
            self.location = e.location or self.location
        elif t in ("A07", "A08"):
            if t == "A07" and self.status in (UNKNOWN, PREADMITTED):
                self.status = ACTIVE
            self.location = e.location or self.location
            if t == "A08" and self.status == DISCHARGED:
                self.discharge = e.discharge_time or self.discharge
                self.disposition = e.discharge_disposition or self.disposition
        elif t == "A02":
            if self.status in (UNKNOWN, PREADMITTED):
                self.status = ACTIVE
            if e.location:
                self.locations.append(self.location)
                self.location = e.location
        elif t == "A12":
            previous = self.locations.pop() if self.locations else self.location
            self.location = e.location or previous
        elif t == "A03":
            if self.status != CANCELLED:
                if self.status != DISCHARGED:
                    self.discharge_cause = e.event_id
                self.status = DISCHARGED
                self.discharged_at = e.occurred_at
                self.discharge = e.discharge_time or e.occurred_at
                self.disposition = e.discharge_disposition or self.disposition
                self.location = e.location or self.location
                if self.admit is None:
                    self.admit = e.admit_time
        elif t == "A13":
            if self.status == DISCHARGED:
                self.status = ACTIVE
                self.discharge = self.disposition = self.discharge_cause = None
        elif t == "A11":
            if self.status != CANCELLED:
                self.cancel_admit()
        if (self.cls in rules.inpatient_classes and self.inp_since is None
                and self.status in (ACTIVE, DISCHARGED)):
            self.inp_since = self.admit or e.occurred_at


def _fold(key: str, events: list[AdtEventV2], rules: AdmissionRules) -> Encounter:
    events.sort(key=event_order)
    f = _Fold()
    for e in events:
        f.apply(e, rules)
    last = events[-1]
    return Encounter(
        key=key, facility=last.sending_facility, visit_number=last.visit_number, patient_key=last.patient_key,
        status=f.status, patient_class=f.cls, admit_time=f.admit, discharge_time=f.discharge,
        disposition=f.disposition, location=f.location, attending=f.attending, diagnoses=f.diagnoses,
        inpatient_since=f.inp_since, inpatient_cause=f.inp_cause, ed_since=f.ed_since, ed_cause=f.ed_cause,
        discharge_cause=f.discharge_cause, event_ids=tuple(e.event_id for e in events),
        last_event_time=last.occurred_at,
    )


def build_encounters(facts: Iterable[AdtEventV2], rules: AdmissionRules = DEFAULT_RULES) -> dict[str, Encounter]:
    """Every encounter of the given events, by key (arrival order does not matter)."""
    groups: dict[str, list[AdtEventV2]] = {}
    for e in facts:
        key = encounter_key(e)
        if key is not None:
            groups.setdefault(key, []).append(e)
    return {key: _fold(key, events, rules) for key, events in sorted(groups.items())}
