"""``python -m services.billing <command>``

    migrate                         the explicit schema step (create tables, append-only guards on
                                    ledger_entries and audit_log) and the example contracts when
                                    none is loaded; ``worker`` and ``api`` run the same idempotent
                                    step at start
    worker                          the faust worker (members.roster, claims.events, gaps.events,
                                    care.transitions, outreach.tasks → ledger → billing.accruals)
    api                             the HTTP API on API_PORT (8040)
    load-contract FILE              validate and load a contract file (problems named by place)
    close-month CONTRACT YYYY-MM    settle the month's estimates and close it
    statement CONTRACT YYYY-MM [--csv]
                                    (a period not YYYY-MM, or one without a version of the
                                    contract in force: a one-line error, exit status 2)
    explain CONTRACT YYYY-MM FIGURE [--member ID] [--limit N] [--json]
                                    a statement figure traced to its inputs: member months,
                                    claims counted and excluded with the reason, the arithmetic
                                    with the contract clause (FIGURE: fees[:tier], cost_of_care,
                                    carve_outs[:category], bonus:<id>, shared_savings)
    held [--member ID] [--json]     claim corrections waiting for their original
    rebuild [--keep]                replay every input topic from offset 0 into an empty scratch
                                    ledger and compare the balances with the live ledger to the
                                    cent; prints the differences, exit status 1 when any
"""

from __future__ import annotations

import json
import sys

from shared.runtime import run_api, run_worker, service_main

from .settings import BillingSettings


def _args(n: int, usage: str) -> list[str]:
    args = [a for a in sys.argv[2:] if not a.startswith("--")]
    if len(args) != n:
        print(f"usage: python -m services.billing {usage}", file=sys.stderr)
        raise SystemExit(2)
    return args


def _period(period: str) -> str:
    """The period argument, or a one-line error and exit status 2."""
    from .domain.periods import parse_period

    try:
        parse_period(period)
    except ValueError:
        print(f"bad period {period!r}: expected YYYY-MM (e.g. 2026-03)", file=sys.stderr)
        raise SystemExit(2) from None
    return period


def migrate(settings: BillingSettings) -> None:
    from .agents import open_database

    open_database(settings).dispose()
    print("billing schema ready")


def worker(settings: BillingSettings) -> None:
    from .agents import build_worker

    run_worker(build_worker(settings), settings)


def api(settings: BillingSettings) -> None:
    from .api import create_api

    run_api(create_api(settings), settings, settings.api_port)


def load_contract(settings: BillingSettings) -> None:
    from pathlib import Path

    from .agents import open_database
    from .commands import load_contract as load
    from .domain import ContractError

    (path,) = _args(1, "load-contract FILE")
    db = open_database(settings)
    try:
        contract, seq, changed = load(db, Path(path).read_text(encoding="utf-8"), source=Path(path).name, user="cli")
    except ContractError as err:
        print(f"{err.source}: the contract was not loaded:", file=sys.stderr)
        for p in err.problems:
            print(f"  {p}", file=sys.stderr)
        raise SystemExit(1) from None
    finally:
        db.dispose()
    print(f"{contract.contract_id}: load {seq} ({'loaded' if changed else 'unchanged: same terms already loaded'}), "
          f"{len(contract.versions)} version(s)")


def close_month(settings: BillingSettings) -> None:
    from shared.kafka import EventProducer

    from .agents import make_billing, open_database
    from .commands import close_month as close
    from .handlers import CannotClose, MonthClosed

    contract_id, period = _args(2, "close-month CONTRACT YYYY-MM")
    _period(period)
    db = open_database(settings)
    producer = EventProducer(settings, client_id="billing-cli")
    try:
        events = close(db, make_billing(settings), producer.send_sync, contract_id, period, "cli")
    except (MonthClosed, CannotClose, ValueError) as err:
        print(f"not closed: {err}", file=sys.stderr)
        raise SystemExit(1) from None
    finally:
        producer.close()
        db.dispose()
    print(f"{contract_id} {period} closed; {len(events)} entries posted")


