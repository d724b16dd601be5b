"""The ledger on SQL (``app.ports.LedgerEntries``): entries appended by ``COPY``, a batch's
members' entries loaded in a few queries, and the totals statements, the API and a replay read."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from shared.chunks import chunks

from ..domain import ClosedMonths, Ledger, LedgerTotals, Posting, PostingKey
from ..domain.periods import periods_between
from .sql import CHUNK, among, copy_rows, is_postgres
from .tables import ledger_entries

_le = ledger_entries.c
_COLS = (_le.entry_id, _le.contract_id, _le.period, _le.account, _le.member_id, _le.rule, _le.amount_cents,
         _le.posted_period, _le.source_event_id, _le.reverses, _le.adjustment)
_POSTING_COLS = ("entry_id", "contract_id", "period", "posted_period", "account", "member_id", "rule", "amount_cents",
                 "source_event_id", "reverses", "adjustment", "recorded_at")


def _posting(row) -> Posting:
    return Posting(
        uuid.UUID(row.entry_id), PostingKey(row.contract_id, row.period, row.account, row.member_id, row.rule),
        row.amount_cents, row.posted_period, uuid.UUID(row.source_event_id),
        uuid.UUID(row.reverses) if row.reverses else None, bool(row.adjustment),
    )


def ledger_of(postings: Iterable[Posting], closed: ClosedMonths) -> Ledger:
    """An in-memory ``Ledger`` holding ``postings`` (already posted) with ``closed`` months."""
    ledger = Ledger()
    ledger.append(postings)
    ledger.closed = closed
    return ledger


class SqlLedger:
    def __init__(self, session: Session) -> None:
        self.session = session

    def of_members(self, members: Sequence[str], closed: ClosedMonths,
                   rules: Mapping[str, set[str]] | None = None) -> Ledger:
        s = self.session
        rows: list[Posting] = []
        for part in chunks(sorted(members), CHUNK):
            rows.extend(_posting(r) for r in s.execute(
                select(*_COLS).where(among(s, _le.member_id, part)).order_by(_le.seq)))
        pairs = sorted((m, r) for m, rs in (rules or {}).items() for r in rs)
        postgres = is_postgres(s)
        for part in chunks(pairs, 5000 if postgres else 400):
            if postgres:  # one index probe per (member, rule) pair
                wanted = select(
                    func.unnest(bindparam("m", [m for m, _ in part], type_=ARRAY(_le.member_id.type))).label("m"),
                    func.unnest(bindparam("r", [r for _, r in part], type_=ARRAY(_le.rule.type))).label("r"),
                ).subquery()
                q = (select(*_COLS).join(wanted, (_le.member_id == wanted.c.m) & (_le.rule == wanted.c.r))
                     .order_by(_le.seq))
                rows.extend(_posting(r) for r in s.execute(q))
            else:
                keys = set(part)
                q = select(*_COLS).where(_le.member_id.in_({m for m, _ in part})).order_by(_le.seq)
                rows.extend(_posting(r) for r in s.execute(q) if (r.member_id, r.rule) in keys)
        return ledger_of(rows, closed)

    def of_contract(self, contract_id: str, since: str, closed: ClosedMonths) -> Ledger:
        q = (select(*_COLS).where(_le.contract_id == contract_id, _le.member_id.is_(None), _le.period >= since)
             .order_by(_le.seq))
        return ledger_of((_posting(r) for r in self.session.execute(q)), closed)

    def append(self, postings: Sequence[Posting], recorded_at: datetime) -> None:
        sources: dict[uuid.UUID, str] = {}  # a batch's postings share a few source events
        rows = []
        for p in postings:
            k, src = p.key, p.source_event_id
            text_src = sources.get(src)
            if text_src is None:
                text_src = sources[src] = str(src)
            rows.append((str(p.entry_id), k.contract_id, k.period, p.posted_period, k.account, k.member_id, k.rule,
                         p.amount_cents, text_src, str(p.reverses) if p.reverses else None, p.adjustment,
                         recorded_at))
        copy_rows(self.session, ledger_entries, _POSTING_COLS, rows)

    # ------------------------------------------------------------------ totals
    def totals(self, contract_id: str, first: str, last: str) -> dict[str, LedgerTotals]:
        by_account: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        posted: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        late: dict[str, dict[tuple[str, str], int]] = defaultdict(lambda: defaultdict(int))
        q = (select(_le.period, _le.posted_period, _le.account, _le.adjustment, func.sum(_le.amount_cents))
             .where(_le.contract_id == contract_id,
                    or_(_le.period.between(first, last), _le.posted_period.between(first, last)))
             .group_by(_le.period, _le.posted_period, _le.account, _le.adjustment))
        for period, posted_period, account, adjustment, cents in self.session.execute(q):
            v = int(cents)
            if first <= period <= last:
                by_account[period][account] += v
            if first <= posted_period <= last:
                posted[posted_period][account] += v
                if adjustment:
                    late[posted_period][(period, account)] += v
        return {p: LedgerTotals(dict(by_account.get(p, {})), dict(posted.get(p, {})), dict(late.get(p, {})))
                for p in periods_between(first, last)}

    def key_balances(self) -> dict[PostingKey, int]:
        q = (select(_le.contract_id, _le.period, _le.account, _le.member_id, _le.rule, func.sum(_le.amount_cents))
             .group_by(_le.contract_id, _le.period, _le.account, _le.member_id, _le.rule))
        return {PostingKey(c, p, a, m, r): int(v) for c, p, a, m, r, v in self.session.execute(q) if int(v) != 0}

    def account_balances(self, contract_id: str | None = None) -> dict[tuple[str, str, str], int]:
        q = select(_le.contract_id, _le.period, _le.account, func.sum(_le.amount_cents)).group_by(
            _le.contract_id, _le.period, _le.account)
        if contract_id is not None:
            q = q.where(_le.contract_id == contract_id)
        return {(c, p, a): int(v) for c, p, a, v in self.session.execute(q)}

    def net(self, contract_id: str, period: str, account: str, rule: str | None = None,
            rule_suffix: str | None = None) -> int:
        q = select(func.coalesce(func.sum(_le.amount_cents), 0)).where(
            _le.contract_id == contract_id, _le.period == period, _le.account == account)
        if rule is not None:
            q = q.where(_le.rule == rule)
        elif rule_suffix is not None:
            q = q.where(_le.rule.like(f"%{rule_suffix}"))
        return int(self.session.execute(q).scalar() or 0)

    # ------------------------------------------------------------------ the API's lists
    def _where(self, contract_id: str, period: str, by: str, account: str | None) -> list:
        where = [_le.contract_id == contract_id, (_le.period if by == "period" else _le.posted_period) == period]
        if account:
            where.append(_le.account == account)
        return where

    def entries(self, contract_id: str, period: str, by: str, account: str | None, limit: int,
                offset: int) -> list[dict]:
        q = (select(_le.entry_id, _le.period, _le.posted_period, _le.account, _le.member_id, _le.rule,
                    _le.amount_cents, _le.source_event_id, _le.reverses, _le.adjustment, _le.recorded_at)
             .where(*self._where(contract_id, period, by, account)).order_by(_le.seq).limit(limit).offset(offset))
        return [dict(r._mapping) for r in self.session.execute(q)]

    def aggregate(self, contract_id: str, period: str, by: str, account: str | None
                  ) -> list[tuple[str, bool, int, int]]:
        q = (select(_le.account, _le.adjustment, func.count(), func.sum(_le.amount_cents))
             .where(*self._where(contract_id, period, by, account))
             .group_by(_le.account, _le.adjustment).order_by(_le.account, _le.adjustment))
        return [(a, bool(adj), int(n), int(v)) for a, adj, n, v in self.session.execute(q)]
