"""Use cases of the member's pages: what a signed-in member reads, each read audited.

Every function takes the ``Principal`` and reads only that member's rows; a read writes one
audit row (who, which member, what, when, where) in the same transaction, and the caller
commits it before answering.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from ..domain.access import Principal, require_own
from ..domain.errors import NotFound
from ..domain.model import CareTask, Clinician, Encounter, Gap, Member, Message, Practice, Reply
from .ports import Directory, UnitOfWork

MEMBER_ROLE = "member"
SHOWN_GAP_STATUSES = ("open", "due_soon")
HIDDEN_TASK_KINDS = ("message",)          # shown in the message thread instead


@dataclass(frozen=True)
class CareTeam:
    practice: Practice
    pcp: Clinician | None
    coordinator_name: str | None
    coordinator_role: str | None


@dataclass(frozen=True)
class Overview:
    member: Member
    team: CareTeam
    upcoming: list[CareTask]                 # booked appointments from today on
    encounters: list[Encounter]              # recent hospital stays and ED visits, newest first
    gaps: list[Gap]                          # open (or due again soon), soonest due first
    tasks: list[CareTask]                    # what the care team will do, soonest due first
    unanswered: int = 0
    replies: int = 0


@dataclass(frozen=True)
class Thread:
    message: Message
    replies: list[Reply] = field(default_factory=list)
    follow_ups: list[Message] = field(default_factory=list)
    task: CareTask | None = None


def audit_read(uow: UnitOfWork, principal: Principal, endpoint: str, detail: str) -> None:
    uow.audit.record(user_id=principal.audit_user, role=MEMBER_ROLE, member_id=principal.member_id, action="read",
                     endpoint=endpoint, detail=f"{detail} via={principal.via}"[:500])


def signed_in_member(uow: UnitOfWork, principal: Principal) -> Member:
    member = uow.members.get(principal.member_id)
    if member is None:
        raise NotFound("member")
    return member


def care_team(uow: UnitOfWork, directory: Directory, member: Member, tasks: list[CareTask]) -> CareTeam:
    """The practice and PCP from the roster; the coordinator is whoever holds the member's most
    recent task, the quality nurse first, then a care navigator, then anyone on the care team."""
    rank = {"quality_nurse": 2, "care_navigator": 1}
    holders = sorted((t for t in tasks if t.assignee and t.status != "cancelled"),
                     key=lambda t: (rank.get(t.role, 0), t.occurred_at), reverse=True)
    lead = holders[0] if holders else None
    return CareTeam(directory.practice(member.pcp_practice_id), directory.clinician(member.pcp_npi),
                    directory.staff_name(lead.assignee) if lead else None, lead.role if lead else None)


def overview(uow: UnitOfWork, directory: Directory, principal: Principal, endpoint: str, today: date,
             recent_days: int = 365) -> Overview:
    with uow:
        view = _overview(uow, directory, principal, endpoint, today, recent_days)
        uow.commit()
    return view


def _overview(uow: UnitOfWork, directory: Directory, principal: Principal, endpoint: str, today: date,
              recent_days: int) -> Overview:
    member = signed_in_member(uow, principal)
    tasks = uow.tasks.of_member(member.member_id)
    since = today - timedelta(days=recent_days)
    encounters = sorted(
        (e for e in uow.encounters.of_member(member.member_id)
         if e.status != "cancelled" and (e.status == "in_progress" or _day(e.ended_at or e.started_at) >= since)),
        key=lambda e: e.started_at or e.ended_at or e.updated_at, reverse=True)
    gaps = sorted((g for g in uow.gaps.of_member(member.member_id) if g.status in SHOWN_GAP_STATUSES),
                  key=lambda g: (g.status != "open", g.due_date or g.period_end, g.measure_id))
    upcoming = sorted((t for t in tasks if t.status == "scheduled" and t.appointment_date
                       and t.appointment_date >= today), key=lambda t: t.appointment_date)  # type: ignore[arg-type, return-value]
    plan = sorted((t for t in tasks if t.kind not in HIDDEN_TASK_KINDS and t.status in ("open", "claimed", "in_progress",
                                                                                         "unable_to_reach")),
                  key=lambda t: (t.due_date or date.max, str(t.task_id)))
    messages = uow.messages.of_member(member.member_id)
    replies = uow.replies.of_member(member.member_id)
    answered = {r.message_id for r in replies}
    view = Overview(member, care_team(uow, directory, member, tasks), upcoming, encounters, gaps, plan,
                    unanswered=sum(1 for m in messages if m.message_id not in answered), replies=len(replies))
    audit_read(uow, principal, endpoint, f"overview encounters={len(encounters)} gaps={len(gaps)} "
                                         f"tasks={len(plan)} appointments={len(upcoming)}")
    return view


def threads(uow: UnitOfWork, principal: Principal, endpoint: str) -> list[Thread]:
    """The member's conversations, newest activity first (a follow-up joins its first message)."""
    with uow:
        out = _threads(uow, principal)
        audit_read(uow, principal, endpoint, f"messages threads={len(out)}")
        uow.commit()
    return out


def _threads(uow: UnitOfWork, principal: Principal) -> list[Thread]:
    member = signed_in_member(uow, principal)
    messages = uow.messages.of_member(member.member_id)
    replies = uow.replies.of_member(member.member_id)
    tasks = {t.reason_key: t for t in uow.tasks.of_member(member.member_id) if t.kind == "message"}
    return _assemble(messages, replies, tasks)


def thread(uow: UnitOfWork, principal: Principal, message_id: uuid.UUID, endpoint: str) -> Thread:
    """One conversation; a message of another member answers as one that does not exist."""
    with uow:
        first = uow.messages.get(message_id)
        require_own(principal, first.member_id if first else None, "message")
        for t in _threads(uow, principal):
            if t.message.message_id == message_id or any(f.message_id == message_id for f in t.follow_ups):
                audit_read(uow, principal, endpoint, f"message thread replies={len(t.replies)}")
                uow.commit()
                return t
    raise NotFound("message")  # pragma: no cover - the message is in its own thread


def _assemble(messages: list[Message], replies: list[Reply], tasks: dict[str, CareTask]) -> list[Thread]:
    by_id = {m.message_id: m for m in messages}
    reply_by_id = {r.reply_id: r for r in replies}

    def root(m: Message) -> Message:
        seen = set()
        while m.in_reply_to is not None and m.message_id not in seen:
            seen.add(m.message_id)
            reply = reply_by_id.get(m.in_reply_to)
            parent = by_id.get(reply.message_id) if reply else None
            if parent is None:
                break
            m = parent
        return m

    groups: dict[uuid.UUID, list[Message]] = {}
    for m in sorted(messages, key=lambda m: m.sent_at):
        groups.setdefault(root(m).message_id, []).append(m)
    out = []
    for root_id, group in groups.items():
        ids = {m.message_id for m in group}
        rs = sorted((r for r in replies if r.message_id in ids), key=lambda r: r.sent_at)
        first = by_id[root_id]
        task = tasks.get(str(group[-1].message_id)) or tasks.get(str(root_id))
        out.append(Thread(first, rs, [m for m in group if m.message_id != root_id], task))
    return sorted(out, key=lambda t: _last_activity(t), reverse=True)


def _last_activity(t: Thread) -> datetime:
    times = [t.message.sent_at] + [r.sent_at for r in t.replies] + [m.sent_at for m in t.follow_ups]
    return max(times)


def _day(moment: datetime | None) -> date:
    return moment.date() if moment else date.min
