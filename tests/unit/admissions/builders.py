"""Test data: HL7 ADT messages and the events, rosters and states built from them."""

from __future__ import annotations

import itertools
import uuid
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from shared.events import AdtEventV1, EligibilitySpan, MemberRosterV1, MrnXref

from services.admissions.domain.adt_event import to_adt_event
from services.admissions.domain.validation import inspect

TZ = ZoneInfo("America/New_York")
NOW = datetime(2026, 3, 2, 19, 5, 1, tzinfo=timezone.utc)
_seq = itertools.count(1)


def hl7_message(
    trigger: str = "A01", *, control_id: str | None = None, facility: str = "MERCY", version: str = "2.5.1",
    message_type: str = "ADT", event_time: str = "20260302140500", mrn: str = "100234", authority: str = "MERCY",
    patient_class: str = "I", visit: str = "V88812", location: str = "4W^412^A^MERCY", admit: str = "",
    discharge: str = "", disposition: str = "", diagnoses: tuple[str, ...] = ("J18.9^Pneumonia^I10",),
    prior_mrn: str = "", msh15: str = "", msh16: str = "", prior_location: str = "", sep: str = "\r",
    message_time: str | None = None,
) -> str:
    control_id = control_id or f"MSG{next(_seq):06d}"
    pv1 = ["PV1", "1", patient_class, location, "", "", prior_location, "1922334455^Osler^William"] + [""] * 11
    pv1 += [visit] + [""] * 16 + [disposition] + [""] * 7 + [admit, discharge]
    assert pv1[19] == visit and pv1[36] == disposition and pv1[44] == admit and pv1[45] == discharge
    segs = [
        f"MSH|^~\\&|EPICADT|{facility}|CCP|CCP|{event_time if message_time is None else message_time}||{message_type}^{trigger}^ADT_{trigger}|{control_id}|P|{version}"
        f"|||{msh15}|{msh16}",
        f"EVN|{trigger}|{event_time}",
        f"PID|1||{mrn}^^^{authority}^MR||Example^Ada||19580314|F",
    ]
    if prior_mrn:
        segs.append(f"MRG|{prior_mrn}^^^{authority}^MR")
    segs.append("|".join(pv1))
    segs += [f"DG1|{i}||{dx}||20260302|A" for i, dx in enumerate(diagnoses, 1)]
    return sep.join(segs)


def adt(trigger: str = "A01", at: datetime | str = "20260302140500", **kw) -> AdtEventV1:
    """An event through the real HL7 path (reader → validation → mapping)."""
    stamp = at if isinstance(at, str) else at.strftime("%Y%m%d%H%M%S")
    raw = hl7_message(trigger, event_time=stamp, **kw)
    ins = inspect(raw, TZ)
    assert ins.ok, [i.describe() for i in ins.issues]
    event, issues = to_adt_event(ins.fields, raw=ins.message.text, received_at=NOW, source="mllp:test")
    assert event is not None, issues
    return event


def roster(member_id: str = "M000001", *, mrn: str = "100234", authority: str = "MERCY",
           start: date = date(2026, 1, 1), end: date | None = None, status: str = "active") -> MemberRosterV1:
    return MemberRosterV1(
        **MemberRosterV1.envelope(occurred_at=NOW, source="test", member_id=member_id, event_id=uuid.uuid4()),
        given_name="Ada", family_name="Example", birth_date=date(1958, 3, 14), sex="F",
        mrns=(MrnXref(mrn=mrn, assigning_authority=authority),), pcp_practice_id="P001", pcp_npi="1234567893",
        hospitalist_group="HG-NORTH", pod="pod-east", contract_id="MMO-2026", program="medicare-advantage",
        eligibility=(EligibilitySpan(start=start, end=end),), status=status,
    )


def ts(day: int, hour: int = 10, month: int = 3) -> str:
    return (datetime(2026, month, 1, hour) + timedelta(days=day - 1)).strftime("%Y%m%d%H%M%S")


def apply_all(state, events, roster=None, now=NOW):
    """Apply ADT events in the given order; returns the final state and everything published."""
    from services.admissions.domain.reconcile import apply_adt

    out_events = []
    for e in events:
        out = apply_adt(state, e, roster=roster, now=now)
        state = out.state
        out_events += out.events
    return state, out_events


def kinds(events) -> list[str]:
    return [e.event_type for e in events]
