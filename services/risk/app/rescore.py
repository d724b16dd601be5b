"""Re-score members and publish their tier changes.

``rescore(repo, ids, ctx)`` assesses each attributed member of ``ids`` as of ``ctx.today()``,
stores the assessment's summary (score, tiers, history, reasons; only when it changed) and
returns a ``RiskTierChangedV1`` for every member whose tier changes under a contract where the
computed tier rules. Event ids derive from the member,
the decision day and the new history, so a replay on the same day yields the same ids.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import date

from shared.events import HccDriver, RiskTierChangedV1, TierSpan, UtilizationFactors, derive_id, utcnow

from ..domain.assessment import Assessment, assess, tier_change
from ..domain.segments import Segment
from ..domain.tiers import tier_in_force
from .context import RiskContext
from .explain import risk_view
from .ports import RiskRepository, StoredAssessment


def rescore(repo: RiskRepository, member_ids: Iterable[str], ctx: RiskContext,
            cause: str | None = None, *, span: tuple[str, str] | None = None) -> list[RiskTierChangedV1]:
    """``span``: see ``RiskRepository.member_facts`` (the full re-score's chunks)."""
    ids = sorted(set(member_ids))
    if not ids:
        return []
    as_of = ctx.today()
    facts = repo.member_facts(ids, span=span)
    members = facts.members
    ids = [i for i in ids if i in members and members[i].status == "active"]
    if not ids:
        return []
    claims, encounters, readmissions = facts.claims, facts.encounters, facts.readmissions
    gaps, segments, states = facts.open_gaps, facts.segments, facts.states
    out: list[RiskTierChangedV1] = []
    stored: list[StoredAssessment] = []
    for mid in ids:
        member = members[mid]
        policy = ctx.policy(member.contract_id)
        a = assess(member, segment=segments.get(mid, Segment()), claim_versions=claims.get(mid, ()),
                   encounters=encounters.get(mid, ()), readmissions=readmissions.get(mid, ()),
                   open_gaps=gaps.get(mid, 0), policy=policy, scorer=ctx.scorer(policy), as_of=as_of)
        state = states.get(mid)
        history = list(state.history) if state else []
        if policy.authority == "computed":
            change = tier_change(history, roster_tier=member.roster_tier, new_tier=a.decision.tier,
                                 effective=policy.effective_date(as_of))
            if change is not None:
                history = list(change.history)
                out.append(_event(a, change.effective, change.old_tier, change.new_tier, history, ctx, cause))
            in_force = tier_in_force(history, as_of, member.roster_tier)
        else:
            in_force = member.roster_tier
        row = StoredAssessment(
            member_id=mid, contract_id=member.contract_id, practice_id=member.practice_id, assessed_on=as_of,
            model=a.score.model if a.score else f"CMS-HCC {policy.model}",
            raw_score=a.score.raw if a.score else None, payment_score=a.score.payment if a.score else None,
            computed_tier=a.decision.tier, tier_in_force=in_force, history=tuple(history),
            reasons=a.decision.reasons,
        )
        if state is None or state.summary != row.summary:
            stored.append(row)
    repo.put_assessments(stored)
    return out


def explain_member(repo: RiskRepository, member_id: str, ctx: RiskContext) -> dict | None:
    """The member's risk view, assessed now from the stored facts (None: not on the roster)."""
    member = repo.members([member_id]).get(member_id)
    if member is None:
        return None
    ids = [member_id]
    policy = ctx.policy(member.contract_id)
    a = assess(member, segment=repo.segments(ids).get(member_id, Segment()),
               claim_versions=repo.claims(ids).get(member_id, ()), encounters=repo.encounters(ids).get(member_id, ()),
               readmissions=repo.readmissions(ids).get(member_id, ()), open_gaps=repo.open_gap_counts(ids).get(member_id, 0),
               policy=policy, scorer=ctx.scorer(policy), as_of=ctx.today())
    state = repo.tier_states(ids).get(member_id)
    history = list(state.history) if state else []
    in_force = tier_in_force(history, a.as_of, member.roster_tier) if policy.authority == "computed" \
        else member.roster_tier
    view = risk_view(a, tier_in_force=in_force, history=history, authority=policy.authority)
    view["status"] = member.status
    return view


def _event(a: Assessment, effective: date, old: str, new: str, history: list[tuple[date, str]],
           ctx: RiskContext, cause: str | None) -> RiskTierChangedV1:
    m, s, u = a.member, a.score, a.utilization
    fingerprint = hashlib.blake2b(repr((m.member_id, a.as_of, effective, old, new, history)).encode(),
                                  digest_size=12).hexdigest()
    drivers = ()
    if s is not None:
        drivers = tuple(HccDriver(hcc=h.hcc, label=h.label[:200], coefficient=h.coefficient,
                                  diagnoses=tuple(dict.fromkeys(d.code for d in h.diagnoses)),
                                  claim_ids=tuple(dict.fromkeys(d.claim_id for d in h.diagnoses)))
                        for h in s.hccs)
    return RiskTierChangedV1(
        **RiskTierChangedV1.envelope(
            occurred_at=utcnow(), source=ctx.source, member_id=m.member_id,
            event_id=derive_id(f"risk|{fingerprint}", "risk.tier_changed"),
            causation_id=_uuid(cause),
        ),
        contract_id=m.contract_id, practice_id=m.practice_id, effective_date=effective, old_tier=old,  # type: ignore[arg-type]
        new_tier=new, decided_on=a.as_of, model=s.model if s else f"CMS-HCC {a.policy.model}",  # type: ignore[arg-type]
        payment_year=a.policy.payment_year, risk_score=s.raw if s else None, payment_score=s.payment if s else None,
        hccs=drivers,
        utilization=UtilizationFactors(admissions_12m=u.admissions, ed_visits_12m=u.ed_visits,
                                       readmissions_12m=u.readmissions, open_gaps=u.open_gaps),
        reasons=a.decision.reasons, rule=a.decision.rule[:1000],
        history=tuple(TierSpan(start=d, tier=t) for d, t in history),  # type: ignore[arg-type]
    )


def _uuid(text: str | None):
    import uuid

    try:
        return uuid.UUID(text) if text else None
    except ValueError:
        return None
