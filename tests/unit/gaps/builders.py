from __future__ import annotations

from datetime import date

from services.gaps.codes import load_code_sets
from services.gaps.domain import (
    ClinicalHistory, DiagnosisEvent, Discharge, MeasureSettings, Member, Period, ServiceEvent,
    evaluate_member,
)

PERIOD = Period.calendar_year(2026)
OFFICE = ServiceEvent("99213", date(2026, 2, 10), claim_id="V1")


CODES = load_code_sets()


def member(birth: date = date(1960, 6, 15), sex: str = "F", **kw) -> Member:
    return Member(kw.pop("member_id", "M1"), birth, sex, kw.pop("practice_id", "P1"), kw.pop("contract_id", "K1"), **kw)


def svc(code: str, day: date, claim: str | None = None, **kw) -> ServiceEvent:
    system = kw.pop("code_system", "HCPCS" if code[:1].isalpha() else "CPT")
    return ServiceEvent(code, day, code_system=system, claim_id=claim, **kw)


def dx(code: str, day: date, claim: str | None = None) -> DiagnosisEvent:
    return DiagnosisEvent(code, day, claim)


def history(*events, visit: bool = True) -> ClinicalHistory:
    services = [e for e in events if isinstance(e, ServiceEvent)]
    if visit:
        services.append(OFFICE)
    return ClinicalHistory(
        tuple(services),
        tuple(e for e in events if isinstance(e, DiagnosisEvent)),
        tuple(e for e in events if isinstance(e, Discharge)),
    )


def settings(**kw) -> MeasureSettings:
    kw.setdefault("period", PERIOD)
    return MeasureSettings(**kw)


def one(codes, measure: str, m: Member, h: ClinicalHistory, **kw):
    results = evaluate_member(m, h, settings(measures=(measure,), **kw), codes)
    assert len(results) == 1, results
    return results[0]
