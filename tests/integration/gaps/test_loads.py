"""What gaps makes of files intake loaded (real broker and PostgreSQL): the loads run in this
process through intake's use cases (its tables in the ``intake`` schema of the module's
database), and the worker's part is played by its handler fed with what they produced. (The
loads themselves — changes only, content ids, refusals, reports — are tested in
tests/integration/intake/test_loads.py.)"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from services.gaps.adapters.database import open_database
from services.intake.adapters.wiring import database as intake_database, load_context
from services.intake.app import load_claims, load_roster
from services.intake.settings import IntakeSettings
from shared.kafka import EventProducer

from .conftest import roster_csv, roster_row, unique
from .wiring import worker_handler

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "x12"


@pytest.fixture(scope="module")
def loads(gaps_infra):
    """(env, intake's load context, the gaps database, the gaps worker's handler)."""
    env = gaps_infra
    intake = IntakeSettings(kafka_bootstrap=env.settings.kafka_bootstrap, topic_prefix=env.settings.topic_prefix,
                            database_url=env.intake_url, var_dir=env.tmp / "var", environment="test")
    intake_db, db = intake_database(intake), open_database(env.settings)
    producer = EventProducer(intake, client_id="gaps-load-test")
    yield env, load_context(intake, intake_db, producer), db, worker_handler(env.settings)
    producer.close()
    intake_db.dispose()
    db.dispose()


def apply(db, handler, events) -> list:
    with db.transaction() as session:
        return handler(session, list(events))


def test_837i_revenue_only_lines_and_a_claim_discharge_open_the_follow_up_gap(loads, tmp_path):
    env, ctx, db, handler = loads
    text = (FIXTURES / "837i_inpatient_discharge.x12").read_text()
    m = unique("LI")
    path = tmp_path / "837i.x12"
    path.write_text(text.replace("M000123", m).replace("M000456", m + "X"))
    load_roster(ctx, roster_csv(tmp_path / "r.csv", [roster_row(m), roster_row(m + "X", sex="M")]))
    apply(db, handler, env.events("members.roster", {m, m + "X"}))
    report = load_claims(ctx, path)
    assert (report.accepted, report.rejected, report.lines) == (2, 0, 5)
    (ip,) = env.events("claims.events", {m})
    assert [(ln.revenue_code, ln.procedure_code) for ln in ip.lines] == [("0120", None), ("0300", "83036"),
                                                                          ("0250", None)]
    assert ip.occurred_at.isoformat() == "2026-03-20T14:15:00+00:00"  # the file's BHT time
    evs = apply(db, handler, [ip])
    fup = [e for e in evs if e.measure_id == "FUP"]
    assert [(e.event_type, e.instance_id, e.due_date) for e in fup] == [("gap.opened", "2026-03-14", date(2026, 4, 13))]
    assert fup[0].evidence[-1].claim_id == ip.claim_id
