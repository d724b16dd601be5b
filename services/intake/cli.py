"""Command-line loads (``python -m services.intake <command> ...``).

    migrate
    api
    load-roster FILE [--full] [--effective YYYY-MM-DD] [--json]
    load-claims FILE [--format x12|csv|json] [--validate] [--force] [--occurred-at ISO] [--json]
    seed [--json] [--no-progress]     the upgrade step: intake's tables from the topics (app/seed.py)

A load shows a progress bar on the terminal (stderr), writes its report as JSON beside the
file (``FILE.report.json``; or in REPORTS_DIR when that folder is read-only) and prints a
summary. Exit status: 0 everything accepted, 3 loaded with rejections (see the report), 1
the load failed (Kafka did not confirm), 2 bad arguments.

``seed`` prints a line per topic on stderr (records read of the offsets to read, what was
recorded, what was skipped by reason) and, with ``--json``, the summary on stdout. Exit status:
0 both topics read to their end offsets, 1 it stopped before (run it again), 2 refused (the
broker is unreachable or a topic is missing; nothing was written).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, datetime, time, timezone
from pathlib import Path

from shared.errors import DeliveryError
from shared.kafka import EventProducer
from shared.runtime import run_api
from shared.topics import ROSTER

from .app import LoadContext, load_claims, load_roster
from .domain import LoadReport, Progress
from .settings import IntakeSettings

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_REJECTIONS = 0, 1, 2, 3


def _parser(prog: str) -> argparse.ArgumentParser:
    return argparse.ArgumentParser(prog=f"python -m services.intake {prog}")


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected YYYY-MM-DD") from None


def _stamp(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected an ISO date-time") from None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def migrate(settings: IntakeSettings) -> None:
    from .adapters.wiring import database

    db = database(settings)
    db.dispose()
    print(f"intake schema ready ({db.engine.dialect.name})")


def api(settings: IntakeSettings) -> None:
    from .api import create_api

    run_api(create_api(settings), settings, settings.api_port)


class _Bar:
    """A rich progress bar over the file's bytes (quiet when stderr is not a terminal)."""

    def __init__(self, label: str, enabled: bool) -> None:
        self.enabled = enabled
        self.label = label
        self.progress = None
        self.task = None

    def __enter__(self) -> "_Bar":
        if self.enabled:
            from rich.progress import (
                BarColumn, Progress as RichProgress, TextColumn, TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self.progress = RichProgress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn(
                "{task.percentage:>5.1f}%"), TextColumn("{task.fields[counts]}"), TimeElapsedColumn(),
                TimeRemainingColumn(), transient=False)
            self.progress.start()
            self.task = self.progress.add_task(self.label, total=100, counts="")
        return self

    def __call__(self, p: Progress) -> None:
        if self.progress is None:
            return
        frac = p.fraction
        counts = f"{p.accepted:,} accepted · {p.rejected:,} rejected" + (f" · {p.lines:,} lines" if p.lines else "")
        self.progress.update(self.task, completed=(frac or 0) * 100, counts=counts)

    def __exit__(self, *exc) -> None:
        if self.progress is not None:
            self.progress.stop()


def _context(settings: IntakeSettings) -> tuple[LoadContext, EventProducer]:
    from .adapters.ownership import sweep_stale_loads
    from .adapters.wiring import database, load_context

    db = database(settings)
    sweep_stale_loads(db, settings.load_time_budget_s)  # loads whose process died end failed, with the reason
    producer = EventProducer(settings, client_id="intake-load")
    return load_context(settings, db, producer), producer


