"""What the API and the CLI do: load a contract, feed a metric, statements and the what-if,
close a month. Queries read without the ledger lock; writes go through ``BillingDatabase``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.db import upsert
from shared.events import Event, utcnow

from .aggregates import facts_window, ledger_totals, ledger_totals_for, load_facts
from .domain import Contract, ContractError, build_statement, contract_to_yaml, parse_contract, what_if
from .domain.periods import parse_period, periods_between
from .handlers import Billing
from .contract_store import BookCache, current_contracts, fingerprint, save_contract
from .state import mark_dirty
from .store import BillingDatabase, fed_metrics

_books = BookCache()


def load_contract(db: BillingDatabase, text: str, *, source: str, user: str) -> tuple[Contract, int, bool]:
    """Validate and store a contract file: (contract, load seq, whether it changed anything).

    ``ContractError`` lists every problem by its place in the file. Loading the same terms
    again stores nothing; changed terms are picked up by the worker, which re-accrues.
    """
    contract = parse_contract(text, source=source)
    document = contract_to_yaml(contract)
    with db.transaction() as s:
        current = current_contracts(s).get(contract.contract_id)
        if current is not None and current[1] == fingerprint(document):
            return contract, current[0], False
        seq = save_contract(s, contract, document, source, user, utcnow())
        mark_dirty(s, {contract.contract_id: contract.first_period()})
    return contract, seq, True


def ensure_default_contracts(db: BillingDatabase, contracts_dir: Path) -> list[str]:
    """Load every ``*.yaml`` in ``contracts_dir`` when no contract is loaded yet."""
    with db.reader() as s:
        if current_contracts(s):
            return []
    loaded = []
    for path in sorted(Path(contracts_dir).glob("*.yaml")):
        contract, _, _ = load_contract(db, path.read_text(encoding="utf-8"), source=path.name, user="system")
        loaded.append(contract.contract_id)
    return loaded


def contract_book(session: Session):
    return _books.get(session)[0]


def get_contract(session: Session, contract_id: str) -> Contract | None:
    return contract_book(session).get(contract_id)


def statement(session: Session, contract: Contract, period: str) -> dict[str, Any]:
    """The statement of a contract month (``ValueError`` when no version is in force)."""
    parse_period(period)
    first, last = facts_window(contract, period, period)
    facts = load_facts(session, contract, first, last)
    return build_statement(contract, period, facts, ledger_totals(session, contract.contract_id, period))


def statements(session: Session, contract: Contract, first: str, last: str) -> dict[str, dict[str, Any]]:
    """The statements of every month ``first``..``last`` with one load of facts and totals
    (month close runs, exports)."""
    start, _ = facts_window(contract, first, last)
    facts = load_facts(session, contract, start, last)
    totals = ledger_totals_for(session, contract.contract_id, first, last)
    return {p: build_statement(contract, p, facts, totals[p]) for p in periods_between(first, last)
            if contract.version_for(p) is not None}


def statement_what_if(session: Session, contract: Contract, period: str, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The statement under changed terms next to the real one; posts nothing."""
    parse_period(period)
    first, last = facts_window(contract, period, period)
    return what_if(contract, period, load_facts(session, contract, first, last), overrides)


def feed_metric(db: BillingDatabase, contract_id: str, period: str, metric: str, value: str | Decimal, user: str) -> None:
    parse_period(period)
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        raise ContractError(["value: not a number"], source="metric") from None
    if not d.is_finite():
        raise ContractError(["value: not a finite number"], source="metric")
    with db.transaction() as s:
        upsert(s, fed_metrics, [{"contract_id": contract_id, "period": period, "metric": metric, "value": str(d),
                                 "recorded_at": utcnow(), "recorded_by": user}], ["contract_id", "period", "metric"])
        mark_dirty(s, {contract_id: period})


def fed_metric_rows(session: Session, contract_id: str) -> list[dict[str, Any]]:
    fm = fed_metrics.c
    return [dict(r._mapping) for r in session.execute(
        select(fm.period, fm.metric, fm.value, fm.recorded_at).where(fm.contract_id == contract_id)
        .order_by(fm.period, fm.metric))]


def close_month(db: BillingDatabase, billing: Billing, send: Callable[[list[Event]], None], contract_id: str,
                period: str, user: str) -> list[Event]:
    """Settle the month's estimates, close it, write the entries to Kafka before the commit."""
    parse_period(period)
    with db.transaction() as s:
        events = billing.close_month(s, contract_id, period, user)
        if events:
            send(events)
    return events
