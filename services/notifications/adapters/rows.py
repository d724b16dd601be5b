"""Rows <-> domain values."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from ..domain.filters import Filters
from ..domain.model import Audience, Member, Notification, Span, TaskFacts
from ..domain.retry import RetryPolicy
from ..domain.subscription import Hl7Options, Subscription


def member_row(m: Member) -> dict[str, Any]:
    return {"member_id": m.member_id, "practice_id": m.practice_id, "contract_id": m.contract_id,
            "hospitalist_group": m.hospitalist_group, "program": m.program, "pod": m.pod, "status": m.status,
            "as_of": m.as_of,
            "body": {"given_name": m.given_name, "family_name": m.family_name,
                     "birth_date": m.birth_date.isoformat() if m.birth_date else None, "sex": m.sex,
                     "pcp_npi": m.pcp_npi, "eligibility": [[s.start.isoformat(), s.end.isoformat() if s.end else None]
                                                           for s in m.eligibility],
                     "mrns": list(m.mrns)}}


def member_of(r) -> Member:
    b = r.body
    return Member(
        member_id=r.member_id, practice_id=r.practice_id, contract_id=r.contract_id,
        hospitalist_group=r.hospitalist_group, program=r.program, pod=r.pod, status=r.status, as_of=r.as_of,
        given_name=b.get("given_name") or "", family_name=b.get("family_name") or "",
        birth_date=date.fromisoformat(b["birth_date"]) if b.get("birth_date") else None, sex=b.get("sex") or "U",
        pcp_npi=b.get("pcp_npi"),
        eligibility=tuple(Span(date.fromisoformat(s), date.fromisoformat(e) if e else None)
                          for s, e in b.get("eligibility") or ()),
        mrns=tuple(b.get("mrns") or ()))


def task_of(r) -> TaskFacts:
    b = r.body
    return TaskFacts(task_id=r.task_id, member_id=r.member_id, kind=b["kind"], status=r.status, queue=b["queue"],
                     reason_key=b["reason_key"], version=b.get("version", 1), due_date=r.due_date,
                     practice_id=b.get("practice_id"), contract_id=b.get("contract_id"), assignee=b.get("assignee"),
                     updated_at=r.updated_at, overdue_notified_for=r.overdue_notified_for)


def task_row(t: TaskFacts) -> dict[str, Any]:
    return {"task_id": t.task_id, "member_id": t.member_id, "status": t.status, "due_date": t.due_date,
            "overdue_notified_for": t.overdue_notified_for, "updated_at": t.updated_at, "body": t.as_dict()}


def subscription_of(r) -> Subscription:
    c = r.config
    return Subscription(
        id=r.id, channel=r.channel, topics=tuple(c["topics"]), endpoint=r.endpoint,
        filters=Filters.from_dict(c.get("filters")), content=c.get("content", "id-only"), status=r.status,
        status_reason=r.status_reason, name=c.get("name", ""), practice_id=r.practice_id,
        hospitalist_group=r.hospitalist_group, heartbeat_period_s=c.get("heartbeat_period_s"),
        timeout_s=c.get("timeout_s", 10.0), max_count=c.get("max_count", 1), max_in_flight=c.get("max_in_flight", 32),
        retry=RetryPolicy.from_dict(c.get("retry")), end=r.end_at,
        hl7=Hl7Options.from_dict(c["hl7"]) if c.get("hl7") else None, events_count=r.events_count,
        version=r.version, created_by=r.created_by, created_at=r.created_at, updated_at=r.updated_at)


def subscription_config(s: Subscription) -> dict[str, Any]:
    return {"topics": list(s.topics), "filters": s.filters.as_dict(), "content": s.content, "name": s.name,
            "heartbeat_period_s": s.heartbeat_period_s, "timeout_s": s.timeout_s, "max_count": s.max_count,
            "max_in_flight": s.max_in_flight, "retry": s.retry.as_dict(),
            "hl7": s.hl7.as_dict() if s.hl7 else None}


def notification_row(n: Notification, now) -> dict[str, Any]:
    return {"event_id": str(n.event_id), "topic": n.topic, "member_id": n.member_id, "occurred_at": n.occurred_at,
            "recorded_at": n.recorded_at, "source_event_id": str(n.source_event_id), "focus_type": n.focus_type,
            "focus_id": n.focus_id, "audience": n.audience.as_dict(), "facts": n.facts, "hl7": n.hl7,
            "created_at": now}


def notification_of(r) -> Notification:
    return Notification(event_id=uuid.UUID(r.event_id), topic=r.topic, member_id=r.member_id,
                        occurred_at=r.occurred_at, recorded_at=r.recorded_at,
                        source_event_id=uuid.UUID(r.source_event_id), audience=Audience.from_dict(r.audience),
                        focus_type=r.focus_type, focus_id=r.focus_id, facts=r.facts, hl7=r.hl7)
