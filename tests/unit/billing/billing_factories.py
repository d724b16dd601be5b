"""Builders for billing's unit tests: roster snapshots, claims, small contracts."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from shared.events import ClaimLine, ClaimV1, EligibilitySpan, GapClosedV1, GapOpenedV1, MemberRosterV1
from services.billing.contracts import example_contracts
from services.billing.domain import ContractBook, contract_from_mapping


def at(day: date, hour: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=timezone.utc)


def eid(name: str) -> uuid.UUID:
    """A stable event id per test name, so failures are reproducible."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"billing-test:{name}")


def roster(
    member_id: str = "M1",
    *,
    contract_id: str = "MMO-2026",
    tier: str = "high",
    spans: tuple[tuple[date, date | None], ...] = ((date(2026, 1, 1), None),),
    on: date = date(2026, 1, 1),
    status: str = "active",
    name: str | None = None,
    recorded: datetime | None = None,
) -> MemberRosterV1:
    return MemberRosterV1(
        **MemberRosterV1.envelope(
            occurred_at=at(on), recorded_at=recorded or at(on, 6), source="test-roster", member_id=member_id,
            event_id=eid(name or f"roster:{member_id}:{on}:{tier}:{contract_id}:{spans}:{status}"),
        ),
        given_name="Test", family_name="Member", birth_date=date(1960, 5, 5), sex="F",
        pcp_practice_id="P001", contract_id=contract_id, risk_tier=tier,
        eligibility=tuple(EligibilitySpan(start=s, end=e) for s, e in spans), status=status,
    )


def line(n: int, code: str, day: date, paid: str | None, *, revenue: str | None = None, charge: str = "0") -> ClaimLine:
    return ClaimLine(
        line_number=n, procedure_code=code, revenue_code=revenue, service_date=day,
        charge_amount=Decimal(charge), paid_amount=None if paid is None else Decimal(paid),
    )


def claim(
    claim_id: str,
    lines: tuple[ClaimLine, ...],
    *,
    member_id: str = "M1",
    frequency: str = "1",
    original: str | None = None,
    received: date = date(2026, 3, 1),
    paid: str | None = None,
    hour: int = 0,
) -> ClaimV1:
    first = min(ln.service_date for ln in lines) if lines else received
    return ClaimV1(
        **ClaimV1.envelope(
            occurred_at=at(first), recorded_at=at(received, hour), source="test-claims", member_id=member_id,
            event_id=eid(f"claim:{member_id}:{claim_id}:{frequency}:{original}:{received}:{hour}"),
        ),
        claim_id=claim_id, frequency_code=frequency, original_claim_id=original,
        claim_type="professional", lines=lines, paid_amount=None if paid is None else Decimal(paid),
    )


def gap(member_id: str, measure: str, status: str, on: date, *, contract_id: str = "MMO-2026"):
    """A gap opened (``status="open"``) or closed on ``on``, of the 2026 measurement year."""
    cls = GapOpenedV1 if status == "open" else GapClosedV1
    return cls(
        **cls.envelope(occurred_at=at(on, 8), recorded_at=at(on, 10), source="test-gaps", member_id=member_id,
                       event_id=eid(f"gap:{member_id}:{measure}:{status}:{on}:{contract_id}")),
        gap_key=f"{member_id}|{measure}|2026", measure_id=measure, measure_version="2026",
        period_start=date(2026, 1, 1), period_end=date(2026, 12, 31), reason="test", practice_id="P001",
        contract_id=contract_id,
    )


def examples() -> ContractBook:
    return ContractBook(example_contracts().values())


def small_contract(**version: Any) -> Any:
    """A one-version 2026 contract ``T-2026`` with the given version terms."""
    base: dict[str, Any] = {
        "version": 1, "effective_from": "2026-01-01", "effective_to": "2026-12-31",
        "member_month_rule": "any_day",
    }
    base.update(version)
    return contract_from_mapping({"contract_id": "T-2026", "payer": "Test Payer", "name": "test", "versions": [base]})
