"""Response shapes of the intake API (OpenAPI documents them)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class RejectionOut(BaseModel):
    scope: str
    where: str = Field(description="line, segment, ST control number - never a value from the file")
    st_control_number: str | None = None
    segment: int | None = None
    claim_index: int | None = None
    lines: list[int] | None = None
    reason: str
    dead_lettered: bool


class LoadReportOut(BaseModel):
    load_id: str
    kind: Literal["roster", "claims"]
    format: str
    mode: str
    file: str | None = None
    sha256: str | None = None
    status: Literal["running", "done", "rejected", "failed", "duplicate"] = Field(
        description="running; done (read to its end: see accepted / rejected); rejected (refused as a whole, "
                    "nothing loaded: error says why); failed (could not finish: error says why, loading again is "
                    "safe); duplicate (already loaded)")
    started_at: str
    finished_at: str | None = None
    seconds: float | None = None
    accepted: int = Field(description="claims produced (confirmed by Kafka) / valid roster rows")
    rejected: int
    lines: int = Field(description="claim service lines produced")
    changed: int = Field(description="roster: snapshots produced (changed members)")
    unchanged: int
    termed: int
    dead_lettered: int
    rejections: list[RejectionOut]
    rejections_listed: int
    warnings: list[str]
    duplicate_of: str | None = None
    validation: dict[str, Any] | None = None
    ack_999_file: str | None = None
    report_file: str | None = None
    error: str | None = None
    owner: dict[str, Any] | None = Field(default=None, description="host and process running the load")
    deadline: str | None = Field(default=None, description="when its time budget (LOAD_TIME_BUDGET_S) runs out")


class LoadAccepted(BaseModel):
    load_id: str
    status: Literal["running"] = "running"
    status_url: str


class LoadStatusOut(BaseModel):
    load_id: str
    kind: str | None = None
    status: str
    seconds: float | None = None
    error: str | None = None
    progress: dict[str, Any] | None = None
    report: LoadReportOut | None = None
