"""Billing HTTP API: contracts, accruals, statements (JSON/CSV), member months, month close,
what-if, satisfaction metrics; a figure explained and held claim corrections (``api_explain``). Parse, authorize, call a query or a command, shape the answer.

Roles: admin does everything; supervisor reads member-level rows and feeds metrics; ops reads
aggregates only (no member appears in any answer ops gets). Every answer that names members
writes one audit row per member (``audit_log``).
"""


import json
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

import yaml
from fastapi import Depends, FastAPI, HTTPException, Query, Request, status
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session

from shared.audit import record_access
from shared.auth import User, authenticator, load_directory
from shared.http import install_error_handlers, ops_router

from . import commands
from .api_explain import explain_router
from .agents import make_billing, open_database
from .domain import ContractError, contract_to_yaml, format_cents, parse_runs, statement_csv
from .domain.periods import days_in
from .handlers import CannotClose, MonthClosed
from .settings import BillingSettings
from .store import audit, ledger_entries, member_months

PERIOD = r"^\d{4}-(0[1-9]|1[0-2])$"
PeriodPath = Annotated[str, Field(pattern=PERIOD)]
MAX_OFFSET = 1_000_000_000  # PostgreSQL's OFFSET is a bigint; larger values are bad input, not a 500


class ContractLoaded(BaseModel):
    contract_id: str
    load: int = Field(description="sequence number of this load")
    changed: bool = Field(description="false when the same terms were loaded already")
    versions: list[dict[str, Any]]


class MetricIn(BaseModel):
    contract_id: str = Field(min_length=1, max_length=64)
    period: str = Field(pattern=PERIOD)
    metric: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64, examples=["median_days_to_appointment"])
    value: str = Field(max_length=40, description="a decimal number, e.g. 6.5", examples=["6.5"])


class WhatIfIn(BaseModel):
    overrides: dict[str, Any] = Field(
        description="terms of the version in force to change, e.g. {\"pmpm_fees\": {\"high\": \"35.00\"}} or "
                    "{\"bonuses\": [{\"id\": \"diabetes-control\", \"target\": \"0.25\"}]}")


class Closed(BaseModel):
    contract_id: str
    period: str
    entries_posted: int
    amounts: dict[str, str]


def _versions(contract) -> list[dict[str, Any]]:
    return [{"version": v.version, "effective_from": str(v.effective_from),
             "effective_to": str(v.effective_to) if v.effective_to else None,
             "member_month_rule": v.member_month_rule} for v in contract.versions]


def _roles(current_user, *roles: str):
    """Like ``shared.auth.require_roles`` (whose string annotation FastAPI cannot resolve under
    ``from __future__ import annotations``, so it would read the user from the query string)."""

    def check(user: User = Depends(current_user)) -> User:
        if not user.has(*roles):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"requires role: {' or '.join(roles)}")
        return user

    return check


