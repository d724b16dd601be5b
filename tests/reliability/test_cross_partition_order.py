"""adt.events is keyed by patient key (facility|MRN): one member's events from two hospitals sit
on different partitions and nothing orders them with each other. After a worker crash the
survivor takes the dead worker's partitions over late (tests/reliability/test_rebalance_and_replay.py),
so the other hospital's events are applied minutes after their time. What the member's history
publishes must not depend on that interleaving.

Property (pure domain, the synthetic population's members with stays at several hospitals):
every interleaving of the member's per-facility sequences (each kept in order) folds to the
same alerts (kind, encounter, readmission flag, active), care transitions and readmissions.

Found with the rebalance case: a discharge from hospital A arriving after the readmission stay
at hospital B had ended left B's alert without its readmission flag (it was only corrected while
B's stay was open), so the inbox differed from a run without the crash.
"""

from __future__ import annotations

from collections import defaultdict
from itertools import permutations
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.admissions.domain.patient_state import PatientState
from services.admissions.domain.reconcile import apply_adt
from services.admissions.settings import AdmissionsSettings
from shared.events import (
    AlertRaisedV1, AlertRetractedV1, AlertUpdatedV1, CareTransitionCancelledV1, CareTransitionV1, ReadmissionV1,
)
from tests.reliability.feeds import make_population
from tests.reliability.worker_tools import adt_events, roster_events

NOW = datetime(2026, 11, 1, tzinfo=timezone.utc)
ENV = AdmissionsSettings().env()


@pytest.fixture(scope="module")
def population(tmp_path_factory):
    pop = Path(tmp_path_factory.mktemp("synth"))
    make_population(pop, members=3000, months=6, seed=5)
    return {r.member_id: r for r in roster_events(pop / "roster.csv", NOW)}, adt_events(pop, NOW)


@pytest.fixture(scope="module")
def histories(population) -> list[tuple[object, list[list]]]:
    """(roster, [events of one patient key in order, ...]) of members seen at two or more facilities
    under MRNs the roster knows (merges of temporary MRNs are another path: left out)."""
    rosters, events = population
    known = {(x.assigning_authority, x.mrn): r.member_id for r in rosters.values() for x in r.mrns}
    by_member: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    skip = set()
    for e in events:
        ids = [(p.assigning_authority, p.id) for p in e.patient_ids]
        member = next((known[i] for i in ids if i in known), None)
        if member is None or e.trigger == "A40" or e.prior_patient_ids:
            if member:
                skip.add(member)
            continue
        by_member[member][e.patient_key].append(e)
    out = [(rosters[m], list(keys.values())) for m, keys in sorted(by_member.items())
           if len(keys) >= 2 and m not in skip and sum(map(len, keys.values())) >= 4]
    assert len(out) >= 5, "the population should have members treated at several hospitals"
    return out


def fold(events) -> dict:
    """The member's published state: what the inbox, the TCM queue and the rates would show."""
    alerts, transitions, readmissions = {}, {}, {}
    for e in events:
        if isinstance(e, AlertRaisedV1):
            alerts[e.alert_id] = {"kind": e.kind, "encounter": e.encounter_key, "readmission": e.readmission,
                                  "active": True}
        elif isinstance(e, AlertUpdatedV1) and e.readmission is not None:
            alerts[e.alert_id]["readmission"] = e.readmission
        elif isinstance(e, AlertRetractedV1):
            alerts[e.alert_id]["active"] = False
        elif isinstance(e, CareTransitionV1):
            transitions[e.transition_id] = (e.encounter_key, e.readmission, e.index_stay, e.tcm_applicable, True)
        elif isinstance(e, CareTransitionCancelledV1):
            transitions[e.transition_id] = transitions[e.transition_id][:-1] + (False,)
        elif isinstance(e, ReadmissionV1):
            readmissions[e.readmission_id] = (e.index_encounter_key, e.readmit_encounter_key, e.retracted)
    return {"alerts": alerts, "transitions": transitions, "readmissions": readmissions}


def replay(roster, events) -> dict:
    state = PatientState.for_member(roster.member_id)
    out = []
    for e in events:
        o = apply_adt(state, e, roster=roster, now=NOW, env=ENV)
        state = o.state
        out.extend(o.events)
    return fold(out)


