"""Waking every dispatcher the moment work becomes owed, across processes (PostgreSQL).

Whoever makes deliveries owed — the worker's batch (new notifications), the overdue sweep, the
API (a reactivated subscription, dead letters owed again) — calls ``notify(session)`` inside its
transaction: ``pg_notify`` is delivered when that transaction commits, and never if it rolls
back. Each worker process listens (``Listener``: its own connection, in a thread) and wakes its
dispatcher. Within one process the worker also wakes its dispatcher directly; the dispatcher's
poll (``DISPATCH_POLL_S``) remains the fallback (a listener reconnecting, SQLite, which has no
notifications).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)
CHANNEL = "ccp_notifications_owed"
_NOTIFY = text(f"SELECT pg_notify('{CHANNEL}', '')")


def notify(session: Session) -> None:
    """Wake the dispatchers when this transaction commits (PostgreSQL; elsewhere nothing)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_NOTIFY)


class Listener:
    """``LISTEN`` on its own connection in a daemon thread; ``on_notify()`` per notification."""

    def __init__(self, database_url: str, on_notify: Callable[[], None]) -> None:
        url = make_url(database_url)
        self.enabled = url.get_backend_name() == "postgresql"
        self.dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.on_notify = on_notify
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._main, name="notifications-listener", daemon=True)

    def start(self) -> None:
        if self.enabled:
            self.thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _main(self) -> None:
        import psycopg

        backoff = 0.5
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.dsn, autocommit=True, connect_timeout=10) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    backoff = 0.5
                    self.on_notify()  # whatever was made owed while we were not listening
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=1.0):
                            self.on_notify()
            except Exception:  # noqa: BLE001 - the database is away: the poll covers, we come back
                log.warning("listening for owed deliveries failed; retrying in %.1f s", backoff, exc_info=True)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 30.0)
