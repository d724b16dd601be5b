"""Intake's settings (environment variables are the field names in upper case, e.g. ``API_PORT``)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field

from shared.settings import CommonSettings


class IntakeSettings(CommonSettings):
    SERVICE: ClassVar[str] = "intake"

    api_port: int = Field(default=8090, description="HTTP API (loads, their status, /metrics, /healthz)")
    ingest_batch: int = Field(default=2000, ge=1, le=50_000, description="messages per produce batch")
    reports_dir: Path | None = Field(default=None, description="load reports and 999s; default VAR_DIR/reports")
    upload_dir: Path | None = Field(default=None, description="API uploads are streamed here; default VAR_DIR/uploads")
    upload_max_bytes: int = Field(default=2 * 1024 ** 3, ge=1, description="largest accepted upload")
    max_term_fraction: float = Field(
        default=0.5, ge=0, le=1,
        description="a full roster load refuses to term more than this share of the known active members")
    report_rejections_limit: int = Field(default=1000, ge=0, description="rejections listed in a report (all are counted)")
    load_time_budget_s: float = Field(
        default=3600.0, gt=0,
        description="a load (validation included) that has not finished after this many seconds ends failed")
    load_workers: int = Field(default=2, ge=1, le=16, description="API loads running at once (the others wait)")

    def reports_path(self) -> Path:
        return self.reports_dir or (self.var_dir / "reports")

    def uploads_path(self) -> Path:
        return self.upload_dir or (self.var_dir / "uploads")
