"""HL7 messages of patients the MRN crosswalk did not know yet, held in ``held_adt`` (the event as
received) until a roster snapshot names the patient (then forwarded, oldest first) or they are
older than ``HOLD_UNMATCHED_H`` (purged by the worker's sweep)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from shared.chunks import chunks
from shared.codec import decode
from shared.db import insert_ignore
from shared.events import AdtEventV1

from . import tables as tb


def _held(body: str) -> AdtEventV1:
    # Through the codec, as the consumer decodes: the body is whatever ADT version was current when
    # it was held (v1 rows from an earlier release are lifted to the latest model).
    e = decode(body, expect=(AdtEventV1,))
    assert isinstance(e, AdtEventV1)
    return e


class SqlHeldAdt:
    def __init__(self, s: Session) -> None:
        self.s = s
        self.cache: dict[str, list[tuple[int, AdtEventV1]]] = {}
        self.new: dict[str, AdtEventV1] = {}
        self.taken: set[int] = set()

    def hold(self, event: AdtEventV1) -> None:
        self.new[str(event.event_id)] = event

    def load(self, patient_keys: Iterable[str]) -> None:
        keys = sorted(k for k in set(patient_keys) if k not in self.cache)
        for k in keys:
            self.cache[k] = []
        h = tb.held_adt
        for part in chunks(keys, 1000):
            for r in self.s.execute(select(h.c.id, h.c.patient_key, h.c.body).where(h.c.patient_key.in_(part))
                                    .order_by(h.c.occurred_at, h.c.id)):
                self.cache[r.patient_key].append((r.id, _held(r.body)))

    def take(self, patient_keys: Iterable[str]) -> list[AdtEventV1]:
        keys = list(patient_keys)
        self.load(keys)
        out: list[tuple[datetime, int, AdtEventV1]] = []
        for k in keys:
            for row_id, e in self.cache.get(k, ()):
                if row_id not in self.taken:
                    self.taken.add(row_id)
                    out.append((e.occurred_at, row_id, e))
            for e in [e for e in self.new.values() if e.patient_key == k]:  # held earlier in this batch
                del self.new[str(e.event_id)]
                out.append((e.occurred_at, 0, e))
        return [e for _at, _id, e in sorted(out, key=lambda x: (x[0], x[1]))]

    def purge(self, older_than: datetime) -> int:
        return self.s.execute(delete(tb.held_adt).where(tb.held_adt.c.held_at < older_than)).rowcount or 0

    def flush(self) -> None:
        if self.taken:
            for part in chunks(sorted(self.taken), 1000):
                self.s.execute(delete(tb.held_adt).where(tb.held_adt.c.id.in_(part)))
            self.taken.clear()
        if self.new:
            now = datetime.now(timezone.utc)
            insert_ignore(self.s, tb.held_adt, [
                {"patient_key": e.patient_key, "event_id": str(e.event_id), "occurred_at": e.occurred_at,
                 "held_at": now, "body": e.model_dump_json()} for e in self.new.values()])
            self.new.clear()
