"""The gaps HTTP routes: a member's gaps (with evidence), the FHIR care-gaps report, measure rates
(over ``app/queries.GapQueries``).

Who may do what (``shared.auth`` users): a member's gaps and FHIR report: admins; nurses, care
navigators, social workers, dieticians and supervisors for members of their pods (another pod's
member answers 404, as if unknown); every read is audited (user, member, endpoint). Rates:
supervisors, ops and admins (aggregates only; no member ids).
"""

# No "from __future__ import annotations": FastAPI resolves the dependency aliases defined below.

from datetime import date, datetime, timezone
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request, status
from fastapi.responses import JSONResponse

from shared.auth import User

from ..app.queries import MEMBER_READERS, RATE_READERS, GapQueries
from ..domain import MEASURES, Period
from ..settings import GapsSettings
from .fhir import GAP_STATUSES, care_gaps_bundle, care_gaps_parameters
from .models import GapOut, MemberGapsOut, MemberOut, RatesOut

FHIR_JSON = "application/fhir+json"


def roles(current_user, *names: str):
    """Like ``shared.auth.require_roles``, whose string annotation (``from __future__ import
    annotations`` in shared/auth.py) FastAPI cannot resolve: it would read ``user`` from the
    query string and answer 422."""

    def check(user: User = Depends(current_user)) -> User:
        if not user.has(*names):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"requires role: {' or '.join(names)}")
        return user

    return check


def refuse_nul(app: FastAPI) -> None:
    """A NUL character in the path or a query parameter is bad input (PostgreSQL refuses it in
    text, which would otherwise surface as a 500)."""

    @app.middleware("http")
    async def _refuse_nul(request: Request, call_next):
        if "\x00" in request.url.path or "%00" in request.url.path or "\x00" in request.url.query \
                or "%00" in request.url.query.upper():
            return JSONResponse({"detail": "parameters must not contain NUL characters"}, status_code=422)
        return await call_next(request)


def gaps_router(settings: GapsSettings, queries: GapQueries, current_user) -> APIRouter:
    router = APIRouter()
    MemberReader = Annotated[User, Depends(roles(current_user, *MEMBER_READERS))]
    RateReader = Annotated[User, Depends(roles(current_user, *RATE_READERS))]

    def period_for(year: int | None) -> Period:
        return Period.calendar_year(year) if year else settings.period()

    # ------------------------------------------------------------------ member reads
    @router.get("/members/{member_id}/gaps", response_model=MemberGapsOut, tags=["gaps"],
                summary="A member's care gaps with status, reason, evidence and due dates",
                description="Every measure of the period (per discharge for the follow-up measure): not applicable "
                            "(and why), excluded (by what), open (why, with the value that keeps it open), closed "
                            "(the evidence), due soon (closed, lapsing within the horizon). Audited.")
    def member_gaps(member_id: str, user: MemberReader,
                    period: Annotated[int | None, Query(ge=2000, le=2100, description="measurement year")] = None):
        p = period_for(period)
        found = queries.member_gaps(user, member_id, p, endpoint="GET /members/{member_id}/gaps",
                                    detail=f"period {p.label()}")
        if found is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "member not found")
        member, gaps = found
        return MemberGapsOut(member=MemberOut.model_validate(member), period_start=p.start, period_end=p.end,
                             gaps=[GapOut.model_validate(g) for g in gaps])

    def fhir_bundle(user: User, member_id: str, period: Period, statuses: tuple[str, ...], endpoint: str):
        found = queries.member_gaps(user, member_id, period, endpoint=endpoint,
                                    detail=f"FHIR care gaps {period.label()}")
        if found is None:
            return None
        member, gaps = found
        return care_gaps_bundle(member, member.names, gaps, measure_base=settings.fhir_measure_base,
                                now=datetime.now(timezone.utc), statuses=statuses)

    def parse_statuses(values: list[str] | None) -> tuple[str, ...]:
        values = values or ["open-gap", "closed-gap"]
        unknown = [v for v in values if v not in GAP_STATUSES]
        if unknown:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                                f"status must be one of {', '.join(GAP_STATUSES)}")
        return tuple(values)

    @router.get("/members/{member_id}/care-gaps", tags=["fhir"], response_class=JSONResponse,
                summary="FHIR R4 care-gaps document for one member (Da Vinci DEQM shape)",
                description="Bundle (type document) → Composition (LOINC 96315-7) → individual MeasureReports and "
                            "DetectedIssues (CAREGAP) with the DEQM gap-status extension (open-gap / closed-gap). "
                            "Validated with fhir.resources (R4B models). Audited.",
                responses={200: {"content": {FHIR_JSON: {}}}})
    def member_care_gaps(member_id: str, user: MemberReader,
                         period: Annotated[int | None, Query(ge=2000, le=2100)] = None,
                         gap_status: Annotated[list[str] | None, Query(alias="status")] = None):
        bundle = fhir_bundle(user, member_id, period_for(period), parse_statuses(gap_status),
                             "GET /members/{member_id}/care-gaps")
        if bundle is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "member not found")
        return JSONResponse(bundle, media_type=FHIR_JSON)

    @router.get("/fhir/Measure/$care-gaps", tags=["fhir"], response_class=JSONResponse,
                summary="DEQM $care-gaps for one subject (Parameters with a document Bundle)",
                description="subject=Patient/<member id>; periodStart / periodEnd (a calendar year); status "
                            "open-gap / closed-gap / not-applicable (repeatable).",
                responses={200: {"content": {FHIR_JSON: {}}}})
    def care_gaps_operation(user: MemberReader, subject: str, periodStart: date | None = None,  # noqa: N803
                            periodEnd: date | None = None,  # noqa: N803
                            gap_status: Annotated[list[str] | None, Query(alias="status")] = None):
        if not subject.startswith("Patient/") or len(subject) <= len("Patient/"):
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "subject must be Patient/<member id>")
        member_id = subject[len("Patient/"):]
        year = (periodStart or periodEnd).year if (periodStart or periodEnd) else None
        p = period_for(year)
        if (periodStart and periodStart != p.start) or (periodEnd and periodEnd != p.end):
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                                "periodStart / periodEnd must bound one calendar-year measurement period")
        bundle = fhir_bundle(user, member_id, p, parse_statuses(gap_status), "GET /fhir/Measure/$care-gaps")
        if bundle is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "member not found")
        return JSONResponse(care_gaps_parameters([bundle]), media_type=FHIR_JSON)

    # ------------------------------------------------------------------ aggregates
    @router.get("/rates", response_model=RatesOut, tags=["rates"],
                summary="Measure rates by practice and/or contract for a period",
                description="denominator, exclusions, numerator and rate per measure (eCQM populations; CMS122 is "
                            "inverse: its numerator counts poor control). No member data.")
    def measure_rates(user: RateReader,
                      period: Annotated[int | None, Query(ge=2000, le=2100)] = None,
                      group_by: Annotated[list[str] | None, Query(description="practice and/or contract")] = None,
                      measure_id: str | None = None, practice_id: str | None = None, contract_id: str | None = None):
        groups = group_by if group_by is not None else ["practice"]
        bad = [g for g in groups if g not in ("practice", "contract")]
        if bad or (measure_id and measure_id not in MEASURES):
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                                "group_by takes practice / contract; measure_id one of " + ", ".join(MEASURES))
        p = period_for(period)
        rows = queries.rates(p, by_practice="practice" in groups, by_contract="contract" in groups,
                             measure_id=measure_id, practice_id=practice_id, contract_id=contract_id)
        return RatesOut(period_start=p.start, period_end=p.end, group_by=groups, rates=rows)

    return router