def create_api(settings: BillingSettings) -> FastAPI:
    db = open_database(settings)
    billing = make_billing(settings)
    directory = load_directory(settings.users_file, settings.environment)
    current_user = authenticator(directory)
    state: dict[str, Any] = {}

    def producer():
        if "producer" not in state:
            from shared.kafka import EventProducer

            state["producer"] = EventProducer(settings, client_id="billing-api")
        return state["producer"]

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        if "producer" in state:
            state["producer"].close()
        db.dispose()

    def session_dep():
        with db.reader() as s:
            yield s

    SessionDep = Annotated[Session, Depends(session_dep)]
    Reader = Annotated[User, Depends(_roles(current_user, "admin", "supervisor", "ops"))]
    Supervisor = Annotated[User, Depends(_roles(current_user, "admin", "supervisor"))]
    Admin = Annotated[User, Depends(_roles(current_user, "admin"))]

    app = FastAPI(title="Billing", version="1", lifespan=lifespan,
                  description="Value-based contracts, the accrual ledger, statements and month close.")
    install_error_handlers(app)
    app.include_router(ops_router("billing", "api", lambda: {"database": db.ping()}))

    @app.exception_handler(DataError)
    async def _unstorable(_req: Request, _exc: DataError) -> JSONResponse:
        # The database refused a value of the request (a NUL character, a number out of range):
        # bad input, answered without echoing it.
        return JSONResponse({"detail": "a value in the request cannot be used (e.g. a NUL character or a number "
                                       "out of range)"}, status_code=422)

    def contract_or_404(session: Session, contract_id: str):
        contract = commands.get_contract(session, contract_id)
        if contract is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no such contract is loaded")
        return contract

    def audit_read(session: Session, user: User, members, endpoint: str, detail: str | None = None) -> None:
        record_access(session, audit, user_id=user.id, role=user.primary_role, member_ids=members, action="read",
                      endpoint=endpoint, detail=detail)
        session.commit()

    # ------------------------------------------------------------------ contracts
    @app.get("/contracts", summary="Loaded contracts and their versions", tags=["contracts"])
    def list_contracts(user: Reader, session: SessionDep) -> list[dict[str, Any]]:
        book = commands.contract_book(session)
        return [{"contract_id": c.contract_id, "payer": c.payer, "name": c.name, "versions": _versions(c)} for c in book]

    @app.get("/contracts/{contract_id}", summary="One contract as loaded (YAML)", tags=["contracts"],
             response_class=PlainTextResponse)
    def get_contract(contract_id: str, user: Reader, session: SessionDep) -> PlainTextResponse:
        return PlainTextResponse(contract_to_yaml(contract_or_404(session, contract_id)), media_type="application/yaml")

    @app.post("/contracts", summary="Load a contract file (YAML or JSON)", status_code=201, tags=["contracts"],
              response_model=ContractLoaded,
              description="The body is the contract file. It is validated as a whole; a 422 lists every problem "
                          "by its place in the file (``versions[0].bonuses[2].target: ...``). A contract id loaded "
                          "again replaces its terms (versions by effective date); the worker re-accrues.",
              openapi_extra={"requestBody": {"content": {"application/yaml": {"schema": {"type": "string"}},
                                                         "application/json": {"schema": {"type": "object"}}},
                                             "required": True}})
    async def load_contract(request: Request, user: Admin, source: str = Query("api", max_length=200)) -> ContractLoaded:
        body = (await request.body()).decode("utf-8", "replace")
        if "json" in request.headers.get("content-type", ""):
            try:
                body = yaml.safe_dump(json.loads(body), sort_keys=False)
            except (ValueError, RecursionError):  # not JSON, too deeply nested, an integer too long to read
                raise HTTPException(422, {"source": source, "problems": ["body is not valid JSON"]}) from None
        try:
            contract, seq, changed = commands.load_contract(db, body, source=source, user=user.id)
        except ContractError as err:
            raise HTTPException(422, {"source": err.source, "problems": err.problems}) from None
        return ContractLoaded(contract_id=contract.contract_id, load=seq, changed=changed, versions=_versions(contract))

    # ------------------------------------------------------------------ ledger
    @app.get("/accruals/{contract_id}/{period}", summary="Ledger entries of a contract month", tags=["ledger"],
             description="Entries whose period is the month (``by=period``) or that were booked in it "
                         "(``by=posted``, including adjustments for closed months). Admin and supervisor get "
                         "entries (member-level rows are audited); ops gets totals by account and rule.")
    def accruals(contract_id: str, period: PeriodPath, user: Reader, session: SessionDep,
                 by: Literal["period", "posted"] = "period", account: str | None = None,
                 level: Literal["entries", "aggregate"] | None = None,
                 limit: int = Query(1000, ge=1, le=10000), offset: int = Query(0, ge=0, le=MAX_OFFSET)) -> dict[str, Any]:
        contract_or_404(session, contract_id)
        level = level or ("aggregate" if not user.has("admin", "supervisor") else "entries")
        if level == "entries" and not user.has("admin", "supervisor"):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "member-level entries require role: admin or supervisor")
        le = ledger_entries.c
        where = [le.contract_id == contract_id, (le.period if by == "period" else le.posted_period) == period]
        if account:
            where.append(le.account == account)
        if level == "aggregate":
            q = (select(le.account, le.adjustment, func.count(), func.sum(le.amount_cents))
                 .where(*where).group_by(le.account, le.adjustment).order_by(le.account, le.adjustment))
            rows = [{"account": a, "adjustment": bool(adj), "entries": n, "amount": format_cents(int(v))}
                    for a, adj, n, v in session.execute(q)]
            return {"contract_id": contract_id, "period": period, "by": by, "level": "aggregate", "totals": rows}
        q = (select(le.entry_id, le.period, le.posted_period, le.account, le.member_id, le.rule, le.amount_cents,
                    le.source_event_id, le.reverses, le.adjustment, le.recorded_at)
             .where(*where).order_by(le.seq).limit(limit).offset(offset))
        entries = [{**dict(r._mapping), "amount": format_cents(r.amount_cents)} for r in session.execute(q)]
        audit_read(session, user, [e["member_id"] for e in entries if e["member_id"]],
                   f"GET /accruals/{contract_id}/{period}")
        return {"contract_id": contract_id, "period": period, "by": by, "level": "entries", "offset": offset,
                "entries": entries}

    @app.get("/statements/{contract_id}/{period}", summary="Statement of a contract month (JSON or CSV)",
             tags=["statements"],
             description="Member months by tier, fees, cost of care and PMPM, carve-outs, bonus estimates with the "
                         "measured rate against the target, the shared-savings estimate with each term, and what "
                         "the books hold. ``format=csv`` (or ``Accept: text/csv``) for CSV.")
    def get_statement(contract_id: str, period: PeriodPath, request: Request, user: Reader, session: SessionDep,
                      format: Literal["json", "csv"] | None = None):
        contract = contract_or_404(session, contract_id)
        try:
            body = commands.statement(session, contract, period)
        except ValueError as err:
            raise HTTPException(422, str(err)) from None
        if format == "csv" or (format is None and "text/csv" in request.headers.get("accept", "")):
            return Response(statement_csv(body), media_type="text/csv",
                            headers={"Content-Disposition": f'attachment; filename="{contract_id}-{period}.csv"'})
        return body

    @app.post("/what-if/{contract_id}/{period}", summary="Recompute a statement under changed terms (posts nothing)",
              tags=["statements"])
    def post_what_if(contract_id: str, period: PeriodPath, body: WhatIfIn, user: Reader,
                     session: SessionDep) -> dict[str, Any]:
        contract = contract_or_404(session, contract_id)
        try:
            return commands.statement_what_if(session, contract, period, body.overrides)
        except ContractError as err:
            raise HTTPException(422, {"source": err.source, "problems": err.problems}) from None
        except ValueError as err:
            raise HTTPException(422, str(err)) from None

    @app.get("/member-months/{contract_id}/{period}", summary="Member months of a contract month", tags=["ledger"],
             description="Admin and supervisor: one row per member (audited). Ops: counts by tier.")
    def get_member_months(contract_id: str, period: PeriodPath, user: Reader, session: SessionDep,
                          limit: int = Query(1000, ge=1, le=10000), offset: int = Query(0, ge=0, le=MAX_OFFSET)) -> dict[str, Any]:
        contract_or_404(session, contract_id)
        mm = member_months.c
        where = (mm.contract_id == contract_id, mm.period == period)
        by_tier = {t: int(n) for t, n in session.execute(select(mm.tier, func.count()).where(*where).group_by(mm.tier))}
        out: dict[str, Any] = {"contract_id": contract_id, "period": period, "members_by_tier": by_tier,
                               "members": sum(by_tier.values())}
        if user.has("admin", "supervisor"):
            rows = session.execute(select(mm.member_id, mm.tier, mm.runs).where(*where).order_by(mm.member_id)
                                   .limit(limit).offset(offset)).all()
            out["rows"] = [{"member_id": m, "tier": t, "eligible_days": sum(b - a + 1 for a, b in parse_runs(r)),
                            "days_in_month": days_in(period), "runs": r} for m, t, r in rows]
            audit_read(session, user, [r[0] for r in rows], f"GET /member-months/{contract_id}/{period}")
        return out

    @app.post("/months/{contract_id}/{period}/close", summary="Close a contract month (admin)", tags=["ledger"],
              response_model=Closed,
              description="Settles the month's bonus and shared-savings estimates and closes it. Later changes "
                          "to the month post as flagged adjustments in the next open month. 409 when closed.")
    def close(contract_id: str, period: PeriodPath, user: Admin) -> Closed:
        try:
            events = commands.close_month(db, billing, producer().send_sync, contract_id, period, user.id)
        except MonthClosed as err:
            raise HTTPException(status.HTTP_409_CONFLICT, str(err)) from None
        except CannotClose as err:
            raise HTTPException(422, str(err)) from None
        amounts: dict[str, int] = {}
        for e in events:
            amounts[e.account] = amounts.get(e.account, 0) + e.amount_cents
        return Closed(contract_id=contract_id, period=period, entries_posted=len(events),
                      amounts={a: format_cents(v) for a, v in sorted(amounts.items())})

    @app.post("/satisfaction-metrics", summary="Feed a metric for a contract month (e.g. median days to appointment)",
              status_code=201, tags=["contracts"],
              description="The value counts for the contract's goals on that metric from that month's estimates on "
                          "(it wins over a value the platform computes from outreach tasks).")
    def post_metric(body: MetricIn, user: Supervisor, session: SessionDep) -> dict[str, Any]:
        contract_or_404(session, body.contract_id)
        try:
            commands.feed_metric(db, body.contract_id, body.period, body.metric, body.value, user.id)
        except ContractError as err:
            raise HTTPException(422, {"source": err.source, "problems": err.problems}) from None
        return body.model_dump()

    @app.get("/satisfaction-metrics/{contract_id}", summary="Metrics fed for a contract", tags=["contracts"])
    def list_metrics(contract_id: str, user: Reader, session: SessionDep) -> list[dict[str, Any]]:
        return commands.fed_metric_rows(session, contract_id)

    app.include_router(explain_router(session_dep, _roles(current_user, "admin", "supervisor", "ops"), audit_read))

    @app.get("/audit", summary="Audit rows (admin)", tags=["operations"])
    def get_audit(user: Admin, session: SessionDep, member_id: str | None = None,
                  limit: int = Query(100, ge=1, le=1000)) -> list[dict[str, Any]]:
        q = select(audit).order_by(audit.c.id.desc()).limit(limit)
        if member_id:
            q = q.where(audit.c.member_id == member_id)
        return [dict(r._mapping) for r in session.execute(q)]

    return app
