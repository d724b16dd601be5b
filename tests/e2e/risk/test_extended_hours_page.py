"""A supervisor reads the extended-hours evidence in a real browser (headless Chromium).

The risk worker and API run as processes; ED visits come as events on Kafka (ADT alerts and ED
claims); the page is what the API serves: sign in with the API key, the before/after table with
counts, one chart per practice drawn by the vendored Chart.js (no request leaves the platform),
the CSV export, sign out. Screenshot: var/screenshots/extended-hours.png.
"""

from __future__ import annotations

import shutil
from datetime import date, datetime

import pytest

from shared.kafka import EventProducer
from tests.support.browser import ARGS, chromium_path
from tests.support.procs import REPO, free_port, start_process, wait_for
from tests.unit.risk import events as ev


@pytest.fixture
def platform(kafka_topics, pg_url, tmp_path):
    settings = kafka_topics
    env = {"KAFKA_BOOTSTRAP": settings.kafka_bootstrap, "TOPIC_PREFIX": settings.topic_prefix,
           "DATABASE_URL": pg_url, "ENVIRONMENT": "test", "AS_OF": "2026-11-30", "WORKER_WITHIN_S": "0.05"}
    wport, aport = free_port(), free_port()
    worker = start_process("risk", "worker", {**env, "WORKER_PORT": str(wport)}, tmp_path, http_port=wport)
    api = start_process("risk", "api", {**env, "API_PORT": str(aport)}, tmp_path, http_port=aport)
    try:
        worker.wait_healthy(60)
        api.wait_healthy(60)
        yield settings, pg_url, api
    finally:
        api.stop()
        worker.stop()


def test_a_supervisor_signs_in_and_sees_before_and_after_counts_charts_and_the_csv(platform, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    settings, pg_url, api = platform
    base = f"http://127.0.0.1:{api.http_port}"
    a, b = ev.member("PG"), ev.member("PG")
    CHI = ev.CHI
    visits = [
        # P001's program starts 2026-07-01 (to 20:00 Mon-Thu, Saturday 09-13); before: 08-17 weekdays
        ev.ed_alert(a, datetime(2026, 6, 3, 18, 30, tzinfo=CHI), dx="J06.9"),   # before, closed, new slot, URI at 46
        ev.ed_alert(a, datetime(2026, 6, 4, 10, 0, tzinfo=CHI)),                # before, open
        ev.ed_alert(b, datetime(2026, 7, 8, 18, 30, tzinfo=CHI)),               # after, open (18:30 < 20:00)
        ev.ed_alert(b, datetime(2026, 7, 8, 20, 1, tzinfo=CHI), dx="M54.5"),    # after, closed
        ev.ed_claim(b, ("M545",), date(2026, 7, 12)),                           # Sunday: closed all day
    ]
    producer = EventProducer(settings, client_id="e2e")
    try:
        producer.send_sync([ev.roster(a, born=date(1980, 5, 1)), ev.roster(b)])
        producer.send_sync(visits)
    finally:
        producer.close()
    wait_for(lambda: _count(pg_url, "SELECT count(*) FROM risk_encounters") == 4 and
             _count(pg_url, "SELECT count(*) FROM risk_claims") == 1, 60, what="visits stored")

    shots = tmp_path / "shots"
    shots.mkdir()
    outside: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1000}, accept_downloads=True)
        page.on("request", lambda r: r.url.startswith(base) or outside.append(r.url))
        try:
            page.goto(f"{base}/ops/extended-hours")
            expect(page).to_have_url(f"{base}/login?next=/ops/extended-hours")
            page.get_by_label("API key").fill("dev-nurse-east1")
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_role("alert")).to_contain_text("supervisors and operations")
            page.get_by_label("API key").fill("dev-supervisor-east")
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_role("heading", level=1)).to_contain_text("Extended hours")

            before = page.locator('#summary tr[data-practice="P001"][data-period="before"] td')
            after = page.locator('#summary tr[data-practice="P001"][data-period="after"] td')
            # Practice, start, period, visits, closed, open, unknown, closed share, in slots, avoidable, share
            expect(before).to_have_text(["P001", "2026-07-01", "before", "2", "1", "1", "0", "50%", "1", "1", "50%"])
            expect(after).to_have_text(["P001", "2026-07-01", "after", "3", "2", "1", "0", "67%", "1", "2", "67%"])
            expect(page.locator("body")).to_have_attribute("data-charts-ready", "1")
            chart = page.locator('figure.chart[data-practice="P001"]')
            expect(chart.locator("figcaption")).to_have_text("P001 — extended hours from 2026-07-01")
            assert chart.locator("canvas").bounding_box()["height"] > 100
            page.screenshot(path=str(shots / "extended-hours.png"), full_page=True)

            with page.expect_download() as dl:
                page.get_by_role("link", name="Download CSV").click()
            text = open(dl.value.path()).read()
            assert "P001,2026-06,before,2,1,1,0,0.5,1,0.5,1,1,2,0,0" in text.replace("\r", "")

            page.get_by_role("button", name="Sign out").click()
            expect(page).to_have_url(f"{base}/login")
            page.goto(f"{base}/ops/extended-hours")
            expect(page).to_have_url(f"{base}/login?next=/ops/extended-hours")
        finally:
            browser.close()
    assert outside == [], f"the page fetched from outside the platform: {outside}"
    out = REPO / "var" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shots / "extended-hours.png", out / "extended-hours.png")


def _count(url: str, sql: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            try:
                return conn.execute(text(sql)).scalar()
            except Exception:  # noqa: BLE001 - the tables appear when the worker has started
                return -1
    finally:
        engine.dispose()
