"""Load roster rows (CSV file or JSON members) into ``members.roster``.

A row becomes a ``MemberRosterV1`` snapshot only when the member's fields differ from the
snapshot the gaps database holds (the roster topic is compacted: the latest snapshot is the
truth), so re-loading the same file produces nothing. The event id is
``derive_id(<id of the snapshot it replaces, or "new">, "roster:<member>:<body hash>")``:
re-running a load before the worker caught up produces the same ids (applied once), and a
member who comes back after being termed gets a new one.

A snapshot carries the member's attribution history (``attribution``, see
``domain/attribution.py``): when its (contract, risk tier, practice) differs from the stored
snapshot's, the stored spans (or one span of the stored values) are closed the day before the
load's date and an open span of the new values starts on it (the snapshot's event date, which
billing takes as the change's effective date); otherwise the stored spans are carried as they
are. Spans a JSON member supplies are kept. The compacted topic's latest snapshot thus replays
past tier and contract changes. The history is built from what the gaps database holds: a
load run before the worker stored the previous load's snapshots builds on the older one.

A *full* load is the complete roster: active members it does not list are termed (status
``termed``, eligibility ended the day before the load takes effect) - never deleted. The
term step is skipped when the file itself was rejected, and refused when it would term more
than ``MAX_TERM_FRACTION`` of the active members (a truncated file must not empty the roster).
Rejected rows count as present (their member is not termed for a typo).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import select

from shared.events import MemberRosterV1, derive_id
from shared.topics import ROSTER

from .. import metrics
from ..domain import term_absent_members
from ..domain.attribution import carried_attribution
from ..ingest import ParsedRoster, Position, Progress, Rejection, iter_roster_csv, roster_body_fields
from ..ingest.records import validate_roster_fields
from shared.chunks import chunks
from ..adapters.rows import body_hash, roster_body
from ..adapters.tables import members
from shared.errors import TransientError

from .common import (
    BatchSender, Budget, BudgetExceeded, LoadContext, safe_error, flush_quietly, LoadReport, ProgressRelay, dead_letter, file_sha256,
    new_load_id, read_head, record_finish, record_start, utcnow, write_report,
)

log = logging.getLogger(__name__)
_ENVELOPE_KEYS = frozenset({"event_id", "event_type", "schema_version", "occurred_at", "recorded_at", "source",
                            "patient_key", "causation_id", "roster_load_id"})


def roster_event_id(previous_event_id: str | None, member_id: str, digest: str):
    return derive_id(previous_event_id or "new", f"roster:{member_id}:{digest}")


def iter_roster_items(items: Iterable[Any]) -> Iterator[ParsedRoster | Rejection]:
    """JSON members (``MemberRosterV1`` body fields, or roster CSV columns) → parsed rows."""
    seen: dict[str, int] = {}
    for n, item in enumerate(items, 1):
        pos = Position("api", lines=(n,))
        raw = json.dumps(item, default=str) + "\n"
        if "\\u0000" in raw:  # a database refuses NUL in text: never let one through
            yield Rejection("the member contains a NUL character", pos, "row", raw=raw)
            continue
        if not isinstance(item, dict):
            yield Rejection("not a JSON object", pos, "row", raw=raw)
            continue
        member = str(item.get("member_id") or "").strip() or None
        if "eligibility_start" in item:  # roster CSV columns as JSON
            result = roster_body_fields({k: "" if v is None else str(v) for k, v in item.items()})
        else:
            fields = {k: v for k, v in item.items() if k not in _ENVELOPE_KEYS}
            result = validate_roster_fields(fields)
        if isinstance(result, str):
            yield Rejection(result, pos, "row", raw=raw, key=member)
            continue
        if result["member_id"] in seen:
            yield Rejection(f"member_id appears again (first at item {seen[result['member_id']]})", pos, "row",
                            raw=raw, key=member)
            continue
        seen[result["member_id"]] = n
        yield ParsedRoster(result, n)


class _Stored(NamedTuple):
    """The member's stored latest snapshot (the gaps ``members`` row)."""

    event_id: str
    body_hash: str
    status: str
    occurred_at: datetime
    body: str


