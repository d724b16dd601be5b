"""Admissions' worker use cases on in-memory repositories (``fakes.py``): batches of roster
snapshots and ADT events through the routes table — no broker, no database. The same stories on
PostgreSQL and SQLite, through the real consumer pipeline, are in
tests/integration/admissions/test_worker_handler.py."""

from __future__ import annotations

from datetime import date

import pytest
from prometheus_client import REGISTRY

from shared.events import AlertRaisedV1, AlertRetractedV1, CareTransitionV1, ReadmissionV1

from services.admissions.app.batch import AdmissionsBatch
from services.admissions.app.gauges import Gauges
from services.admissions.domain.reconcile import Env
from services.admissions.routes import ROUTES

from .builders import NOW, TZ, adt, roster, ts
from .fakes import CommitFailed, FakeUnitOfWork, Store, apply_batch, factory

BEGIN = AdmissionsBatch.starter(Env(), clock=lambda: NOW)


@pytest.fixture
def store() -> Store:
    return Store()


def one(events, cls):
    found = [e for e in events if isinstance(e, cls)]
    assert len(found) == 1, [e.event_type for e in events]
    return found[0]


def value(name: str, labels: dict | None = None) -> float:
    return REGISTRY.get_sample_value(name, labels or {}) or 0.0


def test_the_routes_table_sends_roster_snapshots_and_adt_messages_to_their_use_cases():
    assert ROUTES.table() == [
        ("members.roster", "roster.member", "services.admissions.app.handlers.roster_member"),
        ("adt.events", "adt.message", "services.admissions.app.handlers.adt_message"),
    ]
    assert ROUTES.consumer == "admissions.worker"  # the processed_events rows and group of every deployment


def test_an_admit_of_a_rostered_member_raises_one_alert_and_puts_the_member_in_the_census(store):
    assert apply_batch(store, BEGIN, [roster("M1", start=date(2025, 1, 1))]) == []
    alert = one(apply_batch(store, BEGIN, [adt("A01", ts(2), admit=ts(2), control_id="H1")]), AlertRaisedV1)
    assert (alert.member_id, alert.hospitalist_group, alert.pod) == ("M1", "HG-NORTH", "pod-east")
    assert list(store.census) == [("M1", "MERCY|V88812")] and store.census[("M1", "MERCY|V88812")]["practice_id"] == "P001"
    row = store.alerts[str(alert.alert_id)]
    assert row["status"] == "open" and row["acknowledged_at"] is None and row["details"]["trigger"] == "A01"
    assert store.encounters[("M1", "MERCY|V88812")]["status"] == "active"


def test_metrics_count_a_batch_once_it_committed_and_never_for_a_commit_that_failed(store):
    """A batch whose commit fails is retried by the consumer: its alerts, transitions,
    readmissions, admit-to-alert times and full-parse disagreements are counted once, for the
    attempt that committed (they used to be counted inside the transaction, so twice)."""
    begin = AdmissionsBatch.starter(Env(), clock=lambda: NOW, full_parse_tz=TZ)
    apply_batch(store, begin, [roster("M1", start=date(2025, 1, 1)), adt("A01", ts(2), control_id="R1"),
                               adt("A03", ts(6), discharge=ts(6), disposition="01", control_id="R2")])
    readmit = adt("A01", ts(20), visit="V2", control_id="R3")
    misread = adt("A08", ts(20, 11), visit="V2", control_id="R4")
    misread = misread.model_copy(update={"visit_number": "NOT-IN-THE-RAW-MESSAGE"})  # the reader got it wrong
    batch = [readmit, misread, adt("A03", ts(24), visit="V2", discharge=ts(24), disposition="01", control_id="R5")]
    series = {("admissions_alerts_total", (("kind", "inpatient_admit"),)): 1,
              ("admissions_transitions_total", ()): 1, ("admissions_readmissions_total", ()): 1,
              ("admissions_admit_to_alert_seconds_count", ()): 1, ("admissions_full_parse_mismatches_total", ()): 1}
    before = {k: value(k[0], dict(k[1])) for k in series}
    saved = (dict(store.states), dict(store.alerts), store.commits)

    uow = FakeUnitOfWork(store)
    uow.fail_commit = True
    with pytest.raises(CommitFailed), uow:
        out = ROUTES.handler(lambda _session: uow, begin)(None, batch)
        assert one(out, ReadmissionV1) and one(out, CareTransitionV1)
        uow.commit()
    assert {k: value(k[0], dict(k[1])) for k in series} == before, "a batch that did not commit counted nothing"
    assert (dict(store.states), dict(store.alerts), store.commits) == saved

    out = apply_batch(store, begin, batch)  # the consumer's retry
    assert one(out, AlertRaisedV1).readmission
    assert {k: value(k[0], dict(k[1])) - before[k] for k in series} == series


