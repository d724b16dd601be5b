"""Attribution history carried by roster snapshots: what a roster load puts in
``MemberRosterV1.attribution`` so that billing bills the compacted replay (latest snapshot
alone) like the live run (every snapshot). Billing's domain is imported read-only."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from services.billing.domain.coverage import coverage_from_roster, member_months
from services.intake.domain.attribution import attribution_key, carried_attribution
from shared.events import AttributionSpan, MemberRosterV1

ENVELOPE = {"event_id", "event_type", "schema_version", "occurred_at", "recorded_at", "source", "patient_key",
            "causation_id", "roster_load_id"}


def fields(contract="K1", tier="low", practice="P1", start=date(2025, 1, 1), end=None, status="active", **kw):
    base = {"member_id": "M1", "given_name": "Jane", "family_name": "Doe", "birth_date": date(1960, 3, 15),
            "sex": "F", "pcp_practice_id": practice, "contract_id": contract, "risk_tier": tier,
            "eligibility": ({"start": start, "end": end},), "status": status, "attribution": ()}
    base.update(kw)
    return base


def stored_json(body: dict) -> dict:
    """The body as intake's ``roster_snapshots`` table keeps it (JSON types)."""
    return json.loads(json.dumps(body, default=str))


def span(start, end, contract="K1", tier="low", practice="P1"):
    return AttributionSpan(start=start, end=end, contract_id=contract, risk_tier=tier, pcp_practice_id=practice)


def test_a_new_member_carries_no_history():
    assert carried_attribution(None, None, fields(), date(2026, 3, 1)) == ()


def test_unchanged_attribution_carries_the_stored_spans_as_they_are():
    history = (span(date(2025, 1, 1), date(2026, 2, 28)), span(date(2026, 3, 1), None, tier="high"))
    stored = stored_json(fields(tier="high", attribution=[s.model_dump() for s in history]))
    # another field changed (the pod), attribution did not
    assert carried_attribution(stored, date(2026, 3, 1), fields(tier="high", pod="pod-west"),
                               date(2026, 5, 2)) == history
    assert carried_attribution(stored_json(fields()), date(2026, 1, 5), fields(), date(2026, 5, 2)) == ()


def test_a_tier_change_closes_the_stored_values_the_day_before_and_opens_the_new_tier():
    got = carried_attribution(stored_json(fields(tier="low")), date(2026, 1, 5), fields(tier="high"),
                              date(2026, 3, 15))
    assert got == (span(date(2025, 1, 1), date(2026, 3, 14)), span(date(2026, 3, 15), None, tier="high"))


def test_the_stored_span_starts_at_its_event_date_when_eligibility_starts_later():
    stored = stored_json(fields(contract="K1", start=date(2027, 1, 1)))
    got = carried_attribution(stored, date(2026, 11, 20), fields(contract="K2", start=date(2027, 1, 1)),
                              date(2026, 12, 5))
    assert got == (span(date(2026, 11, 20), date(2026, 12, 4)), span(date(2026, 12, 5), None, contract="K2"))


def test_a_later_change_extends_the_stored_history():
    history = [span(date(2025, 1, 1), date(2026, 3, 14)).model_dump(),
               span(date(2026, 3, 15), None, tier="high").model_dump()]
    stored = stored_json(fields(tier="high", attribution=history))
    got = carried_attribution(stored, date(2026, 3, 15), fields(tier="high", practice="P9"), date(2026, 8, 1))
    assert [(s.start, s.end, attribution_key(s.model_dump())) for s in got] == [
        (date(2025, 1, 1), date(2026, 3, 14), ("K1", "low", "P1")),
        (date(2026, 3, 15), date(2026, 7, 31), ("K1", "high", "P1")),
        (date(2026, 8, 1), None, ("K1", "high", "P9")),
    ]


