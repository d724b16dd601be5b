"""Accepted ADT input → the canonical ``shared.events.AdtEventV2``.

- ``occurred_at``: EVN-6, else EVN-2, else PV1-45 (A03) / PV1-44, else MSH-7 (``leniency``),
  with its precision and source.
- ``patient_key``: ``<authority>|<id>`` of the first identifier the sender's identifier
  priority picks (default: the first of type MR), else the first.
- ``event_id``: deterministic from (sending facility, MSH-10), so a message that slips past
  the gateway's duplicate check twice still carries one id, which the worker dedupes.
- ``warnings`` and ``cleared`` travel with the event; values the contract could still refuse
  (none should be left after ``leniency``) become 102 issues located in the message.

The same model is produced from a JSON ADT payload (HTTP ingest), see ``AdtJsonIn``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import datetime, tzinfo
from typing import Any

from pydantic import Field, ValidationError

from shared.codec import describe_validation_error
from shared.errors import InvalidEvent
from shared.events import AdtEventV2, Clinician, Diagnosis, Location, Model, PatientIdentifier, derive_id
from shared.events.adt import PATIENT_LEVEL_TRIGGERS, TriggerV2

from .adt_fields import AdtFields
from .hl7_errors import DATA_TYPE_ERROR, REQUIRED_FIELD_MISSING, Hl7Issue
from .leniency import Assessment, choose_event_time
from .senders import IdPreference, SenderPolicy

AdtEvent = AdtEventV2  # the latest version of adt.message
_DEFAULT_PRIORITY = SenderPolicy().identifier_priority

# event field → (segment, field number) for locating contract violations in the message
_FIELD_LOCATIONS: dict[str, tuple[str, int]] = {
    "message_control_id": ("MSH", 10),
    "sending_application": ("MSH", 3),
    "sending_facility": ("MSH", 4),
    "hl7_version": ("MSH", 12),
    "message_time": ("MSH", 7),
    "occurred_at": ("EVN", 2),
    "patient_ids": ("PID", 3),
    "patient_key": ("PID", 3),
    "prior_patient_ids": ("MRG", 1),
    "patient_class": ("PV1", 2),
    "location": ("PV1", 3),
    "prior_location": ("PV1", 6),
    "attending": ("PV1", 7),
    "visit_number": ("PV1", 19),
    "discharge_disposition": ("PV1", 36),
    "admit_time": ("PV1", 44),
    "discharge_time": ("PV1", 45),
    "diagnoses": ("DG1", 3),
    "source": ("MSH", 4),
}


def adt_event_id(sending_facility: str, control_id: str) -> uuid.UUID:
    """The event id of the message (sending facility, MSH-10)."""
    return derive_id(f"adt|{sending_facility}|{control_id}", "adt.message")


def patient_key_of(ids: tuple[Mapping[str, Any], ...] | tuple[PatientIdentifier, ...],
                   priority: tuple[IdPreference, ...] = _DEFAULT_PRIORITY) -> str | None:
    """``<authority>|<id>`` of the first identifier the priority picks (each step in turn: the
    first identifier it matches), else of the first identifier."""
    if not ids:
        return None
    chosen = ids[0]
    rows = [i if isinstance(i, Mapping) else i.model_dump() for i in ids]
    for pref in priority:
        hit = next((n for n, row in enumerate(rows) if pref.matches(row)), None)
        if hit is not None:
            chosen = ids[hit]
            break
    return f"{_get(chosen, 'assigning_authority') or ''}|{_get(chosen, 'id')}"


def _get(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name)


def event_time_of(trigger: str, event_time: datetime | None, admit_time: datetime | None,
                  discharge_time: datetime | None, message_time: datetime | None) -> datetime | None:
    if event_time is not None:
        return event_time
    if trigger == "A03" and discharge_time is not None:
        return discharge_time
    return admit_time or discharge_time or message_time


def _issue_for(loc: tuple[Any, ...], msg: str) -> Hl7Issue:
    name = str(loc[0]) if loc else ""
    segment, number = _FIELD_LOCATIONS.get(name, ("", 0))
    occurrence = repetition = 1
    if len(loc) > 1 and isinstance(loc[1], int):
        if segment == "DG1":
            occurrence = loc[1] + 1
        else:
            repetition = loc[1] + 1
    where = f"{segment}-{number}" if segment else name
    return Hl7Issue(DATA_TYPE_ERROR, f"{where}: {msg}", segment, number, occurrence, repetition,
                    reject=segment == "MSH")


def build_event(payload: dict[str, Any]) -> tuple[AdtEventV2 | None, list[Hl7Issue]]:
    """Validate an assembled payload against the contract; failures become located issues."""
    try:
        return AdtEventV2.model_validate(payload), []
    except ValidationError as exc:
        issues = [_issue_for(tuple(e.get("loc", ())), e.get("msg", "invalid"))
                  for e in exc.errors(include_input=False, include_url=False)]
        return None, issues[:10]


def to_adt_event(
    fields: AdtFields, *, raw: str, received_at: datetime, source: str, assessment: Assessment | None = None,
    policy: SenderPolicy | None = None,
) -> tuple[AdtEventV2 | None, list[Hl7Issue]]:
    """Map judged fields (``leniency.assess``) to the event (``raw``: the message as received)."""
    if assessment is None:  # callers that did not judge the fields (tests, tools): judge times only
        assessment = Assessment(None)
        choose_event_time(fields, assessment)
        assessment.scope = "patient" if fields.trigger in PATIENT_LEVEL_TRIGGERS or not fields.has_pv1 else "visit"
        if assessment.issues:
            return None, assessment.issues
    occurred = assessment.occurred_at
    if occurred is None:
        return None, [Hl7Issue(REQUIRED_FIELD_MISSING, "no event time: EVN-6, EVN-2, PV1-44/45 and MSH-7 are all empty",
                               "EVN", 2)]
    priority = (policy or (assessment.sender.policy if assessment.sender else None) or SenderPolicy()).identifier_priority
    payload = AdtEventV2.envelope(
        occurred_at=occurred, source=source, patient_key=patient_key_of(fields.patient_ids, priority),
        event_id=adt_event_id(fields.sending_facility, fields.control_id), recorded_at=received_at,
    )
    precisions = fields.precisions
    payload.update(
        trigger=fields.trigger,
        message_control_id=fields.control_id,
        sending_application=fields.sending_application or None,
        sending_facility=fields.sending_facility,
        hl7_version=fields.version or None,
        message_time=fields.message_time,
        patient_ids=fields.patient_ids,
        prior_patient_ids=fields.prior_patient_ids,
        patient_class=fields.patient_class,
        location=fields.location,
        prior_location=fields.prior_location,
        attending=fields.attending,
        visit_number=fields.visit_number,
        admit_time=fields.admit_time,
        discharge_time=fields.discharge_time,
        discharge_disposition=fields.discharge_disposition,
        diagnoses=fields.diagnoses,
        scope=assessment.scope,
        occurred_at_precision=assessment.occurred_precision,
        occurred_at_source=assessment.occurred_source,
        admit_time_precision=precisions.get("admit_time") if fields.admit_time else None,
        discharge_time_precision=precisions.get("discharge_time") if fields.discharge_time else None,
        cleared=fields.nulls,
        warnings=tuple(w.model() for w in assessment.warnings),
        raw=raw,
    )
    return build_event(payload)


# --------------------------------------------------------------------------- JSON ingest


class AdtJsonIn(Model):
    """A JSON ADT payload (HTTP ingest): the canonical fields without the envelope.

    Naive date-times are read in the feed's time zone. ``event_time`` falls back like HL7's.
    """

    trigger: TriggerV2
    message_control_id: str = Field(min_length=1, max_length=199)
    sending_facility: str = Field(min_length=1, max_length=64)
    sending_application: str | None = Field(default=None, max_length=64)
    hl7_version: str | None = Field(default=None, max_length=8, description="None unless the feed says")
    event_time: datetime | None = None
    message_time: datetime | None = None
    patient_ids: tuple[PatientIdentifier, ...] = Field(min_length=1)
    prior_patient_ids: tuple[PatientIdentifier, ...] = ()
    patient_class: str | None = Field(default=None, max_length=64)
    location: Location | None = None
    prior_location: Location | None = None
    attending: Clinician | None = None
    visit_number: str | None = Field(default=None, max_length=64)
    admit_time: datetime | None = None
    discharge_time: datetime | None = None
    discharge_disposition: str | None = Field(default=None, max_length=64)
    diagnoses: tuple[Diagnosis, ...] = ()


def _aware(dt: datetime | None, tz: tzinfo) -> datetime | None:
    if dt is None or dt.tzinfo is not None:
        return dt
    return dt.replace(tzinfo=tz)


def adt_event_from_json(
    payload: Mapping[str, Any] | bytes | str, *, received_at: datetime, default_tz: tzinfo, source: str,
) -> AdtEventV2:
    """JSON ADT → ``AdtEventV2``; raises ``InvalidEvent`` with field paths (never values)."""
    try:
        if isinstance(payload, (bytes, str)):
            raw = payload.decode("utf-8") if isinstance(payload, bytes) else payload
            data = json.loads(raw)
        else:
            data = dict(payload)
            raw = json.dumps(data, default=str, sort_keys=True)
    except (ValueError, RecursionError):  # also too-deep nesting and integers too long to convert
        raise InvalidEvent("body is not UTF-8 JSON") from None
    if not isinstance(data, dict):
        raise InvalidEvent("body is not a JSON object")
    try:
        src = AdtJsonIn.model_validate(data)
    except ValidationError as exc:
        raise InvalidEvent(describe_validation_error(exc)) from None
    times = {name: _aware(getattr(src, name), default_tz)
             for name in ("event_time", "message_time", "admit_time", "discharge_time")}
    occurred = event_time_of(src.trigger, times["event_time"], times["admit_time"], times["discharge_time"],
                             times["message_time"])
    if occurred is None:
        raise InvalidEvent("no event time: event_time, admit_time, discharge_time and message_time are all empty",
                           field="event_time")
    body = src.model_dump(exclude={"event_time"})
    body.update(times)
    del body["event_time"]
    out = AdtEventV2.envelope(
        occurred_at=occurred, source=source, patient_key=patient_key_of(src.patient_ids),
        event_id=adt_event_id(src.sending_facility, src.message_control_id), recorded_at=received_at,
    )
    out.update(body, raw=raw, occurred_at_source="json",
               scope="patient" if src.trigger in PATIENT_LEVEL_TRIGGERS else "visit")
    try:
        return AdtEventV2.model_validate(out)
    except ValidationError as exc:  # pragma: no cover - AdtJsonIn mirrors the contract's limits
        raise InvalidEvent(describe_validation_error(exc)) from None
