"""Members' histories on SQL (``app.ports.MemberHistories``): every roster snapshot and claim
version seen (the event's JSON), held corrections, computed tier histories — read and written a
batch at a time, a few queries per batch."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import NamedTuple

from pydantic import ValidationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from shared.chunks import chunks
from shared.claim_versions import family_closure
from shared.codec import decode
from shared.db import upsert
from shared.events import ClaimV1, ClaimV2, MemberRosterV1

from ..app.ports import RiskStamp
from ..domain.computed_tiers import History
from .sql import CHUNK, among, copy_rows
from .tables import claim_events, held_claims, risk_tier_histories, roster_snapshots


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


_CLAIM_COLS = ("event_id", "member_id", "claim_id", "frequency_code", "original_claim_id", "payload")
_SNAPSHOT_COLS = ("event_id", "member_id", "occurred_at", "payload")
_HELD_COLS = ("member_id", "event_id", "claim_id", "frequency_code", "names_claim_id", "held_since")


class SqlMemberHistories:
    def __init__(self, session: Session) -> None:
        self.session = session

    # ------------------------------------------------------------------ roster snapshots
    def snapshots(self, members: Sequence[str]) -> dict[str, list[MemberRosterV1]]:
        out: dict[str, list[MemberRosterV1]] = defaultdict(list)
        rs = roster_snapshots.c
        for part in chunks(sorted(members), CHUNK):
            for mid, payload in self.session.execute(
                    select(rs.member_id, rs.payload).where(among(self.session, rs.member_id, part))):
                out[mid].append(MemberRosterV1.model_validate_json(payload))
        return out

    def snapshot_ids(self, members: Sequence[str]) -> dict[str, frozenset[str]]:
        out: dict[str, set[str]] = defaultdict(set)
        rs = roster_snapshots.c
        for part in chunks(sorted(members), CHUNK):
            for mid, eid in self.session.execute(
                    select(rs.member_id, rs.event_id).where(among(self.session, rs.member_id, part))):
                out[mid].add(eid)
        return {mid: frozenset(ids) for mid, ids in out.items()}

    def add_snapshots(self, events: Sequence[MemberRosterV1]) -> None:
        copy_rows(self.session, roster_snapshots, _SNAPSHOT_COLS, [
            (str(e.event_id), e.member_id, e.occurred_at, e.model_dump_json()) for e in events])

    def members_after(self, after: str, limit: int) -> list[str]:
        rs = roster_snapshots.c
        q = select(rs.member_id).where(rs.member_id > after).group_by(rs.member_id).order_by(rs.member_id).limit(limit)
        return [r[0] for r in self.session.execute(q)]

    # ------------------------------------------------------------------ claim versions
    def claims(self, members: Sequence[str], touched: Sequence[ClaimV1] = ()) -> dict[str, list[ClaimV1]]:
        out: dict[str, list[ClaimV1]] = defaultdict(list)
        s, ce = self.session, claim_events.c
        for part in chunks(sorted(members), CHUNK):
            for mid, payload in s.execute(select(ce.member_id, ce.payload).where(among(s, ce.member_id, part))):
                out[mid].append(claim_from_payload(payload))
        by_member: dict[str, list[ClaimV1]] = defaultdict(list)
        for e in touched:
            by_member[e.member_id].append(e)
        wanted: list[str] = []
        for part in chunks(sorted(by_member), CHUNK):
            links: dict[str, list[ClaimLink]] = defaultdict(list)
            for r in s.execute(select(ce.member_id, ce.event_id, ce.claim_id, ce.frequency_code,
                                      ce.original_claim_id).where(among(s, ce.member_id, part))):
                links[r.member_id].append(ClaimLink(r.event_id, r.claim_id, r.frequency_code, r.original_claim_id))
            for mid, stored in links.items():
                wanted.extend(family_closure(by_member[mid], stored))
        for part in chunks(wanted, CHUNK):
            for mid, payload in s.execute(select(ce.member_id, ce.payload).where(among(s, ce.event_id, part))):
                out[mid].append(claim_from_payload(payload))
        return out

    def add_claims(self, events: Sequence[ClaimV1]) -> None:
        copy_rows(self.session, claim_events, _CLAIM_COLS, [
            (str(e.event_id), e.member_id, e.claim_id, e.frequency_code, e.original_claim_id, e.model_dump_json())
            for e in events])

    # ------------------------------------------------------------------ held corrections
    def set_held(self, held: Mapping[tuple[str, str], ClaimV1 | None]) -> None:
        if not held:
            return
        hc = held_claims.c
        for part in chunks(sorted(eid for _, eid in held), CHUNK):  # a small table: one statement per thousand
            self.session.execute(delete(held_claims).where(among(self.session, hc.event_id, part)))
        rows = [(mid, eid, c.claim_id, c.frequency_code, c.original_claim_id or c.claim_id, c.recorded_at)
                for (mid, eid), c in sorted(held.items()) if c is not None]
        copy_rows(self.session, held_claims, _HELD_COLS, rows)

    def held_counts(self) -> dict[str, int]:
        hc = held_claims.c
        out = {"replacement": 0, "void": 0}
        for f, n in self.session.execute(select(hc.frequency_code, func.count()).group_by(hc.frequency_code)):
            out["void" if f == "8" else "replacement"] += int(n)
        return out

    def held_rows(self, member: str | None, limit: int, offset: int) -> list[dict]:
        hc = held_claims.c
        q = select(hc.member_id, hc.claim_id, hc.frequency_code, hc.names_claim_id, hc.held_since).order_by(
            hc.held_since, hc.member_id, hc.claim_id)
        if member is not None:
            q = q.where(hc.member_id == member)
        return [dict(r._mapping) for r in self.session.execute(q.limit(limit).offset(offset))]

    # ------------------------------------------------------------------ computed tiers
    def risk_stamps(self, members: Sequence[str]) -> dict[str, RiskStamp]:
        t = risk_tier_histories.c
        out: dict[str, RiskStamp] = {}
        for part in chunks(sorted(members), CHUNK):
            for m, d, at in self.session.execute(
                    select(t.member_id, t.decided_on, t.occurred_at).where(among(self.session, t.member_id, part))):
                out[m] = RiskStamp(d, at)
        return out

    def risk_histories(self, members: Sequence[str]) -> dict[str, tuple[str, History]]:
        t = risk_tier_histories.c
        out: dict[str, tuple[str, History]] = {}
        for part in chunks(sorted(set(members)), CHUNK):
            for mid, eid, history in self.session.execute(
                    select(t.member_id, t.event_id, t.history).where(among(self.session, t.member_id, part))):
                out[mid] = (eid, tuple((date.fromisoformat(d), tier) for d, tier in history))
        return out

    def save_risk_histories(self, rows: Sequence[tuple[str, str, date, datetime, History]]) -> None:
        upsert(self.session, risk_tier_histories, [
            {"member_id": mid, "event_id": eid, "decided_on": decided.isoformat(), "occurred_at": at,
             "history": [[d.isoformat(), tier] for d, tier in history]}
            for mid, eid, decided, at, history in rows], ["member_id"])
