"""The upgrade step, ``python -m services.intake seed``, on the real broker and PostgreSQL: a
platform whose roster and claims were loaded before intake existed has them on the topics only.
The pre-intake snapshots and claim versions are produced here as that platform produced them
(the same event bodies, another source, v1 claims); what the user sees afterwards is checked:
a full roster load terms a member the file no longer lists, an unchanged member is not produced
again, and a replacement of an earlier claim is not reported as held. Without the seed, none
of that holds (the control test)."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

from services.intake.adapters.repositories import SqlRosterSnapshots
from services.intake.app import load_claims, load_roster
from services.intake.app.ports import StoredSnapshot
from services.intake.domain import roster_body_fields
from shared.events import ClaimLine, ClaimV1, EligibilitySpan, MemberRosterV1
from shared.kafka import EventProducer

from .conftest import ROSTER_HEADER, roster_csv, roster_row, unique

OLD = datetime(2025, 6, 1, 8, 0, tzinfo=timezone.utc)


def old_snapshot(row: str, at: datetime, **changes) -> MemberRosterV1:
    """A snapshot as the roster load of the platform before intake produced it from ``row``."""
    fields = roster_body_fields(next(csv.DictReader(io.StringIO(ROSTER_HEADER + "\n" + row + "\n"))))
    assert isinstance(fields, dict), fields
    env = MemberRosterV1.envelope(occurred_at=at, source="roster:before-intake.csv")
    env.pop("member_id")
    return MemberRosterV1(**env, **{**fields, "roster_load_id": "gaps-load-0001", **changes})


def old_claim(member: str, claim_id: str) -> ClaimV1:
    """A claim.submitted v1, as the platform before intake produced it (seed reads it as v2)."""
    env = ClaimV1.envelope(occurred_at=OLD, source="claims:before-intake.x12")
    env.pop("member_id")
    return ClaimV1(**env, member_id=member, claim_id=claim_id, claim_type="professional", payer_id="SHP01",
                   billing_npi="1234567893", diagnoses=("Z0000",), total_charge="100",
                   lines=(ClaimLine(line_number=1, procedure_code="99213", service_date=date(2025, 5, 20),
                                    charge_amount="100"),))


def produce_before_intake(env, events) -> None:
    producer = EventProducer(env.settings, client_id="pre-intake-platform")
    try:
        producer.send_sync(events)
    finally:
        producer.close()


def replacement(path, member: str, original: str):
    path.write_text(json.dumps({
        "member_id": member, "claim_id": f"R{original}", "frequency_code": "7", "original_claim_id": original,
        "claim_type": "professional", "payer_id": "SHP01", "billing_npi": "1234567893", "diagnoses": ["Z0000"],
        "total_charge": "120", "lines": [{"line_number": 1, "procedure_code": "99213", "service_date": "2025-05-20",
                                          "charge_amount": "120"}]}) + "\n")
    return path


def held(report) -> bool:
    return any("held" in w for w in report.warnings)


def tables(env, members: set[str]) -> tuple[list, list]:
    ids = sorted(members)
    snaps = env.rows("SELECT member_id, event_id, occurred_at, status, body, body_hash FROM roster_snapshots "
                     "WHERE member_id = ANY(:m) ORDER BY member_id", m=ids)
    versions = env.rows("SELECT member_id, event_id, claim_id, frequency_code, original_claim_id "
                        "FROM claim_versions_loaded WHERE member_id = ANY(:m) ORDER BY member_id, event_id", m=ids)
    return snaps, versions


def seed(env) -> dict:
    r = env.cli("seed", "--json", "--no-progress")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_without_the_seed_a_full_load_terms_nobody_and_produces_everyone_again(loads, tmp_path):
    env, ctx, _db = loads
    kept, gone, claimant = unique("NK"), unique("NG"), unique("NC")
    produce_before_intake(env, [old_snapshot(roster_row(kept), OLD), old_snapshot(roster_row(gone), OLD),
                                old_claim(claimant, f"O{claimant}")])
    ctx = replace(ctx, config=replace(ctx.config, max_term_fraction=1.0))
    report = load_roster(ctx, roster_csv(tmp_path / "full.csv", [roster_row(kept)]), full=True)
    assert (report.changed, report.unchanged, report.termed) == (1, 0, 0)
    assert [s.status for s in env.events("members.roster", {gone})] == ["active"]  # still active everywhere
    assert held(load_claims(ctx, replacement(tmp_path / "r.jsonl", claimant, f"O{claimant}")))


def test_seed_fills_intakes_tables_from_the_topics(loads, tmp_path):
    env, ctx, db = loads
    twice, termed, absent, steady, claimant = (unique(p) for p in ("ST", "SX", "SA", "SS", "SC"))
    first = old_snapshot(roster_row(twice, pod="pod-east"), OLD)
    latest = old_snapshot(roster_row(twice, pod="pod-west"), OLD + timedelta(days=30))
    gone = old_snapshot(roster_row(termed), OLD, status="termed",
                        eligibility=(EligibilitySpan(start=date(2025, 1, 1), end=date(2025, 5, 31)),))
    produce_before_intake(env, [first, latest, gone, old_snapshot(roster_row(absent), OLD),
                                old_snapshot(roster_row(steady), OLD), old_claim(claimant, f"P{claimant}"),
                                old_claim(claimant, f"O{claimant}")])
    members = {twice, termed, absent, steady, claimant}

    summary = seed(env)
    assert summary["complete"] is True
    roster, claims = (summary["topics"][env.settings.topic(t)] for t in ("members.roster", "claims.events"))
    assert roster["read"] >= 5 and roster["recorded"] >= 4 and roster["complete"]
    assert claims["read"] >= 2 and claims["recorded"] >= 2 and claims["complete"]
    assert claimant not in json.dumps(summary) and twice not in json.dumps(summary)  # counts only
    snaps, versions = tables(env, members)
    by_member = {r.member_id: r for r in snaps}
    assert set(by_member) == {twice, termed, absent, steady}
    assert by_member[twice].event_id == str(latest.event_id)  # the member's last record on the topic
    assert json.loads(by_member[twice].body)["pod"] == "pod-west"
    assert (by_member[termed].status, by_member[absent].status) == ("termed", "active")
    assert {(v.claim_id, v.frequency_code) for v in versions} == {(f"O{claimant}", "1"), (f"P{claimant}", "1")}

    # Running it again changes nothing.
    again = seed(env)
    assert again["topics"][env.settings.topic("members.roster")]["recorded"] == 0
    assert tables(env, members) == (snaps, versions)

    # What the user sees: a full load terms the member it does not list (and not the one termed
    # before), the unchanged members are not produced again, the changed one is.
    ctx = replace(ctx, config=replace(ctx.config, max_term_fraction=1.0))  # other tests' members are active too
    steady_row, twice_row = roster_row(steady), roster_row(twice, pod="pod-west")
    report = load_roster(ctx, roster_csv(tmp_path / "full.csv", [steady_row, twice_row]), full=True)
    assert report.status == "done"
    assert report.unchanged == 2
    assert [s.status for s in env.events("members.roster", {absent})] == ["active", "termed"]
    assert len(env.events("members.roster", {termed})) == 1
    assert len(env.events("members.roster", {steady})) == 1 and len(env.events("members.roster", {twice})) == 2
    chained = env.events("members.roster", {absent})[-1]
    assert chained.eligibility[-1].end is not None

    # A replacement of a seeded original is not held.
    assert not held(load_claims(ctx, replacement(tmp_path / "r.jsonl", claimant, f"O{claimant}")))

    # A seed after the loads keeps what intake produced since (the topic says the same).
    after = tables(env, members)
    seed(env)
    assert tables(env, members) == after

    # A snapshot intake stored later than the topic's record is not overwritten by it.
    repo = SqlRosterSnapshots(db)
    stored = repo.stored([steady])[steady]
    older = StoredSnapshot(steady, "00000000-0000-0000-0000-000000000000", "x" * 64, "active",
                           stored.occurred_at - timedelta(days=1), stored.body)
    assert repo.seed([older], []) == (0, 0)
    assert repo.seed([], [(steady, stored.occurred_at - timedelta(seconds=1))]) == (0, 0)
    assert repo.stored([steady])[steady] == stored
