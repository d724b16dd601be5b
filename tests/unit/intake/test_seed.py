"""The upgrade seed's use cases over in-memory ports: the topic's order per member across chunks,
tombstones, skipped records by reason, and the claim versions (v1 read as v2)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from services.intake.app.seed import TopicRecord, seed_claims, seed_roster
from services.intake.domain import body_hash, roster_body
from shared.codec import encode
from shared.events import ClaimV1, MemberRosterV1

AT = datetime(2025, 6, 1, tzinfo=timezone.utc)


def snapshot(member: str, at: datetime, **changes) -> MemberRosterV1:
    env = MemberRosterV1.envelope(occurred_at=at, source="roster:old")
    env.pop("member_id")
    return MemberRosterV1(**env, **{"member_id": member, "given_name": "T", "family_name": "P",
                                    "birth_date": date(1960, 1, 1), "sex": "F", "pcp_practice_id": "P1",
                                    "contract_id": "C1", **changes})


def record(event) -> TopicRecord:
    key, value, headers = encode(event)
    return TopicRecord(key, value, headers, None)


class Records(list):
    topic = "members.roster"

    @property
    def total(self) -> int:
        return len(self)


class Seeds:
    def __init__(self) -> None:
        self.rows: dict = {}
        self.calls = 0

    def seed(self, snapshots, forgotten):
        self.calls += 1
        written = 0
        for s in snapshots:
            old = self.rows.get(s.member_id)
            if old is None or s.occurred_at > old.occurred_at or (
                    s.occurred_at == old.occurred_at and s.event_id != old.event_id):
                self.rows[s.member_id] = s
                written += 1
        deleted = [m for m, at in forgotten if m in self.rows and self.rows[m].occurred_at <= at]
        for m in deleted:
            del self.rows[m]
        return written, len(deleted)


def test_the_last_record_of_a_member_wins_across_chunks_and_is_stored_as_a_load_stores_it():
    a1, b, a2 = snapshot("A", AT), snapshot("B", AT, status="termed"), snapshot("A", AT + timedelta(days=1), pod="w")
    seeds, seen = Seeds(), []
    summary = seed_roster(Records([record(a1), record(b), record(a2)]), seeds, chunk=1, on_progress=seen.append)
    assert seeds.calls == 3 and summary.complete and seen[-1] is summary
    stored = seeds.rows["A"]
    assert (stored.event_id, stored.body_hash) == (str(a2.event_id), body_hash(roster_body(a2)))
    assert stored.body == roster_body(a2) and "roster_load_id" not in stored.body
    assert seeds.rows["B"].status == "termed"
    assert (summary.read, summary.recorded, summary.already_recorded) == (3, 3, 0)
    again = seed_roster(Records([record(a1), record(b), record(a2)]), seeds, chunk=1)
    assert (again.recorded, again.already_recorded) == (0, 3)  # a1 is older than the row (kept); b, a2 the same


def test_a_tombstone_forgets_the_member_and_bad_records_are_counted_by_reason():
    a = snapshot("A", AT)
    claim = ClaimV1(**{**ClaimV1.envelope(occurred_at=AT, source="x"), "member_id": "A"}, claim_id="C",
                    claim_type="professional")
    key, value, headers = encode(a)
    records = Records([record(a), TopicRecord(b"A", None, [], AT + timedelta(days=1)),
                       TopicRecord(b"B", b"{not json", [], None), TopicRecord(None, value, headers, None),
                       TopicRecord(b"Z", value, headers, None), record(claim)])
    seeds = Seeds()
    summary = seed_roster(records, seeds, chunk=100)
    assert seeds.rows == {}
    assert (summary.tombstones, summary.forgotten) == (1, 0)  # within one chunk the tombstone replaced it
    assert dict(summary.skipped) == {"undecodable": 1, "no_key": 1, "key_not_member_id": 1, "other_event_type": 1}
    assert "A" not in str(summary.as_dict()["skipped"])


def test_claim_versions_are_recorded_with_their_links():
    class Versions:
        def __init__(self):
            self.got = []

        def record(self, versions):
            self.got.extend(versions)

    env = ClaimV1.envelope(occurred_at=AT, source="x")
    env.pop("member_id")
    original = ClaimV1(**env, member_id="M", claim_id="C1", claim_type="professional")
    env = ClaimV1.envelope(occurred_at=AT, source="x")
    env.pop("member_id")
    fix = ClaimV1(**env, member_id="M", claim_id="C2", frequency_code="7", original_claim_id="C1",
                  claim_type="professional")
    records = Records([record(original), TopicRecord(b"M", None, [], None), record(fix)])
    versions = Versions()
    summary = seed_claims(records, versions, chunk=1)
    assert [(m, v.claim_id, v.frequency_code, v.original_claim_id) for m, v in versions.got] == [
        ("M", "C1", "1", None), ("M", "C2", "7", "C1")]
    assert (summary.read, summary.recorded, dict(summary.skipped)) == (3, 2, {"tombstone": 1})
