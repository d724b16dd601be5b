"""A member uses the portal in a real browser (headless Chromium through Playwright) on a phone
and on a desktop, and every page passes an automated accessibility scan (axe-core, shipped in
the ``axe-playwright-python`` package: no download) with no serious or critical violation.

The worker and the API run as processes on the real broker and PostgreSQL; the member's data
comes from events on Kafka. Screenshots go to the test's tmp_path and var/screenshots/.
Needs Debian's chromium (``./ccp test`` installs it) or CHROMIUM_PATH; never downloads one.
"""

from __future__ import annotations

import json
import shutil
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from services.portal.domain.signin import dev_signin_code
from services.portal.settings import PortalSettings
from shared.kafka import EventProducer
from tests.support.browser import ARGS, chromium_path
from tests.support.procs import REPO, free_port, start_process, wait_for
from tests.unit.portal import events as ev

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
BLOCKING = ("serious", "critical")


@pytest.fixture
def portal(kafka_topics, pg_url, tmp_path):
    settings = kafka_topics
    env = {"KAFKA_BOOTSTRAP": settings.kafka_bootstrap, "TOPIC_PREFIX": settings.topic_prefix,
           "DATABASE_URL": pg_url, "ENVIRONMENT": "test", "WORKER_WITHIN_S": "0.02"}
    worker_port, api_port = free_port(), free_port()
    worker = start_process("portal", "worker", {**env, "WORKER_PORT": str(worker_port)}, tmp_path,
                           http_port=worker_port)
    api = start_process("portal", "api", {**env, "API_PORT": str(api_port)}, tmp_path, http_port=api_port)
    try:
        worker.wait_healthy(60)
        api.wait_healthy(60)
        yield PortalSettings(**{**settings.model_dump(), "database_url": pg_url}), api
    finally:
        api.stop()
        worker.stop()


def _seed(settings: PortalSettings, member: str) -> None:
    now = datetime.now(timezone.utc)
    today = now.astimezone(settings.tz).date()
    producer = EventProducer(settings, client_id="e2e-portal")
    try:
        producer.send_sync([ev.roster(member, at=now - timedelta(days=60), given="Clara")])
        wait_for(lambda: _count(settings, "SELECT count(*) FROM portal_members") == 1, 30, what="roster projected")
        producer.send_sync([
            ev.gap_opened(member, "CMS125", at=now - timedelta(days=10), due=today + timedelta(days=20)),
            ev.gap_opened(member, "FUP", at=now - timedelta(days=3), due=today + timedelta(days=4)),
            ev.alert(member, at=now - timedelta(days=8), key="MERCY|VE2E"),
            ev.discharge(member, at=now - timedelta(days=3), key="MERCY|VE2E", admitted=now - timedelta(days=8)),
            ev.task(member, kind="tcm", at=now - timedelta(days=3), due=today + timedelta(days=1)),
            ev.task(member, kind="gap", reason_key="CMS125", status="scheduled", at=now - timedelta(days=1),
                    appointment=today + timedelta(days=6)),
        ])
    finally:
        producer.close()
    wait_for(lambda: _count(settings, "SELECT count(*) FROM portal_tasks") == 2
             and _count(settings, "SELECT count(*) FROM portal_gaps") == 2, 30, what="events projected")


def _scan(page, name: str, found: dict) -> None:
    from axe_playwright_python.sync_playwright import Axe

    result = Axe().run(page)
    violations = result.response["violations"]
    found[name] = [{"id": v["id"], "impact": v["impact"], "nodes": len(v["nodes"]), "help": v["help"]}
                   for v in violations]
    blocking = [v for v in violations if v["impact"] in BLOCKING]
    assert not blocking, f"{name}: " + "; ".join(f"{v['id']} ({v['impact']}): {v['help']} — "
                                                 f"{[n['target'] for n in v['nodes']][:3]}" for v in blocking)


def test_a_member_on_a_phone_and_a_desktop_reads_writes_and_every_page_passes_axe(portal, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    settings, api = portal
    base = f"http://127.0.0.1:{api.http_port}"
    member = f"ME2E{uuid.uuid4().hex[:6].upper()}"
    _seed(settings, member)
    shots = tmp_path / "screenshots"
    shots.mkdir()
    findings: dict = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=ARGS)
        try:
            for device, options in (("phone", PHONE), ("desktop", DESKTOP)):
                context = browser.new_context(**options)
                page = context.new_page()
                page.goto(f"{base}/")
                expect(page).to_have_url(f"{base}/signin")
                expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
                _scan(page, f"{device}/signin", findings)
                page.get_by_label("Member ID").fill(member.lower())
                page.get_by_label("Sign-in code").fill(dev_signin_code(member))
                page.get_by_role("button", name="Sign in").click()

                expect(page.get_by_role("heading", name="Hello, Clara")).to_be_visible()
                expect(page.locator("#health")).to_contain_text("Schedule a mammogram.")
                expect(page.locator("#health")).to_contain_text("Book a visit with your doctor")
                expect(page.locator("#plan")).to_contain_text("A nurse will call you")
                expect(page.locator("#upcoming")).to_contain_text("Breast cancer screening")
                expect(page.locator("#visits")).to_contain_text("Hospital stay at")
                if device == "phone":   # one column: nothing wider than the screen
                    width = page.evaluate("document.documentElement.scrollWidth")
                    assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"
                page.screenshot(path=str(shots / f"portal-home-{device}.png"), full_page=True)
                _scan(page, f"{device}/home", findings)

                page.get_by_role("link", name="Messages").click()
                expect(page.get_by_role("heading", name="Messages", exact=True)).to_be_visible()
                _scan(page, f"{device}/messages", findings)
                page.get_by_label("What is it about?").select_option("appointment")
                page.get_by_label("Subject").fill(f"Help booking ({device})")
                page.get_by_label("Your message").fill("Can someone help me book the follow-up visit?")
                page.get_by_role("button", name="Send message").click()
                expect(page.get_by_role("status")).to_have_text("Your message was sent. Your care team will answer here.")
                expect(page.locator("#thread-status")).to_have_text("Waiting for your care team")
                page.screenshot(path=str(shots / f"portal-thread-{device}.png"), full_page=True)
                _scan(page, f"{device}/thread", findings)

                page.get_by_role("button", name="Sign out").click()
                expect(page.get_by_role("status")).to_have_text("You are signed out.")
                page.goto(f"{base}/messages")
                expect(page).to_have_url(f"{base}/signin")
                context.close()
        finally:
            browser.close()

    (tmp_path / "axe-findings.json").write_text(json.dumps(findings, indent=1))
    out = REPO / "var" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    for shot in shots.iterdir():
        shutil.copyfile(shot, out / shot.name)
    assert _count(settings, "SELECT count(*) FROM portal_messages") == 2
    assert _count(settings, "SELECT count(*) FROM audit_log WHERE action = 'read'") >= 6


def _count(settings: PortalSettings, sql: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            try:
                return conn.execute(text(sql)).scalar()
            except Exception:  # noqa: BLE001 - the tables appear when the processes have started
                return -1
    finally:
        engine.dispose()
