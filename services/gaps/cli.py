"""Command-line re-evaluation (``python -m services.gaps reevaluate ...``).

    reevaluate [--all | --member ID ...] [--as-of YYYY-MM-DD] [--json]

It shows a progress bar on the terminal (stderr) and prints a summary (JSON with ``--json``).
Roster and claims files are loaded by the intake service (``python -m services.intake
load-roster | load-claims``).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date

from shared.kafka import EventProducer

from .settings import GapsSettings


def _parser(prog: str) -> argparse.ArgumentParser:
    return argparse.ArgumentParser(prog=f"python -m services.gaps {prog}")


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected YYYY-MM-DD") from None


class _Bar:
    """A rich progress bar (quiet when stderr is not a terminal); the caller updates it."""

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

    def __exit__(self, *exc) -> None:
        if self.progress is not None:
            self.progress.stop()


def reevaluate_command(settings: GapsSettings, argv: list[str] | None = None) -> None:
    from .adapters.database import open_database
    from .adapters.unit_of_work import unit_of_work_factory
    from .app.evaluation import Evaluator
    from .app.maintenance import lapse_candidates
    from .app.reevaluation import Reevaluation

    ap = _parser("reevaluate")
    group = ap.add_mutually_exclusive_group()
    group.add_argument("--all", action="store_true", help="every member on the roster")
    group.add_argument("--member", action="append", default=[], help="a member id (repeatable)")
    ap.add_argument("--as-of", type=_day, help="the evaluation day (default: EVALUATION_DATE or today)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(sys.argv[2:] if argv is None else argv)
    db = open_database(settings)
    producer = EventProducer(settings, client_id="gaps-reevaluate")
    day = args.as_of or settings.today()
    try:
        uow = unit_of_work_factory(db, producer)
        runner = Reevaluation(uow, Evaluator(settings, settings.load_codes()), chunk=settings.reevaluate_chunk)
        ids = None if args.all else (args.member or lapse_candidates(settings, uow, day))
        with _Bar("re-evaluation", sys.stderr.isatty() and not args.json) as bar:
            def progress(done: int, total: int) -> None:
                if bar.progress is not None:
                    bar.progress.update(bar.task, completed=100 * done / max(total, 1), counts=f"{done:,}/{total:,}")

            report = runner.run(ids, as_of=day, progress=progress)
    finally:
        producer.close()
    summary = {"members": report.members, "evaluated": report.evaluated, "status_changes": report.events,
               "by_type": report.by_type, "rows_written": report.changed_rows, "seconds": round(report.seconds, 3),
               "as_of": day.isoformat(), "scope": "all" if args.all else ("members" if args.member else "lapsing")}
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"re-evaluated {report.evaluated:,} of {report.members:,} members ({summary['scope']}) for "
              f"{day.isoformat()} in {report.seconds:.1f}s: {report.events:,} status changes, "
              f"{report.changed_rows:,} rows written", file=sys.stderr)
