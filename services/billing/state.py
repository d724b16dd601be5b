"""Loading and saving what the handlers work on, a batch at a time (a few queries per batch).

Members' histories (roster snapshots, claim versions), their ledger entries, member-month
and paid-line rows; contract-level entries; the open month, closed months, dirty marks and
the loaded contracts.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from shared.db import insert_ignore, upsert
from shared.events import ClaimV1, MemberRosterV1

from .domain import ClosedMonths, Contract, ContractBook, Ledger, Posting, PostingKey, parse_contract
from .store import (
    billing_state, claim_events, closed_months, contracts, dirty_contracts, ledger_entries, member_months, paid_lines,
    roster_snapshots,
)

CHUNK = 1000
MonthRow = tuple[str, str, str, str]  # (period, contract, tier, runs text)
CostRow = tuple[str, str, str | None, str | None, int]  # (contract, period, procedure, revenue, cents)


def chunks(items: Sequence, size: int = CHUNK) -> Iterable[Sequence]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


# ---------------------------------------------------------------- member histories
def load_snapshots(session: Session, members: Sequence[str]) -> dict[str, list[MemberRosterV1]]:
    out: dict[str, list[MemberRosterV1]] = defaultdict(list)
    for part in chunks(sorted(members)):
        for mid, payload in session.execute(
            select(roster_snapshots.c.member_id, roster_snapshots.c.payload).where(roster_snapshots.c.member_id.in_(part))
        ):
            out[mid].append(MemberRosterV1.model_validate_json(payload))
    return out


def load_claims(session: Session, members: Sequence[str]) -> dict[str, list[ClaimV1]]:
    out: dict[str, list[ClaimV1]] = defaultdict(list)
    for part in chunks(sorted(members)):
        for mid, payload in session.execute(
            select(claim_events.c.member_id, claim_events.c.payload).where(claim_events.c.member_id.in_(part))
        ):
            out[mid].append(ClaimV1.model_validate_json(payload))
    return out


def save_snapshots(session: Session, events: Sequence[MemberRosterV1]) -> None:
    insert_ignore(session, roster_snapshots, [
        {"event_id": str(e.event_id), "member_id": e.member_id, "occurred_at": e.occurred_at,
         "payload": e.model_dump_json()} for e in events])


def save_claims(session: Session, events: Sequence[ClaimV1]) -> None:
    insert_ignore(session, claim_events, [
        {"event_id": str(e.event_id), "member_id": e.member_id, "claim_id": e.claim_id,
         "payload": e.model_dump_json()} for e in events])


def all_members(session: Session, after: str = "", limit: int = CHUNK) -> list[str]:
    """Members with a roster snapshot, in id order, after ``after`` (keyset paging)."""
    q = (select(roster_snapshots.c.member_id).where(roster_snapshots.c.member_id > after)
         .group_by(roster_snapshots.c.member_id).order_by(roster_snapshots.c.member_id).limit(limit))
    return [r[0] for r in session.execute(q)]


# ---------------------------------------------------------------- ledger
def _posting(row) -> Posting:
    return Posting(
        uuid.UUID(row.entry_id), PostingKey(row.contract_id, row.period, row.account, row.member_id, row.rule),
        row.amount_cents, row.posted_period, uuid.UUID(row.source_event_id),
        uuid.UUID(row.reverses) if row.reverses else None, bool(row.adjustment),
    )


_COLS = (ledger_entries.c.entry_id, ledger_entries.c.contract_id, ledger_entries.c.period, ledger_entries.c.account,
         ledger_entries.c.member_id, ledger_entries.c.rule, ledger_entries.c.amount_cents,
         ledger_entries.c.posted_period, ledger_entries.c.source_event_id, ledger_entries.c.reverses,
         ledger_entries.c.adjustment)


def ledger_of(postings: Iterable[Posting], closed: ClosedMonths) -> Ledger:
    """An in-memory ``Ledger`` holding ``postings`` (already posted) with ``closed`` months."""
    ledger = Ledger()
    ledger.append(postings)
    ledger.closed = closed
    return ledger


def load_member_ledger(session: Session, members: Sequence[str], closed: ClosedMonths) -> Ledger:
    rows: list[Posting] = []
    for part in chunks(sorted(members)):
        rows.extend(_posting(r) for r in session.execute(
            select(*_COLS).where(ledger_entries.c.member_id.in_(part)).order_by(ledger_entries.c.seq)))
    return ledger_of(rows, closed)


def load_contract_ledger(session: Session, contract_id: str, since: str, closed: ClosedMonths) -> Ledger:
    q = (select(*_COLS).where(ledger_entries.c.contract_id == contract_id, ledger_entries.c.member_id.is_(None),
                              ledger_entries.c.period >= since).order_by(ledger_entries.c.seq))
    return ledger_of((_posting(r) for r in session.execute(q)), closed)


def insert_postings(session: Session, postings: Sequence[Posting], recorded_at: datetime) -> None:
    rows = [
        {"entry_id": str(p.entry_id), "contract_id": p.key.contract_id, "period": p.key.period,
         "posted_period": p.posted_period, "account": p.key.account, "member_id": p.key.member_id,
         "rule": p.key.rule, "amount_cents": p.amount_cents, "source_event_id": str(p.source_event_id),
         "reverses": str(p.reverses) if p.reverses else None, "adjustment": p.adjustment, "recorded_at": recorded_at}
        for p in postings
    ]
    for part in chunks(rows, 5000):
        session.execute(insert(ledger_entries), list(part))


# ---------------------------------------------------------------- member months and paid lines
def load_month_rows(session: Session, members: Sequence[str]) -> dict[str, set[MonthRow]]:
    out: dict[str, set[MonthRow]] = defaultdict(set)
    for part in chunks(sorted(members)):
        for r in session.execute(select(member_months).where(member_months.c.member_id.in_(part))):
            out[r.member_id].add((r.period, r.contract_id, r.tier, r.runs))
    return out


def load_cost_rows(session: Session, members: Sequence[str]) -> dict[str, dict[str, list[CostRow]]]:
    """member → family → rows (sorted), from ``member_family``."""
    out: dict[str, dict[str, list[CostRow]]] = defaultdict(lambda: defaultdict(list))
    for part in chunks(sorted(members)):
        q = select(paid_lines.c.member_id, paid_lines.c.member_family, paid_lines.c.contract_id, paid_lines.c.period,
                   paid_lines.c.procedure_code, paid_lines.c.revenue_code, paid_lines.c.paid_cents
                   ).where(paid_lines.c.member_id.in_(part))
        for r in session.execute(q):
            family = r.member_family.split("|", 1)[1]
            out[r.member_id][family].append((r.contract_id, r.period, r.procedure_code, r.revenue_code, r.paid_cents))
    for fams in out.values():
        for rows in fams.values():
            rows.sort(key=_cost_sort)
    return out


def _cost_sort(r: CostRow) -> tuple:
    return (r[0], r[1], r[2] or "", r[3] or "", r[4])


def write_month_rows(session: Session, removed: Sequence[tuple[str, str]], added: Sequence[dict]) -> None:
    """Delete (member, period) rows, then insert the new ones."""
    by_member: dict[str, list[str]] = defaultdict(list)
    for mid, period in removed:
        by_member[mid].append(period)
    for mid, periods in by_member.items():
        session.execute(delete(member_months).where(member_months.c.member_id == mid,
                                                    member_months.c.period.in_(periods)))
    for part in chunks(list(added), 5000):
        session.execute(insert(member_months), list(part))


def write_cost_rows(session: Session, replaced: Sequence[str], added: Sequence[dict]) -> None:
    """Delete every row of the ``member|family`` keys in ``replaced``, then insert ``added``."""
    for part in chunks(sorted(replaced)):
        session.execute(delete(paid_lines).where(paid_lines.c.member_family.in_(part)))
    for part in chunks(list(added), 5000):
        session.execute(insert(paid_lines), list(part))


# ---------------------------------------------------------------- months, marks, state
def load_closed(session: Session) -> ClosedMonths:
    return ClosedMonths(frozenset((r[0], r[1]) for r in session.execute(
        select(closed_months.c.contract_id, closed_months.c.period))))


def get_state(session: Session, key: str) -> str | None:
    return session.execute(select(billing_state.c.value).where(billing_state.c.key == key)).scalar()


def set_state(session: Session, key: str, value: str) -> None:
    upsert(session, billing_state, [{"key": key, "value": value}], ["key"])


def mark_dirty(session: Session, marks: Mapping[str, str]) -> None:
    """Contract-level estimates of ``contract`` need recomputing from ``period`` on (keeps the earliest)."""
    if not marks:
        return
    existing = dict(session.execute(select(dirty_contracts.c.contract_id, dirty_contracts.c.from_period)
                                    .where(dirty_contracts.c.contract_id.in_(list(marks)))).all())
    rows = [{"contract_id": c, "from_period": min(p, existing.get(c, p))} for c, p in sorted(marks.items())]
    upsert(session, dirty_contracts, rows, ["contract_id"])


def take_dirty(session: Session) -> dict[str, str]:
    marks = dict(session.execute(select(dirty_contracts.c.contract_id, dirty_contracts.c.from_period)).all())
    if marks:
        session.execute(delete(dirty_contracts))
    return marks


def peek_dirty(session: Session) -> dict[str, str]:
    return dict(session.execute(select(dirty_contracts.c.contract_id, dirty_contracts.c.from_period)).all())


# ---------------------------------------------------------------- contracts
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


def touch(session: Session) -> None:
    """A no-op write (keeps SQLite's writer lock from the first statement on)."""
    session.execute(update(billing_state).where(billing_state.c.key == "lock").values(value="lock"))
