"""A minimal faust worker built only from shared/ pieces, for the platform's integration tests.

It consumes ``members.roster`` and writes one ``seen`` row per applied event; a member id of
``REJECT-ME`` is refused by the handler (a business-rule InvalidEvent). It derives one
``alert.retracted`` event per applied roster event (a stand-in derived event with a
deterministic id) so tests can check derived writes are not duplicated either.

Fault injection for the fetcher watchdog's test: with ``PROBE_BREAK_FETCHER_ON=<member id>``,
faust's fetch loop raises when it reads a record keyed by that member, as an internal client
error would ("Drain messages raised"); with ``PROBE_STALL_ON=<member id>`` the handler blocks
for ten minutes on that member's event (a batch that never finishes, for the stop deadline).
With ``PROBE_KILL_AT=<step>`` and ``PROBE_KILL_ON=<member id>`` the worker SIGKILLs itself at
that step of the consuming loop (``shared.faust_app.STEPS``: received, applied, committed) of the
batch that holds the member's event (the offset-commit test). Every application of an event also
adds a row to ``applications`` (no unique key): an event applied twice would show twice there.
Everything else (broker, database, faust) is real.

    KAFKA_BOOTSTRAP=... TOPIC_PREFIX=... DATABASE_URL=... WEB_PORT=... python -m tests.support.probe_worker
"""

from __future__ import annotations

import os
import uuid

from sqlalchemy import Column, MetaData, String, Table, insert

from shared.consumer import BatchConsumer
from shared.db import Database, processed_events_table
from shared.errors import InvalidEvent
from shared.events import AlertRetractedV1, MemberRosterV1, derive_id
from shared.faust_app import consume, create_app
from shared.kafka import EventProducer
from shared.logs import configure_logging
from shared.settings import CommonSettings

metadata = MetaData()
processed_events_table(metadata)
seen = Table("seen", metadata, Column("event_id", String(36), primary_key=True), Column("member_id", String(64)))
applications = Table("applications", metadata, Column("event_id", String(36), nullable=False))


class ProbeSettings(CommonSettings):
    SERVICE = "probe"
    web_port: int = 6066


STALL_ON = os.environ.get("PROBE_STALL_ON")


def handler(session, events):
    out = []
    for ev in events:
        if STALL_ON and ev.member_id == STALL_ON:
            import logging
            import time

            logging.getLogger("probe").warning("probe handler stalling on purpose")
            time.sleep(600)
        if ev.member_id == "REJECT-ME":
            raise InvalidEvent("member REJECT-ME is refused by the probe's business rule")
        session.execute(insert(applications), {"event_id": str(ev.event_id)})
        session.execute(insert(seen), {"event_id": str(ev.event_id), "member_id": ev.member_id})
        out.append(AlertRetractedV1(
            **AlertRetractedV1.envelope(occurred_at=ev.occurred_at, source="probe", member_id=ev.member_id,
                                        causation_id=ev.event_id, event_id=derive_id(ev.event_id, "probe")),
            alert_id=derive_id(ev.event_id, "probe-alert"), reason="probe"))
    return out


def break_fetcher_on(key: bytes) -> None:
    from faust.transport.consumer import Consumer

    original = Consumer.getmany

    async def getmany(self, timeout):
        async for tp, message in original(self, timeout):
            if message.key == key:
                raise RuntimeError("injected fetch failure (probe worker)")
            yield tp, message

    Consumer.getmany = getmany


def kill_at(step: str, member_id: str):
    """An observer for ``consume`` that SIGKILLs this process at ``step`` of the batch holding
    ``member_id``'s event (a worker dying there, as a power cut or the OOM killer would do it)."""
    import signal

    key = member_id.encode()

    def observe(at: str, records) -> None:
        if at == step and any(r.key == key for r in records):
            import logging

            logging.getLogger("probe").warning("probe killing itself at step %s", step)
            logging.shutdown()
            os.kill(os.getpid(), signal.SIGKILL)

    return observe


def main() -> None:
    if os.environ.get("PROBE_BREAK_FETCHER_ON"):
        break_fetcher_on(os.environ["PROBE_BREAK_FETCHER_ON"].encode())
    settings = ProbeSettings()
    configure_logging("probe", "worker", settings.log_level)
    db = Database(settings.resolved_database_url(), metadata)
    db.create_schema()
    producer = EventProducer(settings, client_id="probe")
    app = create_app("probe", settings, web_port=settings.web_port, health=lambda: {"db": db.ping()})
    consume(app, settings, ["members.roster"], BatchConsumer("probe.roster", db, producer, handler,
                                                            expect=(MemberRosterV1,)), batch_size=100, within=0.1,
            observe=kill_at(os.environ["PROBE_KILL_AT"], os.environ["PROBE_KILL_ON"])
            if os.environ.get("PROBE_KILL_AT") else None)

    from shared.runtime import run_worker

    run_worker(app, settings)


if __name__ == "__main__":
    main()
