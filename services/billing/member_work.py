"""One batch's member-level work: load the members' state in a few queries, apply roster and
claim events (or a month opening, or a re-accrual) through the domain rules in memory, then
write the ledger's new entries and the changed member-month and paid-line rows in bulk.

Which contract months changed facts (member months, paid lines) is found by comparing the
rows before and after; those become dirty marks for the contract-level estimates.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy.orm import Session

from shared.events import ClaimV1, MemberRosterV1

from .domain import (
    ClosedMonths, ContractBook, MemberAccrual, Posting, accrue_claims, accrue_member, coverage_from_roster,
    current_paid_lines, families_of, runs_text,
)
from . import risk_tiers
from .domain.claim_versions import Family, families as claim_families, paid_lines
from .metrics import Pending
from .state import (
    CostRow, MonthRow, _cost_sort, load_claims, load_cost_rows, load_member_ledger, load_month_rows, load_snapshot_ids,
    load_snapshots, save_claims, save_snapshots, write_cost_rows, write_held, write_month_rows,
)


class CoverageCache:
    """Members' coverage between batches, keyed by the exact set of their stored roster
    snapshot ids: snapshots are immutable rows, so the same set always gives the same coverage,
    and a snapshot stored by anyone since (another worker after a rebalance, a rolled-back
    batch that never stored it) shows as a different set. Saves parsing every snapshot of every
    member a claim batch touches."""

    LIMIT = 200_000

    def __init__(self) -> None:
        self._by_member: dict[str, tuple[frozenset[str], tuple]] = {}

    def get(self, member_id: str, snapshot_ids: frozenset[str]) -> tuple | None:
        entry = self._by_member.get(member_id)
        return entry[1] if entry is not None and entry[0] == snapshot_ids else None

    def put(self, member_id: str, snapshot_ids: frozenset[str], coverage: tuple) -> None:
        if len(self._by_member) >= self.LIMIT:
            self._by_member.clear()
        self._by_member[member_id] = (snapshot_ids, coverage)

    def forget(self, member_id: str) -> None:
        self._by_member.pop(member_id, None)


class MemberWork:
    def __init__(self, session: Session, members: Sequence[str], book: ContractBook, closed: ClosedMonths,
                 open_month: str, claim_events: Sequence[ClaimV1] = (),
                 coverage_cache: CoverageCache | None = None) -> None:
        """``members``: every key of theirs may change. Members who only have ``claim_events``
        (applied with ``claim`` in the same order) get only the keys and rows of the claim
        families those events touch loaded (and their coverage from ``coverage_cache`` when it
        holds it for their current snapshots)."""
        self.session = session
        self.book = book
        self.open_month = open_month
        full = sorted(set(members))
        claim_only = sorted({e.member_id for e in claim_events} - set(full))
        self._full = set(full)
        members = full + claim_only
        self._cache = coverage_cache
        self._snapshot_ids: dict[str, frozenset[str]] = {}
        self._coverage: dict[str, tuple] = {}
        self.risk = risk_tiers.load(session, members)   # computed tiers (risk.tiers) laid over the roster's
        if coverage_cache is not None:
            for mid in full:
                coverage_cache.forget(mid)
            if claim_only:
                self._snapshot_ids = load_snapshot_ids(session, claim_only)
                for mid, (eid, _) in self.risk.items():   # a new tier history is a new coverage too
                    if mid in self._snapshot_ids:
                        self._snapshot_ids[mid] = self._snapshot_ids[mid] | {f"risk:{eid}"}
                for mid in claim_only:
                    cached = coverage_cache.get(mid, self._snapshot_ids.get(mid, frozenset()))
                    if cached is not None:
                        self._coverage[mid] = cached
        self.snapshots = load_snapshots(session, [m for m in members if m not in self._coverage])
        self.claims = load_claims(session, full, [e for e in claim_events if e.member_id not in self._full])
        self._seen = {str(e.event_id) for evs in (*self.snapshots.values(), *self.claims.values()) for e in evs}
        # event id → (the member's families after it, the families it touches), worked out once
        self._plan: dict[str, tuple[list[Family], frozenset[str]]] = {}
        touched = self._touched_families([e for e in claim_events if e.member_id not in self._full])
        # Ledger keys and paid-line rows of a claim family are only ever written together with
        # one of its versions, so a member none of whose stored claims share a family with the
        # batch's claims (``load_claims`` found none: the usual case, a new original) has none
        # to load.
        stored = {mid: fams for mid, fams in touched.items() if self.claims.get(mid)}
        categories = {c.category for k in book for v in k.versions for c in v.carve_outs}
        rules = {mid: {r for f in fams for r in (f"claim:{f}", *(f"claim:{f}:{c}" for c in categories))}
                 for mid, fams in stored.items()}
        self.ledger = load_member_ledger(session, full, closed, rules)
        self.old_months = load_month_rows(session, full)
        self.old_costs = load_cost_rows(session, full, [f"{mid}|{f}" for mid, fams in stored.items() for f in fams])
        self.months: dict[str, set[MonthRow]] = {m: set(self.old_months.get(m, ())) for m in full}
        self.costs: dict[str, dict[str, list[CostRow]]] = {
            m: {f: list(rows) for f, rows in self.old_costs.get(m, {}).items()} for m in members}
        self.new_snapshots: list[MemberRosterV1] = []
        self.new_claims: list[ClaimV1] = []
        self.postings: list[Posting] = []
        # member → contract → member months left unpriced by the member's last recompute
        self.unpriced: dict[str, dict[str, int]] = {}
        # (member, event id) → the held correction to keep, or None to forget
        self.held: dict[tuple[str, str], ClaimV1 | None] = {}
        self._families: dict[str, list[Family]] = {}  # member → families of the claims applied so far

    def _touched_families(self, events: Sequence[ClaimV1]) -> dict[str, set[str]]:
        """The claim families each member's events will touch, applied in order."""
        prior = {e.member_id: list(self.claims.get(e.member_id, ())) for e in events}
        seen = set(self._seen)
        out: dict[str, set[str]] = defaultdict(set)
        known: dict[str, list[Family]] = {}  # member → families of ``prior`` (one pass per event)
        for e in events:
            if str(e.event_id) in seen:
                continue
            seen.add(str(e.event_id))
            mine = prior[e.member_id]
            before = known.get(e.member_id)
            if before is None:
                before = claim_families(mine)
            after = known[e.member_id] = claim_families([*mine, e])
            touched = families_of([e], mine, before=before, after=after)
            self._plan[str(e.event_id)] = (after, touched)  # ``claim`` applies it in this same order
            out[e.member_id] |= touched
            mine.append(e)
        return out

    def coverage(self, mid: str) -> tuple:
        found = self._coverage.get(mid)
        if found is None:
            found = coverage_from_roster(self.snapshots[mid])
            if mid in self.risk:
                found = risk_tiers.overlay(found, self.risk[mid][1])
            self._coverage[mid] = found
            if self._cache is not None and mid not in self._full:
                self._cache.put(mid, self._snapshot_ids.get(mid, frozenset()), found)
        return found

    # ------------------------------------------------------------------ events
    def roster(self, event: MemberRosterV1) -> None:
        mid = event.member_id
        if str(event.event_id) in self._seen:
            return
        self._seen.add(str(event.event_id))
        self.snapshots[mid].append(event)
        self._coverage.pop(mid, None)
        self.new_snapshots.append(event)
        self.recompute(mid, event.event_id)

    def claim(self, event: ClaimV1) -> None:
        """The cost / carve-out keys of the families the event touches (``accrue_claim_event``,
        with the member's coverage computed once per batch)."""
        mid = event.member_id
        if str(event.event_id) in self._seen:
            return
        self._seen.add(str(event.event_id))
        prior = self.claims[mid]
        planned = self._plan.pop(str(event.event_id), None)
        if planned is not None:
            fams, families = planned
        else:
            before = self._families.get(mid)
            if before is None:
                before = claim_families(prior)
            fams = claim_families([*prior, event])
            families = families_of([event], prior, before=before, after=fams)
        self._families[mid] = fams  # the next event of the member's batch starts from these
        current = {f.family_id: c for f in fams if (c := f.counted) is not None}
        self._note_held(mid, next(f for f in fams if event.claim_id in f.claim_ids), [*prior, event])
        paid = [ln for f in sorted(families) if f in current for ln in paid_lines(f, current[f])]
        acc = accrue_claims(mid, self.coverage(mid), paid, self.book)
        prior.append(event)
        self.new_claims.append(event)
        self.postings.extend(self.ledger.sync_member(mid, acc.postings, event.event_id, families=families))
        by_family = _cost_rows(acc)
        for f in families:
            self.costs[mid][f] = by_family.get(f, [])

    def _note_held(self, mid: str, family: Family, claims: list[ClaimV1]) -> None:
        """Keep ``held_claims`` in step with the family the event joined: its corrections are
        held while it has no original, and leave the table once it has (a copy of a version
        under another event id never stays)."""
        if not family.held and all(v.frequency_code == "1" for v in family.versions):
            return  # the usual case: originals only, never held
        kept = {str(v.event_id) for v in family.versions} if family.held else set()
        for c in claims:
            if c.frequency_code != "1" and c.claim_id in family.claim_ids:
                eid = str(c.event_id)
                self.held[(mid, eid)] = c if eid in kept else None

    def recompute(self, mid: str, source: uuid.UUID, since: str | None = None) -> None:
        """All of the member's keys (or those from ``since`` on) brought to what the rules say now."""
        if mid not in self._full:
            raise ValueError("member loaded for claim events only")
        acc = accrue_member(mid, self.coverage(mid), current_paid_lines(self.claims[mid]), self.book, self.open_month,
                            since)
        self.postings.extend(self.ledger.sync_member(mid, acc.postings, source, since=since))
        if acc.unpriced_months:
            self.unpriced[mid] = acc.unpriced_months
        else:
            self.unpriced.pop(mid, None)
        new_months = {(m.period, m.contract_id, m.tier, runs_text(m.runs)) for m in acc.months}
        by_family = _cost_rows(acc)
        if since is None:
            self.months[mid] = new_months
            self.costs[mid] = by_family
            return
        self.months[mid] = {r for r in self.months[mid] if r[0] < since} | new_months
        for f in set(self.costs[mid]) | set(by_family):
            kept = [r for r in self.costs[mid].get(f, []) if r[1] < since]
            self.costs[mid][f] = sorted(kept + by_family.get(f, []), key=_cost_sort)

    # ------------------------------------------------------------------ write
    def finish(self, pending: Pending) -> dict[str, str]:
        """Write everything; returns the dirty marks (contract → earliest changed period)."""
        save_snapshots(self.session, self.new_snapshots)
        save_claims(self.session, self.new_claims)
        write_held(self.session, self.held)
        marks: dict[str, str] = {}

        def mark(contract_id: str, period: str) -> None:
            if period < marks.get(contract_id, "9999-99"):
                marks[contract_id] = period

        removed: list[tuple[str, str]] = []
        added: list[dict] = []
        for mid, now in self.months.items():
            before = self.old_months.get(mid, set())
            if now == before:
                continue
            gone, new = before - now, now - before
            for period, contract_id, _, _ in gone | new:
                mark(contract_id, period)
            for period, contract_id, _, _ in gone:
                pending.member_months[contract_id] -= 1
            for period, contract_id, _, _ in new:
                pending.member_months[contract_id] += 1
            removed.extend((mid, r[0]) for r in gone)  # a changed row is deleted, then inserted anew
            added.extend({"member_id": mid, "period": p, "contract_id": c, "tier": t, "runs": runs}
                         for p, c, t, runs in new)
        write_month_rows(self.session, removed, added)

        # a paid line moves only the estimates that read cost of care (shared savings): a
        # contract without such terms is not marked dirty by claims, so the next settle does not
        # recompute a year of its unchanged bonus estimates
        reads: dict[str, bool] = {}

        def reads_costs(contract_id: str) -> bool:
            found = reads.get(contract_id)
            if found is None:
                found = reads[contract_id] = self.book.estimates_read_costs(contract_id)
            return found

        replaced: list[str] = []
        lines: list[tuple] = []  # in PAID_LINE_COLS order
        for mid, fams in self.costs.items():
            before = self.old_costs.get(mid, {})
            for f in set(fams) | set(before):
                old, now = before.get(f, []), fams.get(f, [])
                if old == now:
                    continue
                for r in (*old, *now):
                    if reads_costs(r[0]):
                        mark(r[0], r[1])
                key = f"{mid}|{f}"
                if old:
                    replaced.append(key)
                lines.extend((key, mid, c, p, code, rev, cents) for c, p, code, rev, cents in now)
        write_cost_rows(self.session, replaced, lines)
        for counts in self.unpriced.values():
            pending.unpriced.update(counts)
        return marks


def _cost_rows(acc: MemberAccrual) -> dict[str, list[CostRow]]:
    out: dict[str, list[CostRow]] = defaultdict(list)
    for c in acc.costs:
        out[c.family].append((c.contract_id, c.period, c.procedure_code, c.revenue_code, c.paid_cents))
    for rows in out.values():
        rows.sort(key=_cost_sort)
    return dict(out)
