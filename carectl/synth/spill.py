"""Disk buckets for the external sort: items go to a bucket (a month of ADT, a claims window)
as people are generated, and each bucket is read back, sorted and written on its own, so the
memory held is one bucket, not the year."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any


class Bucket:
    def __init__(self, path: Path, flush_at: int = 4000) -> None:
        self.path = path
        self.flush_at = flush_at
        self._items: list[Any] = []
        self._fh = None
        self.count = 0

    def add(self, item: Any) -> None:
        self._items.append(item)
        self.count += 1
        if len(self._items) >= self.flush_at:
            self._flush()

    def _flush(self) -> None:
        if not self._items:
            return
        if self._fh is None:
            self._fh = open(self.path, "wb")
        pickle.dump(self._items, self._fh, protocol=pickle.HIGHEST_PROTOCOL)
        self._items = []

    def drain(self) -> list[Any]:
        """Everything added (in insertion order); the bucket's file is removed."""
        out: list[Any] = []
        if self._fh is not None:
            self._fh.close()
            self._fh = None
            with open(self.path, "rb") as fh:
                for chunk in _chunks(fh):
                    out.extend(chunk)
            self.path.unlink()
        out.extend(self._items)
        self._items = []
        return out

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        if self.path.exists():
            self.path.unlink()


def _chunks(fh: Any) -> Iterator[list[Any]]:
    while True:
        try:
            yield pickle.load(fh)
        except EOFError:
            return
