"""The member's risk view on the task page, without HTTP or a database: the cache in front of the
risk API (fresh, stale while it does not answer, not asked again for a while after a failure,
bounded), the risk API client's reading of answers (through httpx's mock transport: the wire is
tested against the real risk API in tests/integration/outreach/test_task_page_risk_view.py), and
the use case (asked only for a task the nurse may see, the latest tier change from risk.tiers
when the risk service does not answer, every view shown audited under her)."""

from __future__ import annotations

import json
from datetime import date, timedelta

import httpx
import pytest

from services.outreach.adapters.risk_api import BAD_ANSWER, NO_ANSWER, REFUSED, CachedRiskViews, Fetched, RiskApi
from services.outreach.app.actors import Actor
from services.outreach.app.ports import RiskLookup
from services.outreach.app.queries import Queries
from services.outreach.app.risk_view import MemberRisk
from services.outreach.app.staff import Staff
from services.outreach.settings import OutreachSettings
from shared.auth import UserDirectory
from tests.integration.outreach import events as ev
from tests.integration.outreach.test_risk_tiers import tier_event

from .fakes import Store, apply_batch, factory

CTX = OutreachSettings(environment="test").decision_context()
VIEW = {"member_id": "M1", "tier": {"computed": "high", "in_force": "high", "authority": "computed", "reasons": [],
                                    "rule": "r"}}


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


class Risk:
    """The risk service behind the port: answers, or fails, and counts the calls."""

    def __init__(self) -> None:
        self.up = True
        self.calls: list[tuple[str, str]] = []

    def fetch(self, member_id: str, on_behalf_of: str) -> Fetched:
        self.calls.append((member_id, on_behalf_of))
        if not self.up:
            return Fetched("error", problem=NO_ANSWER)
        if member_id == "GONE":
            return Fetched("not_found")
        return Fetched("ok", {**VIEW, "member_id": member_id})


def cached(risk: Risk, clock: Clock, **kw) -> CachedRiskViews:
    return CachedRiskViews(risk.fetch, fresh_s=kw.get("fresh_s", 60), stale_s=kw.get("stale_s", 900),
                           retry_s=kw.get("retry_s", 15), max_members=kw.get("max_members", 100), clock=clock)


def test_a_view_is_asked_once_then_served_fresh_then_asked_again():
    risk, clock = Risk(), Clock()
    views = cached(risk, clock)
    assert views.view("M1", "nurse.east1").source == "live"
    clock.t += 59
    assert views.view("M1", "nurse.east2").source == "cached" and len(risk.calls) == 1
    clock.t += 2
    assert views.view("M1", "nurse.east1").source == "live" and len(risk.calls) == 2
    assert risk.calls[0] == ("M1", "nurse.east1"), "asked on behalf of the nurse who opened the task"


def test_while_the_risk_service_does_not_answer_its_last_answer_is_shown_labelled_then_nothing():
    risk, clock = Risk(), Clock()
    views = cached(risk, clock, stale_s=300, retry_s=15)
    views.view("M1", "n")
    risk.up = False
    clock.t += 100
    stale = views.view("M1", "n")
    assert (stale.source, stale.problem) == ("stale", NO_ANSWER) and stale.view["member_id"] == "M1"
    assert views.view("M2", "n").source == "unavailable"
    assert len(risk.calls) == 2, "after a failure the next pages do not wait on the risk service"
    clock.t += 16
    views.view("M2", "n")
    assert len(risk.calls) == 3, "asked again once the retry interval passed"
    clock.t += 300
    assert views.view("M1", "n").source == "unavailable", "too old to show"
    risk.up = True
    clock.t += 16
    assert views.view("M1", "n").source == "live"


def test_a_member_without_an_assessment_is_not_kept_and_the_cache_is_bounded():
    risk, clock = Risk(), Clock()
    views = cached(risk, clock, max_members=2)
    assert views.view("GONE", "n").source == "not_found"
    assert views.view("GONE", "n").source == "not_found" and len(risk.calls) == 2
    for m in ("A", "B", "C"):
        views.view(m, "n")
    assert views.view("C", "n").source == "cached" and views.view("A", "n").source == "live", "A was dropped"


def answer(status: int, body) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["x-api-key"] == "svc-key" and request.headers["x-on-behalf-of"] == "nurse.east1"
        assert request.url.raw_path == b"/members/M%2F1/risk"
        return httpx.Response(status, content=body if isinstance(body, bytes) else json.dumps(body).encode())
    return httpx.MockTransport(handler)


