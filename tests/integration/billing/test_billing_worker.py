"""The billing worker and API as processes on the real broker and PostgreSQL: events in →
ledger entries on billing.accruals and in the database; statements through the API;
redelivery; a void after close; and the invariant — replaying every input topic from the
beginning into an empty ledger reproduces the live balances to the cent."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import date

import httpx
import pytest
from sqlalchemy import create_engine, text

from shared.codec import decode
from shared.kafka import EventProducer
from tests.support.procs import REPO, free_port, read_topic, start_process, wait_for

from .billing_inputs import claim, gap, roster

ADMIN = {"X-API-Key": "dev-admin"}


def send(settings, events) -> None:
    async def go():
        producer = EventProducer(settings, client_id="billing-it")
        try:
            for e in events:
                await producer.send(e)
        finally:
            producer.close()

    asyncio.run(go())


def entries(engine) -> list:
    with engine.connect() as conn:
        try:
            return conn.execute(text(
                "SELECT entry_id, contract_id, period, posted_period, account, member_id, rule, amount_cents, "
                "adjustment, source_event_id FROM ledger_entries ORDER BY seq")).fetchall()
        except Exception:  # noqa: BLE001 - the worker has not created the schema yet
            conn.rollback()
            return []


@pytest.fixture
def billing(kafka_topics, pg_url, tmp_path):
    settings = kafka_topics
    env = {"KAFKA_BOOTSTRAP": settings.kafka_bootstrap, "TOPIC_PREFIX": settings.topic_prefix,
           "DATABASE_URL": pg_url, "OPEN_MONTH_POLICY": "fixed", "OPEN_MONTH": "2026-04",
           "ESTIMATE_INTERVAL_S": "0.2", "WORKER_PORT": str(free_port()), "API_PORT": str(free_port())}
    worker = start_process("billing", "worker", env, tmp_path, http_port=int(env["WORKER_PORT"]))
    api = start_process("billing", "api", env, tmp_path, http_port=int(env["API_PORT"]))
    engine = create_engine(pg_url)
    try:
        worker.wait_healthy(90)
        api.wait_healthy(60)
        yield settings, env, engine, f"http://127.0.0.1:{env['API_PORT']}", worker
    finally:
        for p in (worker, api):
            p.stop()
        engine.dispose()


def test_events_through_the_worker_post_the_ledger_and_replay_to_the_cent(billing):
    settings, env, engine, base, worker = billing
    history = ((date(2026, 1, 1), "MMO-2026", "moderate"), (date(2026, 3, 1), "MMO-2026", "high"))
    inputs = [
        roster("M1", tier="moderate"),
        roster("M1", tier="high", on=date(2026, 3, 1), history=history),  # the compacted topic keeps this one
        roster("M2", contract_id="GR-2026", tier="low", start=date(2026, 2, 15)),
        claim("M1", "C1", (("99214", date(2026, 2, 10), "150.00"),)),
        claim("M2", "C2", (("99213", date(2026, 3, 3), "120.00"), ("93458", date(2026, 3, 3), "3000.00"))),
        gap("M1", "CMS130", "closed", date(2026, 3, 5)),
    ]
    send(settings, inputs)
    # M1: Jan–Feb moderate 17.00, Mar–Apr high 30.00; C1 150.00 in Feb. M2 (GR: no fees): C2 cost + carve-out.
    # Bonus: CMS130 1/1 → the 0.70 level, $1.00 × 1 member month in March and in April.
    expected = {
        ("2026-01", "pmpm_fee", "M1", "pmpm:moderate"): 1700, ("2026-02", "pmpm_fee", "M1", "pmpm:moderate"): 1700,
        ("2026-03", "pmpm_fee", "M1", "pmpm:high"): 3000, ("2026-04", "pmpm_fee", "M1", "pmpm:high"): 3000,
        ("2026-02", "cost_of_care", "M1", "claim:C1"): 15000,
        ("2026-03", "cost_of_care", "M2", "claim:C2"): 12000,
        ("2026-03", "carve_out", "M2", "claim:C2:cardiac_catheterization"): 300000,
        ("2026-03", "bonus_estimate", None, "bonus:colorectal-screening"): 100,
        ("2026-04", "bonus_estimate", None, "bonus:colorectal-screening"): 100,
    }

    def nets():
        out: dict = {}
        for r in entries(engine):
            k = (r.period, r.account, r.member_id, r.rule)
            out[k] = out.get(k, 0) + r.amount_cents
        return {k: v for k, v in out.items() if v}

    wait_for(lambda: nets() == expected, 60, what="the expected ledger balances")
    rows = entries(engine)
    topic = read_topic(settings, settings.topic("billing.accruals"), expect=len(rows), timeout=30)
    on_topic = {str(decode(m.value()).entry_id) for m in topic}
    assert on_topic == {r.entry_id for r in rows}

    scraped = httpx.get(f"http://127.0.0.1:{env['WORKER_PORT']}/metrics").text
    assert 'billing_accrued_cents{account="pmpm_fee",contract="MMO-2026"} 9400.0' in scraped
    assert 'billing_member_months{contract="GR-2026"} 3.0' in scraped  # M2: February (from the 15th) to April
    assert "M1" not in scraped and "M2" not in scraped

    st = httpx.get(f"{base}/statements/MMO-2026/2026-03", headers=ADMIN).json()
    assert st["member_months"]["member_months"] == "1.0000"
    assert st["member_months"]["fees"] == "30.00"
    assert st["bonuses"]["rules"][0]["measured"] == "1.0000" and st["bonuses"]["rules"][0]["amount"] == "1.00"
    csv = httpx.get(f"{base}/statements/GR-2026/2026-03?format=csv", headers=ADMIN).text
    assert "carve_out,cardiac_catheterization,,,,,3000.00" in csv

    # redelivery: the same events again, then a marker; nothing is posted for the redelivered events
    before = {r.entry_id for r in rows}
    marker = roster("M9", tier="low", start=date(2026, 4, 1))
    send(settings, [*inputs, marker])
    wait_for(lambda: any(r.member_id == "M9" for r in entries(engine)), 30, what="the marker applied")
    new = [r for r in entries(engine) if r.entry_id not in before]
    assert {r.source_event_id for r in new if r.member_id} == {str(marker.event_id)}
    assert not {r.source_event_id for r in new} & {str(e.event_id) for e in inputs}

    # close February, then void C1: the reversal is an adjustment booked in March
    r = httpx.post(f"{base}/months/MMO-2026/2026-02/close", headers=ADMIN)
    assert r.status_code == 200, r.text
    assert httpx.post(f"{base}/months/MMO-2026/2026-02/close", headers=ADMIN).status_code == 409
    send(settings, [claim("M1", "C1", (), frequency="8", received=date(2026, 4, 3))])

    def void_entry():
        return [r for r in entries(engine) if r.rule == "claim:C1" and r.amount_cents < 0]

    (void,) = wait_for(void_entry, 30, what="the void's reversal")
    assert (void.period, void.posted_period, void.adjustment) == ("2026-02", "2026-03", True)

    # the ledger gauges: the worker's match the database after the API's close; the API has none
    def accrued_matches() -> bool:
        scraped = httpx.get(f"http://127.0.0.1:{env['WORKER_PORT']}/metrics").text
        nets: dict = {}
        for r in entries(engine):
            nets[(r.contract_id, r.account)] = nets.get((r.contract_id, r.account), 0) + r.amount_cents
        return all(f'billing_accrued_cents{{account="{a}",contract="{c}"}} {float(v)}' in scraped
                   for (c, a), v in nets.items())

    wait_for(accrued_matches, 30, what="the worker's billing_accrued_cents equal to the ledger")
    api_scraped = httpx.get(f"{base}/metrics").text
    assert "billing_accrued_cents" not in api_scraped and "billing_member_months" not in api_scraped

    # THE INVARIANT: replay every input topic into an empty ledger → the same balances
    wait_for(lambda: worker.alive(), 1)
    rebuild = subprocess.run([sys.executable, "-m", "services.billing", "rebuild"], cwd=REPO, capture_output=True,
                             text=True, timeout=180, env={**_env(), **env})
    assert rebuild.returncode == 0, rebuild.stdout + rebuild.stderr
    assert "balances match to the cent" in rebuild.stdout
    replayed = int(rebuild.stdout.split("replayed ", 1)[1].split(" ", 1)[0])
    assert replayed >= 2 * len(inputs) + 2  # every input, its redelivery, the marker and the void


def _env() -> dict[str, str]:
    import os

    return {**os.environ, "ENVIRONMENT": "test", "PYTHONPATH": str(REPO)}
