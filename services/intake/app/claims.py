"""Load a claims file (837P/837I, claims CSV, JSON) into ``claims.events``.

One code path for the CLI and the API: stream the file through its parser, turn each parsed
claim into a ``ClaimV2`` with a deterministic id (``domain.ids.claim_event_id``), produce in
batches; every rejected claim (or row, or transaction set) goes with its raw text and the reason
to ``claims.events.dlq``; the report counts what the broker confirmed.

The same claim sent again (in this file or another) gets the same id and the consumers apply it
once. A file whose SHA-256 was already loaded completely is not produced again (the report names
the earlier load) unless ``force``.

The event's ``occurred_at`` is the 837's BHT creation time; for CSV and JSON the ``occurred_at``
given (JSON claims may carry their own), else the time the load started. It does not order the
versions of a claim: what the claim says does (``shared.claim_versions``). A correction whose
original is neither in the file nor loaded before (``ClaimVersions``: the versions this service
produced, written as the broker confirms them) is named in a warning (``domain.held``).

Validating mode (X12): pyx12's walk first (the ``Validator``), the 999 written, the sets it
rejects not loaded. A walk that cannot be completed (pyx12 raised on the file) rejects the file:
every set is dead-lettered with its text and the 999 refuses them all. The time budget
(``LOAD_TIME_BUDGET_S``) covers validation and loading; a load out of time ends ``failed``.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from shared.errors import TransientError
from shared.events import ClaimV2
from shared.topics import CLAIMS

from .. import metrics
from ..domain import (
    FORMATS, LoadReport, ParsedClaim, Position, Progress, Rejection, claim_event_id, dead_letter, detect_format,
    file_sha256, iter_837, iter_claims_csv, iter_claims_json, new_load_id, read_head, utcnow,
)
from ..domain.held import ClaimLink, held_corrections, held_warning, members_with_corrections
from ..domain.x12_837 import Parser837
from .budget import Budget, BudgetExceeded, ProgressRelay, finish_record, flush_quietly, safe_error, start_record
from .ports import LoadContext

log = logging.getLogger(__name__)


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
    config = ctx.config
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
    earlier = None if force else ctx.records.first_done_claims_load(sha256)
    if earlier is not None:
        report.status, report.duplicate_of = "duplicate", earlier
        report.warnings.append(f"this file was already loaded (load {earlier}); nothing was produced "
                               "(load it again with force to re-send it: the claims keep their ids)")
        report.finished_at, report.seconds = utcnow().isoformat(), round(time.perf_counter() - started, 3)
        metrics.CLAIMS_INGESTED.labels(fmt, "duplicate_file").inc()
        metrics.LOADS_FINISHED.labels("claims", fmt, "duplicate").inc()
        ctx.files.write(report, beside)
        return report
    budget = Budget(config.time_budget_s)
    start_record(ctx, report, budget)
    start_time = occurred_at or utcnow()
    reject_sets: dict[str, str] = {}
    reject_all: str | None = None
    relay = ProgressRelay(on_progress, budget)

    def confirmed(tags: list[Any]) -> None:
        versions: list[tuple[str, ClaimLink]] = []
        for tag in tags:
            if tag is None:
                report.dead_lettered += 1
            else:
                lines, member_id, link = tag
                report.accepted += 1
                report.lines += lines
                metrics.CLAIM_LINES.labels(fmt).inc(lines)
                versions.append((member_id, link._replace(position=None)))
        metrics.CLAIMS_INGESTED.labels(fmt, "accepted").inc(len(versions))
        if versions:
            ctx.claims.record(versions)

    sink = ctx.sink(confirmed)
    head: bytes | None = None
    source = f"claims:{name}"[:200]
    limit = config.rejections_limit
    parser: Parser837 | None = None
    try:
        if validate:
            if fmt != "x12":
                report.warnings.append("validation (999) applies to X12 files only; skipped")
            else:
                reject_sets, reject_all = _validate(ctx, report, path, beside, budget)
        if fmt == "x12":
            parser = Parser837(name, relay, reject_sets=reject_sets, reject_all=reject_all)
            records = iter_837(path, parser=parser)
        elif fmt == "csv":
            records = iter_claims_csv(path, relay, source_file=name)
        else:
            records = iter_claims_json(path, relay, source_file=name)
        recorded_at = utcnow()
        links: dict[str, list[ClaimLink]] = defaultdict(list)  # member → this file's claim versions (slim)
        for rec in records:
            budget.check()
            if isinstance(rec, ParsedClaim):
                env = ClaimV2.envelope(occurred_at=rec.created_at or start_time, source=source,
                                       event_id=claim_event_id(rec), recorded_at=recorded_at)
                event = rec.to_event(**env)
                link = ClaimLink(str(event.event_id), event.claim_id, event.frequency_code, event.original_claim_id,
                                 rec.position)
                sink.event(event, (len(event.lines), event.member_id, link))
                links[event.member_id].append(link)
            else:
                report.add_rejection(rec, limit)
                if rec.covered:
                    continue
                metrics.CLAIMS_INGESTED.labels(fmt, "rejected").inc()
                if not rec.raw and head is None:
                    head = read_head(path)
                sink.dead_letter(dead_letter(CLAIMS, rec, load_id=report.load_id, file_name=name, fmt=fmt, head=head))
        sink.flush()
        if parser is not None:
            report.warnings += _warnings(parser)
        report.conclude()
        try:
            _report_held(ctx, report, links)
        except Exception as exc:  # noqa: BLE001 - a warning that could not be worked out fails nothing
            log.warning("claims load %s: held corrections not checked (%s)", report.load_id, safe_error(exc))
    except BudgetExceeded:
        flush_quietly(sink)
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
        sink.close()
        report.finished_at = utcnow().isoformat()
        report.seconds = round(time.perf_counter() - started, 3)
        finish_record(ctx, report)
        ctx.files.write(report, beside)
        log.info("claims load %s (%s): %d accepted, %d rejected, %d lines, %d dead-lettered in %.1fs [%s]",
                 report.load_id, fmt, report.accepted, report.rejected, report.lines, report.dead_lettered,
                 report.seconds, report.status)
    return report


def _warnings(parser: Parser837) -> list[str]:
    out = []
    for text, n in parser.warnings.most_common(50):
        out.append(text if n == 1 else f"{text} ({n} times)")
    return out


def _report_held(ctx: LoadContext, report: LoadReport, links: dict[str, list[ClaimLink]]) -> None:
    """Warn about the corrections of this file whose original is neither in the file nor among
    the claims loaded before: they are held (count for nothing) until it arrives."""
    candidates = members_with_corrections(links)
    if not candidates:
        return
    warning = held_warning(held_corrections(links, ctx.claims.for_members(candidates)))
    if warning:
        report.warnings.append(warning)


def _validate(ctx: LoadContext, report: LoadReport, path: Path, beside: Path | None,
              budget: Budget) -> tuple[dict[str, str], str | None]:
    """pyx12's validating walk (the 999 written); returns (the rejected sets, a reason to reject
    every set when the walk could not be completed)."""
    if ctx.validator is None:
        raise RuntimeError("no validator configured")
    result = ctx.validator(path, beside, report.load_id, budget.deadline)
    report.ack_999_file = result.ack_file
    report.validation = result.summary
    report.warnings += [f"validation: {n}" for n in result.notes]
    if not result.ack_file:
        report.warnings.append("no 999 was written: the file has no readable ISA interchange header to acknowledge")
    if result.crashed:
        report.add_rejection(Rejection(f"file rejected: {result.crashed}; the 999 refuses every transaction set",
                                       Position(report.file), "file", covered=True), ctx.config.rejections_limit)
        return {}, "validation could not be completed (999 IK5*R)"
    return {st: "transaction set rejected by validation (999 IK5*R)" for st in result.rejected}, None
