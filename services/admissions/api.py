"""The admissions HTTP API (``create_api(settings)``), served by ``python -m services.admissions api``.

- ``GET /census/facilities``, ``GET /census/practices``: counts of attributed members in house
  (no member data); ``GET /census/facilities/{facility}/members``: who (audited, scoped).
- ``GET /alerts``: the alert inbox — hospitalists see their groups' alerts only, supervisors
  their pods', admins all; ``POST /alerts/{id}/acknowledge``. Audited.
- ``GET /alerts/stream``: Server-Sent Events, one ``alert.raised`` event per new alert for the
  caller's hospitalist groups (``?group=`` narrows it), ``id:`` = alert id, ``data:`` = the
  ``AlertRaisedV1`` JSON; a comment line every ``sse_keepalive_s``; ``event: overflow`` then
  the end of the stream when the client fell more than 1,000 alerts behind (reconnect and read
  the inbox). Each alert sent is an audited read.
- ``GET /members/{member_id}/encounters``: a member's encounters (audited; 404 outside scope).
- ``POST /ingest/adt``: HTTP ingest, the same gateway as MLLP. An HL7 body (``text/plain``,
  ``application/hl7-v2``) is answered with the ACK message: 200 accepted (AA/CA, also for a
  duplicate), 422 refused (AE/AR with ERR), 413 too large (AR 207), 503 not stored (AE 207:
  Kafka did not confirm; send again). A JSON ADT body (``application/json``) is answered with a
  JSON status: 202 accepted, 200 duplicate, 422 with the reason, 503 when Kafka is down.
  Allowed to admins and the feed users named by ``INGEST_USERS`` (default ``feed.adt``).
- ``GET /feeds/quirks[?facility=]``: the feed-quirks report (admins and ops): per sending
  facility, messages accepted / refused / resent, warnings by field and kind, refusal reasons.
- ``/metrics``, ``/healthz`` (database, alert stream tailing Kafka).

The schema step runs (idempotently) when the app is created.
"""

# No "from __future__ import annotations": FastAPI resolves the Annotated aliases defined
# inside create_api() at definition time.
import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from typing import Annotated, Literal

from fastapi import Depends, FastAPI, HTTPException, Query, Request, Response, status
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from shared.audit import record_access
from shared.auth import User, authenticator, load_directory
from shared.http import install_error_handlers, ops_router

from . import queries, schemas
from .adapters.feed_quirks import QuirkTally, SqlFeedReport
from .adapters.database import open_database
from .adapters.dedupe import WriteBehindDedupe
from .adapters.tables import audit_log
from .alert_stream import OVERFLOW, AlertTail
from .ingest import build_gateway, ingest_producer
from .mllp.gateway import refused_too_large
from .settings import AdmissionsSettings

HL7_TYPES = frozenset({"text/plain", "application/hl7-v2", "x-application/hl7-v2+er7", "application/edi-hl7",
                       "application/x-hl7"})


