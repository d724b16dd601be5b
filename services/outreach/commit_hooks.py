"""Run a callback only once a session's transaction has committed (metrics must not count work
that was rolled back and will be redone)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session

_KEY = "outreach_after_commit"


def after_commit(session: Session, fn: Callable[[], None]) -> None:
    callbacks = session.info.get(_KEY)
    if callbacks is None:
        callbacks = session.info[_KEY] = []

        def run(sess: Session) -> None:
            pending = sess.info.pop(_KEY, [])
            for cb in pending:
                cb()

        def drop(sess: Session) -> None:
            sess.info.pop(_KEY, None)

        event.listen(session, "after_commit", run, once=True)
        event.listen(session, "after_soft_rollback", lambda sess, _tx: drop(sess), once=True)
    callbacks.append(fn)
