"""Input events for billing's integration tests: roster snapshots (with attribution history),
claims, gap events, with stable ids so a test reads the same every run."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timezone
from decimal import Decimal

from shared.events import (
    AttributionSpan, ClaimLine, ClaimV2, EligibilitySpan, GapClosedV1, GapOpenedV1, MemberRosterV1,
)


def at(day: date, hour: int = 8) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=timezone.utc)


def eid(*parts: object) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, "billing-it:" + "|".join(map(str, parts)))


def roster(member_id: str, *, contract_id: str = "MMO-2026", tier: str = "high", on: date = date(2026, 1, 1),
           start: date = date(2026, 1, 1), end: date | None = None, status: str = "active",
           history: tuple[tuple[date, str, str], ...] = (), tag: str = "") -> MemberRosterV1:
    """A snapshot; ``history`` = (start, contract, tier) spans carried as attribution."""
    spans = tuple(AttributionSpan(start=s, end=None, contract_id=c, risk_tier=t, pcp_practice_id="P001")
                  for s, c, t in history)
    return MemberRosterV1(
        **MemberRosterV1.envelope(occurred_at=at(on), recorded_at=at(on, 9), source="it-roster", member_id=member_id,
                                  event_id=eid("roster", member_id, on, tier, contract_id, start, end, status, tag)),
        given_name="Test", family_name="Member", birth_date=date(1958, 4, 4), sex="F", pcp_practice_id="P001",
        contract_id=contract_id, risk_tier=tier, eligibility=(EligibilitySpan(start=start, end=end),), status=status,
        attribution=spans,
    )


def claim(member_id: str, claim_id: str, lines: tuple[tuple[str | None, date, str], ...], *, frequency: str = "1",
          original: str | None = None, received: date = date(2026, 4, 1), revenue: str | None = None) -> ClaimV2:
    """``lines`` = (procedure code, service date, paid dollars); a v2 claim without version stamps (what
    the consumer decodes a v1 claim into)."""
    ls = tuple(ClaimLine(line_number=i + 1, procedure_code=code, revenue_code=revenue, service_date=d,
                         charge_amount=Decimal(paid), paid_amount=Decimal(paid)) for i, (code, d, paid) in enumerate(lines))
    first = min((d for _, d, _ in lines), default=received)
    return ClaimV2(
        **ClaimV2.envelope(occurred_at=at(first), recorded_at=at(received), source="it-claims", member_id=member_id,
                           event_id=eid("claim", member_id, claim_id, frequency, received)),
        claim_id=claim_id, frequency_code=frequency, original_claim_id=original, claim_type="professional",
        lines=ls,
    )


def gap(member_id: str, measure: str, status: str, on: date, *, contract_id: str = "MMO-2026"):
    cls = GapOpenedV1 if status == "open" else GapClosedV1
    return cls(
        **cls.envelope(occurred_at=at(on), recorded_at=at(on, 10), source="it-gaps", member_id=member_id,
                       event_id=eid("gap", member_id, measure, status, on)),
        gap_key=f"{member_id}|{measure}|2026", measure_id=measure, measure_version="2026",
        period_start=date(2026, 1, 1), period_end=date(2026, 12, 31), reason="test", practice_id="P001",
        contract_id=contract_id,
    )
