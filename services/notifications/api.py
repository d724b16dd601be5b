"""``python -m services.notifications api``: the HTTP API in one FastAPI app, served by uvicorn —
subscriptions and the delivery log (``web/subscriptions.py``), the FHIR endpoint ``/fhir``
(``web/fhir.py``), ``/metrics`` and ``/healthz``.

Wiring only: the database (schema step at start), the subscription store and its secret box, the
delivery log, the projection reads, the users and the error handlers. The API process imports no
faust (``tests/unit/notifications/test_routes.py``, ``.importlinter``): it reads and writes the
service's database only.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI

from shared.auth import authenticator, load_directory
from shared.http import install_error_handlers, ops_router

from .adapters.database import migrate
from .adapters.reads_sql import ProjectionReads
from .adapters.secretbox import SecretBox
from .adapters.subscriptions_sql import DeliveryLog, SqlSubscriptionStore, SystemResolver
from .app.subscriptions import Limits, Subscriptions
from .settings import NotificationsSettings
from .web.fhir import build_fhir_router
from .web.subscriptions import actor_dependency, subscriptions_router


def create_api(settings: NotificationsSettings, resolver=None) -> FastAPI:
    db = migrate(settings.resolved_database_url())
    directory = load_directory(settings.users_file, settings.environment)
    box = SecretBox.from_setting(settings.secrets_key.get_secret_value() if settings.secrets_key else None,
                                 settings.is_production())
    store = SqlSubscriptionStore(db, box)
    subs = Subscriptions(store, settings.outbound_policy(), resolver or SystemResolver(), Limits(
        max_subscriptions=settings.max_subscriptions, default_max_in_flight=settings.default_max_in_flight,
        rotation_overlap=timedelta(hours=settings.rotation_overlap_h)))

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        db.dispose()

    app = FastAPI(title="Notifications", version="1", lifespan=lifespan,
                  description="Subscriptions (FHIR R4 backport, Da Vinci, Standard Webhooks, HL7 v2 over MLLP), "
                              "the delivery log, and the FHIR endpoint /fhir.")
    install_error_handlers(app)
    app.include_router(ops_router("notifications", "api", lambda: {"db": db.ping()}))
    actor_dep = actor_dependency(authenticator(directory))
    app.include_router(subscriptions_router(subs=subs, log=DeliveryLog(db), actor_dep=actor_dep, settings=settings))
    app.include_router(build_fhir_router(subs=subs, store=store, reads=ProjectionReads(db), actor_dep=actor_dep,
                                         settings=settings))

    return app


__all__ = ["create_api"]
