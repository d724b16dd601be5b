"""A nurse works her queue in a real browser (headless Chromium through Playwright).

The worker and the API run as processes, tasks come from events on Kafka, the page is what
the API process serves: log in with the API key, see the queue with due dates and overdue
marks, claim next, read why the task exists and its priority, record an attempt, complete,
log out. Screenshots go to the test's tmp_path and to var/screenshots/nurse-page.png.

Needs Debian's chromium (``./ccp test`` installs it) or CHROMIUM_PATH; never downloads one.
"""

from __future__ import annotations

import shutil
from datetime import timedelta

import pytest

from services.outreach.settings import OutreachSettings
from shared.kafka import EventProducer
from tests.integration.outreach import events as ev
from tests.support.browser import ARGS, chromium_path  # noqa: F401 - ARGS, chromium_path also used from here
from tests.support.procs import REPO, free_port, start_process, wait_for


@pytest.fixture
def platform(kafka_topics, pg_url, tmp_path):
    settings = kafka_topics
    env = {"KAFKA_BOOTSTRAP": settings.kafka_bootstrap, "TOPIC_PREFIX": settings.topic_prefix,
           "DATABASE_URL": pg_url, "ENVIRONMENT": "test"}
    worker_port, api_port = free_port(), free_port()
    worker = start_process("outreach", "worker", {**env, "WORKER_PORT": str(worker_port)}, tmp_path,
                           http_port=worker_port)
    api = start_process("outreach", "api", {**env, "API_PORT": str(api_port)}, tmp_path, http_port=api_port)
    try:
        worker.wait_healthy(60)
        api.wait_healthy(60)
        yield OutreachSettings(**{**settings.model_dump(), "database_url": pg_url}), api
    finally:
        api.stop()
        worker.stop()


def test_a_nurse_logs_in_claims_records_an_attempt_and_completes(platform, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    settings, api = platform
    base = f"http://127.0.0.1:{api.http_port}"
    m = ev.member("PAGE")
    month_ago = ev.now() - timedelta(days=30)
    producer = EventProducer(settings, client_id="e2e")
    try:
        producer.send_sync([ev.roster(m, at=month_ago - timedelta(days=1))])
        wait_for(lambda: _count(settings, "SELECT count(*) FROM member_profiles") == 1, 30, what="roster stored")
        producer.send_sync([
            ev.gap_opened(m, "CMS130"),
            ev.gap_opened(m, "CMS122", at=month_ago, reason="most recent HbA1c 9.4% on 2026-02-11"),
        ])
    finally:
        producer.close()
    wait_for(lambda: _count(settings, "SELECT count(*) FROM tasks") == 2, 30, what="two tasks from the events")

    shots = tmp_path / "screenshots"
    shots.mkdir()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        try:
            page.goto(f"{base}/queue")
            expect(page).to_have_url(f"{base}/login")
            page.get_by_label("API key").fill("dev-nurse-east1")
            page.get_by_role("button", name="Log in").click()
            expect(page.get_by_role("heading", name="My queue")).to_be_visible()
            cookie = next(c for c in page.context.cookies() if c["name"] == "ccp_session")
            assert cookie["httpOnly"] and "dev-nurse-east1" not in cookie["value"]

            waiting = page.locator("#waiting tbody tr")
            expect(waiting).to_have_count(2)
            # highest priority first: the overdue HbA1c task, flagged
            expect(waiting.first).to_contain_text("HbA1c above 9%")
            expect(waiting.first.locator(".badge.overdue")).to_have_text("Overdue")
            expect(waiting.nth(1)).to_contain_text("business days left")
            page.screenshot(path=str(shots / "queue.png"), full_page=True)

            page.get_by_role("button", name="Claim next task").click()
            expect(page.get_by_role("status")).to_have_text("Task claimed. It is yours now.")
            expect(page.locator("#task-status")).to_have_text("Claimed")
            expect(page.locator("#why")).to_contain_text("most recent HbA1c 9.4%")
            expect(page.locator("#priority")).to_contain_text("overdue since")
            expect(page.locator("#open-gaps li")).to_have_count(2)

            page.get_by_label("How").select_option("phone")
            page.get_by_label("Outcome", exact=True).select_option("reached")
            page.locator("#attempt-note").fill("Spoke with the member; lab order sent")
            page.get_by_role("button", name="Record attempt").click()
            expect(page.get_by_role("status")).to_have_text("Attempt recorded.")
            expect(page.locator("#task-status")).to_have_text("In progress")
            expect(page.locator("#history")).to_contain_text("Reached the member")
            page.screenshot(path=str(shots / "nurse-page.png"), full_page=True)

            page.locator("#complete-outcome").fill("HbA1c test booked")
            page.get_by_role("button", name="Complete").click()
            expect(page.get_by_role("status")).to_have_text("Task completed.")
            expect(page.locator("#working")).to_have_count(0)  # she holds nothing now
            expect(page.locator("#waiting tbody tr")).to_have_count(1)

            page.get_by_role("button", name="Log out").click()
            expect(page.get_by_role("status")).to_have_text("You are logged out.")
            page.goto(f"{base}/queue")
            expect(page).to_have_url(f"{base}/login")
        finally:
            browser.close()

    out = REPO / "var" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shots / "nurse-page.png", out / "nurse-page.png")
    assert (out / "nurse-page.png").stat().st_size > 10_000
    assert _count(settings, "SELECT count(*) FROM tasks WHERE status = 'done'") == 1
    assert _count(settings, "SELECT count(*) FROM audit_log WHERE endpoint LIKE 'PAGE %'") >= 4


def _count(settings: OutreachSettings, sql: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            try:
                return conn.execute(text(sql)).scalar()
            except Exception:  # noqa: BLE001 - the tables appear when the worker has started
                return -1
    finally:
        engine.dispose()

