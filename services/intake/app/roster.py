"""Load roster rows (CSV file or JSON members) into ``members.roster``.

A row becomes a ``MemberRosterV1`` snapshot only when the member's fields differ from the latest
snapshot this service produced (``RosterSnapshots``: written for the snapshots the broker
confirmed; the roster topic is compacted: the latest snapshot is the truth), so re-loading the
same file produces nothing. The event id is ``derive_id(<id of the snapshot it replaces, or
"new">, "roster:<member>:<body hash>")`` (``domain.ids``): re-running a load produces the same
ids (applied once), and a member who comes back after being termed gets a new one.

A snapshot carries the member's attribution history (``attribution``, see
``domain/attribution.py``): when its (contract, risk tier, practice) differs from the stored
snapshot's, the stored spans (or one span of the stored values) are closed the day before the
load's date and an open span of the new values starts on it (the snapshot's event date, which
billing takes as the change's effective date); otherwise the stored spans are carried as they
are. Spans a JSON member supplies are kept. The compacted topic's latest snapshot thus replays
past tier and contract changes.

A *full* load is the complete roster: active members it does not list are termed (status
``termed``, eligibility ended the day before the load takes effect) - never deleted. The
term step is skipped when the file itself was rejected, and refused when it would term more
than ``MAX_TERM_FRACTION`` of the active members (a truncated file must not empty the roster).
Rejected rows count as present (their member is not termed for a typo).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from shared.errors import TransientError
from shared.events import MemberRosterV1
from shared.topics import ROSTER

from .. import metrics
from ..domain import (
    LoadReport, ParsedRoster, Progress, body_hash, dead_letter, file_sha256, iter_roster_csv, iter_roster_items,
    new_load_id, read_head, roster_body, roster_event_id, term_absent_members, utcnow,
)
from ..domain.attribution import carried_attribution
from .budget import Budget, BudgetExceeded, ProgressRelay, finish_record, flush_quietly, safe_error, start_record
from .ports import LoadContext, StoredSnapshot

log = logging.getLogger(__name__)


class _RosterLoad:
    def __init__(self, ctx: LoadContext, report: LoadReport, source: str, loaded_at: datetime) -> None:
        self.ctx = ctx
        self.report = report
        self.source = source[:200]
        self.loaded_at = loaded_at
        self.present: set[str] = set()
        self.recorded_at = utcnow()
        self.sink = ctx.sink(self._confirmed)

    def _confirmed(self, tags: list[Any]) -> None:
        produced: list[StoredSnapshot] = []
        for tag in tags:
            if tag is None:
                self.report.dead_lettered += 1
                continue
            kind, snapshot = tag
            produced.append(snapshot)
            if kind == "term":
                self.report.termed += 1
                metrics.ROSTER_ROWS.labels("termed").inc()
            else:
                self.report.changed += 1
        if produced:
            self.ctx.roster.record(produced)

    def event(self, fields: dict[str, Any], previous: str | None) -> tuple[MemberRosterV1, StoredSnapshot]:
        """The snapshot for ``fields`` with its deterministic id, and what to store of it."""
        env = MemberRosterV1.envelope(occurred_at=self.loaded_at, source=self.source, recorded_at=self.recorded_at)
        env.pop("member_id")
        provisional = MemberRosterV1(**env, **{**fields, "roster_load_id": self.report.load_id[:64]})
        body = roster_body(provisional)
        digest = body_hash(body)
        event = provisional.model_copy(update={"event_id": roster_event_id(previous, provisional.member_id, digest)})
        return event, StoredSnapshot(event.member_id, str(event.event_id), digest, event.status, event.occurred_at,
                                     body)

    def rows(self, batch: list[ParsedRoster]) -> None:
        stored = self.ctx.roster.stored([p.member_id for p in batch])
        effective = self.loaded_at.date()  # the snapshots' event date (billing's effective date)
        for p in batch:
            old = stored.get(p.member_id)
            fields = {**p.fields, "attribution": carried_attribution(
                old.body if old else None, old.occurred_at.date() if old else None, p.fields, effective)}
            event, snapshot = self.event(fields, old.event_id if old else None)
            if old is not None and old.body_hash == snapshot.body_hash:
                self.report.unchanged += 1
                metrics.ROSTER_ROWS.labels("unchanged").inc()
                continue
            metrics.ROSTER_ROWS.labels("accepted").inc()
            self.sink.event(event, ("row", snapshot))

    def term_absent(self, effective_day: date, max_fraction: float) -> None:
        """Term the active members this full load does not list."""
        absent: list[dict] = []
        active = 0
        for snap in self.ctx.roster.active():
            active += 1
            if snap.member_id not in self.present:
                body = dict(snap.body)
                body["eligibility"] = tuple(
                    {"start": date.fromisoformat(s["start"]), "end": date.fromisoformat(s["end"]) if s.get("end")
                     else None} for s in body.get("eligibility") or ())
                body["_previous"] = snap.event_id
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
            event, snapshot = self.event(body, previous[body["member_id"]])
            self.sink.event(event, ("term", snapshot))


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
    config = ctx.config
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
    budget = Budget(config.time_budget_s)
    start_record(ctx, report, budget)
    # Snapshots are ordered by when they were loaded (the latest load is the truth); the
    # effective day only decides where a termed member's eligibility ends.
    load = _RosterLoad(ctx, report, f"roster:{name}", utcnow())
    effective = effective or utcnow()
    relay = ProgressRelay(on_progress, budget)
    limit = config.rejections_limit
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
                if len(batch) >= config.batch_size:
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
            load.sink.dead_letter(dead_letter(ROSTER, rec, load_id=report.load_id, file_name=name, fmt=report.format,
                                              head=head))
        if batch:
            load.rows(batch)
        load.sink.flush()  # every listed row confirmed before anyone is termed
        if full:
            if file_rejected:
                report.warnings.append("term step skipped: the file was rejected")
            elif budget.expired():
                raise BudgetExceeded()
            else:
                load.term_absent(effective.date(), config.max_term_fraction)
                load.sink.flush()
        report.conclude()
    except BudgetExceeded:
        flush_quietly(load.sink)
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
        load.sink.close()
        report.finished_at = utcnow().isoformat()
        report.seconds = round(time.perf_counter() - started, 3)
        finish_record(ctx, report)
        ctx.files.write(report, beside)
        log.info("roster load %s (%s): %d accepted (%d changed, %d unchanged), %d rejected, %d termed in %.1fs [%s]",
                 report.load_id, report.mode, report.accepted, report.changed, report.unchanged, report.rejected,
                 report.termed, report.seconds, report.status)
    return report
