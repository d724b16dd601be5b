"""Outreach and risk as users start them (worker and API of each, real Kafka, a PostgreSQL
database each), wired as ``./ccp up`` wires them: the outreach API reads members' risk views from
the risk API with its own account. Used by the task page's risk-view tests (integration and
browser)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text

from shared.kafka import EventProducer
from shared.settings import CommonSettings
from tests.integration.outreach import events as ev
from tests.support.procs import Proc, free_port, start_process, wait_for
from tests.unit.risk import events as risk_ev

DIAGNOSES = ("E1122", "I5022", "J449", "N184")  # diabetes with complications, heart failure, COPD, CKD 4


@dataclass
class Platform:
    kafka: CommonSettings
    outreach_db: str
    risk_db: str
    outreach_api: Proc
    risk_api: Proc
    procs: list[Proc]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.outreach_api.http_port}"

    def stop(self) -> None:
        for p in reversed(self.procs):
            p.stop()


def start(kafka: CommonSettings, outreach_db: str, risk_db: str, tmp_path: Path, **outreach_env: str) -> Platform:
    env = {"KAFKA_BOOTSTRAP": kafka.kafka_bootstrap, "TOPIC_PREFIX": kafka.topic_prefix, "ENVIRONMENT": "test"}
    ports = {name: free_port() for name in ("rw", "ra", "ow", "oa")}
    procs: list[Proc] = []
    try:
        procs.append(start_process("risk", "worker", {**env, "DATABASE_URL": risk_db, "WORKER_WITHIN_S": "0.05",
                                                      "WORKER_PORT": str(ports["rw"])}, tmp_path, http_port=ports["rw"]))
        risk_api = start_process("risk", "api", {**env, "DATABASE_URL": risk_db, "API_PORT": str(ports["ra"])},
                                 tmp_path, http_port=ports["ra"])
        procs.append(risk_api)
        procs.append(start_process("outreach", "worker", {**env, "DATABASE_URL": outreach_db,
                                                          "WORKER_PORT": str(ports["ow"])}, tmp_path,
                                   http_port=ports["ow"]))
        outreach_api = start_process("outreach", "api", {
            **env, "DATABASE_URL": outreach_db, "API_PORT": str(ports["oa"]),
            "RISK_API_URL": f"http://127.0.0.1:{ports['ra']}", **outreach_env}, tmp_path, http_port=ports["oa"])
        procs.append(outreach_api)
        for p in procs:
            p.wait_healthy(90)
    except BaseException:
        for p in reversed(procs):
            p.stop()
        raise
    return Platform(kafka, outreach_db, risk_db, outreach_api, risk_api, procs)


def rows(url: str, sql: str, **params) -> list[tuple]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            try:
                return [tuple(r) for r in conn.execute(text(sql), params)]
            except Exception:  # noqa: BLE001 - the tables appear when the processes have started
                return []
    finally:
        engine.dispose()


def seed(platform: Platform, *, claim_id: str) -> tuple[str, str]:
    """An east member with four chronic conditions on a recent claim (the risk service moves her
    low -> high and says so on risk.tiers) and a west member, each with a gap task. Returns their ids."""
    east, west = ev.member("RVE"), ev.member("RVW")
    producer = EventProducer(platform.kafka, client_id="test-risk-view")
    try:
        producer.send_sync([ev.roster(east, risk="low"), ev.roster(west, pod="pod-west", practice="P002", risk="low")])
        wait_for(lambda: rows(platform.risk_db, "SELECT count(*) FROM risk_assessments") == [(2,)], 60,
                 what="both members scored")
        producer.send_sync([ev.gap_opened(east), ev.gap_opened(west),
                            risk_ev.office_claim(east, DIAGNOSES, date.today() - timedelta(days=20),
                                                 claim_id=claim_id)])
    finally:
        producer.close()
    wait_for(lambda: rows(platform.outreach_db, "SELECT count(*) FROM tasks") == [(2,)], 60, what="two tasks")
    wait_for(lambda: rows(platform.outreach_db, "SELECT count(*) FROM member_risk_changes WHERE member_id = :m",
                          m=east) == [(1,)], 90, what="the tier change from risk.tiers stored by outreach")
    return east, west


def task_of(platform: Platform, member_id: str) -> str:
    ((task_id,),) = rows(platform.outreach_db, "SELECT task_id FROM tasks WHERE member_id = :m", m=member_id)
    return str(task_id)
