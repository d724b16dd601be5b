"""The SQL side of the ports (``app/ports.py``) for one session: the crosswalk and roster
snapshots, patient states, the encounter/census read model, alerts, the audit log and the
feed-quirks report. Batch-shaped: one query per table for a whole batch (IN-lists in
``shared.db.chunks``), bulk writes.

Storage choices live here, not in the use cases: a ``PatientState`` and a roster snapshot are
stored as JSON text, locations and diagnoses as JSON columns, times in UTC (SQLite keeps no
offset), an alert's ``details`` as the published alert with its updates applied.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import and_, bindparam, delete, false, func, insert, or_, select, tuple_, update
from sqlalchemy.orm import Session

from shared.audit import record_access
from shared.db import chunks, upsert
from shared.events import AlertRaisedV1, MemberRosterV1

from ..app.ports import Pair, Record
from ..app.scope import Scope
from ..domain.patient_state import PatientState, state_from_dict, state_to_dict
from . import tables
from .tables import alerts, census, crosswalk, dumps, encounters, members, merged_patients, patient_states, utc


def _as_utc(dt: datetime | None) -> datetime | None:
    """Stored in UTC (SQLite keeps no offset: a local time would read back wrong)."""
    return dt.astimezone(timezone.utc) if dt is not None else None


def _json(value: Any) -> str | None:
    """A model (or a tuple of models) as JSON text."""
    if value is None:
        return None
    if isinstance(value, tuple):
        return dumps([m.model_dump(mode="json") for m in value])
    return dumps(value.model_dump(mode="json"))


def _loads(text: str | None) -> Any:
    return json.loads(text) if text else None


def _scope_condition(scope: Scope, group_col, pod_col):
    """The rows a scope may see (None: all of them)."""
    if scope.everything:
        return None
    parts = []
    if scope.groups:
        parts.append(group_col.in_(sorted(scope.groups)))
    if scope.pods:
        parts.append(pod_col.in_(sorted(scope.pods)))
    return or_(*parts) if parts else false()


class SqlCrosswalk:
    def __init__(self, session: Session) -> None:
        self.session = session

    def members_of(self, pairs: Iterable[Pair]) -> dict[Pair, tuple[str, MemberRosterV1 | None]]:
        keys = list(dict.fromkeys(pairs))
        out: dict[Pair, tuple[str, MemberRosterV1 | None]] = {}
        parsed: dict[str, MemberRosterV1 | None] = {}
        joined = crosswalk.outerjoin(members, members.c.member_id == crosswalk.c.member_id)
        for part in chunks(keys, 400):
            rows = self.session.execute(
                select(crosswalk.c.assigning_authority, crosswalk.c.mrn, crosswalk.c.member_id, members.c.roster)
                .select_from(joined).where(tuple_(crosswalk.c.assigning_authority, crosswalk.c.mrn).in_(part)))
            for authority, mrn, member, text in rows:
                if member not in parsed:
                    parsed[member] = MemberRosterV1.model_validate_json(text) if text else None
                out[(authority, mrn)] = (member, parsed[member])
        return out

    def rosters(self, member_ids: Iterable[str]) -> dict[str, MemberRosterV1]:
        out: dict[str, MemberRosterV1] = {}
        for part in chunks(list(dict.fromkeys(member_ids))):
            rows = self.session.execute(select(members.c.member_id, members.c.roster)
                                        .where(members.c.member_id.in_(part)))
            out.update({m: MemberRosterV1.model_validate_json(text) for m, text in rows if text})
        return out

    def save_rosters(self, rosters: Sequence[MemberRosterV1], at: datetime) -> None:
        if not rosters:
            return
        rows, xwalk = [], {}
        for r in rosters:
            rows.append({"member_id": r.member_id, "pcp_practice_id": r.pcp_practice_id,
                         "hospitalist_group": r.hospitalist_group, "pod": r.pod, "status": r.status,
                         "roster": r.model_dump_json(), "updated_at": at})
            for x in r.mrns:
                xwalk[(x.assigning_authority, x.mrn)] = {"assigning_authority": x.assigning_authority, "mrn": x.mrn,
                                                         "member_id": r.member_id}
        upsert(self.session, members, rows, ["member_id"])
        self.session.execute(delete(crosswalk).where(crosswalk.c.member_id.in_([r.member_id for r in rosters])))
        upsert(self.session, crosswalk, list(xwalk.values()), ["assigning_authority", "mrn"])

    def merged_into(self, patient_keys: Iterable[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for part in chunks(list(dict.fromkeys(patient_keys))):
            rows = self.session.execute(select(merged_patients.c.patient_key, merged_patients.c.owner)
                                        .where(merged_patients.c.patient_key.in_(part)))
            out.update({r[0]: r[1] for r in rows})
        return out

    def save_merged(self, merged: Mapping[str, str], at: datetime) -> None:
        upsert(self.session, merged_patients, [{"patient_key": k, "owner": o, "merged_at": at}
                                               for k, o in sorted(merged.items())], ["patient_key"])

    def scope_of_member(self, member_id: str) -> tuple[str | None, str | None] | None:
        row = self.session.execute(select(members.c.hospitalist_group, members.c.pod)
                                   .where(members.c.member_id == member_id)).first()
        return (row[0], row[1]) if row else None


class SqlPatientStates:
    def __init__(self, session: Session) -> None:
        self.session = session

    def load(self, owners: Iterable[str]) -> dict[str, tuple[PatientState, int]]:
        out: dict[str, tuple[PatientState, int]] = {}
        for part in chunks(sorted(set(owners))):  # sorted: one lock order for every worker
            rows = self.session.execute(
                select(patient_states.c.owner, patient_states.c.state, patient_states.c.version)
                .where(patient_states.c.owner.in_(part)).order_by(patient_states.c.owner).with_for_update())
            out.update({owner: (state_from_dict(json.loads(text)), version) for owner, text, version in rows})
        return out

    def save(self, new: Sequence[PatientState], changed: Sequence[tuple[PatientState, int]],
             gone: Sequence[str], at: datetime) -> None:
        if new:
            self.session.execute(insert(patient_states), [
                {"owner": s.owner, "member_id": s.member_id, "state": dumps(state_to_dict(s)), "version": 1,
                 "updated_at": at} for s in new])
        if changed:
            stmt = (update(patient_states).where(patient_states.c.owner == bindparam("b_owner"))
                    .values(state=bindparam("state"), version=bindparam("version"), member_id=bindparam("member_id"),
                            updated_at=bindparam("updated_at")))
            self.session.execute(stmt, [{"b_owner": s.owner, "state": dumps(state_to_dict(s)), "version": version,
                                         "member_id": s.member_id, "updated_at": at} for s, version in changed])
        if gone:
            self.session.execute(delete(patient_states).where(patient_states.c.owner.in_(list(gone))))

    def unmatched(self) -> int:
        return int(self.session.execute(select(func.count()).select_from(patient_states)
                                         .where(patient_states.c.member_id.is_(None))).scalar_one())


class SqlEncounters:
    def __init__(self, session: Session) -> None:
        self.session = session

    def save(self, encounter_rows: Sequence[Record], gone_encounters: Sequence[tuple[str, str]],
             census_rows: Sequence[Record], gone_census: Sequence[tuple[str, str]]) -> None:
        if gone_encounters:
            self.session.execute(delete(encounters).where(
                tuple_(encounters.c.owner, encounters.c.encounter_key).in_(list(gone_encounters))))
        if encounter_rows:
            upsert(self.session, encounters, [
                {**r, "admit_time": _as_utc(r["admit_time"]), "discharge_time": _as_utc(r["discharge_time"]),
                 "last_event_time": _as_utc(r["last_event_time"]), "location": _json(r["location"]),
                 "diagnoses": _json(r["diagnoses"])} for r in encounter_rows], ["owner", "encounter_key"])
        if gone_census:
            self.session.execute(delete(census).where(
                tuple_(census.c.member_id, census.c.encounter_key).in_(list(gone_census))))
        if census_rows:
            upsert(self.session, census, [{**r, "location": _json(r["location"]), "since": _as_utc(r["since"])}
                                          for r in census_rows], ["member_id", "encounter_key"])

    def of_member(self, member_id: str) -> list[Record]:
        q = (select(encounters).where(encounters.c.member_id == member_id)
             .order_by(encounters.c.admit_time.desc().nulls_last(), encounters.c.encounter_key))
        return [{
            "encounter_key": r["encounter_key"], "facility": r["facility"], "visit_number": r["visit_number"],
            "status": r["status"], "patient_class": r["patient_class"], "admit_time": utc(r["admit_time"]),
            "discharge_time": utc(r["discharge_time"]), "discharge_disposition": r["disposition"],
            "length_of_stay_days": r["length_of_stay_days"], "location": _loads(r["location"]),
            "diagnoses": _loads(r["diagnoses"]) or [], "last_event_time": utc(r["last_event_time"]),
        } for r in self.session.execute(q).mappings()]

    def census_by_facility(self) -> list[tuple[str, int]]:
        rows = self.session.execute(select(census.c.facility, func.count()).group_by(census.c.facility)
                                    .order_by(census.c.facility))
        return [(r[0], int(r[1])) for r in rows]

    def census_by_practice(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        rows = self.session.execute(select(census.c.practice_id, census.c.facility, func.count())
                                    .group_by(census.c.practice_id, census.c.facility)
                                    .order_by(census.c.practice_id, census.c.facility))
        for practice, facility, n in rows:
            out.setdefault(practice or "(none)", {})[facility] = int(n)
        return out

    def census_members(self, facility: str, scope: Scope) -> list[Record]:
        q = select(census).where(census.c.facility == facility).order_by(census.c.since, census.c.member_id)
        cond = _scope_condition(scope, census.c.hospitalist_group, census.c.pod)
        if cond is not None:
            q = q.where(cond)
        return [{**dict(r), "location": _loads(r["location"]), "since": utc(r["since"])}
                for r in self.session.execute(q).mappings()]


ALERT_CHANGES = ("status", "readmission", "updated_at", "retract_reason", "details")


class SqlAlerts:
    def __init__(self, session: Session) -> None:
        self.session = session

    def load(self, alert_ids: Iterable[str]) -> dict[str, Record]:
        out: dict[str, Record] = {}
        for part in chunks(list(dict.fromkeys(alert_ids))):
            for r in self.session.execute(select(alerts).where(alerts.c.alert_id.in_(part))).mappings():
                out[r["alert_id"]] = {**r, "details": json.loads(r["details"])}
        return out

    def save(self, new: Sequence[Record], changed: Sequence[Record]) -> None:
        if new:
            upsert(self.session, alerts, [
                {**r, "event_time": _as_utc(r["event_time"]), "received_at": _as_utc(r["received_at"]),
                 "details": _details(r["details"])} for r in new], ["alert_id"])
        if changed:
            stmt = (update(alerts).where(alerts.c.alert_id == bindparam("b_alert_id"))
                    .values({c: bindparam(c) for c in ALERT_CHANGES}))
            self.session.execute(stmt, [{**{c: r[c] for c in ALERT_CHANGES}, "details": _details(r["details"]),
                                         "b_alert_id": r["alert_id"]} for r in changed])

    def inbox(self, scope: Scope, *, status: str, group: str | None, limit: int,
              before: datetime | None) -> list[Record]:
        q = select(alerts).order_by(alerts.c.raised_at.desc(), alerts.c.alert_id).limit(limit)
        cond = _scope_condition(scope, alerts.c.hospitalist_group, alerts.c.pod)
        if cond is not None:
            q = q.where(cond)
        if group is not None:
            q = q.where(alerts.c.hospitalist_group == group)
        if status == "open":
            q = q.where(alerts.c.status == "open", alerts.c.acknowledged_at.is_(None))
        elif status == "acknowledged":
            q = q.where(alerts.c.status == "open", alerts.c.acknowledged_at.is_not(None))
        elif status == "retracted":
            q = q.where(alerts.c.status == "retracted")
        if before is not None:
            q = q.where(alerts.c.raised_at < before)
        return [_alert_view(r) for r in self.session.execute(q).mappings()]

    def get(self, alert_id: str) -> Record | None:
        row = self.session.execute(select(alerts).where(alerts.c.alert_id == alert_id)).mappings().first()
        return _alert_view(row) if row else None

    def acknowledge(self, alert_id: str, user_id: str, at: datetime) -> None:
        self.session.execute(update(alerts).where(and_(alerts.c.alert_id == alert_id,
                                                       alerts.c.acknowledged_at.is_(None)))
                             .values(acknowledged_by=user_id, acknowledged_at=at))


def _details(details: AlertRaisedV1 | dict[str, Any]) -> str:
    """The alert as raised, or as a dict once updates were applied to it."""
    return details.model_dump_json() if isinstance(details, AlertRaisedV1) else dumps(details)


def _alert_view(r: Any) -> Record:
    details = _loads(r["details"]) or {}
    return {
        "alert_id": r["alert_id"], "member_id": r["member_id"], "kind": r["kind"], "status": r["status"],
        "facility": r["facility"], "encounter_key": r["encounter_key"], "hospitalist_group": r["hospitalist_group"],
        "pod": r["pod"], "pcp_practice_id": r["pcp_practice_id"], "readmission": bool(r["readmission"]),
        "event_time": utc(r["event_time"]), "raised_at": utc(r["raised_at"]), "updated_at": utc(r["updated_at"]),
        "retract_reason": r["retract_reason"], "acknowledged_by": r["acknowledged_by"],
        "acknowledged_at": utc(r["acknowledged_at"]),
        "patient_class": details.get("patient_class"), "trigger": details.get("trigger"),
        "location": details.get("location"), "attending": details.get("attending"),
        "diagnoses": details.get("diagnoses") or [], "pcp_npi": details.get("pcp_npi"),
        "program": details.get("program"), "contract_id": details.get("contract_id"),
        "admits_30d": details.get("admits_30d", 0), "admits_90d": details.get("admits_90d", 0),
        "ed_visits_30d": details.get("ed_visits_30d", 0), "ed_visits_90d": details.get("ed_visits_90d", 0),
    }


class SqlAudit:
    def __init__(self, session: Session) -> None:
        self.session = session

    def record(self, *, user_id: str, role: str, member_ids: Iterable[str | None], action: str, endpoint: str,
               detail: str | None = None) -> None:
        record_access(self.session, tables.audit_log, user_id=user_id, role=role, member_ids=member_ids,
                      action=action, endpoint=endpoint, detail=detail)
