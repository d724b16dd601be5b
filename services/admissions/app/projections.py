"""What the API reads, rebuilt from a batch's changes: roster snapshots and the crosswalk,
encounters, census, alerts (the acknowledgment is kept). Written through the unit of work's
repositories, in bulk, at the end of a batch (``batch.AdmissionsBatch.finish``).

The rows an owner's stored state implied are known from the state as loaded, so only rows that
no longer exist are deleted (rare: discharges, cancels, merges) and the rest are upserted.
"""

from __future__ import annotations

import json
from datetime import datetime

from shared.events import AlertRaisedV1, AlertRetractedV1, AlertUpdatedV1, Event, MemberRosterV1

from ..domain.census import census_entries
from ..domain.encounters import Encounter, build_encounters, encounter_key
from ..domain.patient_state import PatientState
from ..domain.rules import AdmissionRules
from .ports import Record, UnitOfWork


class ReadModel:
    """The read-model rows one batch changes."""

    def __init__(self, rules: AdmissionRules, now: datetime) -> None:
        self.rules, self.now = rules, now
        self.touched: dict[str, None] = {}  # owners, in order
        self._views: dict[str, tuple[str | None, dict[str, Encounter], MemberRosterV1 | None]] = {}
        self._rosters: dict[str, MemberRosterV1] = {}
        self._loaded: dict[str, PatientState] = {}  # owner → the state as stored before this batch

    def loaded(self, state: PatientState) -> None:
        """The stored state of an owner: its projection rows are what it implies."""
        self._loaded[state.owner] = state

    def roster(self, r: MemberRosterV1) -> None:
        self._rosters[r.member_id] = r

    def state_changed(self, state: PatientState, encounters: dict[str, Encounter],
                      roster: MemberRosterV1 | None) -> None:
        self.touched[state.owner] = None
        self._views[state.owner] = (state.member_id, encounters, roster)

    # ------------------------------------------------------------------ flush
    def flush(self, uow: UnitOfWork, events: list[Event]) -> None:
        uow.crosswalk.save_rosters(list(self._rosters.values()), self.now)
        self._flush_encounters(uow)
        self._flush_alerts(uow, events)

    def _previous_rows(self, owner: str) -> tuple[set[tuple], set[tuple]]:
        """(owner, encounter) and (member, encounter) keys of the rows the stored state implies."""
        before = self._loaded.get(owner)
        if before is None:
            return set(), set()
        keys = {(owner, k) for f in before.facts.values() if (k := encounter_key(f)) is not None}
        census_keys: set[tuple] = set()
        if before.member_id is not None:
            census_keys = {(before.member_id, e.key) for e in build_encounters(before.facts.values(), self.rules).values()
                           if e.is_open and e.patient_class in self.rules.inpatient_classes}
        return keys, census_keys

    def _flush_encounters(self, uow: UnitOfWork) -> None:
        enc_rows: list[Record] = []
        census_rows: list[Record] = []
        gone_encounters: set[tuple] = set()
        gone_census: set[tuple] = set()
        today = self.now.date()
        for owner in self.touched:
            member_id, encounters, roster = self._views[owner]
            old_keys, old_census = self._previous_rows(owner)
            gone_encounters |= old_keys - {(owner, k) for k in encounters}
            for e in encounters.values():
                enc_rows.append({
                    "owner": owner, "encounter_key": e.key, "member_id": member_id, "facility": e.facility,
                    "visit_number": e.visit_number, "status": e.status, "patient_class": e.patient_class,
                    "admit_time": e.start_time(), "discharge_time": e.discharge_time,
                    "disposition": e.disposition, "location": e.location, "diagnoses": e.diagnoses,
                    "length_of_stay_days": e.length_of_stay(today), "last_event_time": e.last_event_time,
                })
            current: set[tuple] = set()
            if member_id is not None:
                practice = roster.pcp_practice_id if roster else None
                for c in census_entries(member_id, practice, encounters.values(), as_of=today, rules=self.rules):
                    current.add((member_id, c.encounter_key))
                    census_rows.append({
                        "member_id": member_id, "encounter_key": c.encounter_key, "facility": c.facility,
                        "practice_id": practice, "hospitalist_group": roster.hospitalist_group if roster else None,
                        "pod": roster.pod if roster else None, "patient_class": c.patient_class,
                        "location": c.location, "since": c.since,
                    })
            gone_census |= old_census - current
        uow.encounters.save(enc_rows, sorted(gone_encounters), census_rows, sorted(gone_census))

    def _flush_alerts(self, uow: UnitOfWork, events: list[Event]) -> None:
        alert_events = [e for e in events if isinstance(e, (AlertRaisedV1, AlertUpdatedV1, AlertRetractedV1))]
        if not alert_events:
            return
        raised_here = {str(e.alert_id) for e in alert_events if isinstance(e, AlertRaisedV1)}
        rows = uow.alerts.load({str(e.alert_id) for e in alert_events} - raised_here)
        new: dict[str, Record] = {}
        changed: dict[str, Record] = {}
        for e in alert_events:
            aid = str(e.alert_id)
            if isinstance(e, AlertRaisedV1):
                row = {
                    "alert_id": aid, "member_id": e.member_id, "hospitalist_group": e.hospitalist_group,
                    "pod": e.pod, "pcp_practice_id": e.pcp_practice_id, "kind": e.kind, "facility": e.facility,
                    "encounter_key": e.encounter_key, "status": "open", "readmission": e.readmission,
                    "event_time": e.event_time, "received_at": e.received_at, "raised_at": self.now,
                    "updated_at": self.now, "retract_reason": None, "details": e,
                    "acknowledged_by": None, "acknowledged_at": None,
                }
                rows[aid] = row
                new[aid] = row
                changed.pop(aid, None)
                continue
            row = rows.get(aid)
            if row is None:  # an update of an alert this database never saw (e.g. restored from topics later)
                continue
            details = row["details"]
            if isinstance(details, AlertRaisedV1):  # raised in this batch: its first update
                details = json.loads(details.model_dump_json())
            if isinstance(e, AlertUpdatedV1):
                for name in ("location", "patient_class", "attending", "diagnoses"):
                    value = getattr(e, name)
                    details[name] = value.model_dump(mode="json") if hasattr(value, "model_dump") else (
                        [v.model_dump(mode="json") for v in value] if isinstance(value, tuple) else value)
                if e.readmission is not None:
                    details["readmission"] = e.readmission
                    row["readmission"] = e.readmission
                details["trigger_last"] = e.trigger
            else:
                row["status"] = "retracted"
                row["retract_reason"] = e.reason[:200]
            row["details"] = details
            row["updated_at"] = self.now
            if aid not in new:
                changed[aid] = row
        uow.alerts.save(list(new.values()), list(changed.values()))
