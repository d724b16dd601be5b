"""The append-only ledger: diff desired amounts against what is posted; months close.

**Diff.** For one key, the net of what is posted is compared with the desired amount. Equal:
nothing to append (this is what makes replaying a source event idempotent). Different: every
live entry of the key is reversed (an entry of the opposite amount with ``reverses`` set) and
the desired amount, if not zero, is posted anew. History is never edited.

**Entry ids** are ``derive_id(source_event_id, kind)``: ``kind`` is the key's text for a new
amount and ``reverse|<entry id>`` for a reversal, so the same source event always yields the
same ids (a store's unique index on ``entry_id`` is the last line of defence against a
double post).

**period vs posted_period.** ``period`` is the month the amount belongs to (service month,
accrual month) and never changes. ``posted_period`` is the month whose books took the entry:
the same as ``period`` while that month is open; once it is closed, the first open month
after it, with ``adjustment=True``. The books of a closed month (what was posted in it) therefore
never change; the correction shows in the books of the month it was posted in, under its original
period. A statement shows both: its ``posted_in_period`` section is fixed at close, while its
per-period figures (member months, cost of care, rates) are recomputed from current facts, so a
late claim for a closed month moves them.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from shared.events import LedgerEntryV1, derive_id, utcnow

from .accruals import PostingKey, claim_family
from .periods import next_period, parse_period


@dataclass(frozen=True, slots=True)
class Posting:
    """One ledger entry (maps one-to-one onto ``shared.events.LedgerEntryV1``)."""

    entry_id: uuid.UUID
    key: PostingKey
    amount_cents: int
    posted_period: str
    source_event_id: uuid.UUID
    reverses: uuid.UUID | None = None
    adjustment: bool = False


@dataclass(frozen=True)
class ClosedMonths:
    """The (contract, period) pairs that are closed. Immutable: ``close`` returns a new value."""

    closed: frozenset[tuple[str, str]] = frozenset()

    def is_closed(self, contract_id: str, period: str) -> bool:
        return (contract_id, period) in self.closed

    def close(self, contract_id: str, period: str) -> "ClosedMonths":
        parse_period(period)
        return ClosedMonths(self.closed | {(contract_id, period)})

    def posting_period(self, contract_id: str, period: str) -> tuple[str, bool]:
        """(posted_period, adjustment) for an amount belonging to ``period``."""
        if (contract_id, period) not in self.closed:
            return period, False
        p = next_period(period)
        while (contract_id, p) in self.closed:
            p = next_period(p)
        return p, True


_UUID5_CLEAR = ~((0xC000 << 48) | (0xF000 << 64))
_UUID5_SET = (0x8000 << 48) | (5 << 76)
_new_uuid = object.__new__
_set = object.__setattr__


def entry_id_for(source_event_id: uuid.UUID, kind: str) -> uuid.UUID:
    """``derive_id(source_event_id, kind)`` (uuid5), without ``uuid.UUID.__init__``'s argument
    handling: a claim batch derives thousands of entry ids. Equal to ``derive_id`` for every
    input (unit-tested)."""
    if not isinstance(source_event_id, uuid.UUID):
        return derive_id(source_event_id, kind)
    digest = hashlib.sha1(source_event_id.bytes + kind.encode()).digest()
    out = _new_uuid(uuid.UUID)
    _set(out, "int", (int.from_bytes(digest[:16], "big") & _UUID5_CLEAR) | _UUID5_SET)
    _set(out, "is_safe", uuid.SafeUUID.unknown)
    return out


def _live(posted: Sequence[Posting]) -> list[Posting]:
    reversed_ids = {p.reverses for p in posted if p.reverses is not None}
    return [p for p in posted if p.reverses is None and p.entry_id not in reversed_ids]


def diff_key(
    key: PostingKey,
    posted: Sequence[Posting],
    desired_cents: int,
    source_event_id: uuid.UUID,
    closed: ClosedMonths = ClosedMonths(),
) -> list[Posting]:
    """Entries to append so that ``key`` nets to ``desired_cents`` (often none)."""
    if not posted:  # a new key: the common case, kept cheap
        if not desired_cents:
            return []
        posted_period, adjustment = closed.posting_period(key.contract_id, key.period)
        return [Posting(entry_id_for(source_event_id, key.text()), key, desired_cents, posted_period, source_event_id,
                        adjustment=adjustment)]
    if sum(p.amount_cents for p in posted) == desired_cents:
        return []
    posted_period, adjustment = closed.posting_period(key.contract_id, key.period)
    out = [
        Posting(entry_id_for(source_event_id, f"reverse|{p.entry_id}"), key, -p.amount_cents, posted_period,
                source_event_id, reverses=p.entry_id, adjustment=adjustment)
        for p in _live(posted)
    ]
    if desired_cents:
        new_id = entry_id_for(source_event_id, key.text())
        if any(p.entry_id == new_id for p in posted):  # this source posted the key before
            new_id = entry_id_for(source_event_id, f"{key.text()}#{len(posted)}")
        out.append(Posting(new_id, key, desired_cents, posted_period, source_event_id, adjustment=adjustment))
    return out


def diff(
    desired: Mapping[PostingKey, int],
    posted: Mapping[PostingKey, Sequence[Posting]],
    source_event_id: uuid.UUID,
    closed: ClosedMonths = ClosedMonths(),
) -> list[Posting]:
    """Entries to append for every key in ``desired`` or ``posted``.

    ``posted`` must hold every posted key in the scope being recomputed (e.g. all of one
    member's keys): a posted key missing from ``desired`` is desired at zero and reversed.
    """
    out: list[Posting] = []
    for key in sorted(set(desired) | set(posted)):
        out.extend(diff_key(key, posted.get(key, ()), desired.get(key, 0), source_event_id, closed))
    return out


def to_ledger_event(
    posting: Posting,
    *,
    occurred_at: datetime,
    recorded_at: datetime | None = None,
    source: str = "billing",
    causation_id: uuid.UUID | None = None,
) -> LedgerEntryV1:
    """The ``billing.accruals`` event for a posting (``event_id`` = ``entry_id``), validated.

    The envelope's fields are spelled out here rather than through ``LedgerEntryV1.envelope``
    (a claim batch builds thousands of these; ``envelope`` adds ~2 µs each); a unit test holds
    the two ways equal."""
    k = posting.key
    return _validate_ledger_entry({
        "event_id": posting.entry_id, "event_type": _LEDGER_EVENT_TYPE, "schema_version": _LEDGER_SCHEMA_VERSION,
        "occurred_at": occurred_at, "recorded_at": recorded_at or utcnow(), "source": source,
        "member_id": k.member_id, "patient_key": None, "causation_id": causation_id or posting.source_event_id,
        "entry_id": posting.entry_id, "contract_id": k.contract_id, "period": k.period,
        "posted_period": posting.posted_period, "account": k.account, "amount_cents": posting.amount_cents,
        "rule": k.rule, "source_event_id": posting.source_event_id, "reverses": posting.reverses,
        "adjustment": posting.adjustment,
    })


_LEDGER_EVENT_TYPE = LedgerEntryV1.model_fields["event_type"].default
_LEDGER_SCHEMA_VERSION = LedgerEntryV1.model_fields["schema_version"].default
_validate_ledger_entry = LedgerEntryV1.model_validate


def from_ledger_event(event: LedgerEntryV1) -> Posting:
    key = PostingKey(event.contract_id, event.period, event.account, event.member_id, event.rule)
    return Posting(event.entry_id, key, event.amount_cents, event.posted_period, event.source_event_id,
                   event.reverses, event.adjustment)


@dataclass(frozen=True)
class LedgerTotals:
    """A contract month as the books show it (statement input)."""

    by_account: dict[str, int]  # entries belonging to the period, wherever posted
    posted_in_period: dict[str, int]  # entries booked in the period (incl. adjustments)
    adjustments: dict[tuple[str, str], int]  # (original period, account) → booked here late


class DuplicateEntry(ValueError):
    pass


class ClosedPeriodPosting(ValueError):
    pass


@dataclass
class Ledger:
    """An in-memory ledger: the reference implementation the store mirrors, and what the
    unit tests, the benchmark and a replay check use."""

    entries: list[Posting] = field(default_factory=list)
    closed: ClosedMonths = field(default_factory=ClosedMonths)
    _by_key: dict[PostingKey, list[Posting]] = field(default_factory=lambda: defaultdict(list))
    _by_member: dict[str, set[PostingKey]] = field(default_factory=lambda: defaultdict(set))
    _by_contract_period: dict[tuple[str, str], set[PostingKey]] = field(default_factory=lambda: defaultdict(set))
    _ids: set[uuid.UUID] = field(default_factory=set)
    _by_period: dict[tuple[str, str, str], int] = field(default_factory=lambda: defaultdict(int))
    _by_posted: dict[tuple[str, str, str], int] = field(default_factory=lambda: defaultdict(int))
    _late: dict[tuple[str, str], dict[tuple[str, str], int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))

    def append(self, postings: Iterable[Posting]) -> list[Posting]:
        postings = list(postings)
        for p in postings:
            if p.entry_id in self._ids:
                raise DuplicateEntry("entry id already posted")
            if self.closed.is_closed(p.key.contract_id, p.posted_period):
                raise ClosedPeriodPosting("posting into a closed month")
        for p in postings:
            self._ids.add(p.entry_id)
            self.entries.append(p)
            k = p.key
            self._by_key[k].append(p)
            self._by_period[(k.contract_id, k.period, k.account)] += p.amount_cents
            self._by_posted[(k.contract_id, p.posted_period, k.account)] += p.amount_cents
            if p.adjustment:
                self._late[(k.contract_id, p.posted_period)][(k.period, k.account)] += p.amount_cents
            if p.key.member_id is not None:
                self._by_member[p.key.member_id].add(p.key)
            else:
                self._by_contract_period[(p.key.contract_id, p.key.period)].add(p.key)
        return postings

    def posted(self, key: PostingKey) -> tuple[Posting, ...]:
        return tuple(self._by_key.get(key, ()))

    def sync(self, desired: Mapping[PostingKey, int], scope: Iterable[PostingKey], source_event_id: uuid.UUID) -> list[Posting]:
        """Bring ``desired`` keys and the posted keys in ``scope`` to their desired amounts."""
        keys = set(desired) | set(scope)
        return self.append(diff(desired, {k: self._by_key[k] for k in keys if k in self._by_key}, source_event_id, self.closed))

    def sync_member(self, member_id: str, desired: Mapping[PostingKey, int], source_event_id: uuid.UUID,
                    since: str | None = None, families: Iterable[str] | None = None) -> list[Posting]:
        """Recompute one member's keys: all of them, or those of periods from ``since`` on, or
        only the cost / carve-out keys of the claim ``families`` (with ``accrue_claims``)."""
        fams = None if families is None else set(families)
        scope = {
            k for k in self._by_member.get(member_id, ())
            if (since is None or k.period >= since) and (fams is None or claim_family(k) in fams)
        }
        return self.sync(desired, scope, source_event_id)

    def sync_contract_period(self, contract_id: str, period: str, desired: Mapping[PostingKey, int],
                             source_event_id: uuid.UUID) -> list[Posting]:
        """Recompute the contract-level keys (bonus, shared savings) of one contract month."""
        return self.sync(desired, set(self._by_contract_period.get((contract_id, period), ())), source_event_id)

    def close(self, contract_id: str, period: str) -> None:
        self.closed = self.closed.close(contract_id, period)

    def balance(self, key: PostingKey) -> int:
        return sum(p.amount_cents for p in self._by_key.get(key, ()))

    def key_balances(self) -> dict[PostingKey, int]:
        """Net per key, zero nets left out: the figure replays must reproduce to the cent."""
        out = {k: sum(p.amount_cents for p in ps) for k, ps in self._by_key.items()}
        return {k: v for k, v in out.items() if v}

    def balances(self, by: str = "period") -> dict[tuple[str, str, str], int]:
        """Net per (contract, period or posted_period, account)."""
        return dict(self._by_period if by == "period" else self._by_posted)

    def totals(self, contract_id: str, period: str) -> LedgerTotals:
        def of(index: dict[tuple[str, str, str], int]) -> dict[str, int]:
            return {a: v for (c, p, a), v in index.items() if c == contract_id and p == period}

        late = self._late.get((contract_id, period), {})
        return LedgerTotals(of(self._by_period), of(self._by_posted), {k: v for k, v in late.items()})