class _RosterLoad:
    def __init__(self, ctx: LoadContext, report: LoadReport, source: str, loaded_at: datetime) -> None:
        self.ctx = ctx
        self.report = report
        self.source = source[:200]
        self.loaded_at = loaded_at
        self.present: set[str] = set()
        self.recorded_at = utcnow()
        self.sender = BatchSender(ctx.producer, ctx.settings.ingest_batch, self._confirmed)

    def _confirmed(self, tags: list[Any]) -> None:
        for tag in tags:
            if tag == "dlq":
                self.report.dead_lettered += 1
            elif tag == "term":
                self.report.termed += 1
                metrics.ROSTER_ROWS.labels("termed").inc()
            else:
                self.report.changed += 1

    def stored(self, ids: list[str]) -> dict[str, _Stored]:
        out: dict[str, _Stored] = {}
        with self.ctx.db.transaction() as session:
            for part in chunks(sorted(ids)):
                for row in session.execute(select(members.c.member_id, members.c.event_id, members.c.body_hash,
                                                  members.c.status, members.c.occurred_at, members.c.body)
                                           .where(members.c.member_id.in_(part))):
                    out[row.member_id] = _Stored(row.event_id, row.body_hash, row.status, row.occurred_at, row.body)
        return out

    def event(self, fields: dict[str, Any], previous: str | None) -> tuple[MemberRosterV1, str]:
        """The snapshot for ``fields`` with its deterministic id, and its body hash."""
        env = MemberRosterV1.envelope(occurred_at=self.loaded_at, source=self.source, recorded_at=self.recorded_at)
        env.pop("member_id")
        provisional = MemberRosterV1(**env, **{**fields, "roster_load_id": self.report.load_id[:64]})
        digest = body_hash(roster_body(provisional))
        return provisional.model_copy(update={"event_id": roster_event_id(previous, provisional.member_id, digest)}), digest

    def rows(self, batch: list[ParsedRoster]) -> None:
        stored = self.stored([p.member_id for p in batch])
        effective = self.loaded_at.date()  # the snapshots' event date (billing's effective date)
        for p in batch:
            old = stored.get(p.member_id)
            fields = {**p.fields, "attribution": carried_attribution(
                json.loads(old.body) if old else None, old.occurred_at.date() if old else None, p.fields, effective)}
            event, digest = self.event(fields, old.event_id if old else None)
            if old is not None and old.body_hash == digest:
                self.report.unchanged += 1
                metrics.ROSTER_ROWS.labels("unchanged").inc()
                continue
            metrics.ROSTER_ROWS.labels("accepted").inc()
            self.sender.add(self.ctx.producer.message_for(event), "row")

    def term_absent(self, effective_day: date, max_fraction: float) -> None:
        """Term the active members this full load does not list."""
        absent: list[dict] = []
        active = 0
        with self.ctx.db.transaction() as session:
            result = session.execute(select(members.c.member_id, members.c.event_id, members.c.body)
                                     .where(members.c.status == "active").execution_options(yield_per=2000))
            for row in result:
                active += 1
                if row.member_id not in self.present:
                    body = json.loads(row.body)
                    body["eligibility"] = tuple(
                        {"start": date.fromisoformat(s["start"]), "end": date.fromisoformat(s["end"]) if s.get("end")
                         else None} for s in body.get("eligibility") or ())
                    body["_previous"] = row.event_id
                    absent.append(body)
        if not absent:
            return
        if active and len(absent) / active > max_fraction:
            self.report.warnings.append(
                f"term step refused: this full load would term {len(absent)} of {active} active members "
                f"(more than {max_fraction:.0%}); check the file, or raise MAX_TERM_FRACTION")
            return
        previous = {b["member_id"]: b.pop("_previous") for b in absent}
        for body in term_absent_members(absent, self.present, effective_day, self.report.load_id[:64]):
            body.pop("roster_load_id", None)
            event, _ = self.event(body, previous[body["member_id"]])
            self.sender.add(self.ctx.producer.message_for(event), "term")


