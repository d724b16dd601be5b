"""Settings of an evaluation and the per-member context every measure reads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from .codesets import CodeSets
from .history import Member
from .index import Hit, MemberIndex, describe
from .periods import Period, add_years, age_on
from .results import EvidenceItem, MeasureResult, Status

DEFAULT_VERSIONS: Mapping[str, str] = {
    "CMS130": "CMS130v14", "CMS125": "CMS125v14", "CMS122": "CMS122v14", "CMS165": "CMS165v14",
    "FUP": "FUP-1",
}

# Visits that put a member in the eCQM denominators (office, preventive, wellness, home, virtual).
QUALIFYING_VISIT: tuple[str, ...] = (
    "office_visit", "preventive_care", "annual_wellness_visit", "home_healthcare",
    "telephone_visit", "online_assessment", "telehealth_visit", "nursing_facility_visit",
)


@dataclass(frozen=True)
class MeasureSettings:
    """What to evaluate and how.

    ``period``: the measurement period (default: calendar year). ``versions``: measure id →
    version label (CMS125 v12 vs v14 changes the age range). ``as_of``: the day the answer is
    for (``due_soon`` compares lapse dates with it; None = no ``due_soon``).
    ``due_soon_days``: the horizon. ``chronic_dx_lookback_years``: how far before the period a
    diabetes / hypertension diagnosis on a claim still counts (claims show a chronic condition
    only when it is coded). ``fup_window_days``: the follow-up window after a discharge.
    """

    period: Period = field(default_factory=lambda: Period.calendar_year(date.today().year))
    versions: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_VERSIONS))
    as_of: date | None = None
    due_soon_days: int = 60
    chronic_dx_lookback_years: int = 1
    fup_window_days: int = 30
    measures: tuple[str, ...] = ("CMS130", "CMS125", "CMS122", "CMS165", "FUP")

    def version(self, measure_id: str) -> str:
        return self.versions.get(measure_id) or DEFAULT_VERSIONS[measure_id]

    def version_number(self, measure_id: str) -> int | None:
        label = self.version(measure_id)
        digits = label.rsplit("v", 1)[-1] if "v" in label else ""
        return int(digits) if digits.isdigit() else None


class Ctx:
    """One member under evaluation: settings, the indexed history, age at the period's end."""

    __slots__ = ("member", "idx", "settings", "period", "start", "end", "age", "codes", "_visit")

    def __init__(self, member: Member, idx: MemberIndex, settings: MeasureSettings, codes: CodeSets) -> None:
        self.member = member
        self.idx = idx
        self.settings = settings
        self.period = settings.period
        self.start = settings.period.start
        self.end = settings.period.end
        self.age = age_on(member.birth_date, self.end)
        self.codes = codes
        self._visit: Hit | None | bool = False

    def result(
        self, measure_id: str, status: Status, reason: str, evidence: tuple[EvidenceItem, ...] = (),
        due_date: date | None = None, lapses_on: date | None = None, instance_id: str | None = None,
    ) -> MeasureResult:
        return MeasureResult(
            measure_id=measure_id,
            measure_version=self.settings.version(measure_id),
            period_start=self.start,
            period_end=self.end,
            status=status,
            reason=reason[:500],
            evidence=evidence,
            due_date=due_date,
            lapses_on=lapses_on,
            instance_id=instance_id,
        )

    def qualifying_visit(self) -> Hit | None:
        if self._visit is False:
            self._visit = self.idx.latest_of(QUALIFYING_VISIT, self.start, self.end)
        return self._visit  # type: ignore[return-value]

    def closed_or_due_soon(self, lapses_on: date) -> Status:
        as_of = self.settings.as_of
        if as_of is not None and lapses_on <= as_of + timedelta(days=self.settings.due_soon_days):
            return "due_soon"
        return "closed"

    def age_text(self) -> str:
        return f"age {self.age} on {self.end.isoformat()}"

    def denominator_gate(self, measure_id: str, lo: int, hi: int, what: str) -> MeasureResult | None:
        """Not applicable when the age is outside [lo, hi] or there is no qualifying visit."""
        if not lo <= self.age <= hi:
            return self.result(measure_id, "not_applicable",
                               f"not in the denominator: {self.age_text()}; {what} covers ages {lo}-{hi}")
        if self.qualifying_visit() is None:
            return self.result(measure_id, "not_applicable",
                               f"not in the denominator: no qualifying visit in {self.period.label()}")
        return None

    def lookback_start(self, years: int) -> date:
        """First day of ``years`` full periods before this one (COL: period + N prior years)."""
        return add_years(self.start, -years)

    @staticmethod
    def words(hit: Hit) -> str:
        return describe(hit)
