"""What the API and the CLI read, without the ledger lock: contracts, statements (one month or a
range with one load of facts), the what-if, the ledger's entries and totals, member months."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..domain import Contract, ContractBook, build_statement, parse_runs, what_if
from ..domain.periods import days_in, parse_period, periods_between
from .contract_book import BookCache
from .facts import contract_facts, facts_window
from .ports import UnitOfWork

_books = BookCache()


def contract_book(uow: UnitOfWork) -> ContractBook:
    return _books.get(uow.books)[0]


def get_contract(uow: UnitOfWork, contract_id: str) -> Contract | None:
    return contract_book(uow).get(contract_id)


def statement(uow: UnitOfWork, contract: Contract, period: str) -> dict[str, Any]:
    """The statement of a contract month (``ValueError`` when no version is in force)."""
    parse_period(period)
    first, last = facts_window(contract, period, period)
    facts = contract_facts(uow, contract, first, last)
    return build_statement(contract, period, facts, uow.ledger.totals(contract.contract_id, period, period)[period])


def statements(uow: UnitOfWork, contract: Contract, first: str, last: str) -> dict[str, dict[str, Any]]:
    """The statements of every month ``first``..``last`` with one load of facts and totals
    (month close runs, exports)."""
    start, _ = facts_window(contract, first, last)
    facts = contract_facts(uow, contract, start, last)
    totals = uow.ledger.totals(contract.contract_id, first, last)
    return {p: build_statement(contract, p, facts, totals[p]) for p in periods_between(first, last)
            if contract.version_for(p) is not None}


def statement_what_if(uow: UnitOfWork, contract: Contract, period: str, overrides: Mapping[str, Any]
                      ) -> dict[str, Any]:
    """The statement under changed terms next to the real one; posts nothing."""
    parse_period(period)
    first, last = facts_window(contract, period, period)
    return what_if(contract, period, contract_facts(uow, contract, first, last), overrides)


def fed_metric_rows(uow: UnitOfWork, contract_id: str) -> list[dict[str, Any]]:
    return uow.facts.fed_metric_rows(contract_id)


def member_month_rows(uow: UnitOfWork, contract_id: str, period: str, limit: int, offset: int
                      ) -> list[dict[str, Any]]:
    """One row per member of a contract month (eligible days from the runs), by member id."""
    return [{"member_id": m, "tier": t, "eligible_days": sum(b - a + 1 for a, b in parse_runs(r)),
             "days_in_month": days_in(period), "runs": r}
            for m, t, r in uow.rows.contract_months(contract_id, period, limit=limit, offset=offset)]