def load_roster(
    ctx: LoadContext,
    source: Path | list[Any],
    *,
    full: bool = False,
    effective: datetime | None = None,
    file_name: str | None = None,
    sha256: str | None = None,
    load_id: str | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    report_beside_file: bool = True,
) -> LoadReport:
    """Load a roster CSV file (``source`` a path) or JSON members (a list); return the report."""
    settings = ctx.settings
    is_file = isinstance(source, (str, Path))
    path = Path(source) if is_file else None
    if path is not None:
        sha256 = sha256 or file_sha256(path)
        name = file_name or path.name
    else:
        name = file_name or "api"
    report = LoadReport(load_id=load_id or new_load_id("roster", sha256), kind="roster",
                        format="csv" if is_file else "json", mode="full" if full else "partial", file=name,
                        sha256=sha256)
    beside = path if (path is not None and report_beside_file) else None
    started = time.perf_counter()
    budget = Budget(settings.load_time_budget_s)
    record_start(ctx.db, report, budget)
    # Snapshots are ordered by when they were loaded (the latest load is the truth); the
    # effective day only decides where a termed member's eligibility ends.
    load = _RosterLoad(ctx, report, f"roster:{name}", utcnow())
    effective = effective or utcnow()
    relay = ProgressRelay(on_progress, budget)
    limit = settings.report_rejections_limit
    file_rejected = False
    head: bytes | None = None
    try:
        records = iter_roster_csv(path, relay) if path is not None else iter_roster_items(source)
        batch: list[ParsedRoster] = []
        for rec in records:
            budget.check()
            if isinstance(rec, ParsedRoster):
                report.accepted += 1
                load.present.add(rec.member_id)
                batch.append(rec)
                if len(batch) >= settings.ingest_batch:
                    load.rows(batch)
                    batch = []
                continue
            report.add_rejection(rec, limit)
            metrics.ROSTER_ROWS.labels("rejected").inc()
            if rec.scope == "file":
                file_rejected = True
            if rec.key:
                load.present.add(rec.key)
            if not rec.raw and path is not None and head is None:
                head = read_head(path)
            load.sender.add(dead_letter(settings, ROSTER, rec, load_id=report.load_id, file_name=name,
                                        fmt=report.format, head=head), "dlq")
        if batch:
            load.rows(batch)
        load.sender.flush()  # every listed row confirmed before anyone is termed
        if full:
            if file_rejected:
                report.warnings.append("term step skipped: the file was rejected")
            elif budget.expired():
                raise BudgetExceeded()
            else:
                load.term_absent(effective.date(), settings.max_term_fraction)
                load.sender.flush()
        report.conclude()
    except BudgetExceeded:
        flush_quietly(load.sender)
        report.status = "failed"
        report.error = budget.reason("before the roster was read to its end" + (" (no member was termed)" if full
                                                                               else ""))
    except TransientError as exc:
        report.status, report.error = "failed", safe_error(exc)
        raise
    except Exception as exc:  # noqa: BLE001 - the load ends failed with a reason, never "running"
        report.status, report.error = "failed", f"unexpected error ({safe_error(exc)}): see the service log"
        log.error("roster load %s failed: %s", report.load_id, safe_error(exc))
        log.debug("roster load %s failure", report.load_id, exc_info=True)
    finally:
        load.sender.close()
        report.finished_at = utcnow().isoformat()
        report.seconds = round(time.perf_counter() - started, 3)
        record_finish(ctx.db, report)
        write_report(settings, report, beside)
        log.info("roster load %s (%s): %d accepted (%d changed, %d unchanged), %d rejected, %d termed in %.1fs [%s]",
                 report.load_id, report.mode, report.accepted, report.changed, report.unchanged, report.rejected,
                 report.termed, report.seconds, report.status)
    return report
