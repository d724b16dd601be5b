"""The JSON API of subscriptions and the delivery log (``subscriptions_router``), and the caller
as an ``Actor`` (``actor_dependency``, shared with ``fhir.py``).

- ``GET /topics``: what can be subscribed to (codes, FHIR canonicals, channels).
- ``POST /subscriptions`` (ops/admin): webhook, davinci, mllp (and fhir-rest-hook; FHIR clients
  use ``/fhir/Subscription``). A webhook's signing secret is in the answer, once.
- ``GET /subscriptions``, ``GET /subscriptions/{id}``: admins/ops see all; a practice's user the
  subscriptions of her practices; a hospitalist those of her groups.
- ``PATCH`` (``expected_version``; 409 when it changed), ``DELETE``, ``POST …/rotate-secret``
  (the old secret keeps signing for ``ROTATION_OVERLAP_H``), ``POST …/reactivate`` (after an
  error: the owed deliveries resume), ``POST …/redeliver`` (dead letters owed again).
- The delivery log: ``GET …/status`` (backlog, oldest undelivered, success rate, last error),
  ``…/deliveries?state=``, ``…/attempts``, ``GET /events/{event_id}/attempts``.
"""

# No "from __future__ import annotations": FastAPI resolves the Annotated aliases at definition time.
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, status

from shared.auth import User

from ..app.subscriptions import Conflict, Invalid, NotAllowed, NotFound, Subscriptions
from ..domain import topics as t
from ..domain.access import Actor
from .schemas import SubscriptionIn, SubscriptionOut, SubscriptionPatch

CLEARABLE = frozenset({"end", "heartbeat_period_s", "hl7"})


def actor_of(user: User) -> Actor:
    return Actor(id=user.id, roles=frozenset(user.roles), practices=frozenset(user.practices),
                 hospitalist_groups=frozenset(user.hospitalist_groups), pods=frozenset(user.pods))


def actor_dependency(current_user: Callable) -> Callable[..., Actor]:
    """The caller as an ``Actor``; 403 when she has no notifications role or scope."""

    def actor_dep(user: Annotated[User, Depends(current_user)]) -> Actor:
        actor = actor_of(user)
        if not actor.has_scope:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "no notifications role or scope")
        return actor

    return actor_dep


