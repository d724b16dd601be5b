"""``python -m services.gaps api``: the HTTP API (``web/gaps_api.py``: a member's gaps, the FHIR
care-gaps report, rates; ``api_loads.py``: the roster / claims loads, the same code path as the
CLI) in one FastAPI app, served by uvicorn.

Wiring only: the database (schema step at start), the unit of work, the users, the load jobs and
the producer the loads write with. The API process imports no faust
(``tests/unit/test_entry_points.py``).
"""

# No "from __future__ import annotations": FastAPI resolves the dependency alias passed to the loads.

from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI
from fastapi.concurrency import run_in_threadpool

from shared.auth import User, authenticator, load_directory
from shared.http import install_error_handlers, ops_router
from shared.kafka import EventProducer

from .adapters.database import open_database
from .adapters.unit_of_work import unit_of_work_factory
from .api_loads import loads_router
from .app.queries import GapQueries
from .loads import LoadContext
from .loads.jobs import LoadJobs
from .loads.ownership import sweep_stale_loads
from .settings import GapsSettings
from .web.gaps_api import gaps_router, refuse_nul, roles

LOADERS = ("admin", "ops")


def create_api(settings: GapsSettings) -> FastAPI:
    db = open_database(settings)
    current_user = authenticator(load_directory(settings.users_file, settings.environment))
    queries = GapQueries(unit_of_work_factory(db))
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
    refuse_nul(app)
    app.include_router(gaps_router(settings, queries, current_user))

    def ctx() -> LoadContext:
        return LoadContext(settings, db, state["producer"])

    app.include_router(loads_router(settings, db, ctx, jobs, Loader, queries.audit))
    return app
