"""Loading and saving what the handlers work on, a batch at a time (a few queries per batch).

Members' histories (roster snapshots, claim versions), their ledger entries, member-month
and paid-line rows; contract-level entries; the open month, closed months and dirty marks.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Table, any_, bindparam, delete, func, insert, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from pydantic import ValidationError

from shared.codec import decode
from shared.db import upsert
from shared.events import ClaimV1, ClaimV2, MemberRosterV1

from .domain import ClosedMonths, Ledger, Posting, PostingKey
from .domain.claim_versions import family_closure
from .store import (
    billing_state, claim_events, closed_months, dirty_contracts, held_claims, ledger_entries, member_months, paid_lines,
    roster_snapshots,
)

CHUNK = 1000
MonthRow = tuple[str, str, str, str]  # (period, contract, tier, runs text)
CostRow = tuple[str, str, str | None, str | None, int]  # (contract, period, procedure, revenue, cents)


def chunks(items: Sequence, size: int = CHUNK) -> Iterable[Sequence]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def among(session: Session, column, values: Sequence[str]):
    """``column IN values`` — on PostgreSQL as ``= ANY(:array)``: one parameter however many
    values (the driver's cost of a long IN list grows with its length)."""
    if session.get_bind().dialect.name == "postgresql":
        # the array's element type must be the column's, or PostgreSQL casts the column and
        # cannot use its index
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(list(values))


def bulk_insert(session: Session, table: Table, rows: Sequence[dict]) -> None:
    """Insert many rows: PostgreSQL ``COPY`` (inside the session's transaction), else executemany.

    Only for rows that cannot conflict (the ledger lock and the handlers' own dedupe see to it).
    """
    if not rows:
        return
    cols = [c.name for c in table.columns if c.name in rows[0]]
    copy_rows(session, table, cols, [tuple(r[c] for c in cols) for r in rows])


def copy_rows(session: Session, table: Table, cols: Sequence[str], rows: Sequence[tuple]) -> None:
    """``bulk_insert`` of value tuples in ``cols`` order (no dict per row)."""
    if not rows:
        return
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        for part in chunks(list(rows), 5000):
            session.execute(insert(table), [dict(zip(cols, r)) for r in part])
        return
    raw = conn.connection.driver_connection
    with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({', '.join(cols)}) FROM STDIN") as copy:
        for r in rows:
            copy.write_row(r)


# ---------------------------------------------------------------- member histories
def load_snapshots(session: Session, members: Sequence[str]) -> dict[str, list[MemberRosterV1]]:
    out: dict[str, list[MemberRosterV1]] = defaultdict(list)
    for part in chunks(sorted(members)):
        for mid, payload in session.execute(
            select(roster_snapshots.c.member_id, roster_snapshots.c.payload).where(among(session, roster_snapshots.c.member_id, part))
        ):
            out[mid].append(MemberRosterV1.model_validate_json(payload))
    return out


def load_snapshot_ids(session: Session, members: Sequence[str]) -> dict[str, frozenset[str]]:
    """member → the event ids of their stored roster snapshots (no payloads)."""
    out: dict[str, set[str]] = defaultdict(set)
    rs = roster_snapshots.c
    for part in chunks(sorted(members)):
        for mid, eid in session.execute(select(rs.member_id, rs.event_id).where(among(session, rs.member_id, part))):
            out[mid].add(eid)
    return {mid: frozenset(ids) for mid, ids in out.items()}


def claim_from_payload(payload: str) -> ClaimV1:
    """A stored claim event: the latest version straight from the JSON, an older one upcast."""
    try:
        return ClaimV2.model_validate_json(payload)
    except ValidationError:
        return decode(payload, expect=(ClaimV1,))  # type: ignore[return-value]


class ClaimLink(NamedTuple):
    """A stored claim version without its body: enough to find its family."""

    event_id: str
    claim_id: str
    frequency_code: str
    original_claim_id: str | None


def load_claims(session: Session, members: Sequence[str], touched: Sequence[ClaimV1] = ()
                ) -> dict[str, list[ClaimV1]]:
    """Every stored claim version of ``members``; for the members of the ``touched`` claims
    (claim events only), just the versions in the families those claims belong to."""
    out: dict[str, list[ClaimV1]] = defaultdict(list)
    ce = claim_events.c
    for part in chunks(sorted(members)):
        for mid, payload in session.execute(select(ce.member_id, ce.payload).where(among(session, ce.member_id, part))):
            out[mid].append(claim_from_payload(payload))
    by_member: dict[str, list[ClaimV1]] = defaultdict(list)
    for e in touched:
        by_member[e.member_id].append(e)
    wanted: list[str] = []
    for part in chunks(sorted(by_member)):
        links: dict[str, list[ClaimLink]] = defaultdict(list)
        for r in session.execute(select(ce.member_id, ce.event_id, ce.claim_id, ce.frequency_code,
                                        ce.original_claim_id).where(among(session, ce.member_id, part))):
            links[r.member_id].append(ClaimLink(r.event_id, r.claim_id, r.frequency_code, r.original_claim_id))
        for mid, stored in links.items():
            wanted.extend(family_closure(by_member[mid], stored))
    for part in chunks(wanted):
        for mid, payload in session.execute(select(ce.member_id, ce.payload).where(among(session, ce.event_id, part))):
            out[mid].append(claim_from_payload(payload))
    return out


def save_snapshots(session: Session, events: Sequence[MemberRosterV1]) -> None:
    bulk_insert(session, roster_snapshots, [
        {"event_id": str(e.event_id), "member_id": e.member_id, "occurred_at": e.occurred_at,
         "payload": e.model_dump_json()} for e in events])


_CLAIM_COLS = ("event_id", "member_id", "claim_id", "frequency_code", "original_claim_id", "payload")


def save_claims(session: Session, events: Sequence[ClaimV1]) -> None:
    copy_rows(session, claim_events, _CLAIM_COLS, [
        (str(e.event_id), e.member_id, e.claim_id, e.frequency_code, e.original_claim_id, e.model_dump_json())
        for e in events])


def write_held(session: Session, held: Mapping[tuple[str, str], ClaimV1 | None]) -> None:
    """Held corrections in (a claim) or out (None) of ``held_claims``, keyed (member, event id)."""
    if not held:
        return
    hc = held_claims.c
    for part in chunks(sorted(eid for _, eid in held)):  # a small table: one statement per thousand
        session.execute(delete(held_claims).where(among(session, hc.event_id, part)))
    rows = [(mid, eid, c.claim_id, c.frequency_code, c.original_claim_id or c.claim_id, c.recorded_at)
            for (mid, eid), c in sorted(held.items()) if c is not None]
    copy_rows(session, held_claims, ("member_id", "event_id", "claim_id", "frequency_code", "names_claim_id",
                                     "held_since"), rows)


def held_counts(session: Session) -> dict[str, int]:
    """Held corrections by kind (``replacement``, ``void``)."""
    hc = held_claims.c
    out = {"replacement": 0, "void": 0}
    for f, n in session.execute(select(hc.frequency_code, func.count()).group_by(hc.frequency_code)):
        out["void" if f == "8" else "replacement"] += int(n)
    return out


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


def load_member_ledger(session: Session, members: Sequence[str], closed: ClosedMonths,
                       rules: Mapping[str, set[str]] | None = None) -> Ledger:
    """The entries of ``members`` (every key), and of the members in ``rules`` only the keys
    with those rules (the claim families a batch's claim events touch)."""
    rows: list[Posting] = []
    le = ledger_entries.c
    for part in chunks(sorted(members)):
        rows.extend(_posting(r) for r in session.execute(
            select(*_COLS).where(among(session, le.member_id, part)).order_by(le.seq)))
    pairs = sorted((m, r) for m, rs in (rules or {}).items() for r in rs)
    postgres = session.get_bind().dialect.name == "postgresql"
    for part in chunks(pairs, 5000 if postgres else 400):
        if postgres:  # one index probe per (member, rule) pair
            wanted = select(func.unnest(bindparam("m", [m for m, _ in part], type_=ARRAY(le.member_id.type))).label("m"),
                            func.unnest(bindparam("r", [r for _, r in part], type_=ARRAY(le.rule.type))).label("r")
                            ).subquery()
            q = (select(*_COLS).join(wanted, (le.member_id == wanted.c.m) & (le.rule == wanted.c.r))
                 .order_by(le.seq))
            rows.extend(_posting(r) for r in session.execute(q))
        else:
            keys = set(part)
            q = select(*_COLS).where(le.member_id.in_({m for m, _ in part})).order_by(le.seq)
            rows.extend(_posting(r) for r in session.execute(q) if (r.member_id, r.rule) in keys)
    return ledger_of(rows, closed)


def load_contract_ledger(session: Session, contract_id: str, since: str, closed: ClosedMonths) -> Ledger:
    q = (select(*_COLS).where(ledger_entries.c.contract_id == contract_id, ledger_entries.c.member_id.is_(None),
                              ledger_entries.c.period >= since).order_by(ledger_entries.c.seq))
    return ledger_of((_posting(r) for r in session.execute(q)), closed)


_POSTING_COLS = ("entry_id", "contract_id", "period", "posted_period", "account", "member_id", "rule", "amount_cents",
                 "source_event_id", "reverses", "adjustment", "recorded_at")


def insert_postings(session: Session, postings: Sequence[Posting], recorded_at: datetime) -> None:
    sources: dict[uuid.UUID, str] = {}  # a batch's postings share a few source events
    rows = []
    for p in postings:
        k, src = p.key, p.source_event_id
        text_src = sources.get(src)
        if text_src is None:
            text_src = sources[src] = str(src)
        rows.append((str(p.entry_id), k.contract_id, k.period, p.posted_period, k.account, k.member_id, k.rule,
                     p.amount_cents, text_src, str(p.reverses) if p.reverses else None, p.adjustment, recorded_at))
    copy_rows(session, ledger_entries, _POSTING_COLS, rows)


# ---------------------------------------------------------------- member months and paid lines
def load_month_rows(session: Session, members: Sequence[str]) -> dict[str, set[MonthRow]]:
    out: dict[str, set[MonthRow]] = defaultdict(set)
    for part in chunks(sorted(members)):
        for r in session.execute(select(member_months).where(among(session, member_months.c.member_id, part))):
            out[r.member_id].add((r.period, r.contract_id, r.tier, r.runs))
    return out


def load_cost_rows(session: Session, members: Sequence[str], member_families: Sequence[str] = ()
                   ) -> dict[str, dict[str, list[CostRow]]]:
    """member → family → rows (sorted): every family of ``members``, and the ``member|family``
    keys in ``member_families``."""
    out: dict[str, dict[str, list[CostRow]]] = defaultdict(lambda: defaultdict(list))
    pl = paid_lines.c
    cols = (pl.member_id, pl.member_family, pl.contract_id, pl.period, pl.procedure_code, pl.revenue_code,
            pl.paid_cents)
    queries = [select(*cols).where(among(session, pl.member_id, part)) for part in chunks(sorted(members))]
    queries += [select(*cols).where(among(session, pl.member_family, part)) for part in chunks(sorted(set(member_families)))]
    for q in queries:
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
    bulk_insert(session, member_months, list(added))


PAID_LINE_COLS = ("member_family", "member_id", "contract_id", "period", "procedure_code", "revenue_code",
                  "paid_cents")


def write_cost_rows(session: Session, replaced: Sequence[str], added: Sequence[tuple]) -> None:
    """Delete every row of the ``member|family`` keys in ``replaced``, then insert ``added``
    (value tuples in ``PAID_LINE_COLS`` order)."""
    for part in chunks(sorted(replaced)):
        session.execute(delete(paid_lines).where(among(session, paid_lines.c.member_family, part)))
    copy_rows(session, paid_lines, PAID_LINE_COLS, added)


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