def subscriptions_router(*, subs: Subscriptions, log, actor_dep: Callable[..., Actor], settings) -> APIRouter:
    """``log`` is the delivery log's reads (``adapters.subscriptions_sql.DeliveryLog``)."""
    router = APIRouter()
    ActorDep = Annotated[Actor, Depends(actor_dep)]

    def now() -> datetime:
        return datetime.now(timezone.utc)

    def guarded(fn):
        try:
            return fn()
        except NotFound:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no such subscription") from None
        except NotAllowed as exc:
            raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from None
        except Conflict:
            raise HTTPException(status.HTTP_409_CONFLICT, "the subscription changed: read it again") from None
        except Invalid as exc:
            raise HTTPException(422, str(exc)) from None

    @router.get("/topics", tags=["subscriptions"], summary="The topics, their FHIR canonicals and channels")
    def topics(_actor: ActorDep):
        return [{"code": d.code, "title": d.title, "canonical": t.canonical(d.code, settings.fhir_canonical_base),
                 "focus": d.focus, "source": d.source, "channels": list(d.channels)} for d in t.TOPICS.values()]

    @router.post("/subscriptions", tags=["subscriptions"], status_code=201, response_model=SubscriptionOut,
                 summary="Create a subscription (ops/admin); a webhook's secret is returned once")
    def create(body: SubscriptionIn, actor: ActorDep):
        spec = body.model_dump(exclude={"headers", "retry", "filters", "hl7"})
        spec.update(retry=body.retry.values(), filters=body.filters.model_dump(),
                    hl7=body.hl7.model_dump() if body.hl7 else None)
        sub, secret = guarded(lambda: subs.create(actor, spec, now(), headers=body.headers))
        return SubscriptionOut.of(sub, secret)

    @router.get("/subscriptions", tags=["subscriptions"], response_model=list[SubscriptionOut],
                summary="The subscriptions you may see")
    def listing(actor: ActorDep):
        return [SubscriptionOut.of(s) for s in subs.list(actor)]

    @router.get("/subscriptions/{sub_id}", tags=["subscriptions"], response_model=SubscriptionOut)
    def read(sub_id: str, actor: ActorDep):
        return SubscriptionOut.of(guarded(lambda: subs.visible(actor, sub_id)))

    @router.patch("/subscriptions/{sub_id}", tags=["subscriptions"], response_model=SubscriptionOut,
                  summary="Change a subscription (ops/admin; expected_version, 409 if it changed)")
    def patch(sub_id: str, body: SubscriptionPatch, actor: ActorDep):
        changes = body.model_dump(exclude_unset=True, exclude={"expected_version", "headers"})
        # null clears what may be absent (end, heartbeat, HL7 options); for the rest it means "unchanged"
        changes = {k: v for k, v in changes.items() if v is not None or k in CLEARABLE}
        if body.retry is not None:
            changes["retry"] = body.retry.values()
        return SubscriptionOut.of(guarded(lambda: subs.update(actor, sub_id, changes, body.expected_version, now(),
                                                              headers=body.headers)))

    @router.delete("/subscriptions/{sub_id}", tags=["subscriptions"], status_code=204)
    def delete(sub_id: str, actor: ActorDep):
        guarded(lambda: subs.delete(actor, sub_id))

    @router.post("/subscriptions/{sub_id}/rotate-secret", tags=["subscriptions"], response_model=SubscriptionOut,
                 summary="New webhook secret; the old one keeps signing during the overlap")
    def rotate(sub_id: str, actor: ActorDep):
        secret = guarded(lambda: subs.rotate_secret(actor, sub_id, now()))
        return SubscriptionOut.of(guarded(lambda: subs.visible(actor, sub_id)), secret)

    @router.post("/subscriptions/{sub_id}/reactivate", tags=["subscriptions"], response_model=SubscriptionOut,
                 summary="After an error: active again (FHIR: requested, a new handshake); owed deliveries resume")
    def reactivate(sub_id: str, actor: ActorDep):
        return SubscriptionOut.of(guarded(lambda: subs.reactivate(actor, sub_id, now())))

    @router.post("/subscriptions/{sub_id}/redeliver", tags=["subscriptions"],
                 summary="Dead-lettered deliveries owed again (same ids)")
    def redeliver(sub_id: str, actor: ActorDep):
        return {"requeued": guarded(lambda: subs.redeliver(actor, sub_id, now()))}

    @router.get("/subscriptions/{sub_id}/status", tags=["delivery log"],
                summary="Backlog, oldest undelivered age, success rate, latency, last error")
    def sub_status(sub_id: str, actor: ActorDep):
        sub = guarded(lambda: subs.visible(actor, sub_id))
        return {"id": sub.id, "status": sub.status, "status_reason": sub.status_reason,
                "events_count": sub.events_count, **log.stats(sub_id, now())}

    @router.get("/subscriptions/{sub_id}/deliveries", tags=["delivery log"])
    def deliveries(sub_id: str, actor: ActorDep,
                   state: Annotated[Literal["pending", "delivered", "dead"] | None, Query()] = None,
                   after: Annotated[int | None, Query(ge=0, description="event number")] = None,
                   limit: Annotated[int, Query(ge=1, le=1000)] = 100):
        guarded(lambda: subs.visible(actor, sub_id))
        return log.deliveries(sub_id, state, limit, after)

    @router.get("/subscriptions/{sub_id}/attempts", tags=["delivery log"])
    def sub_attempts(sub_id: str, actor: ActorDep, event_id: Annotated[str | None, Query(max_length=36)] = None,
                     limit: Annotated[int, Query(ge=1, le=1000)] = 100):
        guarded(lambda: subs.visible(actor, sub_id))
        return log.attempts(sub_id=sub_id, event_id=event_id, limit=limit)

    @router.get("/events/{event_id}/attempts", tags=["delivery log"],
                summary="Every attempt to deliver one event, across the subscriptions you may see")
    def event_attempts(event_id: str, actor: ActorDep, limit: Annotated[int, Query(ge=1, le=1000)] = 200):
        visible = {s.id for s in subs.list(actor)}
        return [a for a in log.attempts(event_id=event_id[:36], limit=limit) if a["subscription_id"] in visible]

    return router