@pytest.mark.parametrize("status, body, outcome, problem", [
    (200, {**VIEW, "member_id": "M/1", "utilization": [{"signal": "ed_visits", "label": "ED", "value": 2}]},
     "ok", None),
    (404, {"detail": "no risk assessment"}, "not_found", None),
    (403, {"detail": "requires role"}, "error", REFUSED),
    (503, b"", "error", NO_ANSWER),
    (200, b"<html>", "error", BAD_ANSWER),
    (200, {"member_id": "M/1"}, "error", BAD_ANSWER),
    (200, {**VIEW, "member_id": "OTHER"}, "error", BAD_ANSWER),
])
def test_the_risk_api_client_reads_only_a_well_formed_answer_for_the_member_asked(status, body, outcome, problem):
    api = RiskApi("http://risk.test", "svc-key", timeout_s=1, transport=answer(status, body))
    got = api.fetch("M/1", "nurse.east1")
    assert (got.outcome, got.problem) == (outcome, problem)
    if outcome == "ok":
        assert got.view["tier"]["in_force"] == "high" and got.view["utilization"][0]["value"] == 2


def test_the_risk_api_client_calls_no_answer_a_connection_refused():
    def refuse(request):
        raise httpx.ConnectError("refused")
    api = RiskApi("http://risk.test", "k", timeout_s=1, transport=httpx.MockTransport(refuse))
    assert api.fetch("M1", "n") == Fetched("error", problem=NO_ANSWER)


# ---------------------------------------------------------------------- the use case
class Views:
    def __init__(self, lookup: RiskLookup) -> None:
        self.lookup = lookup
        self.asked: list[tuple[str, str]] = []

    def view(self, member_id: str, on_behalf_of: str) -> RiskLookup:
        self.asked.append((member_id, on_behalf_of))
        return self.lookup


@pytest.fixture
def world():
    store, staff = Store(), Staff(UserDirectory.load(None))
    m = ev.member("RV")
    apply_batch(store, CTX, staff, [ev.roster(m), ev.gap_opened(m)])
    (task,) = store.tasks.values()
    return store, staff, m, task


def nurse(staff: Staff, user_id: str) -> Actor:
    user = staff.directory.get(user_id)
    return Actor(user, staff.of(user))


def test_the_view_is_asked_for_the_nurse_and_audited_with_its_source(world):
    store, staff, m, task = world
    who = nurse(staff, "nurse.east1")
    detail = Queries(factory(store), staff, CTX).task_detail(who, task.task_id, "PAGE GET /tasks/{task_id}")
    views = Views(RiskLookup("live", {**VIEW, "member_id": m}))
    panel = MemberRisk(factory(store), views).for_task(who, detail, "PAGE GET /tasks/{task_id}")
    assert panel.source == "live" and views.asked == [(m, "nurse.east1")]
    assert store.audit[-1]["user_id"] == "nurse.east1" and store.audit[-1]["member_id"] == m
    assert store.audit[-1]["detail"] == f"risk view (live) on task {task.task_id}"


def test_without_an_answer_the_latest_tier_change_from_risk_tiers_is_shown_and_audited(world):
    store, staff, m, task = world
    who = nurse(staff, "nurse.east1")
    queries = Queries(factory(store), staff, CTX)
    detail = queries.task_detail(who, task.task_id, "e")
    empty = MemberRisk(factory(store), Views(RiskLookup("unavailable", problem=NO_ANSWER))).for_task(who, detail, "e")
    assert (empty.source, empty.last_change, empty.problem) == ("none", None, NO_ANSWER)
    assert "risk view" not in (store.audit[-1]["detail"] or ""), "nothing shown, nothing audited"
    today = date.today()
    apply_batch(store, CTX, staff, [tier_event(m, [(today - timedelta(days=3), "complex")])])
    panel = MemberRisk(factory(store), Views(RiskLookup("unavailable", problem=NO_ANSWER))).for_task(who, detail, "e")
    assert panel.source == "last_change" and panel.last_change["new_tier"] == "complex"
    assert panel.last_change["utilization"]["ed_visits_12m"] == 2 and panel.last_change["rule"] == "test"
    assert store.audit[-1]["detail"] == f"risk view (last_change) on task {task.task_id}"

