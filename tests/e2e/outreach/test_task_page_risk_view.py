"""The nurse reads the member's risk view on her task page in a real browser (headless Chromium),
with the risk and outreach workers and APIs running as processes on the real broker and
PostgreSQL: the conditions (HCCs) with the diagnoses and the claim that gave them, coefficients,
utilization, the tier and its rule; then the risk API stops and the page still opens, showing the
risk service's last answer, labelled. Screenshot: var/screenshots/task-risk-view.png.
"""

from __future__ import annotations

import re
import shutil

import pytest

from tests.integration.outreach import risk_platform as rp
from tests.support import infra
from tests.support.browser import ARGS, chromium_path, log_in_with_key
from tests.support.procs import REPO, wait_for

BLOCKING = ("serious", "critical")


@pytest.fixture
def platform(kafka_topics, pg_url, postgres_server_url, tmp_path):
    databases = infra.Databases(postgres_server_url)
    p = rp.start(kafka_topics, pg_url, databases.new(), tmp_path, RISK_VIEW_FRESH_S="1", RISK_VIEW_RETRY_S="0")
    try:
        yield p
    finally:
        p.stop()
        databases.drop_all()


def test_the_nurse_reads_the_members_risk_view_on_her_task_page_and_it_survives_the_risk_api(platform, tmp_path):
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import expect, sync_playwright

    east, _west = rp.seed(platform, claim_id="CLM-E2E1")
    base = platform.base
    shots = tmp_path / "shots"
    shots.mkdir()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        try:
            log_in_with_key(page, base, "/queue", "dev-nurse-east1")
            expect(page.locator("#waiting tbody tr")).to_have_count(1)
            page.locator("#waiting tbody tr a").first.click()

            risk = page.locator("#risk-view")
            expect(risk.get_by_role("heading", level=2)).to_have_text("Risk: low (computed high)")
            expect(page.locator("#risk-source")).to_have_text("From the risk service, now.")
            heart = risk.locator("table.hccs tr", has_text="Heart Failure")
            expect(heart.locator("td")).to_have_text(["226", "Heart Failure, Except End-Stage and Acute", "0.360",
                                                      re.compile(r"^I5022 \(CLM-E2E1, \d{4}-\d{2}-\d{2}\)$")])
            expect(risk.locator("ul.utilization li")).to_have_count(4)
            expect(risk.locator(".rule")).to_contain_text("MMO-2026: first match of")
            page.screenshot(path=str(shots / "task-risk-view.png"), full_page=True)
            violations = [v for v in Axe().run(page).response["violations"] if v["impact"] in BLOCKING]
            assert not violations, [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in violations]

            platform.risk_api.stop()

            def shows_stale() -> bool:
                page.reload()
                return "does not answer" in page.locator("#risk-source").inner_text()

            wait_for(shows_stale, 30, interval=0.5, what="the page labelling the risk service's last answer")
            expect(page.locator("#risk-source")).to_contain_text(
                "The risk service does not answer right now; this is what it said at ")
            expect(risk.locator("table.hccs tr", has_text="Heart Failure")).to_contain_text("CLM-E2E1")
            expect(page.locator("#task-status")).to_have_text("Open")  # the rest of the page as before
        finally:
            browser.close()
    out = REPO / "var" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shots / "task-risk-view.png", out / "task-risk-view.png")
