"""One member's assessment: score, utilization, tier, and the tier change it implies.

Diagnoses count from risk-adjustment eligible claims with a date of service in the 12 months
up to the day of assessment (a rolling window for care management; CMS's payment model reads
the calendar year before the payment year). Utilization counts the same 12 months.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from .claims import ClaimFacts, current_versions
from .ed_visits import EdVisit, merge_visits
from .members import AdtEncounter, Member, Readmission
from .scoring import HccScorer, RiskScore, scoring_diagnoses
from .segments import Segment, age_on
from .tiers import TierDecision, TierPolicy, Utilization, tier_in_force
from .utilization import Stay, merge_stays, utilization

WINDOW_DAYS = 365


@dataclass(frozen=True)
class Assessment:
    member: Member
    as_of: date
    age: int
    score: RiskScore | None
    score_note: str | None
    utilization: Utilization
    decision: TierDecision
    policy: TierPolicy
    ed_visits: tuple[EdVisit, ...]


def member_ed_visits(encounters: Iterable[AdtEncounter], claims: Iterable[ClaimFacts]) -> list[EdVisit]:
    adt = [EdVisit(e.member_id, e.local_day, e.arrival, e.primary_dx, True, False, encounter_key=e.encounter_key)
           for e in encounters if e.kind == "ed" and not e.retracted]
    from_claims = [EdVisit(c.member_id, c.ed_day, None, c.diagnoses[0] if c.diagnoses else None, False, True,
                           claim_id=c.claim_id)
                   for c in claims if c.ed_day is not None]
    return merge_visits(adt, from_claims)


def assess(member: Member, *, segment: Segment, claim_versions: Iterable[ClaimFacts],
           encounters: Iterable[AdtEncounter], readmissions: Iterable[Readmission], open_gaps: int,
           policy: TierPolicy, scorer: HccScorer, as_of: date) -> Assessment:
    claims = current_versions(claim_versions)
    encounters = list(encounters)
    age = age_on(member.birth_date, as_of)
    start = as_of - timedelta(days=WINDOW_DAYS - 1)
    score: RiskScore | None = None
    note = None
    if member.sex in ("F", "M"):
        score = scorer.score(age=age, sex=member.sex, segment=segment,
                             diagnoses=scoring_diagnoses(claims, start, as_of))
    else:
        note = "not scored: the model needs the member's sex (F or M); the tier comes from utilization alone"
    visits = member_ed_visits(encounters, claims)
    stays = merge_stays(
        [Stay(e.local_day, "adt", e.encounter_key) for e in encounters if e.kind == "inpatient" and not e.retracted],
        [Stay(c.inpatient_admit, "claims", c.claim_id) for c in claims if c.inpatient_admit is not None],
    )
    util = utilization(as_of, stays=stays, ed_days=[v.day for v in visits],
                       readmit_days=[r.admit_day for r in readmissions if not r.retracted], open_gaps=open_gaps)
    decision = policy.decide(score.raw if score else None, util)
    return Assessment(member, as_of, age, score, note, util, decision, policy, tuple(visits))


@dataclass(frozen=True)
class TierChange:
    effective: date
    old_tier: str
    new_tier: str
    history: tuple[tuple[date, str], ...]


def tier_change(history: Iterable[tuple[date, str]], *, roster_tier: str, new_tier: str, effective: date) -> TierChange | None:
    """The change that ``new_tier`` from ``effective`` makes to ``history`` (None: nothing changes).

    Before any computed tier the roster's tier is in force. A change decided again before it took
    effect replaces the pending one (spans from ``effective`` on are dropped), so a tier that goes
    back before its date cancels it: that is a change too (old == new, the pending span removed).
    """
    history = sorted(history)
    later = [s for s, _ in history if s > effective]
    if tier_in_force(history, effective, roster_tier) == new_tier and not later:
        return None
    old = tier_in_force(history, effective - timedelta(days=1), roster_tier)
    kept = [(s, t) for s, t in history if s < effective]
    spans = kept if old == new_tier else kept + [(effective, new_tier)]
    return TierChange(effective, old, new_tier, tuple(spans))
