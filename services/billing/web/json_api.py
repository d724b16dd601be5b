"""Billing HTTP API: contracts, accruals, statements (JSON/CSV), member months, month close,
what-if, satisfaction metrics; a figure explained and held claim corrections (``explain_api``).
Parse, authorize, call a query or a command (``app/``), shape the answer.

Roles: admin does everything; supervisor reads member-level rows and feeds metrics; ops reads
aggregates only (no member appears in any answer ops gets). Every answer that names members
writes one audit row per member (``audit_log``). Reads run in a reader unit of work (no ledger
lock); month close, contract loads and fed metrics in a writer.
"""


import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import yaml
from fastapi import Depends, FastAPI, HTTPException, Query, Request, status
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field

from shared.auth import User, authenticator

from ..app import commands, queries
from ..app.context import Accruals
from ..app.ledger import CannotClose, MonthClosed
from ..app.ports import StoreUnavailable, UnitOfWork, UnitOfWorkFactory, UnusableValue
from ..domain import ContractError, contract_to_yaml, format_cents, statement_csv
from .explain_api import explain_router

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


@dataclass
class BillingServices:
    """What the routes need, built by ``api.py``: the unit-of-work factory (its writers publish
    to Kafka through the producer, created on first use), the accrual state (month close), the
    users."""

    uow: UnitOfWorkFactory
    accruals: Accruals
    directory: Any  # shared.users.UserDirectory


