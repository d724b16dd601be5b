"""The ledger in memory (``app.ports.LedgerEntries``), as ``adapters/ledger.py`` keeps it on SQL:
append-only (entries are only ever added, in order — the store's ``seq``), an entry id at most
once (the unique index: a second post of an id is refused and the transaction keeps nothing),
and the same reads: a batch's members' entries (every key of the full members, only the given
rules of the others), a contract's own entries, the totals a statement shows (zero nets kept,
as ``SUM`` keeps them), the API's lists in posting order."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from services.billing.domain import ClosedMonths, Ledger, LedgerTotals, Posting, PostingKey
from services.billing.domain.ledger import DuplicateEntry
from services.billing.domain.periods import periods_between


def ledger_of(postings: Iterable[Posting], closed: ClosedMonths) -> Ledger:
    """What the SQL adapter hands the use cases: the entries posted, the closed months set after
    (loading history into a closed month is not a post)."""
    ledger = Ledger()
    ledger.append(postings)
    ledger.closed = closed
    return ledger


class FakeLedger:
    """Over ``store.entries``: a list of (posting, recorded_at), in posting order."""

    def __init__(self, s) -> None:
        self.s = s

    def _postings(self) -> list[Posting]:
        return [p for p, _ in self.s.entries]

    def of_members(self, members: Sequence[str], closed: ClosedMonths,
                   rules: Mapping[str, set[str]] | None = None) -> Ledger:
        full = set(members)
        pairs = {(m, r) for m, rs in (rules or {}).items() for r in rs}
        # the SQL reads the full members' entries, then those of the (member, rule) pairs: an
        # entry matching both would come twice (the use cases never ask so)
        rows = [p for p in self._postings() if p.key.member_id in full]
        rows += [p for p in self._postings() if (p.key.member_id, p.key.rule) in pairs]
        return ledger_of(rows, closed)

    def of_contract(self, contract_id: str, since: str, closed: ClosedMonths) -> Ledger:
        return ledger_of((p for p in self._postings() if p.key.contract_id == contract_id and p.key.member_id is None
                          and p.key.period >= since), closed)

    def append(self, postings: Sequence[Posting], recorded_at: datetime) -> None:
        posted = {p.entry_id for p in self._postings()}
        for p in postings:
            if p.entry_id in posted:
                raise DuplicateEntry("entry id already posted")  # the unique index on entry_id
            posted.add(p.entry_id)
        self.s.entries.extend((p, recorded_at) for p in postings)

    # ------------------------------------------------------------------ totals
    def totals(self, contract_id: str, first: str, last: str) -> dict[str, LedgerTotals]:
        by_account: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        posted: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        late: dict[str, dict[tuple[str, str], int]] = defaultdict(lambda: defaultdict(int))
        for p in self._postings():
            k = p.key
            if k.contract_id != contract_id:
                continue
            if first <= k.period <= last:
                by_account[k.period][k.account] += p.amount_cents
            if first <= p.posted_period <= last:
                posted[p.posted_period][k.account] += p.amount_cents
                if p.adjustment:
                    late[p.posted_period][(k.period, k.account)] += p.amount_cents
        return {per: LedgerTotals(dict(by_account.get(per, {})), dict(posted.get(per, {})), dict(late.get(per, {})))
                for per in periods_between(first, last)}

    def key_balances(self) -> dict[PostingKey, int]:
        out: dict[PostingKey, int] = defaultdict(int)
        for p in self._postings():
            out[p.key] += p.amount_cents
        return {k: v for k, v in out.items() if v != 0}

    def account_balances(self, contract_id: str | None = None) -> dict[tuple[str, str, str], int]:
        out: dict[tuple[str, str, str], int] = defaultdict(int)
        for p in self._postings():
            if contract_id is None or p.key.contract_id == contract_id:
                out[(p.key.contract_id, p.key.period, p.key.account)] += p.amount_cents
        return dict(out)

    def net(self, contract_id: str, period: str, account: str, rule: str | None = None,
            rule_suffix: str | None = None) -> int:
        return sum(p.amount_cents for p in self._postings()
                   if (p.key.contract_id, p.key.period, p.key.account) == (contract_id, period, account)
                   and (p.key.rule == rule if rule is not None else
                        rule_suffix is None or p.key.rule.endswith(rule_suffix)))

    # ------------------------------------------------------------------ the API's lists
    def _where(self, contract_id: str, period: str, by: str, account: str | None) -> list[tuple[Posting, datetime]]:
        return [(p, at) for p, at in self.s.entries
                if p.key.contract_id == contract_id and (p.key.period if by == "period" else p.posted_period) == period
                and (not account or p.key.account == account)]

    def entries(self, contract_id: str, period: str, by: str, account: str | None, limit: int,
                offset: int) -> list[dict]:
        return [{"entry_id": str(p.entry_id), "period": p.key.period, "posted_period": p.posted_period,
                 "account": p.key.account, "member_id": p.key.member_id, "rule": p.key.rule,
                 "amount_cents": p.amount_cents, "source_event_id": str(p.source_event_id),
                 "reverses": str(p.reverses) if p.reverses else None, "adjustment": p.adjustment, "recorded_at": at}
                for p, at in self._where(contract_id, period, by, account)[offset:offset + limit]]

    def aggregate(self, contract_id: str, period: str, by: str, account: str | None
                  ) -> list[tuple[str, bool, int, int]]:
        groups: dict[tuple[str, bool], list[int]] = defaultdict(lambda: [0, 0])
        for p, _ in self._where(contract_id, period, by, account):
            g = groups[(p.key.account, p.adjustment)]
            g[0] += 1
            g[1] += p.amount_cents
        return [(a, adj, n, v) for (a, adj), (n, v) in sorted(groups.items())]