def create_api(settings: AdmissionsSettings) -> FastAPI:
    db = open_database(settings.resolved_database_url())
    directory = load_directory(settings.users_file, settings.environment)
    tail = AlertTail(settings)
    ingest_users = settings.ingest_user_ids()
    parts: dict = {}

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        producer = ingest_producer(settings, "admissions-api")
        dedupe = WriteBehindDedupe(db, capacity=min(settings.dedupe_memory_entries, 100_000),
                                   retention_days=settings.dedupe_retention_days)
        await dedupe.start()
        tally = QuirkTally(db, settings.quirks_flush_s)
        await tally.start()
        parts["gateway"] = build_gateway(settings, producer, dedupe, "http", quirks=tally)
        tail.start(asyncio.get_running_loop())
        try:
            yield
        finally:
            tail.stop()
            await dedupe.close()
            await tally.close()
            await asyncio.to_thread(producer.close, 5.0)
            db.dispose()

    app = FastAPI(title="Admissions", version="1", lifespan=lifespan,
                  description="Census, hospitalist alert inbox and stream, encounters, HTTP ingest of ADT.")
    install_error_handlers(app)
    app.include_router(ops_router("admissions", "api", lambda: {"db": db.ping(), "alert_stream": tail.ready}))
    from .web.hospitalist_pages import hospitalist_router  # the hospitalist's alerts page (issue 14)
    app.include_router(hospitalist_router(settings, db, directory, tail))

    def session() -> Iterator[Session]:
        with db.transaction() as s:
            yield s

    CurrentUser = Annotated[User, Depends(authenticator(directory))]
    SessionDep = Annotated[Session, Depends(session)]

    def staff(user: CurrentUser) -> User:
        if not user.has("admin", "ops", "hospitalist", *queries.POD_ROLES):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "no admissions role")
        return user

    def inbox_user(user: CurrentUser) -> User:
        if not user.has("admin", "hospitalist", "supervisor"):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "requires role: admin or hospitalist or supervisor")
        return user

    def feed(user: CurrentUser) -> User:
        if not (user.has("admin") or user.id in ingest_users):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "requires an ADT feed user or admin")
        return user

    Staff = Annotated[User, Depends(staff)]
    InboxUser = Annotated[User, Depends(inbox_user)]
    FeedUser = Annotated[User, Depends(feed)]

    def audit(s: Session, user: User, member_ids, endpoint: str, action: str = "read", detail: str | None = None):
        record_access(s, audit_log, user_id=user.id, role=user.primary_role, member_ids=member_ids, action=action,
                      endpoint=endpoint, detail=detail)

    # ------------------------------------------------------------------ census
    @app.get("/census/facilities", response_model=list[schemas.FacilityCensus], tags=["census"],
             summary="Attributed members in house, by facility")
    def census_facilities(_user: Staff, s: SessionDep):
        return [{"facility": f, "inpatients": n} for f, n in queries.census_by_facility(s)]

    @app.get("/census/practices", response_model=list[schemas.PracticeCensus], tags=["census"],
             summary="Attributed members in house, by primary care practice and facility")
    def census_practices(_user: Staff, s: SessionDep):
        return [{"practice_id": p, "total": sum(f.values()), "facilities": f}
                for p, f in queries.census_by_practice(s).items()]

    @app.get("/census/facilities/{facility}/members", response_model=list[schemas.CensusMember], tags=["census"],
             summary="Who is in house at a facility (members in the caller's scope; audited)")
    def census_members(facility: str, user: Staff, s: SessionDep):
        scope = queries.scope_of(user)
        if scope.empty:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "no member scope (groups or pods)")
        rows = queries.census_members(s, facility, scope)
        audit(s, user, [r["member_id"] for r in rows], "/census/facilities/{facility}/members")
        return rows

    # ------------------------------------------------------------------ alerts
    @app.get("/alerts", response_model=list[schemas.Alert], tags=["alerts"],
             summary="Alert inbox: hospitalists see their groups' alerts only (audited)")
    def inbox(user: InboxUser, s: SessionDep,
              status_: Annotated[Literal["open", "acknowledged", "retracted", "all"], Query(alias="status")] = "open",
              group: Annotated[str | None, Query(max_length=64)] = None,
              limit: Annotated[int, Query(ge=1, le=500)] = 100,
              before: datetime | None = None):
        rows = queries.alert_inbox(s, queries.scope_of(user), status=status_, group=group, limit=limit, before=before)
        audit(s, user, [r["member_id"] for r in rows], "/alerts")
        return rows

    @app.post("/alerts/{alert_id}/acknowledge", response_model=schemas.Alert, tags=["alerts"],
              summary="Acknowledge an alert (the first acknowledgment is kept)")
    def acknowledge(alert_id: str, user: InboxUser, s: SessionDep):
        row = queries.get_alert(s, alert_id)
        if row is None or not queries.scope_of(user).allows(row["hospitalist_group"], row["pod"]):
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no such alert")
        queries.acknowledge(s, alert_id, user.id, datetime.now(timezone.utc))
        audit(s, user, [row["member_id"]], "/alerts/{alert_id}/acknowledge", action="write", detail="acknowledge")
        return queries.get_alert(s, alert_id)

    @app.get("/alerts/stream", tags=["alerts"], response_class=StreamingResponse,
             summary="Server-Sent Events: new alerts for the caller's hospitalist groups",
             responses={200: {"content": {"text/event-stream": {}}}})
    async def alert_stream(user: CurrentUser, group: Annotated[str | None, Query(max_length=64)] = None):
        if not user.has("admin", "hospitalist"):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "requires role: admin or hospitalist")
        scope = queries.scope_of(user)
        if group is not None and not scope.everything and group not in scope.groups:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "not one of your hospitalist groups")
        groups = scope.groups

        def accepts(alert) -> bool:
            return (group is None or alert.hospitalist_group == group) and (
                scope.everything or alert.hospitalist_group in groups)

        sub = tail.subscribe(accepts)

        def audit_sent(member_id: str) -> None:
            with db.transaction() as s:
                audit(s, user, [member_id], "/alerts/stream")

        async def events() -> AsyncIterator[str]:
            try:
                yield "retry: 3000\n: connected\n\n"
                while True:
                    try:
                        item = await asyncio.wait_for(sub.queue.get(), settings.sse_keepalive_s)
                    except asyncio.TimeoutError:
                        yield ": keepalive\n\n"
                        continue
                    if item is OVERFLOW:
                        yield "event: overflow\ndata: {}\n\n"
                        return
                    await asyncio.to_thread(audit_sent, item.member_id)
                    yield f"id: {item.alert_id}\nevent: alert.raised\ndata: {item.model_dump_json()}\n\n"
            finally:
                tail.unsubscribe(sub)

        return StreamingResponse(events(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    # ------------------------------------------------------------------ members
    @app.get("/members/{member_id}/encounters", response_model=list[schemas.Encounter], tags=["members"],
             summary="A member's encounters, newest first (audited)")
    def encounters(member_id: str, user: Staff, s: SessionDep):
        where = queries.member_scope_row(s, member_id)
        if where is None or not queries.scope_of(user).allows(*where):
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no such member in your scope")
        rows = queries.member_encounters(s, member_id)
        audit(s, user, [member_id], "/members/{member_id}/encounters")
        return rows

    # ------------------------------------------------------------------ feeds
    def ops(user: CurrentUser) -> User:
        if not user.has("admin", "ops"):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "requires role: admin or ops")
        return user

    OpsUser = Annotated[User, Depends(ops)]

    @app.get("/feeds/quirks", response_model=list[schemas.FeedQuirks], tags=["feeds"],
             summary="Per sending facility: messages accepted, refused and resent, warnings by field and kind, "
                     "refusal reasons (no patient data)")
    def feed_quirks(_user: OpsUser, s: SessionDep,
                    facility: Annotated[str | None, Query(max_length=64)] = None):
        return SqlFeedReport(s).report(facility)

    # ------------------------------------------------------------------ ingest
    @app.post("/ingest/adt", tags=["ingest"], summary="HTTP ingest of one ADT message (HL7 v2 text or JSON)",
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
        gateway = parts["gateway"]
        if ctype == "application/json":
            if size > limit:
                raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, f"larger than {limit} bytes")
            result = await gateway.handle_json(body, source="http")
            return Response(result.body(), status_code=result.http_status, media_type="application/json")
        if size > limit:
            nak = await gateway.refuse(body, refused_too_large(limit))
            return Response(nak.answer.data, status_code=413, media_type="application/hl7-v2")
        result = await gateway.handle(body)
        answer = result.answer  # the application ACK when MSH-16 asked for one: it carries the verdict
        code = 200 if answer.accepted else (422 if result.issues else 503)
        return Response(answer.data, status_code=code, media_type="application/hl7-v2")

    return app


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
