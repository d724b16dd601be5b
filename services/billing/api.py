"""``python -m services.billing api``: the HTTP API (``web/json_api.py``, ``web/explain_api.py``) in
one FastAPI app, served by uvicorn.

Wiring only: the storage (database bootstrap, ledger lock, unit of work), the Kafka producer of
the month close's ledger entries (created on the first close), the accrual state and the users.
The API process imports no faust (``tests/unit/billing/test_entry_points.py``).
"""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI

from shared.auth import load_directory
from shared.http import install_error_handlers, ops_router

from .adapters.unit_of_work import unit_of_work_factory
from .adapters.wiring import accruals, storage
from .settings import BillingSettings
from .web.json_api import BillingServices, install_json_api


class _LazyProducer:
    """The API's producer, created on the first month close (most API processes never post)."""

    def __init__(self, settings: BillingSettings) -> None:
        self.settings = settings
        self.producer = None

    def send_sync(self, events):
        if self.producer is None:
            from shared.kafka import EventProducer

            self.producer = EventProducer(self.settings, client_id="billing-api")
        return self.producer.send_sync(events)

    def close(self) -> None:
        if self.producer is not None:
            self.producer.close()


def create_api(settings: BillingSettings) -> FastAPI:
    producer = _LazyProducer(settings)
    store = storage(settings)
    uow = unit_of_work_factory(store.lock, producer)  # type: ignore[arg-type]
    svc = BillingServices(uow, accruals(settings), load_directory(settings.users_file, settings.environment))

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        producer.close()
        store.dispose()

    app = FastAPI(title="Billing", version="1", lifespan=lifespan,
                  description="Value-based contracts, the accrual ledger, statements and month close.")
    install_error_handlers(app)
    app.include_router(ops_router("billing", "api", lambda: {"database": store.db.ping()}))
    install_json_api(app, svc)
    return app
