"""What billing's use cases need from storage and Kafka, as protocols (cosmicpython's repository
and unit of work). ``adapters/`` implements them on SQLAlchemy; the unit tests use in-memory
fakes (``tests/unit/billing/fakes.py``).

Rows travel as tuples: a member month ``(period, contract, tier, runs text)``, a paid line
``(contract, period, procedure, revenue, cents)``; ledger entries as ``domain.Posting``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple, Protocol

from shared.errors import TransientError
from shared.events import (
    CareTransitionCancelledV1, CareTransitionV1, ClaimV1, Event, GapClosedV1, GapExcludedV1, GapOpenedV1,
    MemberRosterV1, ReadmissionV1, TaskLifecycleV1,
)

from ..domain import ClosedMonths, Contract, Ledger, LedgerTotals, MetricValue, Posting, PostingKey
from ..domain.computed_tiers import History
from ..domain.satisfaction import TaskStep

MonthRow = tuple[str, str, str, str]  # (period, contract, tier, runs text)
CostRow = tuple[str, str, str | None, str | None, int]  # (contract, period, procedure, revenue, cents)
def cost_sort(r: CostRow) -> tuple:
    return (r[0], r[1], r[2] or "", r[3] or "", r[4])


GapEvent = GapOpenedV1 | GapClosedV1 | GapExcludedV1
TransitionEvent = CareTransitionV1 | CareTransitionCancelledV1 | ReadmissionV1
Record = dict[str, Any]


class StoreUnavailable(TransientError):
    """The database could not be reached or refused the transaction: try again."""


class UnusableValue(Exception):
    """A value the database refuses (a NUL character, a number out of range): bad input."""


class GapRow:
    """The slice of a gap event the measure rates read (``domain.rates``; plain slots: read many times)."""

    __slots__ = ("event_id", "contract_id", "gap_key", "measure_id", "status", "period_start", "period_end",
                 "occurred_at", "recorded_at")

    def __init__(self, event_id, contract_id, gap_key, measure_id, status, period_start, period_end, occurred_at,
                 recorded_at) -> None:
        self.event_id = event_id
        self.contract_id = contract_id
        self.gap_key = gap_key
        self.measure_id = measure_id
        self.status = status
        self.period_start = period_start
        self.period_end = period_end
        self.occurred_at = occurred_at
        self.recorded_at = recorded_at


class RiskStamp(NamedTuple):
    """When a stored computed tier history was decided (a later decision replaces it)."""

    decided_on: str  # ISO date
    occurred_at: datetime


@dataclass(frozen=True)
class ContractRows:
    """What a contract's estimates and statements are folded from, for periods ``first``..``last``:
    member months counted by (period, tier, runs), paid cents summed by (period, procedure,
    revenue), and the facts the measure rates and metrics read."""

    month_counts: list[tuple[str, str, str, int]]  # (period, tier, runs text, members)
    cost_sums: list[tuple[str, str | None, str | None, int]]  # (period, procedure, revenue, cents)
    gaps: list[GapRow]  # every event of the gaps ever announced under the contract, whichever contract each names
    transitions: list[CareTransitionV1 | CareTransitionCancelledV1]
    readmissions: list[ReadmissionV1]
    steps: list[TaskStep]
    fed: dict[str, dict[str, MetricValue]]  # period → metric → value fed through the API


class MemberHistories(Protocol):
    """Every roster snapshot and claim version seen, per member; held corrections; computed tiers."""

    def snapshots(self, members: Sequence[str]) -> dict[str, list[MemberRosterV1]]: ...

    def snapshot_ids(self, members: Sequence[str]) -> dict[str, frozenset[str]]:
        """member → the event ids of their stored snapshots (no payloads)."""

    def claims(self, members: Sequence[str], touched: Sequence[ClaimV1] = ()) -> dict[str, list[ClaimV1]]:
        """Every stored claim version of ``members``; for the members of the ``touched`` claims just
        the stored versions in the families those claims belong to (``shared.claim_versions.family_closure``)."""

    def add_snapshots(self, events: Sequence[MemberRosterV1]) -> None: ...

    def add_claims(self, events: Sequence[ClaimV1]) -> None: ...

    def set_held(self, held: Mapping[tuple[str, str], ClaimV1 | None]) -> None:
        """Held corrections in (a claim) or out (None), keyed (member, event id)."""

    def held_counts(self) -> dict[str, int]:
        """Held corrections by kind (``replacement``, ``void``)."""

    def held_rows(self, member: str | None, limit: int, offset: int) -> list[Record]:
        """(member_id, claim_id, frequency_code, names_claim_id, held_since), oldest first."""

    def members_after(self, after: str, limit: int) -> list[str]:
        """Members with a roster snapshot, in id order, after ``after`` (keyset paging)."""

    def risk_stamps(self, members: Sequence[str]) -> dict[str, RiskStamp]: ...

    def risk_histories(self, members: Sequence[str]) -> dict[str, tuple[str, History]]:
        """member → (event id, history) of their computed tiers."""

    def save_risk_histories(self, rows: Sequence[tuple[str, str, date, datetime, History]]) -> None:
        """(member, event id, decided on, occurred at, history): each member's latest, replacing."""


