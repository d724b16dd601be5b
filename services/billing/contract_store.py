"""Loaded contracts: every load is kept; the latest load of a contract id is in force."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from .domain import Contract, ContractBook, parse_contract
from .store import contracts

def fingerprint(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


def current_contracts(session: Session) -> dict[str, tuple[int, str, str]]:
    """contract id → (load seq, fingerprint, YAML) of its latest load."""
    latest = (select(contracts.c.contract_id, func.max(contracts.c.seq).label("seq"))
              .group_by(contracts.c.contract_id).subquery())
    q = select(contracts.c.contract_id, contracts.c.seq, contracts.c.fingerprint, contracts.c.document).join(
        latest, contracts.c.seq == latest.c.seq)
    return {r.contract_id: (r.seq, r.fingerprint, r.document) for r in session.execute(q)}


def book_fingerprint(current: Mapping[str, tuple[int, str, str]]) -> str:
    return fingerprint("|".join(f"{cid}:{fp}" for cid, (_, fp, _) in sorted(current.items())))


class BookCache:
    """Parsed contracts, re-read only when a new load changed the fingerprints."""

    def __init__(self) -> None:
        self._key: str | None = None
        self._book = ContractBook()

    def get(self, session: Session) -> tuple[ContractBook, str]:
        current = current_contracts(session)
        key = book_fingerprint(current)
        if key != self._key:
            self._book = ContractBook(parse_contract(doc, source=cid) for cid, (_, _, doc) in current.items())
            self._key = key
        return self._book, key


def save_contract(session: Session, contract: Contract, document: str, source: str, by: str, at: datetime) -> int:
    res = session.execute(insert(contracts).values(
        contract_id=contract.contract_id, fingerprint=fingerprint(document), source=source[:500], document=document,
        loaded_at=at, loaded_by=by))
    return int(res.inserted_primary_key[0])

