"""A hospitalist works her alerts in a real browser (headless Chromium through Playwright).

The admissions worker and API run as processes; admissions arrive as ADT events on Kafka and
become alerts; the page is what the API process serves: log in with the API key, see the group's
open alerts newest first, watch a new admission arrive live (Server-Sent Events, no reload),
acknowledge one, open the member's recent encounters. Another group's alert never shows.

Needs Debian's chromium (``./ccp test`` installs it) or CHROMIUM_PATH; never downloads one.
"""

from __future__ import annotations

import pytest

from services.admissions.settings import AdmissionsSettings
from shared.kafka import EventProducer
from tests.e2e.outreach.test_outreach_nurse_page import ARGS, chromium_path
from tests.integration.notifications import events as ev
from tests.support.procs import free_port, start_process, wait_for


@pytest.fixture
def admissions(kafka_topics, pg_url, tmp_path):
    settings = kafka_topics
    env = {"KAFKA_BOOTSTRAP": settings.kafka_bootstrap, "TOPIC_PREFIX": settings.topic_prefix,
           "DATABASE_URL": pg_url, "ENVIRONMENT": "test", "SSE_KEEPALIVE_S": "2"}
    worker_port, api_port = free_port(), free_port()
    worker = start_process("admissions", "worker", {**env, "WORKER_PORT": str(worker_port)}, tmp_path,
                           http_port=worker_port)
    api = start_process("admissions", "api", {**env, "API_PORT": str(api_port)}, tmp_path, http_port=api_port)
    try:
        worker.wait_healthy(60)
        api.wait_healthy(60)
        yield AdmissionsSettings(**{**settings.model_dump(), "database_url": pg_url}), api
    finally:
        api.stop()
        worker.stop()


def _count(settings, sql: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar()
    finally:
        engine.dispose()


def test_a_hospitalist_sees_her_groups_alerts_live_acknowledges_and_reads_encounters(admissions, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    settings, api = admissions
    base = f"http://127.0.0.1:{api.http_port}"
    first, second, elsewhere = ev.member(), ev.member(), ev.member()
    producer = EventProducer(settings, client_id="e2e-hospitalist")
    try:
        producer.send_sync([ev.roster(first, mrn="F" + first[-7:]), ev.roster(second, mrn="S" + second[-7:]),
                            ev.roster(elsewhere, mrn="E" + elsewhere[-7:], group="HG-SOUTH")])
        wait_for(lambda: _count(settings, "SELECT count(*) FROM members") == 3, 30, what="rosters stored")
        producer.send_sync([ev.adt(first, mrn="F" + first[-7:]), ev.adt(elsewhere, mrn="E" + elsewhere[-7:])])
        wait_for(lambda: _count(settings, "SELECT count(*) FROM alerts") == 2, 30, what="two alerts raised")

        shots = tmp_path / "screenshots"
        shots.mkdir()
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium_path(), args=ARGS)
            page = browser.new_page(viewport={"width": 1300, "height": 900})
            try:
                page.goto(f"{base}/hospitalist")
                expect(page).to_have_url(f"{base}/hospitalist/login")
                page.get_by_label("API key").fill("dev-nurse-east1")
                page.get_by_role("button", name="Log in").click()
                expect(page.get_by_role("alert")).to_have_text("This page is for hospitalists.")
                page.get_by_label("API key").fill("dev-hospitalist-hg-north")
                page.get_by_role("button", name="Log in").click()
                expect(page.get_by_role("heading", name="Open alerts (1)")).to_be_visible()
                cookie = next(c for c in page.context.cookies() if c["name"] == "ccp_hsession")
                assert cookie["httpOnly"] and "dev-hospitalist" not in cookie["value"]
                rows = page.locator("#alerts tbody tr")
                expect(rows).to_have_count(1)
                expect(rows.first).to_contain_text(first)
                expect(rows.first).to_contain_text("Admitted")
                expect(page.locator("#alerts")).not_to_contain_text(elsewhere)
                expect(page.locator("#live")).to_have_text("Live")

                producer.send_sync([ev.adt(second, mrn="S" + second[-7:])])  # arrives while the page is open
                expect(rows).to_have_count(2, timeout=30_000)
                expect(rows.first).to_contain_text(second)
                expect(rows.first).to_have_class("is-new")
                expect(page.locator("#alert-count")).to_have_text("2")
                page.screenshot(path=str(shots / "hospitalist-page.png"), full_page=True)

                rows.filter(has_text=first).get_by_role("button", name="Acknowledge").click()
                expect(page.get_by_role("status").first).to_have_text("Alert acknowledged.")
                expect(rows).to_have_count(1)
                expect(rows.first).to_contain_text(second)

                page.get_by_role("link", name=second).click()
                expect(page.get_by_role("heading", name=f"Member {second}: recent encounters")).to_be_visible()
                expect(page.locator("#encounters tbody tr")).to_have_count(1)
                expect(page.locator("#encounters")).to_contain_text("MERCY")
                page.goto(f"{base}/hospitalist/members/{elsewhere}")
                expect(page.get_by_role("alert")).to_have_text("Member not found in your groups.")
                page.goto(f"{base}/hospitalist")
                page.get_by_role("button", name="Log out").click()
                expect(page.get_by_role("status")).to_have_text("You are logged out.")
                page.goto(f"{base}/hospitalist")
                expect(page).to_have_url(f"{base}/hospitalist/login")
            finally:
                browser.close()
    finally:
        producer.close()
    assert _count(settings, "SELECT count(*) FROM alerts WHERE acknowledged_by = 'hospitalist.hg-north'") == 1
    assert _count(settings, "SELECT count(*) FROM audit_log WHERE endpoint LIKE 'PAGE%%hospitalist%%'") >= 3