def statement(settings: BillingSettings) -> None:
    from .agents import open_database
    from .commands import get_contract, statement as build
    from .domain import statement_csv

    contract_id, period = _args(2, "statement CONTRACT YYYY-MM [--csv]")
    _period(period)
    db = open_database(settings)
    try:
        with db.reader() as s:
            contract = get_contract(s, contract_id)
            if contract is None:
                print("no such contract is loaded", file=sys.stderr)
                raise SystemExit(1)
            if contract.version_for(period) is None:
                print(f"no version of {contract_id} is in force in {period}", file=sys.stderr)
                raise SystemExit(2)
            body = build(s, contract, period)
    finally:
        db.dispose()
    sys.stdout.write(statement_csv(body) if "--csv" in sys.argv[2:] else json.dumps(body, indent=2) + "\n")


def _option(name: str) -> str | None:
    argv = sys.argv[2:]
    for i, a in enumerate(argv):
        if a == name and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith(name + "="):
            return a.split("=", 1)[1]
    return None


def _positional() -> list[str]:
    out, skip = [], False
    for a in sys.argv[2:]:
        if skip:
            skip = False
        elif a in ("--member", "--limit"):
            skip = True
        elif not a.startswith("--"):
            out.append(a)
    return out


def explain(settings: BillingSettings) -> None:
    from shared.audit import record_access

    from .agents import open_database
    from .commands import get_contract
    from .explain import explain as run, member_ids, text_lines
    from .store import audit

    args = _positional()
    if len(args) != 3:
        print("usage: python -m services.billing explain CONTRACT YYYY-MM FIGURE [--member ID] [--limit N] [--json]",
              file=sys.stderr)
        raise SystemExit(2)
    contract_id, period, figure = args
    _period(period)
    limit = _option("--limit")
    if limit is not None and not limit.isdigit():
        print("--limit must be a whole number", file=sys.stderr)
        raise SystemExit(2)
    db = open_database(settings)
    try:
        with db.reader() as s:
            contract = get_contract(s, contract_id)
            if contract is None:
                print("no such contract is loaded", file=sys.stderr)
                raise SystemExit(1)
            try:
                body = run(s, contract, period, figure, member=_option("--member"))
            except ValueError as err:
                print(str(err), file=sys.stderr)
                raise SystemExit(2) from None
            record_access(s, audit, user_id="cli", role="admin", member_ids=member_ids(body), action="read",
                          endpoint="cli explain", detail=f"{contract_id} {period} {figure}")
            s.commit()
    finally:
        db.dispose()
    if "--json" in sys.argv[2:]:
        sys.stdout.write(json.dumps(body, indent=2) + "\n")
    else:
        sys.stdout.write("\n".join(text_lines(body, int(limit) if limit else 50)) + "\n")


def held(settings: BillingSettings) -> None:
    from .agents import open_database
    from .explain import held as rows, held_text

    db = open_database(settings)
    try:
        with db.reader() as s:
            body = rows(s, _option("--member"), limit=100_000)
    finally:
        db.dispose()
    if "--json" in sys.argv[2:]:
        sys.stdout.write(json.dumps(body, indent=2) + "\n")
    else:
        sys.stdout.write("\n".join(held_text(body)) + "\n")


def rebuild(settings: BillingSettings) -> None:
    from .rebuild import rebuild as run, report_lines

    result = run(settings, keep="--keep" in sys.argv[2:])
    for line in report_lines(result):
        print(line)
    raise SystemExit(0 if result.ok else 1)


def main() -> None:
    service_main(BillingSettings, {
        "migrate": migrate, "worker": worker, "api": api, "load-contract": load_contract,
        "close-month": close_month, "statement": statement, "explain": explain, "held": held, "rebuild": rebuild,
    })


if __name__ == "__main__":
    main()
