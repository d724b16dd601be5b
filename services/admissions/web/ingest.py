"""The HTTP front door of the intake: ``POST /ingest/adt``, the same gateway as MLLP
(``mllp/gateway.py``, wired to Kafka by ``ingest.py`` and handed in by ``api.py``).

An HL7 body (``text/plain``, ``application/hl7-v2``) is answered with the ACK message: 200
accepted (AA/CA, also for a duplicate), 422 refused (AE/AR with ERR), 413 too large (AR 207),
503 not stored (AE 207: Kafka did not confirm; send again). A JSON ADT body
(``application/json``, the ``AdtJsonIn`` fields) is answered with a JSON status: 202 accepted,
200 duplicate, 422 with the reason, 503 when Kafka is down. Allowed to admins and the feed users
named by ``INGEST_USERS`` (default ``feed.adt``).
"""

# No "from __future__ import annotations": FastAPI resolves the Annotated aliases defined
# inside ingest_router() at definition time.
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status

from shared.auth import User, UserDirectory, authenticator

from ..settings import AdmissionsSettings
from . import schemas

HL7_TYPES = frozenset({"text/plain", "application/hl7-v2", "x-application/hl7-v2+er7", "application/edi-hl7",
                       "application/x-hl7"})


def ingest_router(settings: AdmissionsSettings, directory: UserDirectory, gateway_of: Callable[[], Any]) -> APIRouter:
    """``POST /ingest/adt`` on the gateway ``gateway_of()`` (``mllp.gateway.AdtGateway``, built by
    ``api.py`` when the API starts)."""
    router = APIRouter()
    ingest_users = settings.ingest_user_ids()
    CurrentUser = Annotated[User, Depends(authenticator(directory))]

    def feed(user: CurrentUser) -> User:
        if not (user.has("admin") or user.id in ingest_users):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "requires an ADT feed user or admin")
        return user

    FeedUser = Annotated[User, Depends(feed)]

    @router.post("/ingest/adt", tags=["ingest"], summary="HTTP ingest of one ADT message (HL7 v2 text or JSON)",
                 responses={200: {"description": "HL7: the ACK (AA/CA); JSON: duplicate",
                                  "content": {"application/hl7-v2": {}, "application/json": {}}},
                            202: {"model": schemas.IngestStatus, "description": "JSON: accepted"},
                            413: {"description": "HL7: larger than MLLP_MAX_FRAME_BYTES (AR 207)"},
                            415: {"description": "neither HL7 nor JSON"},
                            422: {"description": "refused: the NAK (HL7) or the reason (JSON)"},
                            503: {"description": "not stored (Kafka did not confirm): send again"}})
    async def ingest(request: Request, _user: FeedUser) -> Response:
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "application/json" and ctype not in HL7_TYPES:
            raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, "send text/plain or application/hl7-v2 "
                                                                        "(HL7 v2) or application/json")
        limit = settings.mllp_max_frame_bytes
        body, size = await _read_capped(request, limit)
        gateway = gateway_of()
        if ctype == "application/json":
            if size > limit:
                raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, f"larger than {limit} bytes")
            result = await gateway.handle_json(body, source="http")
            return Response(result.body(), status_code=result.http_status, media_type="application/json")
        if size > limit:
            nak = await gateway.refuse_too_large(body, limit)
            return Response(nak.answer.data, status_code=413, media_type="application/hl7-v2")
        result = await gateway.handle(body)
        answer = result.answer  # the application ACK when MSH-16 asked for one: it carries the verdict
        code = 200 if answer.accepted else (422 if result.issues else 503)
        return Response(answer.data, status_code=code, media_type="application/hl7-v2")

    return router


async def _read_capped(request: Request, limit: int, keep: int = 64 * 1024) -> tuple[bytes, int]:
    """(body, size); when the body is larger than ``limit`` only its first ``keep`` bytes are
    returned (for the NAK and the dead letter) and the rest is read and dropped."""
    chunks: list[bytes] = []
    held = size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if held <= limit:
            chunks.append(chunk)
            held += len(chunk)
    body = b"".join(chunks)
    return (body, size) if size <= limit else (body[:keep], size)
