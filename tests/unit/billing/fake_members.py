"""Members' histories and accrual rows in memory (``app.ports.MemberHistories``,
``app.ports.AccrualRows``), as ``adapters/members.py`` and ``adapters/accrual_rows.py`` keep them
on SQL: a roster snapshot or claim version stored once per event id (a second insert is refused,
as the primary key refuses it), held corrections replaced by event id, one computed tier history
per member (the latest replaces), one member-month row per (member, period), paid lines replaced
a ``member|family`` at a time. Stored events come back as the store decodes them: a claim as the
latest version (``ClaimV2``), a tier history as dates."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import NamedTuple

from services.billing.app.ports import CostRow, MonthRow, RiskStamp, cost_sort
from services.billing.domain.computed_tiers import History
from shared.claim_versions import family_closure
from shared.codec import decode
from shared.events import ClaimV1, ClaimV2, MemberRosterV1


class DuplicateKey(Exception):
    """A row whose primary key is stored already (the SQL adapters' inserts never expect one)."""


def _as_stored(claim: ClaimV1) -> ClaimV1:
    """What the SQL adapter reads back: the latest version straight from the JSON, an older one upcast."""
    if isinstance(claim, ClaimV2):
        return claim
    return decode(claim.model_dump_json(), expect=(ClaimV1,))  # type: ignore[return-value]


class _Link(NamedTuple):
    event_id: str
    claim_id: str
    frequency_code: str
    original_claim_id: str | None


class FakeMemberHistories:
    """Over ``store.snapshots`` / ``store.claims`` (event id → event, in arrival order),
    ``store.held`` ((member, event id) → row) and ``store.risk`` (member → row)."""

    def __init__(self, s) -> None:
        self.s = s

    def _of(self, table: dict, members: Sequence[str]) -> dict[str, list]:
        wanted, out = set(members), defaultdict(list)
        for e in table.values():
            if e.member_id in wanted:
                out[e.member_id].append(e)
        return out

    def snapshots(self, members: Sequence[str]) -> dict[str, list[MemberRosterV1]]:
        return self._of(self.s.snapshots, members)

    def snapshot_ids(self, members: Sequence[str]) -> dict[str, frozenset[str]]:
        return {m: frozenset(str(e.event_id) for e in evs) for m, evs in self._of(self.s.snapshots, members).items()}

    def add_snapshots(self, events: Sequence[MemberRosterV1]) -> None:
        _insert(self.s.snapshots, {str(e.event_id): e for e in events}, len(events))

    def members_after(self, after: str, limit: int) -> list[str]:
        return sorted({e.member_id for e in self.s.snapshots.values() if e.member_id > after})[:limit]

    def claims(self, members: Sequence[str], touched: Sequence[ClaimV1] = ()) -> dict[str, list[ClaimV1]]:
        out = self._of(self.s.claims, members)
        by_member: dict[str, list[ClaimV1]] = defaultdict(list)
        for e in touched:
            by_member[e.member_id].append(e)
        stored = self._of(self.s.claims, list(by_member))
        for mid, claims in stored.items():
            links = [_Link(str(c.event_id), c.claim_id, c.frequency_code, c.original_claim_id) for c in claims]
            wanted = family_closure(by_member[mid], links)
            for c in claims:
                if str(c.event_id) in wanted:
                    out[mid].append(c)
        return out

    def add_claims(self, events: Sequence[ClaimV1]) -> None:
        _insert(self.s.claims, {str(e.event_id): _as_stored(e) for e in events}, len(events))

    def set_held(self, held: Mapping[tuple[str, str], ClaimV1 | None]) -> None:
        gone = {eid for _, eid in held}
        self.s.held = {k: row for k, row in self.s.held.items() if k[1] not in gone}
        for (mid, eid), c in sorted(held.items()):
            if c is not None:
                self.s.held[(mid, eid)] = {"member_id": mid, "claim_id": c.claim_id, "frequency_code": c.frequency_code,
                                           "names_claim_id": c.original_claim_id or c.claim_id,
                                           "held_since": c.recorded_at}

    def held_counts(self) -> dict[str, int]:
        out = {"replacement": 0, "void": 0}
        for row in self.s.held.values():
            out["void" if row["frequency_code"] == "8" else "replacement"] += 1
        return out

    def held_rows(self, member: str | None, limit: int, offset: int) -> list[dict]:
        rows = sorted((r for r in self.s.held.values() if member is None or r["member_id"] == member),
                      key=lambda r: (r["held_since"], r["member_id"], r["claim_id"]))
        return [dict(r) for r in rows[offset:offset + limit]]

    def risk_stamps(self, members: Sequence[str]) -> dict[str, RiskStamp]:
        wanted = set(members)
        return {m: RiskStamp(r["decided_on"], r["occurred_at"]) for m, r in self.s.risk.items() if m in wanted}

    def risk_histories(self, members: Sequence[str]) -> dict[str, tuple[str, History]]:
        wanted = set(members)
        return {m: (r["event_id"], r["history"]) for m, r in self.s.risk.items() if m in wanted}

    def save_risk_histories(self, rows: Sequence[tuple[str, str, date, datetime, History]]) -> None:
        for mid, eid, decided, at, history in rows:
            self.s.risk[mid] = {"event_id": eid, "decided_on": decided.isoformat(), "occurred_at": at,
                                "history": tuple((d, tier) for d, tier in history)}


class FakeAccrualRows:
    """Over ``store.months`` ((member, period) → (contract, tier, runs)) and ``store.paid``
    (rows (member|family, member, contract, period, procedure, revenue, cents) in insert order)."""

    def __init__(self, s) -> None:
        self.s = s

    def months(self, members: Sequence[str]) -> dict[str, set[MonthRow]]:
        wanted, out = set(members), defaultdict(set)
        for (mid, period), (contract, tier, runs) in self.s.months.items():
            if mid in wanted:
                out[mid].add((period, contract, tier, runs))
        return dict(out)

    def costs(self, members: Sequence[str], member_families: Sequence[str] = ()
              ) -> dict[str, dict[str, list[CostRow]]]:
        out: dict[str, dict[str, list[CostRow]]] = defaultdict(lambda: defaultdict(list))
        wanted, keys = set(members), set(member_families)
        # as the SQL: the members' rows, then the rows of the member|family keys
        rows = [r for r in self.s.paid if r[1] in wanted] + [r for r in self.s.paid if r[0] in keys]
        for key, mid, contract, period, code, rev, cents in rows:
            out[mid][key.split("|", 1)[1]].append((contract, period, code, rev, cents))
        for fams in out.values():
            for rows_ in fams.values():
                rows_.sort(key=cost_sort)
        return out

    def replace_months(self, removed: Sequence[tuple[str, str]], added: Sequence[tuple[str, str, str, str, str]]
                       ) -> None:
        for key in removed:
            self.s.months.pop(key, None)
        _insert(self.s.months, {(m, p): (c, t, r) for m, p, c, t, r in added}, len(added))

    def replace_costs(self, replaced: Sequence[str], added: Sequence[tuple]) -> None:
        gone = set(replaced)
        self.s.paid = [r for r in self.s.paid if r[0] not in gone] + [tuple(r) for r in added]

    def month_counts(self) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for contract, _, _ in self.s.months.values():
            out[contract] += 1
        return dict(out)

    def contract_months(self, contract_id: str, period: str, member: str | None = None, limit: int | None = None,
                        offset: int = 0) -> list[tuple[str, str, str]]:
        rows = sorted((m, t, r) for (m, p), (c, t, r) in self.s.months.items()
                      if c == contract_id and p == period and (member is None or m == member))
        return rows[offset:] if limit is None else rows[offset:offset + limit]

    def contract_members(self, contract_id: str, member: str | None = None) -> list[str]:
        return sorted({m for (m, _), (c, _, _) in self.s.months.items()
                       if c == contract_id and (member is None or m == member)})

    def tiers(self, contract_id: str, period: str) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for (_, p), (c, t, _) in self.s.months.items():
            if c == contract_id and p == period:
                out[t] += 1
        return dict(out)


def _insert(table: dict, rows: dict, given: int) -> None:
    """Insert rows that must be new (by key): one already stored, or twice among them, is refused."""
    if len(rows) != given or any(k in table for k in rows):
        raise DuplicateKey("a row with this key is stored already")
    table.update(rows)
