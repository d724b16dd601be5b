"""Risk tiers from score and utilization, by cut points each contract defines as data.

A contract's policy (``contracts/<contract>.yaml``) lists its tiers from the highest down; a
member gets the first tier any of whose criteria holds (a score at or above a cut point, or a
count of admissions, ED visits, readmissions or open care gaps at or above one), else the
policy's base tier. ``authority: roster`` keeps the roster's tier authoritative for the
contract (the computed tier is still shown, no tier change is published); ``authority:
computed`` lets the computed tier rule. ``effective`` says from when a change applies:
``next_month`` (the first day of the month after the decision) or ``immediate``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from datetime import date
from typing import Literal

TIERS: tuple[str, ...] = ("low", "moderate", "high", "complex")
SIGNALS: dict[str, str] = {
    "admissions": "inpatient admissions in 12 months",
    "ed_visits": "ED visits in 12 months",
    "readmissions": "30-day readmissions in 12 months",
    "open_gaps": "open care gaps",
}


@dataclass(frozen=True, slots=True)
class Utilization:
    admissions: int = 0
    ed_visits: int = 0
    readmissions: int = 0
    open_gaps: int = 0

    def get(self, name: str) -> int:
        return int(getattr(self, name))


@dataclass(frozen=True, slots=True)
class TierCriteria:
    tier: str
    score_at_least: float | None = None
    signals_at_least: tuple[tuple[str, int], ...] = ()

    def reasons(self, score: float | None, util: Utilization) -> list[str]:
        out = []
        if self.score_at_least is not None and score is not None and score >= self.score_at_least:
            out.append(f"risk score {score:.3f} >= {self.score_at_least:g}")
        for name, at_least in self.signals_at_least:
            if util.get(name) >= at_least:
                out.append(f"{SIGNALS[name]}: {util.get(name)} >= {at_least}")
        return out

    def describe(self) -> str:
        parts = []
        if self.score_at_least is not None:
            parts.append(f"score >= {self.score_at_least:g}")
        parts += [f"{SIGNALS[n]} >= {v}" for n, v in self.signals_at_least]
        return f"{self.tier}: " + " or ".join(parts)


@dataclass(frozen=True, slots=True)
class TierDecision:
    tier: str
    reasons: tuple[str, ...]
    rule: str


@dataclass(frozen=True)
class TierPolicy:
    contract_id: str
    authority: Literal["computed", "roster"] = "computed"
    effective: Literal["next_month", "immediate"] = "next_month"
    model: str = "V28"
    payment_year: int = 2026
    criteria: tuple[TierCriteria, ...] = ()
    base_tier: str = "low"
    source: str = "<default>"

    def decide(self, score: float | None, util: Utilization) -> TierDecision:
        rule = self.describe()
        for c in self.criteria:
            reasons = c.reasons(score, util)
            if reasons:
                return TierDecision(c.tier, tuple(reasons), rule)
        return TierDecision(self.base_tier, ("no cut point reached",), rule)

    def effective_date(self, decided_on: date) -> date:
        if self.effective == "immediate":
            return decided_on
        return date(decided_on.year + (decided_on.month == 12), decided_on.month % 12 + 1, 1)

    def describe(self) -> str:
        return _describe(self)


@lru_cache(maxsize=256)
def _describe(policy: TierPolicy) -> str:
    """The policy in words (policies are frozen: computed once per policy)."""
    rules = "; ".join(c.describe() for c in policy.criteria)
    when = "the first day of the next month" if policy.effective == "next_month" else "at once"
    return f"{policy.contract_id}: first match of [{rules}], else {policy.base_tier}; changes take effect {when}"


def parse_policy(data: dict, source: str = "<data>") -> TierPolicy:
    """A contract's tier policy from its YAML mapping. Raises ValueError naming the field and the rule."""
    if not isinstance(data, dict):
        raise ValueError(f"{source}: a mapping is expected")
    contract = data.get("contract_id")
    if not isinstance(contract, str) or not contract:
        raise ValueError(f"{source}: contract_id is required")
    authority = data.get("authority", "computed")
    if authority not in ("computed", "roster"):
        raise ValueError(f"{source}: authority must be computed or roster")
    effective = data.get("effective", "next_month")
    if effective not in ("next_month", "immediate"):
        raise ValueError(f"{source}: effective must be next_month or immediate")
    model = str(data.get("model", "V28"))
    if model not in ("V24", "V28"):
        raise ValueError(f"{source}: model must be V24 or V28")
    base = data.get("base_tier", "low")
    if base not in TIERS:
        raise ValueError(f"{source}: base_tier must be one of {', '.join(TIERS)}")
    criteria = []
    seen: list[str] = []
    for i, item in enumerate(data.get("tiers") or ()):
        where = f"{source}: tiers[{i}]"
        tier = item.get("tier") if isinstance(item, dict) else None
        if tier not in TIERS:
            raise ValueError(f"{where}.tier must be one of {', '.join(TIERS)}")
        if seen and TIERS.index(tier) >= TIERS.index(seen[-1]):
            raise ValueError(f"{where}: tiers must be listed from the highest down")
        seen.append(tier)
        score = item.get("score_at_least")
        if score is not None and (not isinstance(score, (int, float)) or score < 0):
            raise ValueError(f"{where}.score_at_least must be a non-negative number")
        signals = []
        for name, value in (item.get("signals_at_least") or {}).items():
            if name not in SIGNALS:
                raise ValueError(f"{where}.signals_at_least: unknown signal (known: {', '.join(SIGNALS)})")
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{where}.signals_at_least.{name} must be a whole number >= 1")
            signals.append((name, value))
        if score is None and not signals:
            raise ValueError(f"{where}: needs score_at_least or signals_at_least")
        criteria.append(TierCriteria(tier, float(score) if score is not None else None, tuple(signals)))
    return TierPolicy(contract, authority, effective, model, int(data.get("payment_year", 2026)),  # type: ignore[arg-type]
                      tuple(criteria), base, source)


def tier_in_force(history: list[tuple[date, str]], day: date, fallback: str) -> str:
    """The tier of ``history`` (sorted (start, tier) pairs) in force on ``day``."""
    current = fallback
    for start, tier in history:
        if start <= day:
            current = tier
        else:
            break
    return current
