"""Reads behind the API: census, the alert inbox, a member's encounters, acknowledgment.

``Scope`` says whose member data a user may see: everything (admin), the members of some
hospitalist groups (hospitalists), or of some nurse pods (supervisors and pod staff).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, false, func, or_, select, update
from sqlalchemy.orm import Session

from shared.auth import User

from .adapters.tables import alerts, census, encounters, members, utc

POD_ROLES = ("supervisor", "nurse", "care_navigator", "social_worker", "dietician")


@dataclass(frozen=True)
class Scope:
    everything: bool = False
    groups: frozenset[str] = frozenset()
    pods: frozenset[str] = frozenset()

    @property
    def empty(self) -> bool:
        return not (self.everything or self.groups or self.pods)

    def allows(self, group: str | None, pod: str | None) -> bool:
        return self.everything or (group is not None and group in self.groups) or (pod is not None and pod in self.pods)

    def where(self, group_col, pod_col):
        if self.everything:
            return None
        parts = []
        if self.groups:
            parts.append(group_col.in_(sorted(self.groups)))
        if self.pods:
            parts.append(pod_col.in_(sorted(self.pods)))
        return or_(*parts) if parts else false()


def scope_of(user: User) -> Scope:
    if user.has("admin"):
        return Scope(everything=True)
    groups = user.hospitalist_groups if user.has("hospitalist") else frozenset()
    pods = user.pods if user.has(*POD_ROLES) else frozenset()
    return Scope(groups=frozenset(groups), pods=frozenset(pods))


def _loads(text: str | None) -> Any:
    return json.loads(text) if text else None


# ---------------------------------------------------------------------- census


def census_by_facility(session: Session) -> list[tuple[str, int]]:
    rows = session.execute(select(census.c.facility, func.count()).group_by(census.c.facility)
                           .order_by(census.c.facility))
    return [(r[0], int(r[1])) for r in rows]


def census_by_practice(session: Session) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    rows = session.execute(select(census.c.practice_id, census.c.facility, func.count())
                           .group_by(census.c.practice_id, census.c.facility)
                           .order_by(census.c.practice_id, census.c.facility))
    for practice, facility, n in rows:
        out.setdefault(practice or "(none)", {})[facility] = int(n)
    return out


def census_members(session: Session, facility: str, scope: Scope) -> list[dict[str, Any]]:
    q = select(census).where(census.c.facility == facility).order_by(census.c.since, census.c.member_id)
    cond = scope.where(census.c.hospitalist_group, census.c.pod)
    if cond is not None:
        q = q.where(cond)
    return [{**dict(r), "location": _loads(r["location"]), "since": utc(r["since"])}
            for r in session.execute(q).mappings()]


# ---------------------------------------------------------------------- alerts

ALERT_STATUSES = ("open", "acknowledged", "retracted", "all")


def _alert_view(r: Any) -> dict[str, Any]:
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


def alert_inbox(session: Session, scope: Scope, *, status: str = "open", group: str | None = None,
                limit: int = 100, before: datetime | None = None) -> list[dict[str, Any]]:
    q = select(alerts).order_by(alerts.c.raised_at.desc(), alerts.c.alert_id).limit(limit)
    cond = scope.where(alerts.c.hospitalist_group, alerts.c.pod)
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
    return [_alert_view(r) for r in session.execute(q).mappings()]


def get_alert(session: Session, alert_id: str) -> dict[str, Any] | None:
    row = session.execute(select(alerts).where(alerts.c.alert_id == alert_id)).mappings().first()
    return _alert_view(row) if row else None


def acknowledge(session: Session, alert_id: str, user_id: str, at: datetime) -> None:
    """First acknowledgment wins; acknowledging again changes nothing."""
    session.execute(update(alerts).where(and_(alerts.c.alert_id == alert_id, alerts.c.acknowledged_at.is_(None)))
                    .values(acknowledged_by=user_id, acknowledged_at=at))


# ---------------------------------------------------------------------- members


def member_scope_row(session: Session, member_id: str) -> tuple[str | None, str | None] | None:
    row = session.execute(select(members.c.hospitalist_group, members.c.pod)
                          .where(members.c.member_id == member_id)).first()
    return (row[0], row[1]) if row else None


def member_encounters(session: Session, member_id: str) -> list[dict[str, Any]]:
    q = (select(encounters).where(encounters.c.member_id == member_id)
         .order_by(encounters.c.admit_time.desc().nulls_last(), encounters.c.encounter_key))
    out = []
    for r in session.execute(q).mappings():
        out.append({
            "encounter_key": r["encounter_key"], "facility": r["facility"], "visit_number": r["visit_number"],
            "status": r["status"], "patient_class": r["patient_class"], "admit_time": utc(r["admit_time"]),
            "discharge_time": utc(r["discharge_time"]), "discharge_disposition": r["disposition"],
            "length_of_stay_days": r["length_of_stay_days"], "location": _loads(r["location"]),
            "diagnoses": _loads(r["diagnoses"]) or [], "last_event_time": utc(r["last_event_time"]),
        })
    return out
