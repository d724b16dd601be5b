"""A member's risk view: the HCCs with the diagnoses and claims that gave them, the coefficients,
the utilization factors and the tier rule: what the API and the nurse's page show."""

from __future__ import annotations

from ..domain.assessment import Assessment
from ..domain.tiers import SIGNALS


def risk_view(a: Assessment, *, tier_in_force: str, history: list[tuple], authority: str) -> dict:
    s = a.score
    score = None
    if s is not None:
        score = {
            "model": s.model, "payment_year": s.payment_year, "library": "hccinfhir 0.4.0",
            "segment": s.segment, "segment_known": s.segment_known,
            "demographic_cell": s.demographic_cell, "demographic_coefficient": s.demographic_coefficient,
            "raw": s.raw, "normalization": s.normalization, "coding_adjustment": s.coding_adjustment,
            "payment": s.payment,
            "hccs": [{
                "hcc": h.hcc, "label": h.label, "coefficient": h.coefficient,
                "diagnoses": [{"code": d.code, "claim_id": d.claim_id,
                               "service_date": d.service_date.isoformat() if d.service_date else None}
                              for d in h.diagnoses],
            } for h in s.hccs],
            "other_terms": [{"term": k, "coefficient": v} for k, v in s.other_terms],
            "window": {"from": _minus_year(a.as_of), "to": a.as_of.isoformat()},
        }
    u = a.utilization
    return {
        "member_id": a.member.member_id,
        "contract_id": a.member.contract_id,
        "practice_id": a.member.practice_id,
        "assessed_on": a.as_of.isoformat(),
        "age": a.age,
        "score": score,
        "score_note": a.score_note,
        "utilization": [{"signal": k, "label": SIGNALS[k], "value": u.get(k)} for k in SIGNALS],
        "ed_visits": [{"day": v.day.isoformat(), "arrival": v.arrival.isoformat() if v.arrival else None,
                       "primary_dx": v.primary_dx, "sources": v.sources} for v in a.ed_visits[-12:]],
        "tier": {
            "computed": a.decision.tier, "reasons": list(a.decision.reasons), "rule": a.decision.rule,
            "authority": authority, "roster": a.member.roster_tier, "in_force": tier_in_force,
            "history": [{"start": d.isoformat(), "tier": t} for d, t in history],
        },
    }


def _minus_year(day) -> str:
    from datetime import timedelta

    return (day - timedelta(days=364)).isoformat()
