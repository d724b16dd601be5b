"""FastAPI pieces every API process shares: /metrics, /healthz, and error shapes."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from . import metrics
from sqlalchemy.exc import DataError

from .errors import InvalidEvent


def ops_router(service: str, process: str, health: Callable[[], dict[str, bool]] | None = None) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/metrics", include_in_schema=False)
    def prometheus_metrics() -> Response:
        body, ctype = metrics.exposition()
        return Response(body, media_type=ctype)

    @router.get("/healthz", summary="Liveness and readiness of this process")
    def healthz() -> JSONResponse:
        checks = health() if health else {}
        ok = all(checks.values())
        return JSONResponse({"service": service, "process": process, "ok": ok, "checks": checks},
                            status_code=200 if ok else 503)

    return router


def install_error_handlers(app: FastAPI) -> None:
    """Bad input is a 4xx with a reason, never a 500; validation messages never echo values."""

    @app.exception_handler(InvalidEvent)
    async def _invalid(_req: Request, exc: InvalidEvent) -> JSONResponse:
        return JSONResponse({"detail": exc.reason}, status_code=422)

    @app.exception_handler(DataError)
    async def _data_error(_req: Request, _exc: DataError) -> JSONResponse:
        # The database refused a value the schema let through (a NUL character, a number out of
        # range): the request's fault, not the server's. The text never echoes the value.
        return JSONResponse({"detail": "a value in the request cannot be stored or searched (e.g. a NUL "
                                       "character or a number out of range)"}, status_code=422)

    @app.exception_handler(RequestValidationError)
    async def _validation(_req: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")}
            for e in exc.errors()
        ]
        return JSONResponse({"detail": errors}, status_code=422)
