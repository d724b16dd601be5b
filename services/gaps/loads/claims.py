"""Load a claims file (837P/837I, claims CSV, JSON) into ``claims.events``.

One code path for the CLI and the API: stream the file through its parser, turn each parsed
claim into a ``ClaimV2`` with a deterministic id, produce in batches; every rejected claim
(or row, or transaction set) goes with its raw text and the reason to ``claims.events.dlq``;
the report counts what the broker confirmed.

Event ids: ``derive_id("claims:<payer or billing NPI>", "<claim id>|<frequency>|<content
hash>")`` - the same claim sent again (in this file or another) gets the same id and the
worker applies it once. A file whose SHA-256 was already loaded completely is not produced
again (the report names the earlier load) unless ``force``.

The event's ``occurred_at`` is the 837's BHT creation time; for CSV and JSON the ``occurred_at``
given (JSON claims may carry their own), else the time the load started. It does not order the
versions of a claim: what the claim says does (``shared.claim_versions``: correction links,
frequency, version sequence, adjudication / received dates, the sender's creation time). A
correction whose original is neither in the file nor received before is named in a warning.

Validating mode (X12): pyx12's walk first (``ingest.validate_837``), the 999 written, the sets
it rejects not loaded. A walk that cannot be completed (pyx12 raised on the file) rejects the
file: every set is dead-lettered with its text and the 999 refuses them all. The time budget
(``LOAD_TIME_BUDGET_S``) covers validation and loading; a load out of time ends ``failed``.
"""

from __future__ import annotations

import hashlib
import io
import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import select

from shared.claim_versions import families
from shared.events import ClaimV2, derive_id
from shared.topics import CLAIMS

from .. import metrics
from shared.errors import TransientError

from ..ingest import ParsedClaim, Position, Progress, Rejection, iter_837, iter_claims_csv, iter_claims_json, validate_837
from ..ingest.x12_837 import Parser837
from ..ingest.x12_validate import ValidationTimeout
from ..adapters.tables import claim_versions, ingest_loads
from .common import (
    BatchSender, Budget, BudgetExceeded, LoadContext, safe_error, flush_quietly, LoadReport, ProgressRelay, dead_letter, detect_format,
    file_sha256, new_load_id, read_head, record_finish, record_start, utcnow, write_report,
)

log = logging.getLogger(__name__)
FORMATS = ("x12", "csv", "json")


def claim_event_id(parsed: ParsedClaim) -> uuid.UUID:
    """Same claim content from the same sender → same id, whichever file or load it came in."""
    m = parsed.model
    digest = hashlib.sha256(parsed.body_json()).hexdigest()
    sender = m.payer_id or m.billing_npi or "-"
    return derive_id(f"claims:{sender}", f"{m.claim_id}|{m.frequency_code}|{digest}")


def previous_load(ctx: LoadContext, sha256: str) -> str | None:
    with ctx.db.transaction() as session:
        return session.scalar(select(ingest_loads.c.load_id).where(
            ingest_loads.c.kind == "claims", ingest_loads.c.sha256 == sha256, ingest_loads.c.status == "done")
            .order_by(ingest_loads.c.started_at).limit(1))


