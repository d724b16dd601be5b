"""The gaps HTTP API: a member's gaps (with evidence), the FHIR care-gaps report, measure
rates, and the roster / claims loads (the same code path as the CLI).

Who may do what (``shared.auth`` users):

- a member's gaps and FHIR report: admins; nurses, care navigators, social workers,
  dieticians and supervisors for members of their pods (another pod's member answers 404,
  as if unknown). Every read is audited (user, member, endpoint).
- rates: supervisors, ops and admins (aggregates only; no member ids).
- loads (roster JSON / CSV, claims files / JSON) and their status: admins and ops. A JSON
  load audits one write per member; a file upload one write per file (member unset, the
  detail names the load).

Uploads are streamed to a temporary file (raw body, or ``multipart/form-data`` with a
``file`` part); with ``background=true`` the answer is 202 with a load id to poll
(``GET /loads/{load_id}``), otherwise the report once the load is done.

The API runs the idempotent schema step at start.
"""

# No "from __future__ import annotations": FastAPI resolves the dependency aliases defined in create_api.

import json
import logging
from contextlib import asynccontextmanager
from datetime import date, datetime, timezone
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from shared.audit import record_access
from shared.auth import User, authenticator, load_directory
from shared.http import install_error_handlers, ops_router
from shared.kafka import EventProducer

from . import queries
from .agents import open_database
from .api_loads import loads_router
from .api_models import EvidenceOut, GapOut, MemberGapsOut, MemberOut, RatesOut
from .domain import MEASURES, Period
from .fhir_report import GAP_STATUSES, care_gaps_bundle, care_gaps_parameters
from .loads import LoadContext
from .loads.jobs import LoadJobs
from .loads.ownership import sweep_stale_loads
from .settings import GapsSettings
from .store import audit, evidence_from_json

log = logging.getLogger(__name__)

MEMBER_READERS = ("admin", "supervisor", "nurse", "care_navigator", "social_worker", "dietician")
RATE_READERS = ("admin", "supervisor", "ops")
LOADERS = ("admin", "ops")
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


def can_read_member(user: User, pod: str | None) -> bool:
    if user.has("admin"):
        return True
    return user.has(*MEMBER_READERS) and pod is not None and pod in user.pods


