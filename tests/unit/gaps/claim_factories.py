"""ClaimV1 builders for the gaps tests."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timezone
from decimal import Decimal

from shared.events import ClaimLine, ClaimV1


def claim(claim_id: str, lines: list[tuple[str, date]], *, freq: str = "1", original: str | None = None,
          at: datetime = datetime(2026, 3, 1, tzinfo=timezone.utc), member_id: str = "M1",
          diagnoses: tuple[str, ...] = (), claim_type: str = "professional", event_id: uuid.UUID | None = None,
          **kw) -> ClaimV1:
    return ClaimV1(
        **ClaimV1.envelope(occurred_at=at, source="test", member_id=member_id,
                           event_id=event_id or uuid.uuid5(uuid.NAMESPACE_URL, f"{claim_id}/{freq}/{at.isoformat()}")),
        claim_id=claim_id, frequency_code=freq, original_claim_id=original, claim_type=claim_type,
        diagnoses=diagnoses,
        lines=tuple(ClaimLine(line_number=i, procedure_code=code, service_date=d, charge_amount=Decimal("10"))
                    for i, (code, d) in enumerate(lines, 1)),
        **kw,
    )


def t(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=timezone.utc)