def test_a_change_the_same_day_replaces_the_change_before_it_and_keeps_the_earliest_values():
    # first snapshot 1 June (eligible from 20 June), high on 1 June, complex later that day
    first = stored_json(fields(start=date(2026, 6, 20)))
    second = carried_attribution(first, date(2026, 6, 1), fields(tier="high", start=date(2026, 6, 20)),
                                 date(2026, 6, 1))
    assert second == (span(date(2026, 5, 31), date(2026, 5, 31)), span(date(2026, 6, 1), None, tier="high"))
    stored = stored_json(fields(tier="high", start=date(2026, 6, 20), attribution=[s.model_dump() for s in second]))
    third = carried_attribution(stored, date(2026, 6, 1), fields(tier="complex", start=date(2026, 6, 20)),
                                date(2026, 6, 1))
    assert third == (span(date(2026, 5, 31), date(2026, 5, 31)), span(date(2026, 6, 1), None, tier="complex"))
    assert all(s.end is None or s.end >= s.start for s in third)


def test_a_json_member_that_supplies_its_own_history_keeps_it():
    own = (span(date(2024, 1, 1), date(2025, 12, 31), contract="K0"), span(date(2026, 1, 1), None, tier="high"))
    supplied = fields(tier="high", attribution=tuple(s.model_dump() for s in reversed(own)))
    assert carried_attribution(stored_json(fields()), date(2026, 1, 5), supplied, date(2026, 4, 1)) == own
    assert carried_attribution(None, None, supplied, date(2026, 4, 1)) == own


# ------------------------------------------------------------------ billing replays the history
T0 = datetime(2026, 1, 3, 9, tzinfo=timezone.utc)
THROUGH = "2027-12"

step = st.fixed_dictionaries({
    "days": st.sampled_from([0, 0, 1, 13, 29, 31, 45, 92]),
    "contract": st.sampled_from(["K1", "K2"]),
    "tier": st.sampled_from(["low", "high", "complex"]),
    "practice": st.sampled_from(["P1", "P2"]),
    "start": st.sampled_from([date(2025, 6, 1), date(2026, 1, 1), date(2026, 3, 15), date(2026, 9, 10)]),
    "end": st.sampled_from([None, None, date(2026, 7, 31), date(2027, 2, 14)]),
    "termed": st.booleans(),
})


def run_loads(steps: list[dict]) -> list[MemberRosterV1]:
    """What successive loads emit for one member: only snapshots that differ from the stored one,
    each with the history ``carried_attribution`` builds from the stored snapshot."""
    emitted: list[MemberRosterV1] = []
    stored: dict | None = None
    stored_on: date | None = None
    at = T0
    for n, s in enumerate(steps):
        at = at + timedelta(days=s["days"], minutes=1)
        end = s["end"] if s["end"] is None or s["end"] >= s["start"] else None
        body = fields(s["contract"], s["tier"], s["practice"], s["start"], end, "termed" if s["termed"] else "active")
        body["attribution"] = carried_attribution(stored, stored_on, body, at.date())
        event = MemberRosterV1(**{**MemberRosterV1.envelope(occurred_at=at, recorded_at=at, source="test"), **body})
        as_stored = event.model_dump(mode="json", exclude=ENVELOPE)
        if as_stored == stored:
            continue  # the loader skips an unchanged row
        emitted.append(event)
        stored, stored_on = as_stored, at.date()
    return emitted


def months(snapshots: list[MemberRosterV1]):
    return member_months("M1", coverage_from_roster(snapshots), THROUGH)


@settings(max_examples=300, deadline=None)
@given(st.lists(step, min_size=1, max_size=7))
def test_billing_bills_the_latest_snapshot_alone_like_the_whole_sequence(steps):
    emitted = run_loads(steps)
    replay = months(emitted[-1:])  # the compacted topic
    assert replay == months(emitted)  # the live run
    # and like the snapshots' own event dates without any spans (billing's rule without history)
    assert replay == months([e.model_copy(update={"attribution": ()}) for e in emitted])
    assert all(a.end is None or a.end >= a.start for a in emitted[-1].attribution)


def test_a_mid_year_tier_change_is_billed_from_the_next_month_in_the_replay():
    emitted = run_loads([
        {"days": 0, "contract": "K1", "tier": "low", "practice": "P1", "start": date(2026, 1, 1), "end": None,
         "termed": False},
        {"days": 70, "contract": "K1", "tier": "high", "practice": "P1", "start": date(2026, 1, 1), "end": None,
         "termed": False},  # 14 March
    ])
    tiers = {m.period: m.tier for m in months(emitted[-1:]) if m.period <= "2026-05"}
    assert tiers == {"2026-01": "low", "2026-02": "low", "2026-03": "low", "2026-04": "high", "2026-05": "high"}