def install_json_api(app: FastAPI, svc: BillingServices) -> None:
    """The routes, the error answers and the explain router on ``app``."""
    current_user = authenticator(svc.directory)
    uow = svc.uow

    def reader():
        with uow(writer=False) as r:
            yield r

    ReaderDep = Annotated[UnitOfWork, Depends(reader)]
    Reader = Annotated[User, Depends(_roles(current_user, "admin", "supervisor", "ops"))]
    Supervisor = Annotated[User, Depends(_roles(current_user, "admin", "supervisor"))]
    Admin = Annotated[User, Depends(_roles(current_user, "admin"))]

    @app.exception_handler(UnusableValue)
    async def _unstorable(_req: Request, _exc: UnusableValue) -> JSONResponse:
        # The database refused a value of the request (a NUL character, a number out of range):
        # bad input, answered without echoing it.
        return JSONResponse({"detail": "a value in the request cannot be used (e.g. a NUL character or a number "
                                       "out of range)"}, status_code=422)

    @app.exception_handler(StoreUnavailable)
    async def _unavailable(_req: Request, _exc: StoreUnavailable) -> JSONResponse:
        return JSONResponse({"detail": "the billing database is unavailable; try again"}, status_code=503,
                            headers={"Retry-After": "5"})

    def contract_or_404(r: UnitOfWork, contract_id: str):
        contract = queries.get_contract(r, contract_id)
        if contract is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no such contract is loaded")
        return contract

    def audit_read(r: UnitOfWork, user: User, members, endpoint: str, detail: str | None = None) -> None:
        r.audit.record(user_id=user.id, role=user.primary_role, member_ids=members, action="read",
                       endpoint=endpoint, detail=detail)
        r.commit()

    # ------------------------------------------------------------------ contracts
    @app.get("/contracts", summary="Loaded contracts and their versions", tags=["contracts"])
    def list_contracts(user: Reader, r: ReaderDep) -> list[dict[str, Any]]:
        book = queries.contract_book(r)
        return [{"contract_id": c.contract_id, "payer": c.payer, "name": c.name, "versions": _versions(c)} for c in book]

    @app.get("/contracts/{contract_id}", summary="One contract as loaded (YAML)", tags=["contracts"],
             response_class=PlainTextResponse)
    def get_contract(contract_id: str, user: Reader, r: ReaderDep) -> PlainTextResponse:
        return PlainTextResponse(contract_to_yaml(contract_or_404(r, contract_id)), media_type="application/yaml")

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
            contract, seq, changed = commands.load_contract(uow, body, source=source, user=user.id)
        except ContractError as err:
            raise HTTPException(422, {"source": err.source, "problems": err.problems}) from None
        return ContractLoaded(contract_id=contract.contract_id, load=seq, changed=changed, versions=_versions(contract))

    # ------------------------------------------------------------------ ledger
    @app.get("/accruals/{contract_id}/{period}", summary="Ledger entries of a contract month", tags=["ledger"],
             description="Entries whose period is the month (``by=period``) or that were booked in it "
                         "(``by=posted``, including adjustments for closed months). Admin and supervisor get "
                         "entries (member-level rows are audited); ops gets totals by account and rule.")
    def accruals(contract_id: str, period: PeriodPath, user: Reader, r: ReaderDep,
                 by: Literal["period", "posted"] = "period", account: str | None = None,
                 level: Literal["entries", "aggregate"] | None = None,
                 limit: int = Query(1000, ge=1, le=10000), offset: int = Query(0, ge=0, le=MAX_OFFSET)) -> dict[str, Any]:
        contract_or_404(r, contract_id)
        level = level or ("aggregate" if not user.has("admin", "supervisor") else "entries")
        if level == "entries" and not user.has("admin", "supervisor"):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "member-level entries require role: admin or supervisor")
        if level == "aggregate":
            rows = [{"account": a, "adjustment": adj, "entries": n, "amount": format_cents(v)}
                    for a, adj, n, v in r.ledger.aggregate(contract_id, period, by, account)]
            return {"contract_id": contract_id, "period": period, "by": by, "level": "aggregate", "totals": rows}
        entries = [{**e, "amount": format_cents(e["amount_cents"])}
                   for e in r.ledger.entries(contract_id, period, by, account, limit, offset)]
        audit_read(r, user, [e["member_id"] for e in entries if e["member_id"]],
                   f"GET /accruals/{contract_id}/{period}")
        return {"contract_id": contract_id, "period": period, "by": by, "level": "entries", "offset": offset,
                "entries": entries}

    @app.get("/statements/{contract_id}/{period}", summary="Statement of a contract month (JSON or CSV)",
             tags=["statements"],
             description="Member months by tier, fees, cost of care and PMPM, carve-outs, bonus estimates with the "
                         "measured rate against the target, the shared-savings estimate with each term, and what "
                         "the books hold. ``format=csv`` (or ``Accept: text/csv``) for CSV.")
    def get_statement(contract_id: str, period: PeriodPath, request: Request, user: Reader, r: ReaderDep,
                      format: Literal["json", "csv"] | None = None):
        contract = contract_or_404(r, contract_id)
        try:
            body = queries.statement(r, contract, period)
        except ValueError as err:
            raise HTTPException(422, str(err)) from None
        if format == "csv" or (format is None and "text/csv" in request.headers.get("accept", "")):
            return Response(statement_csv(body), media_type="text/csv",
                            headers={"Content-Disposition": f'attachment; filename="{contract_id}-{period}.csv"'})
        return body

    @app.post("/what-if/{contract_id}/{period}", summary="Recompute a statement under changed terms (posts nothing)",
              tags=["statements"])
    def post_what_if(contract_id: str, period: PeriodPath, body: WhatIfIn, user: Reader,
                     r: ReaderDep) -> dict[str, Any]:
        contract = contract_or_404(r, contract_id)
        try:
            return queries.statement_what_if(r, contract, period, body.overrides)
        except ContractError as err:
            raise HTTPException(422, {"source": err.source, "problems": err.problems}) from None
        except ValueError as err:
            raise HTTPException(422, str(err)) from None

    @app.get("/member-months/{contract_id}/{period}", summary="Member months of a contract month", tags=["ledger"],
             description="Admin and supervisor: one row per member (audited). Ops: counts by tier.")
    def get_member_months(contract_id: str, period: PeriodPath, user: Reader, r: ReaderDep,
                          limit: int = Query(1000, ge=1, le=10000), offset: int = Query(0, ge=0, le=MAX_OFFSET)) -> dict[str, Any]:
        contract_or_404(r, contract_id)
        by_tier = r.rows.tiers(contract_id, period)
        out: dict[str, Any] = {"contract_id": contract_id, "period": period, "members_by_tier": by_tier,
                               "members": sum(by_tier.values())}
        if user.has("admin", "supervisor"):
            out["rows"] = queries.member_month_rows(r, contract_id, period, limit, offset)
            audit_read(r, user, [row["member_id"] for row in out["rows"]],
                       f"GET /member-months/{contract_id}/{period}")
        return out

    @app.post("/months/{contract_id}/{period}/close", summary="Close a contract month (admin)", tags=["ledger"],
              response_model=Closed,
              description="Settles the month's bonus and shared-savings estimates and closes it. Later changes "
                          "to the month post as flagged adjustments in the next open month. 409 when closed.")
    def close(contract_id: str, period: PeriodPath, user: Admin) -> Closed:
        try:
            events = commands.close_month(uow, svc.accruals, contract_id, period, user.id)
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
    def post_metric(body: MetricIn, user: Supervisor, r: ReaderDep) -> dict[str, Any]:
        contract_or_404(r, body.contract_id)
        try:
            commands.feed_metric(uow, body.contract_id, body.period, body.metric, body.value, user.id)
        except ContractError as err:
            raise HTTPException(422, {"source": err.source, "problems": err.problems}) from None
        return body.model_dump()

    @app.get("/satisfaction-metrics/{contract_id}", summary="Metrics fed for a contract", tags=["contracts"])
    def list_metrics(contract_id: str, user: Reader, r: ReaderDep) -> list[dict[str, Any]]:
        return queries.fed_metric_rows(r, contract_id)

    app.include_router(explain_router(reader, _roles(current_user, "admin", "supervisor", "ops"), audit_read))

    @app.get("/audit", summary="Audit rows (admin)", tags=["operations"])
    def get_audit(user: Admin, r: ReaderDep, member_id: str | None = None,
                  limit: int = Query(100, ge=1, le=1000)) -> list[dict[str, Any]]:
        return r.audit.query(member_id, limit)
