"""What the API and the CLI change: load a contract, feed a metric, close a month. Each is one
writing unit of work (the ledger lock held); a month close writes its entries to Kafka,
confirmed, before it commits."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal, InvalidOperation

from shared.events import Event, utcnow

from ..domain import Contract, ContractError, contract_to_yaml, parse_contract
from ..domain.periods import parse_period
from . import ledger
from .context import Accruals
from .contract_book import fingerprint
from .ports import UnitOfWorkFactory

log = logging.getLogger("services.billing.commands")


def load_contract(uow: UnitOfWorkFactory, text: str, *, source: str, user: str,
                  now: Callable[[], datetime] = utcnow) -> tuple[Contract, int, bool]:
    """Validate and store a contract file: (contract, load seq, whether it changed anything).

    ``ContractError`` lists every problem by its place in the file. Loading the same terms
    again stores nothing; changed terms are picked up by the worker, which re-accrues.
    """
    contract = parse_contract(text, source=source)
    document = contract_to_yaml(contract)
    with uow() as w:
        current = w.books.current_contracts().get(contract.contract_id)
        if current is not None and current[1] == fingerprint(document):
            return contract, current[0], False
        seq = w.books.save_contract(contract.contract_id, fingerprint(document), source, document, now(), user)
        w.books.mark_dirty({contract.contract_id: contract.first_period()})
        w.commit()
    return contract, seq, True


def ensure_default_contracts(uow: UnitOfWorkFactory, files: Iterable[tuple[str, str]]) -> list[str]:
    """Load every contract file of ``files`` ((name, text)) when no contract is loaded yet."""
    with uow(writer=False) as r:
        if r.books.current_contracts():
            return []
    loaded = []
    for name, text in files:
        contract, _, _ = load_contract(uow, text, source=name, user="system")
        loaded.append(contract.contract_id)
    if loaded:
        log.info("loaded the default contracts: %s", ", ".join(loaded))
    return loaded


def feed_metric(uow: UnitOfWorkFactory, contract_id: str, period: str, metric: str, value: str | Decimal,
                user: str, now: Callable[[], datetime] = utcnow) -> None:
    parse_period(period)
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        raise ContractError(["value: not a number"], source="metric") from None
    if not d.is_finite():
        raise ContractError(["value: not a finite number"], source="metric")
    with uow() as w:
        w.facts.feed_metric(contract_id, period, metric, str(d), now(), user)
        w.books.mark_dirty({contract_id: period})
        w.commit()


def close_month(uow: UnitOfWorkFactory, accruals: Accruals, contract_id: str, period: str, user: str
                ) -> list[Event]:
    """Settle the month's estimates, close it, write the entries to Kafka before the commit
    (``ledger.MonthClosed``, ``ledger.CannotClose``, ``ValueError`` for a bad period)."""
    parse_period(period)
    with uow() as w:
        events = ledger.close_month(w, accruals.context(w), contract_id, period, user, accruals.clock())
        w.publish(events)
        w.commit()
    return events
