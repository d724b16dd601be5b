"""SQLAlchemy repositories over the portal's tables (the unit of work that binds them: ``unit_of_work.py``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from shared.audit import record_access
from shared.db import insert_ignore, upsert

from ..app.ports import PendingLogin, SessionRecord
from ..domain.model import CareTask, Encounter, Gap, Member, Message, Reply
from . import tables as t


def _uuid(value: str | None) -> uuid.UUID | None:
    return uuid.UUID(value) if value else None


def _str(value: uuid.UUID | None) -> str | None:
    return str(value) if value else None


class _Repo:
    def __init__(self, session: Session) -> None:
        self.s = session

    def _one(self, stmt) -> Any:
        return self.s.execute(stmt).mappings().first()


class SqlMembers(_Repo):
    def get(self, member_id: str) -> Member | None:
        row = self._one(select(t.members).where(t.members.c.member_id == member_id))
        return Member(**row) if row else None

    def put(self, member: Member) -> None:
        upsert(self.s, t.members, [member.__dict__.copy()], ["member_id"])


def _encounter(row) -> Encounter:
    d = dict(row)
    d["alert_id"], d["transition_id"] = _uuid(d["alert_id"]), _uuid(d["transition_id"])
    return Encounter(**d)


class SqlEncounters(_Repo):
    def get(self, member_id: str, encounter_key: str) -> Encounter | None:
        c = t.encounters.c
        row = self._one(select(t.encounters).where(c.member_id == member_id, c.encounter_key == encounter_key))
        return _encounter(row) if row else None

    def by_alert(self, member_id: str, alert_id: uuid.UUID) -> Encounter | None:
        c = t.encounters.c
        row = self._one(select(t.encounters).where(c.alert_id == str(alert_id), c.member_id == member_id))
        return _encounter(row) if row else None

    def by_transition(self, member_id: str, transition_id: uuid.UUID) -> Encounter | None:
        c = t.encounters.c
        row = self._one(select(t.encounters).where(c.transition_id == str(transition_id), c.member_id == member_id))
        return _encounter(row) if row else None

    def put(self, encounter: Encounter) -> None:
        d = encounter.__dict__.copy()
        d["alert_id"], d["transition_id"] = _str(encounter.alert_id), _str(encounter.transition_id)
        upsert(self.s, t.encounters, [d], ["member_id", "encounter_key"])

    def of_member(self, member_id: str) -> list[Encounter]:
        rows = self.s.execute(select(t.encounters).where(t.encounters.c.member_id == member_id)).mappings()
        return [_encounter(r) for r in rows]


class SqlGaps(_Repo):
    def get(self, gap_key: str) -> Gap | None:
        row = self._one(select(t.gaps).where(t.gaps.c.gap_key == gap_key))
        return Gap(**row) if row else None

    def put(self, gap: Gap) -> None:
        upsert(self.s, t.gaps, [gap.__dict__.copy()], ["gap_key"])

    def of_member(self, member_id: str) -> list[Gap]:
        return [Gap(**r) for r in self.s.execute(select(t.gaps).where(t.gaps.c.member_id == member_id)).mappings()]


def _task(row) -> CareTask:
    d = dict(row)
    d["task_id"] = uuid.UUID(d["task_id"])
    return CareTask(**d)


class SqlTasks(_Repo):
    def get(self, task_id: uuid.UUID) -> CareTask | None:
        row = self._one(select(t.care_tasks).where(t.care_tasks.c.task_id == str(task_id)))
        return _task(row) if row else None

    def put(self, task: CareTask) -> None:
        d = task.__dict__.copy()
        d["task_id"] = str(task.task_id)
        upsert(self.s, t.care_tasks, [d], ["task_id"])

    def of_member(self, member_id: str) -> list[CareTask]:
        rows = self.s.execute(select(t.care_tasks).where(t.care_tasks.c.member_id == member_id)).mappings()
        return [_task(r) for r in rows]


def _message(row) -> Message:
    d = dict(row)
    d["message_id"], d["in_reply_to"] = uuid.UUID(d["message_id"]), _uuid(d["in_reply_to"])
    return Message(**d)


class SqlMessages(_Repo):
    def get(self, message_id: uuid.UUID) -> Message | None:
        row = self._one(select(t.messages).where(t.messages.c.message_id == str(message_id)))
        return _message(row) if row else None

    def add(self, message: Message) -> bool:
        if self.get(message.message_id) is not None:
            return False
        d = message.__dict__.copy()
        d["message_id"], d["in_reply_to"] = str(message.message_id), _str(message.in_reply_to)
        insert_ignore(self.s, t.messages, [d])
        return True

    def of_member(self, member_id: str) -> list[Message]:
        rows = self.s.execute(select(t.messages).where(t.messages.c.member_id == member_id)).mappings()
        return [_message(r) for r in rows]


def _reply(row) -> Reply:
    d = dict(row)
    d["reply_id"], d["message_id"], d["task_id"] = (uuid.UUID(d["reply_id"]), uuid.UUID(d["message_id"]),
                                                    _uuid(d["task_id"]))
    return Reply(**d)


class SqlReplies(_Repo):
    def get(self, reply_id: uuid.UUID) -> Reply | None:
        row = self._one(select(t.replies).where(t.replies.c.reply_id == str(reply_id)))
        return _reply(row) if row else None

    def add(self, reply: Reply) -> bool:
        if self.get(reply.reply_id) is not None:
            return False
        d = reply.__dict__.copy()
        d["reply_id"], d["message_id"], d["task_id"] = str(reply.reply_id), str(reply.message_id), _str(reply.task_id)
        insert_ignore(self.s, t.replies, [d])
        return True

    def of_member(self, member_id: str) -> list[Reply]:
        rows = self.s.execute(select(t.replies).where(t.replies.c.member_id == member_id)).mappings()
        return [_reply(r) for r in rows]


class SqlSessions(_Repo):
    def add(self, record: SessionRecord) -> None:
        self.s.execute(insert(t.sessions), [record.__dict__.copy()])

    def get(self, session_hash: str) -> SessionRecord | None:
        row = self._one(select(t.sessions).where(t.sessions.c.session_hash == session_hash))
        return SessionRecord(**row) if row else None

    def touch(self, session_hash: str, at: datetime) -> None:
        self.s.execute(update(t.sessions).where(t.sessions.c.session_hash == session_hash).values(last_seen_at=at))

    def revoke(self, session_hash: str, at: datetime) -> None:
        self.s.execute(update(t.sessions).where(t.sessions.c.session_hash == session_hash)
                       .values(revoked=True, last_seen_at=at))


class SqlAttempts(_Repo):
    def failures_since(self, member_key: str, since: datetime) -> list[datetime]:
        c = t.signin_failures.c
        return [r[0] for r in self.s.execute(select(c.at).where(c.member_key == member_key, c.at >= since))]

    def record_failure(self, member_key: str, at: datetime) -> None:
        self.s.execute(insert(t.signin_failures), [{"member_key": member_key, "at": at}])

    def clear(self, member_key: str) -> None:
        self.s.execute(delete(t.signin_failures).where(t.signin_failures.c.member_key == member_key))


class SqlPendingLogins(_Repo):
    def add(self, pending: PendingLogin) -> None:
        self.s.execute(insert(t.pending_logins), [pending.__dict__.copy()])

    def take(self, state_hash: str) -> PendingLogin | None:
        c = t.pending_logins.c
        row = self.s.execute(delete(t.pending_logins).where(c.state_hash == state_hash)
                             .returning(c.state_hash, c.nonce, c.code_verifier, c.created_at)).mappings().first()
        return PendingLogin(**row) if row else None


class SqlAudit(_Repo):
    def record(self, *, user_id: str, role: str, member_id: str | None, action: str, endpoint: str,
               detail: str | None = None) -> None:
        record_access(self.s, t.audit_log, user_id=user_id, role=role, member_ids=[member_id], action=action,
                      endpoint=endpoint[:200], detail=detail)
