"""billing.accruals: append-only ledger entries (key: contract_id)."""

from __future__ import annotations

import uuid
from typing import ClassVar, Literal

from pydantic import Field

from .. import topics
from .envelope import Event

Account = Literal[
    "pmpm_fee", "cost_of_care", "carve_out", "bonus_estimate", "shared_savings_estimate",
]


class LedgerEntryV1(Event):
    """One posting. ``entry_id`` = uuid5(source event, rule): idempotent on the source."""

    TOPIC: ClassVar[str] = topics.ACCRUALS

    event_type: Literal["ledger.entry"] = "ledger.entry"
    schema_version: Literal[1] = 1
    entry_id: uuid.UUID
    contract_id: str
    period: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM the amount belongs to")
    posted_period: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="open month it was posted in")
    account: Account
    amount_cents: int
    rule: str
    source_event_id: uuid.UUID
    reverses: uuid.UUID | None = None
    adjustment: bool = Field(default=False, description="posted after its period was closed")

    def partition_key(self) -> str:
        return self.contract_id