def _finish(report: LoadReport, as_json: bool) -> int:
    if as_json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        parts = [f"{report.kind} load {report.load_id}: {report.status}",
                 f"accepted {report.accepted:,}", f"rejected {report.rejected:,}"]
        if report.kind == "claims":
            parts.append(f"lines {report.lines:,}")
        else:
            parts += [f"changed {report.changed:,}", f"unchanged {report.unchanged:,}", f"termed {report.termed:,}"]
        parts.append(f"dead-lettered {report.dead_lettered:,}")
        if report.seconds is not None:
            parts.append(f"{report.seconds:.1f}s")
        print(" · ".join(parts), file=sys.stderr)
        for w in report.warnings:
            print(f"warning: {w}", file=sys.stderr)
        for r in report.rejections[:10]:
            print(f"rejected ({r['scope']}, {r['where']}): {r['reason']}", file=sys.stderr)
        if report.rejected > 10:
            print(f"... {report.rejected - 10:,} more rejections in the report", file=sys.stderr)
        if report.report_file:
            print(f"report: {report.report_file}", file=sys.stderr)
        if report.ack_999_file:
            print(f"999 acknowledgment: {report.ack_999_file}", file=sys.stderr)
    if report.status == "failed":
        if report.error:
            print(f"load failed: {report.error}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_REJECTIONS if report.rejected else EXIT_OK


def load_roster_command(settings: IntakeSettings, argv: list[str] | None = None) -> None:
    ap = _parser("load-roster")
    ap.add_argument("file", type=Path, help="roster CSV (shared.formats.ROSTER_COLUMNS)")
    ap.add_argument("--full", action="store_true", help="the complete roster: term active members it does not list")
    ap.add_argument("--effective", type=_day, help="the day the load takes effect (default: today)")
    ap.add_argument("--json", action="store_true", help="print the report as JSON on stdout")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(sys.argv[2:] if argv is None else argv)
    if not args.file.is_file():
        ap.error(f"no such file: {args.file}")
    ctx, producer = _context(settings)
    effective = datetime.combine(args.effective, time(0), tzinfo=timezone.utc) if args.effective else None
    try:
        with _Bar(f"roster {args.file.name}", sys.stderr.isatty() and not args.no_progress) as bar:
            report = load_roster(ctx, args.file, full=args.full, effective=effective, on_progress=bar)
    except DeliveryError as exc:
        print(f"load failed: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_FAILED) from None
    finally:
        producer.close()
    raise SystemExit(_finish(report, args.json))


def load_claims_command(settings: IntakeSettings, argv: list[str] | None = None) -> None:
    ap = _parser("load-claims")
    ap.add_argument("file", type=Path, help="837P/837I (X12 5010), claims CSV or JSON (lines or array)")
    ap.add_argument("--format", choices=("x12", "csv", "json"), help="default: detected from the file")
    ap.add_argument("--validate", action="store_true",
                    help="X12: validate against the 5010 maps first, write the 999 beside the file, "
                         "and load nothing from rejected transaction sets")
    ap.add_argument("--force", action="store_true", help="produce again a file that was already loaded")
    ap.add_argument("--occurred-at", type=_stamp, help="event time for CSV/JSON claims (default: now)")
    ap.add_argument("--json", action="store_true", help="print the report as JSON on stdout")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(sys.argv[2:] if argv is None else argv)
    if not args.file.is_file():
        ap.error(f"no such file: {args.file}")
    ctx, producer = _context(settings)
    try:
        with _Bar(f"claims {args.file.name}", sys.stderr.isatty() and not args.no_progress) as bar:
            report = load_claims(ctx, args.file, args.format, validate=args.validate, force=args.force,
                                 occurred_at=args.occurred_at, on_progress=bar)
    except DeliveryError as exc:
        print(f"load failed: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_FAILED) from None
    finally:
        producer.close()
    raise SystemExit(_finish(report, args.json))


class _SeedLine:
    """The seed's progress on stderr: live on a terminal, one closing line per topic always."""

    def __init__(self, live: bool) -> None:
        self.live = live
        self.last = None

    def __call__(self, summary) -> None:
        self.last = summary
        if summary.complete:
            skipped = ", ".join(f"{n:,} {reason}" for reason, n in sorted(summary.skipped.items())) or "none"
            extra = (f" · {summary.already_recorded:,} already recorded · {summary.tombstones:,} tombstones"
                     f" ({summary.forgotten:,} forgotten)") if summary.topic.endswith(ROSTER) else ""
            start = "\r" if self.live else ""
            print(f"{start}{summary.topic}: {summary.read:,} records read "
                  f"({summary.total:,} offsets) · {summary.recorded:,} recorded{extra} · skipped: {skipped}",
                  file=sys.stderr)
        elif self.live:
            print(f"\r{summary.topic}: {summary.read:,} / {summary.total:,} records read", end="", file=sys.stderr,
                  flush=True)


def seed_command(settings: IntakeSettings, argv: list[str] | None = None) -> None:
    """The upgrade step: fill roster_snapshots and claim_versions_loaded from the topics."""
    ap = _parser("seed")
    ap.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(sys.argv[2:] if argv is None else argv)
    from sqlalchemy.exc import SQLAlchemyError

    from shared.kafka_admin import broker_reachable
    from shared.topics import CLAIMS, ROSTER

    from .adapters.repositories import SqlClaimVersions, SqlRosterSnapshots
    from .adapters.topic_reader import KafkaTopicReader, TopicMissing
    from .adapters.wiring import database
    from .app.seed import SeedIncomplete, seed_claims, seed_roster

    if not broker_reachable(settings, timeout=5.0):
        print(f"seed refused: the Kafka broker ({settings.kafka_bootstrap}) is not reachable; nothing was read",
              file=sys.stderr)
        raise SystemExit(EXIT_USAGE)
    readers = []
    try:  # both end offsets taken now, before anything is read
        for name in (ROSTER, CLAIMS):
            readers.append(KafkaTopicReader(settings, settings.topic(name)))
    except (TopicMissing, SeedIncomplete) as exc:
        for r in readers:
            r.close()
        print(f"seed refused: {exc}; nothing was written", file=sys.stderr)
        raise SystemExit(EXIT_USAGE) from None
    db = database(settings)
    steps = ((seed_roster, SqlRosterSnapshots(db)), (seed_claims, SqlClaimVersions(db)))
    topics, complete = {}, True
    try:
        for reader, (step, target) in zip(readers, steps):
            line = _SeedLine(sys.stderr.isatty() and not args.no_progress)
            try:
                summary = step(reader, target, chunk=settings.ingest_batch, on_progress=line)
                topics[reader.topic] = summary.as_dict()
            except (SeedIncomplete, SQLAlchemyError) as exc:
                reason = str(exc) if isinstance(exc, SeedIncomplete) else f"database error ({exc.__class__.__name__})"
                print(f"\nseed stopped on {reader.topic}: {reason}; run it again", file=sys.stderr)
                topics[reader.topic] = {**(line.last.as_dict() if line.last else {"topic": reader.topic}),
                                        "complete": False, "error": reason}
                complete = False
                break
    finally:
        for r in readers:
            r.close()
        db.dispose()
    if args.json:
        print(json.dumps({"complete": complete, "topics": topics}, indent=2))
    raise SystemExit(EXIT_OK if complete else EXIT_FAILED)


COMMANDS = {
    "migrate": migrate,
    "api": api,
    "load-roster": load_roster_command,
    "load-claims": load_claims_command,
    "seed": seed_command,
}
