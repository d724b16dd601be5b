"""``python -m services.gaps api``: the HTTP API (``web/gaps_api.py``: a member's gaps, the FHIR
care-gaps report, rates) in one FastAPI app, served by uvicorn. Roster and claims loads are the
intake service's API.

Wiring only: the database (schema step at start), the unit of work and the users. The API process
imports no faust (``tests/unit/test_entry_points.py``).
"""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI

from shared.auth import authenticator, load_directory
from shared.http import install_error_handlers, ops_router

from .adapters.database import open_database
from .adapters.unit_of_work import unit_of_work_factory
from .app.queries import GapQueries
from .settings import GapsSettings
from .web.gaps_api import gaps_router, refuse_nul


def create_api(settings: GapsSettings) -> FastAPI:
    db = open_database(settings)
    current_user = authenticator(load_directory(settings.users_file, settings.environment))
    queries = GapQueries(unit_of_work_factory(db))

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        try:
            yield
        finally:
            db.dispose()

    app = FastAPI(
        title="Gaps service API",
        version="1",
        description="Care gaps per member with reasons and evidence, measure rates, and the Da Vinci DEQM "
                    "care-gaps report (FHIR R4).",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.include_router(ops_router("gaps", "api", lambda: {"db": db.ping()}))
    refuse_nul(app)
    app.include_router(gaps_router(settings, queries, current_user))
    return app