class LedgerEntries(Protocol):
    """The append-only ledger."""

    def of_members(self, members: Sequence[str], closed: ClosedMonths,
                   rules: Mapping[str, set[str]] | None = None) -> Ledger:
        """Every entry of ``members``; of the members in ``rules`` only the keys with those rules."""

    def of_contract(self, contract_id: str, since: str, closed: ClosedMonths) -> Ledger:
        """The contract-level entries (no member) of periods from ``since`` on."""

    def append(self, postings: Sequence[Posting], recorded_at: datetime) -> None: ...

    def totals(self, contract_id: str, first: str, last: str) -> dict[str, LedgerTotals]:
        """Period → what the books hold for it, for every period ``first``..``last``."""

    def key_balances(self) -> dict[PostingKey, int]:
        """Net per key, zero nets left out."""

    def account_balances(self, contract_id: str | None = None) -> dict[tuple[str, str, str], int]:
        """(contract, period, account) → net."""

    def net(self, contract_id: str, period: str, account: str, rule: str | None = None,
            rule_suffix: str | None = None) -> int: ...

    def entries(self, contract_id: str, period: str, by: str, account: str | None, limit: int,
                offset: int) -> list[Record]: ...

    def aggregate(self, contract_id: str, period: str, by: str, account: str | None
                  ) -> list[tuple[str, bool, int, int]]:
        """(account, adjustment, entries, cents) of a contract month."""


class AccrualRows(Protocol):
    """Member months and paid lines: what statements aggregate."""

    def months(self, members: Sequence[str]) -> dict[str, set[MonthRow]]: ...

    def costs(self, members: Sequence[str], member_families: Sequence[str] = ()
              ) -> dict[str, dict[str, list[CostRow]]]:
        """member → family → rows (sorted): every family of ``members`` and the ``member|family`` keys."""

    def replace_months(self, removed: Sequence[tuple[str, str]], added: Sequence[tuple[str, str, str, str, str]]
                       ) -> None:
        """Delete (member, period) rows, then insert (member, period, contract, tier, runs)."""

    def replace_costs(self, replaced: Sequence[str], added: Sequence[tuple]) -> None:
        """Delete every row of the ``member|family`` keys, then insert
        (member|family, member, contract, period, procedure, revenue, cents)."""

    def month_counts(self) -> dict[str, int]:
        """Contract → member months on record."""

    def contract_months(self, contract_id: str, period: str, member: str | None = None, limit: int | None = None,
                        offset: int = 0) -> list[tuple[str, str, str]]:
        """(member, tier, runs text) of a contract month, by member id."""

    def contract_members(self, contract_id: str, member: str | None = None) -> list[str]: ...

    def tiers(self, contract_id: str, period: str) -> dict[str, int]: ...


class ContractFacts(Protocol):
    """Gap, transition and task events; metrics fed through the API; what a contract's figures read."""

    def add_gap_events(self, events: Sequence[GapEvent]) -> None: ...

    def gap_contracts(self, gap_keys: Sequence[str]) -> list[tuple[str, str]]:
        """(gap key, contract) of every contract each gap was announced under."""

    def transition_contracts(self, transition_ids: Sequence[str]) -> dict[str, str]: ...

    def add_transitions(self, events: Sequence[TransitionEvent]) -> None: ...

    def add_task_steps(self, events: Sequence[TaskLifecycleV1]) -> None: ...

    def feed_metric(self, contract_id: str, period: str, metric: str, value: str, at: datetime, by: str) -> None: ...

    def fed_metric_rows(self, contract_id: str) -> list[Record]: ...

    def contract_rows(self, contract_id: str, first: str, last: str) -> ContractRows: ...


class Books(Protocol):
    """Loaded contracts, closed months, the worker's state, the dirty marks."""

    def current_contracts(self) -> dict[str, tuple[int, str, str]]:
        """contract id → (load seq, fingerprint, YAML) of its latest load."""

    def save_contract(self, contract_id: str, fingerprint: str, source: str, document: str, at: datetime,
                      by: str) -> int: ...

    def closed(self) -> ClosedMonths: ...

    def close(self, contract_id: str, period: str, at: datetime, by: str) -> None: ...

    def get_state(self, key: str) -> str | None: ...

    def set_state(self, key: str, value: str) -> None: ...

    def mark_dirty(self, marks: Mapping[str, str]) -> None:
        """Contract → the period its estimates need recomputing from (the earliest is kept)."""

    def take_dirty(self) -> dict[str, str]: ...

    def peek_dirty(self) -> dict[str, str]: ...


class AuditLog(Protocol):
    def record(self, *, user_id: str, role: str, member_ids: Iterable[str | None], action: str, endpoint: str,
               detail: str | None = None) -> None: ...

    def query(self, member_id: str | None, limit: int) -> list[Record]: ...


class UnitOfWork(Protocol):
    """One transaction. A writer holds the ledger lock for its whole length (writers of the ledger
    diff against what is posted, so two must never overlap)."""

    members: MemberHistories
    ledger: LedgerEntries
    rows: AccrualRows
    facts: ContractFacts
    books: Books
    audit: AuditLog

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(self, *exc: object) -> None:
        """Roll back whatever was not committed."""

    def publish(self, events: Sequence[Event]) -> None:
        """Events to write to Kafka, confirmed, before the commit (billing.accruals)."""

    def after_commit(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` once the transaction committed (metrics count committed work only)."""

    def commit(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, writer: bool = True) -> UnitOfWork:
        """A unit of work; ``writer=False``: a reader, which takes no ledger lock."""


Clock = Callable[[], datetime]
SourceOf = Callable[[str], uuid.UUID]
