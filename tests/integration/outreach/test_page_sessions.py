"""The nurse page's login, signed session, CSRF and logout, in-process (the browser test drives
the happy path through the real processes)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from services.outreach.api import create_api
from services.outreach.settings import OutreachSettings
from services.outreach.web.page_kit import SESSION_COOKIE
from shared.auth import DEV_USERS_FILE

from . import events as ev
from .conftest import OutreachEnv
from .fakes import RecordingProducer


@pytest.fixture
def page(tmp_path):
    url = f"sqlite:///{tmp_path}/page.db"
    settings = OutreachSettings(environment="test", database_url=url)
    app = create_api(settings, producer=RecordingProducer())
    env = OutreachEnv(settings, url, None, None, tmp_path)  # type: ignore[arg-type]
    m = ev.member("PG")
    env.seed([ev.roster(m), ev.gap_opened(m)], users_file=DEV_USERS_FILE)
    with TestClient(app, base_url="http://testserver") as client:
        yield client


def login(client: TestClient, key: str):
    form = client.get("/login")
    token = re.search(r'name="login_token" value="([^"]+)"', form.text).group(1)
    return client.post("/login", data={"api_key": key, "login_token": token}, follow_redirects=False)


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_login_sets_a_signed_httponly_session_that_is_not_the_key(page):
    answer = login(page, "dev-nurse-east1")
    assert answer.status_code == 303 and answer.headers["location"] == "/queue"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=") and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "dev-nurse-east1" not in cookie
    queue = page.get("/queue")
    assert queue.status_code == 200 and "My queue" in queue.text
    assert queue.headers["content-security-policy"].startswith("default-src 'self'")


def test_wrong_key_expired_form_and_ops_users_are_refused(page):
    assert login(page, "nope").status_code == 401
    assert page.post("/login", data={"api_key": "dev-nurse-east1", "login_token": "forged"}).status_code == 403
    assert login(page, "dev-ops").status_code == 403


def test_a_forged_or_tampered_cookie_is_not_a_session(page):
    login(page, "dev-nurse-east1")
    good = page.cookies[SESSION_COOKIE]
    payload, mac = good.split(".")
    page.cookies.clear()
    page.cookies.set(SESSION_COOKIE, "dev-nurse-east1")  # the raw key is not a session
    assert page.get("/queue", follow_redirects=False).headers["location"] == "/login"
    page.cookies.set(SESSION_COOKIE, f"{payload}x.{mac}")
    assert page.get("/queue", follow_redirects=False).headers["location"] == "/login"


def test_forms_need_the_sessions_csrf_token(page):
    login(page, "dev-nurse-east1")
    assert page.post("/queue/claim-next", data={}).status_code == 403
    assert page.post("/queue/claim-next", data={"csrf_token": "x" * 43}).status_code == 403
    token = csrf_of(page.get("/queue").text)
    claimed = page.post("/queue/claim-next", data={"csrf_token": token}, follow_redirects=False)
    assert claimed.status_code == 303 and claimed.headers["location"].endswith("?m=claimed")


def test_bad_form_input_is_shown_on_the_page_not_a_500(page):
    login(page, "dev-nurse-east1")
    token = csrf_of(page.get("/queue").text)
    task_url = page.post("/queue/claim-next", data={"csrf_token": token}, follow_redirects=False).headers["location"]
    task_path = task_url.split("?")[0]
    answer = page.post(f"{task_path}/attempt", data={"csrf_token": token, "expected_version": "2",
                                                     "channel": "pigeon", "outcome": "reached"})
    assert answer.status_code == 422 and "Please check the form" in answer.text
    stale = page.post(f"{task_path}/attempt", data={"csrf_token": token, "expected_version": "1",
                                                    "channel": "phone", "outcome": "reached"})
    assert stale.status_code == 409 and "Someone else changed this task" in stale.text
    assert page.post("/tasks/not-a-task/claim", data={"csrf_token": token, "expected_version": "1"}
                     ).status_code == 404


def test_logout_ends_the_session_even_for_a_copied_cookie(page):
    login(page, "dev-nurse-east1")
    copied = page.cookies[SESSION_COOKIE]
    token = csrf_of(page.get("/queue").text)
    bye = page.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert bye.status_code == 303 and bye.headers["location"] == "/login?m=bye"
    page.cookies.set(SESSION_COOKIE, copied)
    assert page.get("/queue", follow_redirects=False).headers["location"] == "/login"


def test_a_supervisor_sees_her_pods_queues_and_reassigns_a_task(page):
    assert login(page, "dev-supervisor-east").headers["location"] == "/queue"
    overview = page.get("/queue")  # supervisors land on the overview
    assert overview.url.path == "/supervisor" and "quality_nurse:pod-east" in overview.text
    assert "pod-west" not in overview.text
    listing = page.get("/queues/quality_nurse:pod-east")
    assert listing.status_code == 200
    task_path = re.search(r'href="(/tasks/[0-9a-f-]+)"', listing.text).group(1)
    detail = page.get(task_path)
    assert "Reassign" in detail.text and "Record an attempt" not in detail.text
    before = re.search(r'<option value="(nurse\.east\d)"', detail.text).group(1)
    moved = page.post(f"{task_path}/reassign", data={"csrf_token": csrf_of(detail.text), "expected_version": "1",
                                                    "assignee": before}, follow_redirects=True)
    assert moved.status_code == 200 and "Task reassigned." in moved.text
    assert page.get("/queues/quality_nurse:pod-west").status_code == 403