def create_api(settings: GapsSettings) -> FastAPI:
    db = open_database(settings)
    directory = load_directory(settings.users_file, settings.environment)
    current_user = authenticator(directory)
    MemberReader = Annotated[User, Depends(roles(current_user, *MEMBER_READERS))]
    RateReader = Annotated[User, Depends(roles(current_user, *RATE_READERS))]
    Loader = Annotated[User, Depends(roles(current_user, *LOADERS))]
    jobs = LoadJobs()
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        state["producer"] = EventProducer(settings, client_id="gaps-api")
        # Loads left "running" by a process that is gone (this API's previous run, a killed CLI
        # load) end failed with the reason; the same file can be loaded again safely.
        await run_in_threadpool(sweep_stale_loads, db, settings.load_time_budget_s)
        try:
            yield
        finally:
            await run_in_threadpool(jobs.shutdown)
            state["producer"].close()
            db.dispose()

    app = FastAPI(
        title="Gaps service API",
        version="1",
        description="Care gaps per member with reasons and evidence, measure rates, the Da Vinci DEQM "
                    "care-gaps report (FHIR R4), and roster / claims loads with per-file reports.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.include_router(ops_router("gaps", "api", lambda: {"db": db.ping()}))

    @app.middleware("http")
    async def refuse_nul(request: Request, call_next):
        """A NUL character in the path or a query parameter is bad input (PostgreSQL refuses it
        in text, which would otherwise surface as a 500)."""
        if "\x00" in request.url.path or "%00" in request.url.path or "\x00" in request.url.query \
                or "%00" in request.url.query.upper():
            return JSONResponse({"detail": "parameters must not contain NUL characters"}, status_code=422)
        return await call_next(request)

    def ctx() -> LoadContext:
        return LoadContext(settings, db, state["producer"])

    def period_for(year: int | None) -> Period:
        return Period.calendar_year(year) if year else settings.period()

    def audit_rows(user: User, member_ids, action: str, endpoint: str, detail: str | None = None) -> None:
        with db.transaction() as session:
            record_access(session, audit, user_id=user.id, role=user.primary_role, member_ids=member_ids,
                          action=action, endpoint=endpoint, detail=detail)

    def readable_member(session, user: User, member_id: str, endpoint: str):
        row = queries.member(session, member_id)
        if row is None or not can_read_member(user, row.pod):
            if row is not None:
                record_access(session, audit, user_id=user.id, role=user.primary_role, member_ids=[member_id],
                              action="read", endpoint=endpoint, detail="denied: outside the user's pods")
            return None
        return row

    # ------------------------------------------------------------------ member reads
    @app.get("/members/{member_id}/gaps", response_model=MemberGapsOut, tags=["gaps"],
             summary="A member's care gaps with status, reason, evidence and due dates",
             description="Every measure of the period (per discharge for the follow-up measure): not applicable "
                         "(and why), excluded (by what), open (why, with the value that keeps it open), closed "
                         "(the evidence), due soon (closed, lapsing within the horizon). Audited.")
    def member_gaps(member_id: str, user: MemberReader,
                    period: Annotated[int | None, Query(ge=2000, le=2100, description="measurement year")] = None):
        endpoint = "GET /members/{member_id}/gaps"
        p = period_for(period)
        with db.transaction() as session:
            row = readable_member(session, user, member_id, endpoint)
            if row is not None:
                rows = queries.member_gaps(session, member_id, p.start)
                record_access(session, audit, user_id=user.id, role=user.primary_role, member_ids=[member_id],
                              action="read", endpoint=endpoint, detail=f"period {p.label()}")
        if row is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "member not found")
        return MemberGapsOut(
            member=MemberOut(member_id=row.member_id, status=row.status, pcp_practice_id=row.pcp_practice_id,
                             contract_id=row.contract_id, pod=row.pod),
            period_start=p.start, period_end=p.end,
            gaps=[GapOut(measure_id=g.measure_id, measure_version=g.measure_version, period_start=g.period_start,
                         period_end=g.period_end, instance_id=g.instance_id, status=g.status, reason=g.reason,
                         evidence=[EvidenceOut(**vars_of(e)) for e in evidence_from_json(g.evidence)],
                         due_date=g.due_date, lapses_on=g.lapses_on, practice_id=g.practice_id,
                         contract_id=g.contract_id, updated_at=g.updated_at) for g in rows],
        )

    def fhir_bundle(user: User, member_id: str, period: Period, statuses: tuple[str, ...], endpoint: str):
        with db.transaction() as session:
            row = readable_member(session, user, member_id, endpoint)
            if row is None:
                return None
            rows = queries.member_gaps(session, member_id, period.start)
            record_access(session, audit, user_id=user.id, role=user.primary_role, member_ids=[member_id],
                          action="read", endpoint=endpoint, detail=f"FHIR care gaps {period.label()}")
        return care_gaps_bundle(row, json.loads(row.body), rows, measure_base=settings.fhir_measure_base,
                                now=datetime.now(timezone.utc), statuses=statuses)

    def parse_statuses(values: list[str] | None) -> tuple[str, ...]:
        values = values or ["open-gap", "closed-gap"]
        unknown = [v for v in values if v not in GAP_STATUSES]
        if unknown:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                                f"status must be one of {', '.join(GAP_STATUSES)}")
        return tuple(values)

    @app.get("/members/{member_id}/care-gaps", tags=["fhir"], response_class=JSONResponse,
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

    @app.get("/fhir/Measure/$care-gaps", tags=["fhir"], response_class=JSONResponse,
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
    @app.get("/rates", response_model=RatesOut, tags=["rates"],
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
        with db.transaction() as session:
            rows = queries.rates(session, p.start, by_practice="practice" in groups, by_contract="contract" in groups,
                                 measure_id=measure_id, practice_id=practice_id, contract_id=contract_id)
        return RatesOut(period_start=p.start, period_end=p.end, group_by=groups, rates=rows)

    app.include_router(loads_router(settings, db, ctx, jobs, Loader, audit_rows))
    return app


def vars_of(e) -> dict[str, Any]:
    return {"code": e.code, "code_system": e.code_system, "date": e.date, "claim_id": e.claim_id, "value": e.value,
            "description": e.description}
