"""``python -m services.outreach api``: the JSON API (``/api``, ``web/json_api.py``) and the nurse
page (``/``, ``web/pages.py``) in one FastAPI app, served by uvicorn.

Wiring only: the database bootstrap, the Kafka producer of the lifecycle events, the unit of
work, the use cases (``app/``) and the HTTP surface (``web/``). The API process imports no
faust (``tests/unit/outreach/test_entry_points.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import asynccontextmanager
from datetime import datetime

from fastapi import FastAPI

from shared.auth import load_directory
from shared.events import utcnow
from shared.http import install_error_handlers, ops_router
from shared.kafka import EventProducer
from shared.web.kit import static_files
from shared.web.sessions import SessionSigner

from .adapters.database import open_database
from .adapters.risk_api import CachedRiskViews, NotConnected, RiskApi
from .adapters.unit_of_work import unit_of_work_factory
from .app.commands import Commands
from .app.queries import Queries
from .app.risk_view import MemberRisk
from .app.staff import Staff
from .settings import OutreachSettings
from .web.deps import Services
from .web.json_api import install_domain_errors, install_json_api
from .web.pages import install_pages


def risk_views(settings: OutreachSettings) -> tuple[CachedRiskViews | NotConnected, Callable[[], None]]:
    """The member's risk view for the task page: the risk API (cached), or nothing when not set."""
    if not settings.risk_api_url:
        return NotConnected(), lambda: None
    api = RiskApi(settings.risk_api_url, settings.risk_api_credential(), timeout_s=settings.risk_view_timeout_s)
    return CachedRiskViews(api.fetch, fresh_s=settings.risk_view_fresh_s, stale_s=settings.risk_view_stale_s,
                           retry_s=settings.risk_view_retry_s), api.close


def build_services(settings: OutreachSettings, producer: EventProducer | None,
                   now: Callable[[], datetime] = utcnow) -> Services:
    db = open_database(settings.resolved_database_url(), pool_size=10)
    uow = unit_of_work_factory(db, producer)
    directory = load_directory(settings.users_file, settings.environment)
    staff = Staff(directory)
    ctx = settings.decision_context()
    signer = SessionSigner(settings.session_key, int(settings.session_hours * 3600), purpose="outreach")
    views, close_views = risk_views(settings)
    return Services(settings, db, uow, directory, staff, Commands(uow, staff, ctx, now=now),
                    Queries(uow, staff, ctx, recent_days=settings.recent_encounter_days, now=now), signer, producer,
                    MemberRisk(uow, views), close_views)


def create_api(settings: OutreachSettings, *, producer: EventProducer | None = None,
               now: Callable[[], datetime] = utcnow) -> FastAPI:
    own_producer = producer is None
    # one lifecycle event per request, awaited before the commit: no point lingering for a batch
    producer = producer or EventProducer(settings, client_id="outreach-api", **{"linger.ms": 0})
    svc = build_services(settings, producer, now)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        if own_producer:
            producer.close()
        svc.close_risk()
        svc.db.dispose()

    app = FastAPI(
        title="Outreach: nurse task queues",
        version="1",
        lifespan=lifespan,
        description=(
            "Care-gap, transitional-care and referral tasks in nurse, navigator, social-worker and dietician "
            "queues. Authenticate with `Authorization: Bearer <API key>` or `X-API-Key`. A nurse sees only her "
            "pods' members (another pod's task answers 404); ops users see aggregates only; every read or "
            "write of member data is written to the audit log. Every change takes the `expected_version` you "
            "read: when the task changed meanwhile the answer is 409. The nurse page is served at `/`."),
    )
    app.state.outreach = svc
    install_error_handlers(app)
    install_domain_errors(app)
    app.include_router(ops_router("outreach", "api",
                                  health=lambda: {"database": svc.db.ping(), "kafka_producer": producer.alive()}))
    install_json_api(app)
    install_pages(app)
    app.mount("/static", static_files(), name="static")
    return app
