"""The portal API process: the member pages (``/``), sign-in, the FHIR patient-access API
(``/fhir``), ``/healthz``, ``/metrics`` and ``/docs``. It imports no faust.

``create_api(settings)`` runs the idempotent schema step and builds the app. The OpenID
Connect client is built when ``OIDC_*`` is configured (required in production, where
development sign-in codes are refused: ``PortalSettings.check_for_serving``).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path

from fastapi import FastAPI

from shared.auth import load_directory
from shared.events import utcnow
from shared.http import install_error_handlers, ops_router
from shared.kafka import EventProducer
from shared.web.kit import install_page_headers, page_templates, static_files

from .adapters.database import open_database
from .adapters.directory import FileDirectory
from .adapters.kafka import KafkaPublisher
from .adapters.oidc import OidcClient
from .adapters.unit_of_work import SqlUnitOfWork
from .app.sessions import SessionPolicy
from .settings import PortalSettings
from .web.context import Portal, page_kit
from .web.fhir import install_fhir
from .web.pages import install_pages
from .web.signin_pages import install_signin_pages

HERE = Path(__file__).resolve().parent


def create_api(settings: PortalSettings, *, producer: EventProducer | None = None,
               now: Callable[[], datetime] = utcnow) -> FastAPI:
    own_producer = producer is None
    producer = producer or EventProducer(settings, client_id="portal-api", **{"linger.ms": 0})
    db = open_database(settings.resolved_database_url(), pool_size=10)
    users = load_directory(settings.users_file, settings.environment)
    oidc = None
    if settings.oidc_configured():
        oidc = OidcClient(settings.oidc_issuer or "", settings.oidc_client_id or "",
                          settings.oidc_client_secret.get_secret_value() if settings.oidc_client_secret else "",
                          scope=settings.oidc_scope)
    policy = SessionPolicy(idle=timedelta(minutes=settings.session_idle_minutes),
                           lifetime=timedelta(hours=settings.session_max_hours))
    portal = Portal(settings, lambda: SqlUnitOfWork(db), FileDirectory.load(settings.resolved_directory_file(), users),
                    KafkaPublisher(producer), oidc, policy, now)
    portal.pages = page_kit(page_templates(HERE / "templates"), settings.cookie_secure())

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        if own_producer:
            producer.close()
        db.dispose()

    app = FastAPI(
        title="Portal: members' own care data",
        version="1",
        lifespan=lifespan,
        description=(
            "The member portal: sign in (development codes; OpenID Connect in production), then the member's own "
            "appointments, care gaps in plain language, care-team tasks, hospital visits, care team and messages. "
            "The FHIR R4 patient-access API (`/fhir`) serves the signed-in member's own record: a session cookie "
            "or `Authorization: Bearer <access token from the configured OpenID provider>`. Every read is audited."),
    )
    app.state.portal = portal
    install_error_handlers(app)
    app.include_router(ops_router("portal", "api", health=lambda: {"database": db.ping()}))
    oidc_origin = ""
    if settings.oidc_issuer:
        from urllib.parse import urlsplit

        parts = urlsplit(settings.oidc_issuer)
        oidc_origin = f"{parts.scheme}://{parts.netloc}"
    install_page_headers(app, form_action=oidc_origin)  # the sign-in form may post to the OpenID provider
    install_signin_pages(app)
    install_pages(app)
    install_fhir(app)
    app.mount("/static", static_files(HERE / "static"), name="static")
    return app
