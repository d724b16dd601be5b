"""Task-rule configuration (``services/outreach/rules.yaml``), validated by pydantic.

Everything a contract or a practice may want to change lives here: titles a nurse reads,
which role works which task, SLAs in business days, practice → pod mapping, the diagnosis
code ranges that trigger referrals, the attempt limit and the priority weights.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.events.gaps import MeasureId

from .model import ATTEMPT_OUTCOMES, QueueRole

MEASURE_IDS: tuple[str, ...] = MeasureId.__args__  # type: ignore[attr-defined]


class _Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def normalize_code(code: str) -> str:
    """ICD-10-CM as claims carry it: upper case, no dot, no blanks (``e66.01`` → ``E6601``)."""
    return code.replace(".", "").replace(" ", "").strip().upper()


class CodeMatcher(_Config):
    """A code prefix (``E66``) or an inclusive range of categories (``Z55``–``Z65``)."""

    prefix: str | None = Field(default=None, min_length=1, max_length=8)
    range_from: str | None = Field(default=None, alias="from", min_length=1, max_length=8)
    range_to: str | None = Field(default=None, alias="to", min_length=1, max_length=8)

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    @model_validator(mode="after")
    def _one_form(self) -> "CodeMatcher":
        has_range = self.range_from is not None or self.range_to is not None
        if (self.prefix is None) == (not has_range):
            raise ValueError("give either prefix or from/to")
        if has_range:
            lo, hi = normalize_code(self.range_from or ""), normalize_code(self.range_to or "")
            if not lo or len(lo) != len(hi) or lo > hi:
                raise ValueError("from/to must be codes of equal length with from <= to")
        return self

    def matches(self, code: str) -> bool:
        code = normalize_code(code)
        if self.prefix is not None:
            return code.startswith(normalize_code(self.prefix))
        lo, hi = normalize_code(self.range_from or ""), normalize_code(self.range_to or "")
        head = code[: len(lo)]
        return len(head) == len(lo) and lo <= head <= hi

    def label(self) -> str:
        return self.prefix if self.prefix is not None else f"{self.range_from}–{self.range_to}"


class GapTaskRule(_Config):
    title: str = Field(min_length=1, max_length=200)
    role: QueueRole = "quality_nurse"
    sla_business_days: int = Field(default=10, ge=0, le=250)


class TcmRule(_Config):
    title: str = Field(min_length=1, max_length=200)
    role: QueueRole = "quality_nurse"
    contact_business_days: int = Field(default=2, ge=0, le=30, description="used when the event has no contact_due")
    skip_dispositions: tuple[str, ...] = Field(default=("20",), description="no TCM task (e.g. 20 expired)")


class ReferralRule(_Config):
    """All groups must match a code known for the member (this event's or earlier ones), and
    at least one code of this event must match some group: the event is the trigger."""

    id: str = Field(pattern=r"^[a-z0-9_\-]{1,48}$")
    kind: Literal["social", "dietician"]
    role: QueueRole
    title: str = Field(min_length=1, max_length=200)
    sla_business_days: int = Field(default=5, ge=0, le=250)
    all_of: tuple[tuple[CodeMatcher, ...], ...] = Field(min_length=1)
    renew_after_days: int = Field(default=90, ge=0, description="no new task within this many days of the last one")

    @field_validator("all_of")
    @classmethod
    def _groups_not_empty(cls, v: tuple[tuple[CodeMatcher, ...], ...]) -> tuple[tuple[CodeMatcher, ...], ...]:
        if any(not group for group in v):
            raise ValueError("every all_of group needs at least one code matcher")
        return v


class DueWindow(_Config):
    business_days: int = Field(ge=0)
    points: int = Field(ge=0)


class PriorityWeights(_Config):
    overdue_base: int = 40
    overdue_per_business_day: int = 5
    overdue_cap: int = 70
    due_today: int = 35
    due_within: tuple[DueWindow, ...] = (
        DueWindow(business_days=2, points=25),
        DueWindow(business_days=5, points=15),
        DueWindow(business_days=10, points=5),
    )
    risk_tier: dict[Literal["low", "moderate", "high", "complex"], int] = {
        "low": 0, "moderate": 5, "high": 15, "complex": 25,
    }
    per_open_gap: int = 3
    open_gaps_cap: int = 15
    readmission: int = 25
    admission: int = 10
    recent_days: int = Field(default=30, ge=0)
    kind: dict[Literal["gap", "tcm", "social", "dietician", "message"], int] = {
        "tcm": 20, "gap": 5, "social": 5, "dietician": 0, "message": 10,
    }

    @field_validator("due_within")
    @classmethod
    def _sorted(cls, v: tuple[DueWindow, ...]) -> tuple[DueWindow, ...]:
        return tuple(sorted(v, key=lambda w: w.business_days))


class WorkflowPolicy(_Config):
    unable_to_reach_after: int = Field(default=3, ge=1, le=20, description="failed attempts since the last reach")
    failed_outcomes: frozenset[Literal["left_message", "no_answer", "wrong_number"]] = frozenset(
        {"left_message", "no_answer", "wrong_number"})
    timezone: str = "America/New_York"

    @field_validator("failed_outcomes")
    @classmethod
    def _known(cls, v: frozenset[str]) -> frozenset[str]:
        if not v or not v <= set(ATTEMPT_OUTCOMES):
            raise ValueError("failed_outcomes must be a non-empty set of attempt outcomes")
        return v

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("unknown time zone") from None
        return v

    @property
    def tz(self) -> tzinfo:
        return ZoneInfo(self.timezone)


class RulesConfig(_Config):
    version: Literal[1] = 1
    default_pod: str = Field(default="unassigned", min_length=1, max_length=64)
    practice_pods: dict[str, str] = {}
    gap_tasks: dict[str, GapTaskRule]
    tcm: TcmRule
    referrals: tuple[ReferralRule, ...] = ()
    workflow: WorkflowPolicy = WorkflowPolicy()
    priority: PriorityWeights = PriorityWeights()

    @field_validator("gap_tasks")
    @classmethod
    def _every_measure(cls, v: dict[str, GapTaskRule]) -> dict[str, GapTaskRule]:
        missing = [m for m in MEASURE_IDS if m not in v]
        unknown = [m for m in v if m not in MEASURE_IDS]
        if missing or unknown:
            raise ValueError(f"gap_tasks must cover exactly {list(MEASURE_IDS)}; missing {missing}, unknown {unknown}")
        return v

    @field_validator("referrals")
    @classmethod
    def _unique_ids(cls, v: tuple[ReferralRule, ...]) -> tuple[ReferralRule, ...]:
        ids = [r.id for r in v]
        if len(ids) != len(set(ids)):
            raise ValueError("referral rule ids must be unique")
        return v

    @property
    def tz(self) -> tzinfo:
        return self.workflow.tz


def rules_from_mapping(data: Any) -> RulesConfig:
    """Validate already-parsed configuration (raises ``pydantic.ValidationError``)."""
    return RulesConfig.model_validate(data)


def parse_rules(text: str) -> RulesConfig:
    """Parse the YAML text of a rules file (the caller reads the file)."""
    return rules_from_mapping(yaml.safe_load(text))