def in_time_order(sequences) -> list:
    return sorted((e for seq in sequences for e in seq), key=lambda e: (e.occurred_at, e.message_control_id))


def test_a_members_history_publishes_the_same_when_one_facility_is_applied_after_the_other(histories):
    """What a late partition takeover does: one hospital's whole sequence before the other's."""
    differing = []
    for roster, sequences in histories:
        want = replay(roster, in_time_order(sequences))
        for order in permutations(range(len(sequences))):
            got = replay(roster, [e for i in order for e in sequences[i]])
            if got != want:
                differing.append((roster.member_id, order))
    assert differing == []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_members_history_publishes_the_same_whatever_the_interleaving_of_its_facilities(histories, data):
    roster, sequences = data.draw(st.sampled_from(histories), label="member")
    # A random merge of the per-facility sequences, each kept in its own order.
    queues = [list(s) for s in sequences]
    merged = []
    while any(queues):
        i = data.draw(st.sampled_from([k for k, q in enumerate(queues) if q]))
        merged.append(queues[i].pop(0))
    assert replay(roster, merged) == replay(roster, in_time_order(sequences))


# --------------------------------------------------------------------------- A40 merges, worker level
def handler_run(url: str, rosters, events) -> tuple[list, dict]:
    """Roster, then ``events`` one per batch through the worker's routes table on a fresh database:
    (encounters by owner, the folded published state)."""
    from sqlalchemy import text

    from services.admissions.adapters.database import open_database
    from services.admissions.adapters.unit_of_work import SqlUnitOfWork
    from services.admissions.app.batch import AdmissionsBatch
    from services.admissions.routes import ROUTES

    db = open_database(url)
    handler = ROUTES.handler(SqlUnitOfWork.for_session, AdmissionsBatch.starter(ENV, clock=lambda: NOW))
    out = []
    try:
        with db.transaction() as s:
            handler(s, list(rosters))
        for e in events:
            with db.transaction() as s:
                out.extend(handler(s, [e]))
        with db.transaction() as s:
            encounters = sorted(tuple(r) for r in s.execute(text(
                "SELECT owner, encounter_key, status FROM encounters")))
    finally:
        db.dispose()
    return encounters, fold(out)


def test_events_of_a_temporary_mrn_arriving_after_its_a40_still_join_the_member(population, new_database):
    rosters, events = population
    merged = {p.key() for e in events if e.trigger == "A40" for p in e.prior_patient_ids}
    members = {m for e in events if e.trigger == "A40"
               for m in [next((r.member_id for r in rosters.values()
                               for x in r.mrns if (x.assigning_authority, x.mrn) ==
                               (e.patient_ids[0].assigning_authority, e.patient_ids[0].id)), None)] if m}
    assert merged and members
    mine = [e for e in events if e.patient_key in merged or any(
        (p.assigning_authority, p.id) in {(x.assigning_authority, x.mrn) for m in members for x in rosters[m].mrns}
        for p in e.patient_ids)]
    in_time = sorted(mine, key=lambda e: (e.occurred_at, e.message_control_id))
    late = [e for e in in_time if e.patient_key not in merged] + [e for e in in_time if e.patient_key in merged]
    roster_list = [rosters[m] for m in sorted(members)]
    want_encounters, want = handler_run(new_database(), roster_list, in_time)
    got_encounters, got = handler_run(new_database(), roster_list, late)
    assert [r for r in want_encounters if r[0].startswith("patient:")] == []
    assert got_encounters == want_encounters  # every visit on the member's record, none left unmatched
    assert got["transitions"] == want["transitions"] and got["readmissions"] == want["readmissions"]
    # Alerts: all of them, plus possibly one for a visit of the temporary MRN whose registration
    # now reaches the member before its discharge does (in time order the patient was not yet
    # known when it was open). Not a duplicate: one per encounter and kind.
    assert {k: v for k, v in got["alerts"].items() if k in want["alerts"]} == want["alerts"]
    extra = [v for k, v in got["alerts"].items() if k not in want["alerts"]]
    from services.admissions.domain.encounters import encounter_key

    temporary_visits = {encounter_key(e) for e in events if e.patient_key in merged}
    assert all(a["encounter"] in temporary_visits for a in extra), extra
