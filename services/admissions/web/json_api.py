"""The admissions JSON API (``app/queries.py`` behind it):

- ``GET /census/facilities``, ``GET /census/practices``: counts of attributed members in house
  (no member data); ``GET /census/facilities/{facility}/members``: who (audited, scoped).
- ``GET /alerts``: the alert inbox — hospitalists see their groups' alerts only, supervisors
  their pods', admins all; ``POST /alerts/{id}/acknowledge``. Audited.
- ``GET /alerts/stream``: Server-Sent Events, one ``alert.raised`` event per new alert for the
  caller's hospitalist groups (``?group=`` narrows it; ``web/sse.py``). Each alert sent is an
  audited read.
- ``GET /members/{member_id}/encounters``: a member's encounters (audited; 404 outside scope).
- ``GET /feeds/quirks[?facility=]``: the feed-quirks report (admins and ops): per sending
  facility, messages accepted / refused / resent, warnings by field and kind, refusal reasons.

(``POST /ingest/adt``, the HTTP front door of the intake, is in ``ingest.py``.)
"""

# No "from __future__ import annotations": FastAPI resolves the Annotated aliases defined
# inside json_router() at definition time.
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, status
from fastapi.responses import StreamingResponse

from shared.auth import User, UserDirectory, authenticator

from ..app.alert_feed import AlertFeed
from ..app.queries import NoMemberScope, NotFound, Reads
from ..app.scope import POD_ROLES, scope_of
from . import schemas
from .sse import alert_stream as sse_stream


def json_router(reads: Reads, directory: UserDirectory, feed: AlertFeed, *, keepalive_s: float) -> APIRouter:
    router = APIRouter()
    CurrentUser = Annotated[User, Depends(authenticator(directory))]

    def staff(user: CurrentUser) -> User:
        if not user.has("admin", "ops", "hospitalist", *POD_ROLES):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "no admissions role")
        return user

    def inbox_user(user: CurrentUser) -> User:
        if not user.has("admin", "hospitalist", "supervisor"):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "requires role: admin or hospitalist or supervisor")
        return user

    def ops(user: CurrentUser) -> User:
        if not user.has("admin", "ops"):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "requires role: admin or ops")
        return user

    Staff = Annotated[User, Depends(staff)]
    InboxUser = Annotated[User, Depends(inbox_user)]
    OpsUser = Annotated[User, Depends(ops)]

    # ------------------------------------------------------------------ census
    @router.get("/census/facilities", response_model=list[schemas.FacilityCensus], tags=["census"],
                summary="Attributed members in house, by facility")
    def census_facilities(_user: Staff):
        return [{"facility": f, "inpatients": n} for f, n in reads.census_by_facility()]

    @router.get("/census/practices", response_model=list[schemas.PracticeCensus], tags=["census"],
                summary="Attributed members in house, by primary care practice and facility")
    def census_practices(_user: Staff):
        return [{"practice_id": p, "total": sum(f.values()), "facilities": f}
                for p, f in reads.census_by_practice().items()]

    @router.get("/census/facilities/{facility}/members", response_model=list[schemas.CensusMember], tags=["census"],
                summary="Who is in house at a facility (members in the caller's scope; audited)")
    def census_members(facility: str, user: Staff):
        try:
            return reads.census_members(user, facility, "/census/facilities/{facility}/members")
        except NoMemberScope as exc:
            raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from None

    # ------------------------------------------------------------------ alerts
    @router.get("/alerts", response_model=list[schemas.Alert], tags=["alerts"],
                summary="Alert inbox: hospitalists see their groups' alerts only (audited)")
    def inbox(user: InboxUser,
              status_: Annotated[Literal["open", "acknowledged", "retracted", "all"], Query(alias="status")] = "open",
              group: Annotated[str | None, Query(max_length=64)] = None,
              limit: Annotated[int, Query(ge=1, le=500)] = 100,
              before: datetime | None = None):
        return reads.inbox(user, "/alerts", status=status_, group=group, limit=limit, before=before)

    @router.post("/alerts/{alert_id}/acknowledge", response_model=schemas.Alert, tags=["alerts"],
                 summary="Acknowledge an alert (the first acknowledgment is kept)")
    def acknowledge(alert_id: str, user: InboxUser):
        try:
            return reads.acknowledge(user, alert_id, "/alerts/{alert_id}/acknowledge")
        except NotFound as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None

    @router.get("/alerts/stream", tags=["alerts"], response_class=StreamingResponse,
                summary="Server-Sent Events: new alerts for the caller's hospitalist groups",
                responses={200: {"content": {"text/event-stream": {}}}})
    async def alert_stream(user: CurrentUser, group: Annotated[str | None, Query(max_length=64)] = None):
        if not user.has("admin", "hospitalist"):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "requires role: admin or hospitalist")
        scope = scope_of(user)
        if group is not None and not scope.everything and group not in scope.groups:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "not one of your hospitalist groups")
        groups = scope.groups

        def accepts(alert) -> bool:
            return (group is None or alert.hospitalist_group == group) and (
                scope.everything or alert.hospitalist_group in groups)

        sub = feed.subscribe(accepts)
        return sse_stream(feed, sub, keepalive_s, lambda member_id: reads.alert_sent(user, member_id, "/alerts/stream"))

    # ------------------------------------------------------------------ members
    @router.get("/members/{member_id}/encounters", response_model=list[schemas.Encounter], tags=["members"],
                summary="A member's encounters, newest first (audited)")
    def encounters(member_id: str, user: Staff):
        try:
            return reads.member_encounters(user, member_id, "/members/{member_id}/encounters")
        except NotFound as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None

    # ------------------------------------------------------------------ feeds
    @router.get("/feeds/quirks", response_model=list[schemas.FeedQuirks], tags=["feeds"],
                summary="Per sending facility: messages accepted, refused and resent, warnings by field and kind, "
                        "refusal reasons (no patient data)")
    def feed_quirks(_user: OpsUser, facility: Annotated[str | None, Query(max_length=64)] = None):
        return reads.feed_quirks(facility)

    return router

