"""The worker's routes table on real PostgreSQL (and SQLite), through ``BatchConsumer.for_routes``
(processed_events dedupe, one transaction per batch, the SQL adapters) with a recording producer
in place of Kafka: what a hospitalist, a care coordinator and billing would see for each ADT story."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import select, text

from shared.codec import encode
from shared.consumer import BatchConsumer, Record
from shared.events import (
    AlertRaisedV1, AlertRetractedV1, CareTransitionCancelledV1, CareTransitionV1, ReadmissionV1,
)

from services.admissions.adapters import tables as store
from services.admissions.adapters.database import open_database
from services.admissions.adapters.unit_of_work import SqlUnitOfWork
from services.admissions.app.batch import AdmissionsBatch
from services.admissions.routes import ROUTES
from services.admissions.settings import AdmissionsSettings
from tests.unit.admissions.builders import adt, roster, ts


class RecordingProducer:
    def __init__(self):
        self.sent = []

    def send_sync(self, events):
        self.sent.extend(events)
        return []

    def send_messages_sync(self, messages):  # dead letters
        self.sent.extend(messages)
        return []


@pytest.fixture(params=["postgresql", "sqlite"])
def worker(request, tmp_path):
    """The routes table on PostgreSQL (the tests' and production database) and on the embedded SQLite default."""
    url = request.getfixturevalue("pg_url") if request.param == "postgresql" else f"sqlite:///{tmp_path}/adm.db"
    holidays = tmp_path / "holidays.txt"
    holidays.write_text("2026-03-09\n")  # a Monday made a holiday by the deployment
    settings = AdmissionsSettings(database_url=url, holidays_file=str(holidays))
    db = open_database(url)
    producer = RecordingProducer()
    consumer = BatchConsumer.for_routes(ROUTES, db, producer, SqlUnitOfWork.for_session,
                                        begin=AdmissionsBatch.starter(settings.env()), max_retries=0)
    offset = iter(range(1_000_000))

    def feed(*events):
        """Deliver events as one batch; returns what the batch emitted."""
        before = len(producer.sent)
        records = []
        for e in events:
            key, value, headers = encode(e)
            records.append(Record(e.TOPIC, 0, next(offset), key, value, headers))
        consumer.process_sync(records)
        return producer.sent[before:]

    feed.db = db
    yield feed
    db.dispose()


def one(events, cls):
    found = [e for e in events if isinstance(e, cls)]
    assert len(found) == 1, [e.event_type for e in events]
    return found[0]


def test_roster_then_inpatient_admit_raises_an_alert_with_the_members_care_team_and_history(worker):
    r = roster("M1", start=date(2025, 1, 1))
    history = [adt("A04", ts(10, month=2), visit="E1", patient_class="E", control_id="H1"),
               adt("A03", ts(10, 18, month=2), visit="E1", patient_class="E", discharge=ts(10, 18, month=2),
                   control_id="H2")]
    assert worker(r) == []
    worker(*history)
    out = worker(adt("A01", ts(2), admit=ts(2), control_id="H3"))
    alert = one(out, AlertRaisedV1)
    assert (alert.member_id, alert.pcp_practice_id, alert.hospitalist_group, alert.contract_id, alert.pod) == (
        "M1", "P001", "HG-NORTH", "MMO-2026", "pod-east")
    assert (alert.admits_30d, alert.admits_90d, alert.ed_visits_30d, alert.ed_visits_90d) == (0, 0, 1, 1)
    with worker.db.engine.connect() as c:
        row = c.execute(select(store.alerts).where(store.alerts.c.kind == "inpatient_admit")).mappings().one()
        census = c.execute(select(store.census)).mappings().all()
    assert row["status"] == "open" and row["hospitalist_group"] == "HG-NORTH" and row["alert_id"] == str(alert.alert_id)
    assert [(x["member_id"], x["facility"], x["practice_id"]) for x in census] == [("M1", "MERCY", "P001")]


def test_ed_registration_raises_an_ed_alert(worker):
    worker(roster("M1", start=date(2025, 1, 1)))
    alert = one(worker(adt("A04", ts(2), patient_class="E", visit="ED9", control_id="E1")), AlertRaisedV1)
    assert alert.kind == "ed_visit" and alert.patient_class == "E"


def test_discharge_gives_a_transition_due_in_two_business_days_skipping_weekend_and_holiday_and_a13_cancels(worker):
    worker(roster("M1", start=date(2025, 1, 1)))
    worker(adt("A01", ts(2), admit=ts(2), control_id="D1"))
    # Friday 2026-03-06; Sat, Sun skipped, Monday 03-09 is the deployment's holiday
    t = one(worker(adt("A03", ts(6, 11), discharge=ts(6, 11), disposition="01", control_id="D2")), CareTransitionV1)
    assert t.contact_due == date(2026, 3, 11) and t.visit_due_high == date(2026, 3, 13) and t.tcm_applicable
    with worker.db.engine.connect() as c:
        assert c.execute(select(store.census)).all() == []
    cancel = one(worker(adt("A13", ts(6, 12), control_id="D3")), CareTransitionCancelledV1)
    assert cancel.transition_id == t.transition_id
    with worker.db.engine.connect() as c:
        assert len(c.execute(select(store.census)).all()) == 1, "back in house after the cancelled discharge"


def test_a11_retracts_the_alert_in_the_inbox(worker):
    worker(roster("M1", start=date(2025, 1, 1)))
    raised = one(worker(adt("A01", ts(2), control_id="C1")), AlertRaisedV1)
    gone = one(worker(adt("A11", ts(2, 12), control_id="C2")), AlertRetractedV1)
    assert gone.alert_id == raised.alert_id
    with worker.db.engine.connect() as c:
        row = c.execute(select(store.alerts)).mappings().one()
    assert row["status"] == "retracted" and row["retract_reason"] == "A11 cancel admit"


def test_admit_within_the_window_after_a_discharge_is_a_readmission(worker):
    worker(roster("M1", start=date(2025, 1, 1)))
    worker(adt("A01", ts(2), control_id="R1"), adt("A03", ts(6), discharge=ts(6), disposition="01", control_id="R2"))
    out = worker(adt("A01", ts(20), visit="V2", control_id="R3"))
    assert one(out, AlertRaisedV1).readmission
    r = one(out, ReadmissionV1)
    assert r.days_since_discharge == 14 and r.index_encounter_key == "MERCY|V88812"
    with worker.db.engine.connect() as c:
        assert bool(c.execute(text("SELECT readmission FROM alerts WHERE encounter_key = 'MERCY|V2'")).scalar())


def test_unmatched_patient_is_kept_counted_and_applied_when_a_roster_entry_lists_the_mrn(worker):
    assert worker(adt("A01", ts(2), mrn="555", control_id="U1")) == []
    with worker.db.engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM patient_states WHERE member_id IS NULL")).scalar() == 1
    out = worker(roster("M7", mrn="555", start=date(2025, 1, 1)))
    alert = one(out, AlertRaisedV1)
    assert alert.member_id == "M7" and alert.encounter_key == "MERCY|V88812"
    with worker.db.engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM patient_states WHERE member_id IS NULL")).scalar() == 0
        assert c.execute(text("SELECT member_id FROM encounters")).scalar() == "M7"
    # the next message of that patient goes straight to the member
    assert one(worker(adt("A03", ts(4), mrn="555", discharge=ts(4), control_id="U2")), CareTransitionV1).member_id == "M7"


def test_a40_merge_moves_the_prior_records_stay_to_the_survivor(worker):
    worker(roster("M1", start=date(2025, 1, 1)))
    assert worker(adt("A01", ts(2), mrn="777", visit="PV", control_id="Z1")) == []  # an unlisted MRN: unmatched
    out = worker(adt("A40", ts(3), prior_mrn="777", control_id="Z2"))
    alert = one(out, AlertRaisedV1)
    assert alert.member_id == "M1" and alert.encounter_key == "MERCY|PV"
    with worker.db.engine.connect() as c:
        owners = [r[0] for r in c.execute(text("SELECT owner FROM encounters"))]
    assert owners == ["M1"]


def test_redelivered_events_emit_nothing_new(worker):
    r = roster("M1", start=date(2025, 1, 1))
    a01 = adt("A01", ts(2), control_id="P1")
    worker(r)
    first = worker(a01)
    assert len(first) == 1
    assert worker(a01) == [] and worker(r, a01) == []
    with worker.db.engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM alerts")).scalar() == 1
        state = json.loads(c.execute(text("SELECT state FROM patient_states")).scalar())
    assert len(state["facts"]) == 1


def test_a_batch_with_the_roster_and_the_admit_together_raises_the_alert(worker):
    out = worker(roster("M1", start=date(2025, 1, 1)), adt("A01", ts(2), control_id="B1"))
    assert one(out, AlertRaisedV1).member_id == "M1"