def test_an_event_delivered_again_publishes_nothing_and_changes_nothing(store):
    a01 = adt("A01", ts(2), control_id="P1")
    apply_batch(store, BEGIN, [roster("M1", start=date(2025, 1, 1))])
    assert len(apply_batch(store, BEGIN, [a01])) == 1
    stored = store.states["M1"]
    assert apply_batch(store, BEGIN, [a01]) == [] and apply_batch(store, BEGIN, [a01, a01]) == []
    assert store.states["M1"] == stored and len(store.alerts) == 1


def test_an_unmatched_patient_is_kept_and_adopted_when_a_roster_snapshot_lists_the_mrn(store):
    assert apply_batch(store, BEGIN, [adt("A01", ts(2), mrn="555", control_id="U1")]) == []
    assert list(store.states) == ["patient:MERCY|555"] and store.census == {}
    gauges = Gauges(factory(store))
    gauges.refresh()
    assert value("admissions_unmatched_patients") == 1
    alert = one(apply_batch(store, BEGIN, [roster("M7", mrn="555", start=date(2025, 1, 1))]), AlertRaisedV1)
    assert alert.member_id == "M7" and list(store.states) == ["M7"]
    assert [k for k in store.encounters] == [("M7", "MERCY|V88812")]
    gauges.refresh()
    assert value("admissions_unmatched_patients") == 0 and value("admissions_census", {"facility": "MERCY"}) == 1


def test_a_facility_whose_census_empties_shows_zero(store):
    gauges = Gauges(factory(store))
    apply_batch(store, BEGIN, [roster("M1", start=date(2025, 1, 1)), adt("A01", ts(2), facility="ZEROVILLE",
                                                                         authority="MERCY", control_id="G1")])
    gauges.refresh()
    assert value("admissions_census", {"facility": "ZEROVILLE"}) == 1
    apply_batch(store, BEGIN, [adt("A03", ts(4), facility="ZEROVILLE", discharge=ts(4), control_id="G2")])
    gauges.refresh()
    assert value("admissions_census", {"facility": "ZEROVILLE"}) == 0 and store.census == {}


def test_events_of_an_identifier_an_a40_merged_join_the_survivor_even_when_they_arrive_after_it(store):
    apply_batch(store, BEGIN, [roster("M1", start=date(2025, 1, 1))])
    assert apply_batch(store, BEGIN, [adt("A40", ts(3), prior_mrn="777", control_id="Z1")]) == []
    assert store.merged == {"MERCY|777": "M1"}
    alert = one(apply_batch(store, BEGIN, [adt("A01", ts(4), mrn="777", visit="LATE", control_id="Z2")]),
                AlertRaisedV1)
    assert alert.member_id == "M1" and alert.encounter_key == "MERCY|LATE"
    assert "patient:MERCY|777" not in store.states


def test_an_alert_raised_and_changed_in_one_batch_is_stored_as_it_ends(store):
    apply_batch(store, BEGIN, [roster("M1", start=date(2025, 1, 1))])
    out = apply_batch(store, BEGIN, [adt("A01", ts(2), control_id="S1"),
                                     adt("A02", ts(2, 12), location="5E^501^B^MERCY", control_id="S2")])
    row = store.alerts[str(one(out, AlertRaisedV1).alert_id)]
    assert row["status"] == "open" and row["details"]["location"]["room"] == "501"
    assert row["details"]["trigger_last"] == "A02" and row["details"]["trigger"] == "A01"
    out = apply_batch(store, BEGIN, [adt("A01", ts(5), visit="V9", control_id="S3"),
                                     adt("A11", ts(5, 12), visit="V9", control_id="S4")])
    gone = one(out, AlertRetractedV1)
    assert store.alerts[str(gone.alert_id)]["status"] == "retracted"
    assert store.alerts[str(gone.alert_id)]["retract_reason"] == "A11 cancel admit"


