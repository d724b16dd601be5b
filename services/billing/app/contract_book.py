"""Loaded contracts: every load is kept; the latest load of a contract id is in force. Parsed
once per change of the loads' fingerprints (``BookCache``)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from ..domain import ContractBook, parse_contract
from .ports import Books


def fingerprint(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


def book_fingerprint(current: Mapping[str, tuple[int, str, str]]) -> str:
    return fingerprint("|".join(f"{cid}:{fp}" for cid, (_, fp, _) in sorted(current.items())))


class BookCache:
    """Parsed contracts, re-read only when a new load changed the fingerprints."""

    def __init__(self) -> None:
        self._key: str | None = None
        self._book = ContractBook()

    def get(self, books: Books) -> tuple[ContractBook, str]:
        current = books.current_contracts()
        key = book_fingerprint(current)
        if key != self._key:
            self._book = ContractBook(parse_contract(doc, source=cid) for cid, (_, _, doc) in current.items())
            self._key = key
        return self._book, key