def load_claims(
    ctx: LoadContext,
    path: Path,
    fmt: str | None = None,
    *,
    validate: bool = False,
    force: bool = False,
    occurred_at: datetime | None = None,
    file_name: str | None = None,
    sha256: str | None = None,
    load_id: str | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    report_beside_file: bool = True,
) -> LoadReport:
    """Load one claims file; return (and write) its report. Raises only for a broker that
    does not confirm (``DeliveryError``; the report then says ``failed``)."""
    settings = ctx.settings
    path = Path(path)
    fmt = fmt or detect_format(path)
    if fmt not in FORMATS:
        raise ValueError(f"unknown claims format {fmt!r} (x12, csv or json)")
    name = file_name or path.name
    sha256 = sha256 or file_sha256(path)
    report = LoadReport(load_id=load_id or new_load_id("claims", sha256), kind="claims", format=fmt, file=name,
                        sha256=sha256)
    beside = path if report_beside_file else None
    started = time.perf_counter()
    earlier = None if force else previous_load(ctx, sha256)
    if earlier is not None:
        report.status, report.duplicate_of = "duplicate", earlier
        report.warnings.append(f"this file was already loaded (load {earlier}); nothing was produced "
                               "(load it again with force to re-send it: the claims keep their ids)")
        report.finished_at, report.seconds = utcnow().isoformat(), round(time.perf_counter() - started, 3)
        metrics.CLAIMS_INGESTED.labels(fmt, "duplicate_file").inc()
        metrics.LOADS_FINISHED.labels("claims", fmt, "duplicate").inc()
        write_report(settings, report, beside)
        return report
    budget = Budget(settings.load_time_budget_s)
    record_start(ctx.db, report, budget)
    start_time = occurred_at or utcnow()
    reject_sets: dict[str, str] = {}
    reject_all: str | None = None
    relay = ProgressRelay(on_progress, budget)

    def confirmed(tags: list[Any]) -> None:
        for tag in tags:
            if tag is None:
                report.dead_lettered += 1
            else:
                report.accepted += 1
                report.lines += tag
                metrics.CLAIM_LINES.labels(fmt).inc(tag)
        metrics.CLAIMS_INGESTED.labels(fmt, "accepted").inc(sum(1 for t in tags if t is not None))

    sender = BatchSender(ctx.producer, settings.ingest_batch, confirmed)
    head: bytes | None = None
    source = f"claims:{name}"[:200]
    limit = settings.report_rejections_limit
    parser: Parser837 | None = None
    try:
        if validate:
            if fmt != "x12":
                report.warnings.append("validation (999) applies to X12 files only; skipped")
            else:
                reject_sets, reject_all = _validate(settings, report, path, beside, budget)
        if fmt == "x12":
            parser = Parser837(name, relay, reject_sets=reject_sets, reject_all=reject_all)
            records = iter_837(path, parser=parser)
        elif fmt == "csv":
            records = iter_claims_csv(path, relay, source_file=name)
        else:
            records = iter_claims_json(path, relay, source_file=name)
        recorded_at = utcnow()
        links: dict[str, list[_Link]] = defaultdict(list)  # member → this file's claim versions (slim)
        for rec in records:
            budget.check()
            if isinstance(rec, ParsedClaim):
                env = ClaimV2.envelope(occurred_at=rec.created_at or start_time, source=source,
                                       event_id=claim_event_id(rec), recorded_at=recorded_at)
                event = rec.to_event(**env)
                sender.add(ctx.producer.message_for(event), event_lines(event))
                links[event.member_id].append(_Link(str(event.event_id), event.claim_id, event.frequency_code,
                                                    event.original_claim_id, rec.position))
            else:
                report.add_rejection(rec, limit)
                if rec.covered:
                    continue
                metrics.CLAIMS_INGESTED.labels(fmt, "rejected").inc()
                if not rec.raw and head is None:
                    head = read_head(path)
                sender.add(dead_letter(settings, CLAIMS, rec, load_id=report.load_id, file_name=name, fmt=fmt,
                                       head=head), None)
        sender.flush()
        if parser is not None:
            report.warnings += _warnings(parser)
        report.conclude()
        try:
            _report_held(ctx, report, links)
        except Exception as exc:  # noqa: BLE001 - a warning that could not be worked out fails nothing
            log.warning("claims load %s: held corrections not checked (%s)", report.load_id, safe_error(exc))
    except (BudgetExceeded, ValidationTimeout):
        flush_quietly(sender)
        done = relay.last.fraction if relay.last is not None else None
        report.status = "failed"
        report.error = budget.reason("before validation ended" if report.validation is None and validate and
                                     fmt == "x12" else
                                     f"after {done:.0%} of the file" if done is not None else "during the load")
    except TransientError as exc:
        report.status, report.error = "failed", safe_error(exc)
        raise
    except Exception as exc:  # noqa: BLE001 - the load ends failed with a reason, never "running"
        report.status, report.error = "failed", f"unexpected error ({safe_error(exc)}): see the service log"
        log.error("claims load %s failed: %s", report.load_id, safe_error(exc))
        log.debug("claims load %s failure", report.load_id, exc_info=True)
    finally:
        sender.close()
        report.finished_at = utcnow().isoformat()
        report.seconds = round(time.perf_counter() - started, 3)
        record_finish(ctx.db, report)
        write_report(settings, report, beside)
        log.info("claims load %s (%s): %d accepted, %d rejected, %d lines, %d dead-lettered in %.1fs [%s]",
                 report.load_id, fmt, report.accepted, report.rejected, report.lines, report.dead_lettered,
                 report.seconds, report.status)
    return report




