"""The member's risk view on the nurse's task page, with the real services: the risk worker and
API, the outreach worker and API as processes, on the real broker and PostgreSQL (a database
each). The risk service scores a claim's diagnoses and publishes the tier change on risk.tiers;
the nurse's task page shows the risk API's explanation (the HCC, its coefficient, the claim that
gave it, utilization, the rule), asked on her behalf and audited by both services under her;
another pod's nurse gets no task and the risk service is never asked; with the risk API down the
page still renders, from the tier change outreach kept from risk.tiers, labelled."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.support import infra
from tests.support.procs import wait_for

from . import risk_platform as rp


@pytest.fixture
def platform(kafka_topics, pg_url, postgres_server_url, tmp_path):
    databases = infra.Databases(postgres_server_url)
    # never a cached or stale answer here: each page asks the risk API (tests/unit/outreach/test_risk_view.py
    # covers the cache); a failed call is retried by the next page at once
    p = rp.start(kafka_topics, pg_url, databases.new(), tmp_path, RISK_VIEW_FRESH_S="0", RISK_VIEW_STALE_S="0",
                 RISK_VIEW_RETRY_S="0")
    try:
        yield p
    finally:
        p.stop()
        databases.drop_all()


def logged_in(base: str, key: str) -> httpx.Client:
    client = httpx.Client(base_url=base, follow_redirects=False, timeout=30)
    form = client.get("/login")
    token = re.search(r'name="login_token" value="([^"]+)"', form.text).group(1)
    assert client.post("/login", data={"api_key": key, "login_token": token}).status_code == 303
    return client


def metric(base: str, name: str, labels: str) -> float:
    for line in httpx.get(f"{base}/metrics").text.splitlines():
        if line.startswith(f"{name}{{{labels}}} "):
            return float(line.split()[-1])
    return 0.0


def test_the_nurse_sees_the_risk_services_explanation_on_her_behalf_and_the_page_outlives_the_risk_api(platform):
    east, west = rp.seed(platform, claim_id="CLM-RV1")
    nurse = logged_in(platform.base, "dev-nurse-east1")

    page = nurse.get(f"/tasks/{rp.task_of(platform, east)}")
    assert page.status_code == 200
    view = page.text[page.text.index('id="risk-view"'):]
    assert "From the risk service, now." in view
    assert "Risk: low (computed high)" in view, "the roster's tier holds until the change takes effect"
    assert re.search(r"<td>226</td><td>Heart Failure[^<]*</td><td class=\"num\">0\.360</td>\s*<td>I5022 \(CLM-RV1, ", view)
    assert "ED visits in 12 months: <strong>0</strong>" in view and "Rule: " in view
    assert rp.rows(platform.risk_db, "SELECT user_id, detail FROM audit_log WHERE member_id = :m", m=east) == [
        ("nurse.east1", "risk view (via service.outreach)")]
    shown = rp.rows(platform.outreach_db, "SELECT user_id, detail FROM audit_log WHERE member_id = :m AND detail "
                                          "LIKE 'risk view%'", m=east)
    assert shown == [("nurse.east1", f"risk view (live) on task {rp.task_of(platform, east)}")]

    other_pod = nurse.get(f"/tasks/{rp.task_of(platform, west)}")
    assert other_pod.status_code == 404 and 'id="risk-view"' not in other_pod.text
    assert rp.rows(platform.risk_db, "SELECT count(*) FROM audit_log WHERE member_id = :m", m=west) == [(0,)], \
        "the risk service is asked only for a task the nurse may see"

    platform.risk_api.stop()
    wait_for(lambda: not platform.risk_api.alive(), 30, what="the risk API stopped")
    down = nurse.get(f"/tasks/{rp.task_of(platform, east)}")
    assert down.status_code == 200 and "Priority" in down.text, "the task page renders without the risk API"
    view = down.text[down.text.index('id="risk-view"'):]
    assert "The risk service does not answer right now. This is its last tier change for the member: " \
           "low &rarr; high" in view
    assert re.search(r"<td>226</td><td>Heart Failure[^<]*</td><td class=\"num\">0\.360</td><td>I5022</td><td>CLM-RV1</td>",
                     view)
    assert "Rule: " in view
    assert ("nurse.east1", f"risk view (last_change) on task {rp.task_of(platform, east)}") in rp.rows(
        platform.outreach_db, "SELECT user_id, detail FROM audit_log WHERE member_id = :m", m=east)
    assert metric(platform.base, "outreach_risk_views_total", 'source="live"') == 1
    assert metric(platform.base, "outreach_risk_views_total", 'source="unavailable"') == 1
    nurse.close()
