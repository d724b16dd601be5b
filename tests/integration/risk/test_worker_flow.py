"""The risk worker as a user starts it (a subprocess), on the real broker and PostgreSQL: facts in
on five topics, tier changes out on risk.tiers (keyed by member), the risk view and the ED
evidence served by the API from the same database; a batch redelivered changes nothing."""

from __future__ import annotations

import json
from datetime import date, datetime

import httpx
import pytest
from sqlalchemy import create_engine, text

from services.risk.settings import RiskSettings
from shared.codec import decode
from shared.events import RiskTierChangedV1
from shared.kafka import EventProducer
from tests.support.procs import free_port, read_topic, start_process, wait_for
from tests.unit.risk import events as ev

AS_OF = "2026-03-12"


@pytest.fixture
def platform(kafka_topics, pg_url, tmp_path):
    settings = kafka_topics
    env = {"KAFKA_BOOTSTRAP": settings.kafka_bootstrap, "TOPIC_PREFIX": settings.topic_prefix,
           "DATABASE_URL": pg_url, "AS_OF": AS_OF, "WORKER_WITHIN_S": "0.05"}
    wport, aport = free_port(), free_port()
    worker = start_process("risk", "worker", {**env, "WORKER_PORT": str(wport)}, tmp_path, http_port=wport)
    api = start_process("risk", "api", {**env, "API_PORT": str(aport)}, tmp_path, http_port=aport)
    try:
        worker.wait_healthy(60)
        api.wait_healthy(60)
        yield RiskSettings(**{**settings.model_dump(), "database_url": pg_url}), api
    finally:
        api.stop()
        worker.stop()


def rows(settings, sql, **params):
    engine = create_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql), params).all()
    finally:
        engine.dispose()


def test_claims_and_encounters_become_a_tier_change_on_the_compacted_topic_and_an_explained_view(platform):
    settings, api = platform
    m, other = ev.member("W"), ev.member("W")
    producer = EventProducer(settings, client_id="test")
    try:
        producer.send_sync([ev.roster(m, tier="low"), ev.roster(other, tier="moderate", contract="GR-2026")])
        wait_for(lambda: rows(settings, "SELECT count(*) FROM risk_assessments")[0][0] == 2, 60, what="two scored")
        claim = ev.office_claim(m, ("E1122", "I5022", "J449", "N184"), date(2026, 2, 20), claim_id="CLM-W1")
        batch = [claim, ev.ed_alert(m, datetime(2026, 2, 3, 21, 15, tzinfo=ev.CHI)),
                 ev.ed_claim(m, ("M545",), date(2026, 2, 3)),
                 ev.office_claim(other, ("E1122", "I5022", "J449", "N184"), date(2026, 2, 20))]
        producer.send_sync(batch)
        wait_for(lambda: rows(settings, "SELECT computed_tier FROM risk_assessments WHERE member_id = :m",
                              m=m)[0][0] == "high", 60, what="member re-scored")
        producer.send_sync(batch)   # redelivered: deduplicated, nothing new published
    finally:
        producer.close()

    msgs = read_topic(settings, settings.topic("risk.tiers"), expect=1, settle=3.0)
    assert [mm.key() for mm in msgs] == [m.encode()], "one change, keyed by the member; GR-2026 keeps its roster tier"
    e = decode(msgs[0].value(), msgs[0].headers(), (RiskTierChangedV1,))
    assert (e.old_tier, e.new_tier, e.effective_date) == ("low", "high", date(2026, 4, 1))
    assert e.utilization.ed_visits_12m == 1 and {h.hcc for h in e.hccs} == {"37", "226", "280", "327"}

    base = f"http://127.0.0.1:{api.http_port}"
    nurse, ops = {"X-API-Key": "dev-nurse-east1"}, {"X-API-Key": "dev-ops"}
    view = httpx.get(f"{base}/members/{m}/risk", headers=nurse).json()
    heart = next(h for h in view["score"]["hccs"] if h["hcc"] == "226")
    assert heart["coefficient"] == 0.36 and heart["diagnoses"][0]["claim_id"] == "CLM-W1"
    assert view["tier"]["computed"] == "high" and "first match of" in view["tier"]["rule"]
    fragment = httpx.get(f"{base}/members/{m}/risk/fragment", headers=nurse).text
    assert "Heart Failure" in fragment and "CLM-W1" in fragment
    assert httpx.get(f"{base}/members/{m}/risk").status_code == 401
    audit = rows(settings, "SELECT user_id, endpoint FROM audit_log WHERE member_id = :m", m=m)
    assert ("nurse.east1", "/members/{id}/risk") in [tuple(r) for r in audit]

    evidence = httpx.get(f"{base}/ed-evidence", headers=ops).json()
    (row,) = [r for r in evidence["rows"] if r["practice_id"] == "P001"]
    # 21:15 on a Tuesday in February: P001 before its program (2026-07-01) closed at 17:00
    assert (row["visits"], row["closed_hours"], row["from_both"], row["avoidable"]) == (1, 1, 1, 1)
    csv_text = httpx.get(f"{base}/ed-evidence.csv", headers=ops).text
    assert csv_text.splitlines()[0].startswith("practice_id,month,period,visits")
    assert "P001,2026-02,before,1,0,1,0,1.0,1,1.0,1,0,0,0,1" in csv_text
    assert httpx.get(f"{base}/ed-evidence", headers=nurse).status_code == 403
    processed = rows(settings, "SELECT count(*) FROM processed_events WHERE consumer = 'risk.scores'")[0][0]
    assert processed == 6
    assert json.loads(json.dumps(view))  # the view is plain JSON
