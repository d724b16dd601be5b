"""The in-memory unit of work the use-case tests share: all-or-nothing on a copy of a service's
fake store. Entering the block works on a deep copy; ``commit`` writes the copy back, counts the
commit and runs the after-commit callbacks; leaving without a commit drops the copy. A subclass
binds its fake repositories in ``_bind(store)`` and says how a failed commit looks
(``commit_failure``); ``fail_commit`` makes the next commit fail as a lost database connection
would: nothing is kept and no callback runs."""

from __future__ import annotations

import copy

# store attributes that survive a rollback (what Kafka confirmed; the commit count itself)
OUTSIDE_THE_TRANSACTION = ("published", "commits")


class FakeUnitOfWorkBase:
    def __init__(self, store) -> None:
        self.store = store
        self.fail_commit = False
        self._bind(store)

    def _bind(self, s) -> None:
        self.working = s
        self._after: list = []

    def commit_failure(self) -> Exception:
        raise NotImplementedError

    def __enter__(self):
        self._bind(copy.deepcopy(self.store))
        return self

    def __exit__(self, *exc):
        self._bind(self.store)  # whatever was not committed is gone

    def after_commit(self, fn) -> None:
        self._after.append(fn)

    def commit(self) -> None:
        if self.fail_commit:
            self.fail_commit = False
            raise self.commit_failure()
        for name in vars(self.store):
            if name not in OUTSIDE_THE_TRANSACTION:
                setattr(self.store, name, getattr(self.working, name))
        self.store.commits += 1
        callbacks, self._after = self._after, []
        for cb in callbacks:
            cb()
        self._bind(copy.deepcopy(self.store))
