"""Accepted ADT input → the canonical ``shared.events.AdtEventV1``.

- ``event_time``: EVN-2, else PV1-45 (A03) / PV1-44, else MSH-7.
- ``patient_key``: ``<authority>|<id>`` of the first identifier of type MR, else the first.
- ``event_id``: deterministic from (sending facility, MSH-10), so a message that slips past
  the gateway's duplicate check twice still carries one id, which the worker dedupes.
- Values the event contract refuses (too long, ...) become 102 issues located in the message.

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
from shared.events import AdtEventV1, Clinician, Diagnosis, Location, Model, PatientIdentifier, derive_id
from shared.events.adt import Trigger

from .adt_fields import AdtFields
from .hl7_errors import DATA_TYPE_ERROR, REQUIRED_FIELD_MISSING, Hl7Issue

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


def patient_key_of(ids: tuple[Mapping[str, Any], ...] | tuple[PatientIdentifier, ...]) -> str | None:
    """``<authority>|<id>`` of the first MR identifier, else of the first identifier."""
    if not ids:
        return None
    chosen = ids[0]
    for ident in ids:
        if _get(ident, "id_type") == "MR":
            chosen = ident
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


def build_event(payload: dict[str, Any]) -> tuple[AdtEventV1 | None, list[Hl7Issue]]:
    """Validate an assembled payload against the contract; failures become located issues."""
    try:
        return AdtEventV1.model_validate(payload), []
    except ValidationError as exc:
        issues = [_issue_for(tuple(e.get("loc", ())), e.get("msg", "invalid"))
                  for e in exc.errors(include_input=False, include_url=False)]
        return None, issues[:10]


def to_adt_event(
    fields: AdtFields, *, raw: str, received_at: datetime, source: str,
) -> tuple[AdtEventV1 | None, list[Hl7Issue]]:
    """Map validated fields to the event (``raw`` is the message, segments joined by CR)."""
    occurred = event_time_of(fields.trigger, fields.event_time, fields.admit_time, fields.discharge_time,
                             fields.message_time)
    if occurred is None:
        return None, [Hl7Issue(REQUIRED_FIELD_MISSING, "no event time: EVN-2, PV1-44/45 and MSH-7 are all empty",
                               "EVN", 2)]
    payload = AdtEventV1.envelope(
        occurred_at=occurred, source=source, patient_key=patient_key_of(fields.patient_ids),
        event_id=adt_event_id(fields.sending_facility, fields.control_id), recorded_at=received_at,
    )
    payload.update(
        trigger=fields.trigger,
        message_control_id=fields.control_id,
        sending_application=fields.sending_application or None,
        sending_facility=fields.sending_facility,
        hl7_version=fields.version,
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
        raw=raw,
    )
    return build_event(payload)


# --------------------------------------------------------------------------- JSON ingest


class AdtJsonIn(Model):
    """A JSON ADT payload (HTTP ingest): the canonical fields without the envelope.

    Naive date-times are read in the feed's time zone. ``event_time`` falls back like HL7's.
    """

    trigger: Trigger
    message_control_id: str = Field(min_length=1, max_length=199)
    sending_facility: str = Field(min_length=1, max_length=64)
    sending_application: str | None = Field(default=None, max_length=64)
    hl7_version: str | None = Field(default=None, max_length=8, description="None unless the feed says")
    event_time: datetime | None = None
    message_time: datetime | None = None
    patient_ids: tuple[PatientIdentifier, ...] = Field(min_length=1)
    prior_patient_ids: tuple[PatientIdentifier, ...] = ()
    patient_class: str | None = Field(default=None, max_length=4)
    location: Location | None = None
    prior_location: Location | None = None
    attending: Clinician | None = None
    visit_number: str | None = Field(default=None, max_length=64)
    admit_time: datetime | None = None
    discharge_time: datetime | None = None
    discharge_disposition: str | None = Field(default=None, max_length=8)
    diagnoses: tuple[Diagnosis, ...] = ()


def _aware(dt: datetime | None, tz: tzinfo) -> datetime | None:
    if dt is None or dt.tzinfo is not None:
        return dt
    return dt.replace(tzinfo=tz)


def adt_event_from_json(
    payload: Mapping[str, Any] | bytes | str, *, received_at: datetime, default_tz: tzinfo, source: str,
) -> AdtEventV1:
    """JSON ADT → ``AdtEventV1``; raises ``InvalidEvent`` with field paths (never values)."""
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
    out = AdtEventV1.envelope(
        occurred_at=occurred, source=source, patient_key=patient_key_of(src.patient_ids),
        event_id=adt_event_id(src.sending_facility, src.message_control_id), recorded_at=received_at,
    )
    out.update(body, raw=raw)
    try:
        return AdtEventV1.model_validate(out)
    except ValidationError as exc:  # pragma: no cover - AdtJsonIn mirrors the contract's limits
        raise InvalidEvent(describe_validation_error(exc)) from None
