"""``python -m services.intake api``: the load routes (``web/loads.py``) in one FastAPI app,
served by uvicorn.

Who may do what (``shared.auth`` users): loads (roster JSON / CSV, claims files / JSON) and their
status: admins and ops. A JSON load audits one write per member; a file upload one write per
file (member unset, the detail names the load).

Wiring only: the database (schema step at start), the Kafka producer, the background loads, and
at start the sweep that ends loads left ``running`` by a process that is gone. The API process
imports no faust (this service has no worker).
"""

# No "from __future__ import annotations": FastAPI resolves the dependency aliases defined in create_api.

from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from shared.audit import record_access
from shared.auth import User, authenticator, load_directory
from shared.http import install_error_handlers, ops_router
from shared.kafka import EventProducer

from .adapters.ownership import check_running, sweep_stale_loads
from .adapters.repositories import SqlLoadRecords
from .adapters.tables import audit
from .adapters.wiring import database, load_context
from .app import LoadContext
from .app.jobs import LoadJobs
from .settings import IntakeSettings
from .web.loads import loads_router

LOADERS = ("admin", "ops")


def roles(current_user, *names: str):
    """Like ``shared.auth.require_roles``, whose string annotation (``from __future__ import
    annotations`` in shared/auth.py) FastAPI cannot resolve: it would read ``user`` from the
    query string and answer 422."""

    def check(user: User = Depends(current_user)) -> User:
        if not user.has(*names):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"requires role: {' or '.join(names)}")
        return user

    return check


def create_api(settings: IntakeSettings) -> FastAPI:
    db = database(settings)
    directory = load_directory(settings.users_file, settings.environment)
    current_user = authenticator(directory)
    Loader = Annotated[User, Depends(roles(current_user, *LOADERS))]
    jobs = LoadJobs(workers=settings.load_workers)
    records = SqlLoadRecords(db)
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        state["producer"] = EventProducer(settings, client_id="intake-api")
        # Loads left "running" by a process that is gone (this API's previous run, a killed CLI
        # load) end failed with the reason; the same file can be loaded again safely.
        await run_in_threadpool(sweep_stale_loads, db, settings.load_time_budget_s)
        try:
            yield
        finally:
            await run_in_threadpool(jobs.shutdown)
            state["producer"].close()
            db.dispose()

    app = FastAPI(title="Intake service API", version="1", lifespan=lifespan,
                  description="Roster and claims loads (CSV, JSON, X12 837P/837I with an optional 999) with "
                              "per-load reports; produces members.roster and claims.events.")
    install_error_handlers(app)
    def health() -> dict[str, bool]:
        checks = {"db": db.ping()}
        if "producer" in state:  # from the lifespan on
            checks["kafka_producer"] = state["producer"].alive()
        return checks

    app.include_router(ops_router("intake", "api", health))

    @app.middleware("http")
    async def refuse_nul(request: Request, call_next):
        """A NUL character in the path or a query parameter is bad input (PostgreSQL refuses it
        in text, which would otherwise surface as a 500)."""
        if "\x00" in request.url.path or "%00" in request.url.path or "\x00" in request.url.query \
                or "%00" in request.url.query.upper():
            return JSONResponse({"detail": "parameters must not contain NUL characters"}, status_code=422)
        return await call_next(request)

    def ctx() -> LoadContext:
        return load_context(settings, db, state["producer"])

    def audit_rows(user: User, member_ids, action: str, endpoint: str, detail: str | None = None) -> None:
        with db.transaction() as session:
            record_access(session, audit, user_id=user.id, role=user.primary_role, member_ids=member_ids,
                          action=action, endpoint=endpoint, detail=detail)

    app.include_router(loads_router(settings, ctx, jobs, Loader, audit_rows, records.get,
                                    lambda record: check_running(db, record, settings.load_time_budget_s)))
    return app
