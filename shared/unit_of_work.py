"""The unit of work's mechanics shared by every service's SQL adapter: ``after_commit`` (run a
callback once the outermost transaction committed, never for a rolled-back attempt) and
``SqlUnitOfWorkBase`` (a session of its own in a block, or the consumer pipeline's session)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from typing import TYPE_CHECKING

from sqlalchemy import event
from sqlalchemy.orm import Session

if TYPE_CHECKING:  # pragma: no cover
    from .db import Database

_AFTER_COMMIT = "ccp_after_commit"
_HOOKED = "ccp_after_commit_hooked"


def _run_after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return
    for cb in session.info.pop(_AFTER_COMMIT, []):
        cb()


def _drop_after_commit(session: Session, transaction) -> None:
    if transaction.parent is None:  # the outermost one ended: committed (callbacks ran) or rolled back
        session.info.pop(_AFTER_COMMIT, None)


def after_commit(session: Session, fn: Callable[[], None]) -> None:
    """Run ``fn`` after the session's outermost transaction commits; never when it rolls back.

    Savepoints do not count (SQLAlchemy fires ``after_commit`` for a released savepoint too): the
    callbacks wait for the real commit, and a rollback of the outer transaction drops them, so a
    batch that is rolled back and retried runs them once, for the attempt that committed."""
    if not session.info.get(_HOOKED):
        event.listen(session, "after_commit", _run_after_commit)
        event.listen(session, "after_transaction_end", _drop_after_commit)
        session.info[_HOOKED] = True
    session.info.setdefault(_AFTER_COMMIT, []).append(fn)


class SqlUnitOfWorkBase:
    """The lifecycle every service's SQL unit of work shares; a service binds its repositories in
    ``_bind(session)``.

    - ``Uow(db)`` — a command, query or job of its own: ``with uow: ...; uow.commit()``; leaving the
      block without committing rolls back, and the session is closed either way.
    - ``Uow.for_session(session)`` — the worker's batch: the consumer pipeline (``shared.consumer``)
      owns the transaction, so entering it as a block is refused.

    ``after_commit`` runs a callback once the outermost transaction committed, never for a rolled-back
    attempt (metrics are counted once however often a batch is retried). A subclass may open its
    session otherwise (``_open``: billing's writers take the ledger lock first) and give database
    errors leaving the block its application's words (``_translate``; ``shared.publishing_uow``)."""

    def __init__(self, db: Database | None) -> None:
        self.db = db
        self.session: Session | None = None
        self._owned = True
        self._stack: ExitStack | None = None

    @classmethod
    def for_session(cls, session: Session):  # -> the subclass (its __init__ takes a database of None)
        uow = cls(None)
        uow._owned = False
        uow._bind(session)
        return uow

    def _bind(self, session: Session) -> None:
        self.session = session

    def _open(self, stack: ExitStack) -> Session:
        """The block's session, its transaction begun; what is entered on ``stack`` is left when the
        block ends, after the rollback of whatever was not committed."""
        assert self.db is not None
        session = stack.enter_context(self.db.sessions())
        session.begin()
        return session

    def _translate(self, exc: BaseException | None) -> Exception | None:
        """The exception a database error leaving the block becomes (None: it leaves as it came)."""
        return None

    def __enter__(self):
        if not self._owned:
            raise RuntimeError("the consumer pipeline owns this session's transaction")
        stack = ExitStack()
        try:
            session = self._open(stack)
        except Exception as exc:
            stack.close()
            translated = self._translate(exc)
            if translated is None:
                raise
            raise translated from None
        self._stack = stack
        self._bind(session)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        stack, self._stack, session, self.session = self._stack, None, self.session, None
        try:
            if session is not None and session.in_transaction():
                session.rollback()
        finally:
            if stack is not None:
                stack.close()
        translated = self._translate(exc)
        if translated is not None:
            raise translated from None

    def after_commit(self, fn: Callable[[], None]) -> None:
        assert self.session is not None
        after_commit(self.session, fn)

    def commit(self) -> None:
        assert self.session is not None
        self.session.commit()
