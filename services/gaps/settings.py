"""Gaps settings (environment variables are the field names in upper case).

The measurement period is a calendar year (``MEASUREMENT_YEAR``; default: the year of the
evaluation day), the measure versions a JSON map (``MEASURE_VERSIONS='{"CMS125": "CMS125v12"}'``:
v12 vs v14 changes the breast screening ages). ``CODE_LIST_DIRS`` adds code-list CSVs
(comma-separated directories) to the shipped ones without a code change.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Annotated, ClassVar

from pydantic import Field, field_validator
from pydantic_settings import NoDecode

from shared.settings import CommonSettings

from .domain import DEFAULT_VERSIONS, MEASURES, MeasureSettings, Period


class GapsSettings(CommonSettings):
    SERVICE: ClassVar[str] = "gaps"

    api_port: int = Field(default=8020, description="HTTP port of the API")
    worker_port: int = Field(default=8021, description="the worker's /metrics and /healthz")

    # ---- measures
    measurement_year: int | None = Field(
        default=None, ge=2000, le=2100, description="calendar-year measurement period; default: the evaluation day's year")
    measure_versions: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_VERSIONS), description="measure id -> version label (JSON)")
    measures: Annotated[tuple[str, ...], NoDecode] = Field(
        default=MEASURES, description="measures to evaluate (comma-separated ids)")
    due_soon_days: int = Field(default=60, ge=0, le=366, description="closed gaps lapsing within this many days are due soon")
    fup_window_days: int = Field(default=30, ge=1, le=90)
    chronic_dx_lookback_years: int = Field(default=1, ge=0, le=5)
    evaluation_date: date | None = Field(
        default=None, description="the day evaluations are for (tests, replays); default: today (UTC)")
    code_list_dirs: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(), description="extra code-list directories (comma-separated), each holding *.csv files")

    # ---- worker
    worker_batch_size: int = Field(default=1000, ge=1, le=10_000)
    worker_within_s: float = Field(default=0.05, gt=0, description="seconds a batch's first event may wait for the batch to fill")
    daily_reevaluation: bool = Field(default=True, description="re-evaluate every member once a day (due-soon)")
    daily_reevaluation_hour: int = Field(default=2, ge=0, le=23, description="UTC hour the daily run may start")
    maintenance_interval_s: float = Field(default=30.0, gt=0, description="gauge refresh / daily-run check")
    reevaluate_chunk: int = Field(default=2000, ge=1, le=20_000, description="members per re-evaluation transaction")

    # ---- API
    fhir_measure_base: str = Field(default="https://ccp.example.org/fhir", description="canonical base of Measure URLs")

    @field_validator("measures", "code_list_dirs", mode="before")
    @classmethod
    def _split(cls, v):
        if isinstance(v, str):
            return tuple(p.strip() for p in v.split(",") if p.strip())
        return v

    @field_validator("measures")
    @classmethod
    def _known_measures(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [m for m in v if m not in MEASURES]
        if unknown:
            raise ValueError(f"unknown measure(s): {', '.join(unknown)} (known: {', '.join(MEASURES)})")
        return tuple(m for m in MEASURES if m in v)  # engine order

    @field_validator("measure_versions")
    @classmethod
    def _known_versions(cls, v: dict[str, str]) -> dict[str, str]:
        unknown = [m for m in v if m not in MEASURES]
        if unknown:
            raise ValueError(f"versions given for unknown measure(s): {', '.join(unknown)}")
        if any(not label or len(label) > 64 for label in v.values()):
            raise ValueError("a measure version label must have 1 to 64 characters")
        return {**DEFAULT_VERSIONS, **v}

    # ------------------------------------------------------------------ derived
    def today(self) -> date:
        return self.evaluation_date or datetime.now(timezone.utc).date()

    def period(self, as_of: date | None = None) -> Period:
        return Period.calendar_year(self.measurement_year or (as_of or self.today()).year)

    def measure_settings(self, as_of: date | None = None) -> MeasureSettings:
        day = as_of or self.today()
        return MeasureSettings(
            period=self.period(day), versions=dict(self.measure_versions), as_of=day,
            due_soon_days=self.due_soon_days, chronic_dx_lookback_years=self.chronic_dx_lookback_years,
            fup_window_days=self.fup_window_days, measures=tuple(self.measures),
        )

    def load_codes(self):
        from .codes import load_code_sets

        return load_code_sets(self.code_list_dirs)
