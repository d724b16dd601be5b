"""The upgrade step (``python -m services.intake seed``): fill intake's own tables from the
platform's record, the topics, once, before the first load on a platform whose rosters and
claims were loaded before intake existed.

- ``seed_roster``: ``members.roster`` (compacted, key member_id) from its beginning to the end
  offsets taken when the step started. The last record of a member in the topic's order is its
  snapshot, stored exactly as a roster load stores the snapshots it produces (``StoredSnapshot``
  with ``domain.ids.roster_body`` / ``body_hash``): a later load compares its rows with it, carries
  its attribution history, and a full load terms it when the file does not list it. A tombstone
  (a record without a body) forgets the member. A snapshot the table already holds that occurred
  later (a load that ran after the record was produced) is kept (``RosterSeeds``).
- ``seed_claims``: ``claims.events`` to its end offsets: every claim version (v1 lifted to v2 by
  the codec) recorded as a claims load records the versions it produced (``ClaimVersions``;
  a version recorded twice is kept once).

Records that are not the topic's event (undecodable, another event type, no key, a key that is
not the member's id) are skipped and counted by reason; nothing of a record's content is
reported. Both steps stream: ``chunk`` records are decided and written at a time. Running the
step again writes the same rows (it is restartable: a run that stopped is simply run again).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, NamedTuple, Protocol

from shared.codec import decode
from shared.errors import InvalidEvent
from shared.events import ClaimV1, MemberRosterV1

from ..domain import body_hash, roster_body
from ..domain.held import ClaimLink
from .ports import ClaimVersions, RosterSeeds, StoredSnapshot


class TopicRecord(NamedTuple):
    """One record as the broker holds it (``timestamp``: the broker's, None when it has none)."""

    key: bytes | None
    value: bytes | None
    headers: Any
    timestamp: datetime | None


class TopicRecords(Protocol):
    """A topic read from its beginning to the end offsets taken when it was opened, in order per
    partition (one key is on one partition). Raises ``SeedIncomplete`` when it cannot get there."""

    topic: str
    total: int  # offsets between the beginning and the end (at most this many records)

    def __iter__(self) -> Iterator[TopicRecord]: ...


class SeedIncomplete(Exception):
    """The topic could not be read to its end offsets (the broker stopped answering)."""


@dataclass
class TopicSummary:
    """What one topic gave: counts only (never a member id or a field value)."""

    topic: str
    total: int = 0  # offsets to read (a compacted topic has fewer records than that)
    read: int = 0
    recorded: int = 0  # roster: snapshots written; claims: versions offered (insert-ignore)
    already_recorded: int = 0  # roster: the table held the same snapshot or a later one
    tombstones: int = 0
    forgotten: int = 0  # roster: members a tombstone removed from the table
    skipped: Counter = field(default_factory=Counter)  # reason → records
    complete: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"topic": self.topic, "total": self.total, "read": self.read, "recorded": self.recorded,
                "already_recorded": self.already_recorded, "tombstones": self.tombstones,
                "forgotten": self.forgotten, "skipped": dict(sorted(self.skipped.items())),
                "complete": self.complete}


Progress = Callable[[TopicSummary], None]
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _reason(exc: InvalidEvent) -> str:
    text = str(exc)
    if text.startswith(("unexpected event_type", "unknown event_type", "header event_type")):
        return "other_event_type"
    return "undecodable"


def _decode(record: TopicRecord, expect: tuple[type, ...], summary: TopicSummary) -> Any | None:
    if record.key is None:
        summary.skipped["no_key"] += 1
        return None
    try:
        event = decode(record.value, record.headers, expect)
    except InvalidEvent as exc:
        summary.skipped[_reason(exc)] += 1
        return None
    if record.key.decode("utf-8", "replace") != event.member_id:
        summary.skipped["key_not_member_id"] += 1
        return None
    return event


def _ticks(records: Iterable[TopicRecord], summary: TopicSummary, on_progress: Progress | None,
           every: int) -> Iterator[TopicRecord]:
    for record in records:
        summary.read += 1
        yield record
        if on_progress is not None and summary.read % every == 0:
            on_progress(summary)


def seed_roster(records: TopicRecords, seeds: RosterSeeds, *, chunk: int = 2000,
                on_progress: Progress | None = None) -> TopicSummary:
    """Upsert every member's last snapshot on ``members.roster`` into ``roster_snapshots``."""
    summary = TopicSummary(records.topic, total=records.total)
    pending: dict[str, StoredSnapshot | datetime] = {}  # member → snapshot, or the time it was forgotten

    def flush() -> None:
        snapshots = [v for v in pending.values() if isinstance(v, StoredSnapshot)]
        forgotten = [(m, v) for m, v in pending.items() if isinstance(v, datetime)]
        written, deleted = seeds.seed(snapshots, forgotten)
        summary.recorded += written
        summary.already_recorded += len(snapshots) - written
        summary.forgotten += deleted
        pending.clear()

    for record in _ticks(records, summary, on_progress, chunk):
        if record.value is None and record.key is not None:
            summary.tombstones += 1
            member = record.key.decode("utf-8", "replace")
            pending.pop(member, None)
            pending[member] = record.timestamp or _EPOCH
        else:
            event = _decode(record, (MemberRosterV1,), summary)
            if event is None:
                continue
            body = roster_body(event)
            pending.pop(event.member_id, None)  # the topic's order: the later record replaces it
            pending[event.member_id] = StoredSnapshot(event.member_id, str(event.event_id), body_hash(body),
                                                      event.status, event.occurred_at, body)
        if len(pending) >= chunk:
            flush()
    if pending:
        flush()
    summary.complete = True
    if on_progress is not None:
        on_progress(summary)
    return summary


def seed_claims(records: TopicRecords, versions: ClaimVersions, *, chunk: int = 2000,
                on_progress: Progress | None = None) -> TopicSummary:
    """Record every claim version on ``claims.events`` in ``claim_versions_loaded``."""
    summary = TopicSummary(records.topic, total=records.total)
    pending: list[tuple[str, ClaimLink]] = []
    for record in _ticks(records, summary, on_progress, chunk):
        if record.value is None:
            summary.skipped["tombstone"] += 1
            continue
        event = _decode(record, (ClaimV1,), summary)
        if event is None:
            continue
        pending.append((event.member_id, ClaimLink(str(event.event_id), event.claim_id, event.frequency_code,
                                                   event.original_claim_id)))
        if len(pending) >= chunk:
            versions.record(pending)
            summary.recorded += len(pending)
            pending = []
    if pending:
        versions.record(pending)
        summary.recorded += len(pending)
    summary.complete = True
    if on_progress is not None:
        on_progress(summary)
    return summary