def test_a_roster_snapshot_that_drops_an_mrn_sends_that_mrns_next_messages_to_no_member(store):
    apply_batch(store, BEGIN, [roster("M1", mrn="100234", start=date(2025, 1, 1))])
    apply_batch(store, BEGIN, [roster("M2", mrn="100234", start=date(2025, 1, 1))])  # the MRN is M2's now
    assert store.crosswalk == {("MERCY", "100234"): "M2"}
    assert one(apply_batch(store, BEGIN, [adt("A01", ts(2), control_id="X1")]), AlertRaisedV1).member_id == "M2"


# ---------------------------------------------------------------------- the reads of the API and the page
def user(*roles, groups=(), pods=(), uid="u1"):
    from shared.users import User

    return User(id=uid, name="U", roles=frozenset(roles), hospitalist_groups=frozenset(groups), pods=frozenset(pods))


def admitted(store, member="M1"):
    apply_batch(store, BEGIN, [roster(member, start=date(2025, 1, 1))])
    return one(apply_batch(store, BEGIN, [adt("A01", ts(2), control_id=f"{member}-A")]), AlertRaisedV1)


def test_a_hospitalist_reads_her_groups_inbox_and_each_read_is_audited_with_the_members_shown(store):
    from services.admissions.app.queries import Reads

    alert = admitted(store)
    reads = Reads(factory(store), now=lambda: NOW)
    north, south = user("hospitalist", groups=["HG-NORTH"]), user("hospitalist", groups=["HG-SOUTH"], uid="u2")
    assert [r["alert_id"] for r in reads.inbox(north, "/alerts")] == [str(alert.alert_id)]
    assert reads.inbox(south, "/alerts") == []
    assert [(a["user_id"], a["member_id"], a["endpoint"]) for a in store.audit] == [("u1", "M1", "/alerts")]


def test_the_first_acknowledgment_is_kept_and_an_alert_outside_the_scope_is_not_found(store):
    from services.admissions.app.queries import NotFound, Reads

    alert = admitted(store)
    reads = Reads(factory(store), now=lambda: NOW)
    with pytest.raises(NotFound):
        reads.acknowledge(user("hospitalist", groups=["HG-SOUTH"], uid="south"), str(alert.alert_id), "ack")
    assert store.audit == [] and store.alerts[str(alert.alert_id)]["acknowledged_by"] is None
    first = reads.acknowledge(user("hospitalist", groups=["HG-NORTH"], uid="north1"), str(alert.alert_id), "ack")
    again = reads.acknowledge(user("supervisor", pods=["pod-east"], uid="sup"), str(alert.alert_id), "ack")
    assert first["acknowledged_by"] == again["acknowledged_by"] == "north1"
    assert [(a["user_id"], a["action"], a["detail"]) for a in store.audit] == [
        ("north1", "write", "acknowledge"), ("sup", "write", "acknowledge")]
    assert reads.inbox(user("admin"), "/alerts") == [] and len(reads.inbox(user("admin"), "/alerts", status="all")) == 1


def test_a_members_encounters_are_shown_to_its_pod_and_group_only(store):
    from services.admissions.app.queries import NoMemberScope, NotFound, Reads

    admitted(store)
    reads = Reads(factory(store), now=lambda: NOW)
    rows = reads.member_encounters(user("nurse", pods=["pod-east"]), "M1", "/members/{member_id}/encounters")
    assert [r["encounter_key"] for r in rows] == ["MERCY|V88812"]
    for outsider, member in ((user("nurse", pods=["pod-west"]), "M1"), (user("admin"), "M-UNKNOWN")):
        with pytest.raises(NotFound):
            reads.member_encounters(outsider, member, "/members/{member_id}/encounters")
    with pytest.raises(NoMemberScope):
        reads.census_members(user("ops"), "MERCY", "/census")
    assert [r["member_id"] for r in reads.census_members(user("hospitalist", groups=["HG-NORTH"]), "MERCY", "c")] == ["M1"]
    assert reads.census_by_facility() == [("MERCY", 1)] and reads.census_by_practice() == {"P001": {"MERCY": 1}}
    assert [a["member_id"] for a in store.audit] == ["M1", "M1"]