def _warnings(parser: Parser837) -> list[str]:
    out = []
    for text, n in parser.warnings.most_common(50):
        out.append(text if n == 1 else f"{text} ({n} times)")
    return out


def event_lines(event: ClaimV2) -> int:
    return len(event.lines)


class _Link(NamedTuple):
    """A claim version without its body: enough to find its family (``shared.claim_versions``)."""

    event_id: str
    claim_id: str
    frequency_code: str
    original_claim_id: str | None
    position: Position | None = None


def _report_held(ctx: LoadContext, report: LoadReport, links: dict[str, list[_Link]]) -> None:
    """Warn about the corrections of this file whose original is neither in the file nor among
    the claims received before: they are held (count for nothing) until it arrives."""
    candidates = sorted(m for m, ls in links.items() if any(x.frequency_code != "1" for x in ls))
    if not candidates:
        return
    cv = claim_versions.c
    stored: dict[str, list[_Link]] = defaultdict(list)
    with ctx.db.transaction() as session:
        for i in range(0, len(candidates), 1000):
            part = candidates[i:i + 1000]
            for r in session.execute(select(cv.member_id, cv.event_id, cv.claim_id, cv.frequency_code,
                                            cv.original_claim_id).where(cv.member_id.in_(part))):
                stored[r.member_id].append(_Link(r.event_id, r.claim_id, r.frequency_code, r.original_claim_id))
    held: list[_Link] = []
    for mid in candidates:
        mine = {x.event_id for x in links[mid]}
        for fam in families([*stored[mid], *links[mid]]):
            if fam.held:
                held.extend(v for v in fam.versions if v.event_id in mine)
    if held:
        voids = sum(1 for x in held if x.frequency_code == "8")
        where = "; ".join(x.position.describe() for x in held[:10] if x.position is not None)
        more = f"; and {len(held) - 10} more" if len(held) > 10 else ""
        report.warnings.append(
            f"{len(held)} correction(s) ({len(held) - voids} replacement(s), {voids} void(s)) name an original claim "
            "not received yet (not in this file, not loaded before): they are held and count for nothing until it "
            f"arrives; a void that never finds its original voids nothing ({where}{more})")


def _validate(settings, report: LoadReport, path: Path, beside: Path | None,
              budget: Budget) -> tuple[dict[str, str], str | None]:
    """pyx12's validating walk; writes the 999 and returns (the rejected sets, a reason to reject
    every set when the walk could not be completed)."""
    ack = io.StringIO()
    work = settings.reports_path()
    work.mkdir(parents=True, exist_ok=True)
    result = validate_837(path, ack, deadline=budget.deadline, work_dir=work)
    if result.ack_999:
        target = beside.with_name(beside.name + ".999") if beside is not None else \
            settings.reports_path() / f"{report.load_id}.999"
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(result.ack_999)
            report.ack_999_file = str(target)
        except OSError:
            fallback = settings.reports_path() / f"{report.load_id}.999"
            fallback.parent.mkdir(parents=True, exist_ok=True)
            fallback.write_text(result.ack_999)
            report.ack_999_file = str(fallback)
    report.validation = {
        "valid": result.valid,
        "crashed": result.crashed,
        "notes": list(result.notes),
        "transactions": [{"st_control_number": t.st_control_number, "ack_code": t.ack_code,
                          "errors": list(t.errors[:20])} for t in result.transactions],
        "envelope_errors": list(result.envelope_errors[:20]),
    }
    report.warnings += [f"validation: {n}" for n in result.notes]
    if not result.ack_999:
        report.warnings.append("no 999 was written: the file has no readable ISA interchange header to acknowledge")
    if result.crashed:
        report.add_rejection(Rejection(f"file rejected: {result.crashed}; the 999 refuses every transaction set",
                                       Position(report.file), "file", covered=True), settings.report_rejections_limit)
        return {}, "validation could not be completed (999 IK5*R)"
    return {st: "transaction set rejected by validation (999 IK5*R)" for st in result.rejected}, None
