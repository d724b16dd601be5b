"""``chunks(items, size)``: consecutive pieces of a sequence — IN-lists the database takes in one
go, batches of work. Pure (no I/O), so use cases and adapters alike use this one."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any


def chunks(items: Sequence[Any], size: int = 500) -> Iterator[Sequence[Any]]:
    """``items`` in consecutive pieces of at most ``size``."""
    for i in range(0, len(items), size):
        yield items[i:i + size]
