"""Settings of one synthetic population run. Same config (seed included) → same bytes."""

from __future__ import annotations

import calendar
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

MALFORMED_KINDS: tuple[str, ...] = (
    "missing_pid3",     # PID-3 empty
    "unknown_trigger",  # ADT^A99
    "bad_date",         # EVN-2 an impossible date (Feb 30, hour 25)
    "garbage",          # random bytes, no MSH
    "no_msh",           # a message whose MSH segment is missing
    "non_adt",          # ORU^R01 where ADT is expected
)


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, clamped to the month's length."""
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class SynthConfig:
    """What to generate. Rates are per member-year unless said otherwise."""

    members: int = 5_000
    seed: int = 1
    start: date = date(2026, 1, 1)
    months: int = 12
    practices: int = 20
    hospitals: tuple[str, ...] = ("MERCY", "STLUKE", "GENERAL", "VALLEY")
    timezone: str = "America/Chicago"
    ma_share: float = 0.35                 # share of members 65+ (Medicare Advantage, MMO-2026)
    admissions_per_1000: float = 80.0      # inpatient admissions per 1,000 member-years (incl. readmissions)
    ed_visits_per_1000: float = 400.0      # treat-and-release ED visits per 1,000 member-years
    readmission_share: float = 0.15        # discharges followed by an admission within 30 days
    unattributed_share: float = 0.10       # share of hospital encounters from patients not on the roster
    malformed_rate: float = 0.005          # extra malformed ADT messages per good message
    malformed_kinds: tuple[str, ...] = MALFORMED_KINDS
    replacement_rate: float = 0.02         # claims later replaced (frequency 7)
    void_rate: float = 0.01                # claims later voided (frequency 8)
    include_paid: bool = True              # 837 with 2320/2330/2430 SVD paid amounts (payer encounter file)
    claim_batch: str = "week"              # "week" or "month": window of one claims delivery
    claim_lag_days: tuple[int, int] = (3, 30)
    history: bool = True                   # a first claims batch with prior years' screenings/diagnoses
    monthly_rosters: bool = True           # roster snapshots at each month start (besides roster.csv)
    x12_line_breaks: bool = True           # "~\n" between X12 segments (pyx12 and humans like it)
    max_claims_per_st: int = 5_000         # 837 guide's recommended ceiling per transaction set

    def __post_init__(self) -> None:
        if self.members < 1:
            raise ValueError("members must be >= 1")
        if self.months < 1:
            raise ValueError("months must be >= 1")
        if self.claim_batch not in ("week", "month"):
            raise ValueError("claim_batch must be 'week' or 'month'")
        if not 1 <= len(self.hospitals) <= 6:
            raise ValueError("between 1 and 6 hospitals")
        unknown = set(self.malformed_kinds) - set(MALFORMED_KINDS)
        if unknown:
            raise ValueError(f"unknown malformed kinds: {sorted(unknown)}")
        for name in ("ma_share", "readmission_share", "unattributed_share", "malformed_rate",
                     "replacement_rate", "void_rate"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in [0, 1)")

    # --- derived --------------------------------------------------------------------
    @property
    def end(self) -> date:
        """First day after the period (exclusive)."""
        return add_months(self.start, self.months)

    @property
    def tz(self) -> ZoneInfo:
        return _zone(self.timezone)

    def local(self, day: date, at: time = time(0)) -> datetime:
        return datetime.combine(day, at, tzinfo=self.tz)

    @property
    def period_days(self) -> int:
        return (self.end - self.start).days

    def month_starts(self) -> list[date]:
        out, cur = [], self.start.replace(day=1)
        while cur < self.end:
            out.append(cur)
            cur = add_months(cur, 1)
        return out

    def batch_windows(self) -> list[tuple[date, date]]:
        """Claims delivery windows [from, to) covering the period; claims received later fall in the last."""
        out: list[tuple[date, date]] = []
        if self.claim_batch == "month":
            cur = self.start
            while cur < self.end:
                nxt = min(add_months(cur.replace(day=1), 1), self.end)
                out.append((cur, nxt))
                cur = nxt
        else:
            cur = self.start
            while cur < self.end:
                nxt = min(cur + timedelta(days=7), self.end)
                out.append((cur, nxt))
                cur = nxt
        return out

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            out[f.name] = v.isoformat() if isinstance(v, date) else list(v) if isinstance(v, tuple) else v
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SynthConfig":
        kw: dict[str, Any] = {}
        names = {f.name for f in fields(cls)}
        for k, v in data.items():
            if k not in names:
                continue
            if k == "start":
                v = date.fromisoformat(v)
            elif isinstance(v, list):
                v = tuple(v)
            kw[k] = v
        return cls(**kw)


_ZONES: dict[str, ZoneInfo] = {}


def _zone(name: str) -> ZoneInfo:
    z = _ZONES.get(name)
    if z is None:
        z = _ZONES[name] = ZoneInfo(name)
    return z


__all__ = ["SynthConfig", "MALFORMED_KINDS", "add_months"]
