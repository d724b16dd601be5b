"""Roster loads carry the attribution history on ``members.roster`` (real broker and
PostgreSQL, loads in this process; the history comes from intake's own ``roster_snapshots``),
so billing bills the compacted topic's latest snapshot like the live run."""

from __future__ import annotations

from datetime import date

from services.billing.domain.coverage import coverage_from_roster, member_months
from services.billing.domain.periods import period_of
from services.intake.app import load_roster

from .conftest import roster_csv, roster_row, unique


def keys(snapshot) -> list[tuple]:
    return [(a.start, a.end, a.contract_id, a.risk_tier, a.pcp_practice_id) for a in snapshot.attribution]


def test_a_tier_change_between_two_roster_files_puts_both_spans_on_the_second_snapshot(loads, tmp_path):
    env, ctx, _db = loads
    m, other = unique("AH"), unique("AO")
    first = load_roster(ctx, roster_csv(tmp_path / "r1.csv", [roster_row(m), roster_row(other)]))
    assert (first.status, first.changed) == ("done", 2)
    snaps = env.events("members.roster", {m, other})
    assert [s.attribution for s in snaps] == [(), ()]  # new members: no history yet

    high = roster_row(m).replace(",moderate,", ",high,")
    second = load_roster(ctx, roster_csv(tmp_path / "r2.csv", [high, roster_row(other)]))
    assert (second.changed, second.unchanged) == (1, 1)
    mine = env.events("members.roster", {m})
    assert len(mine) == 2
    latest = mine[-1]
    day = latest.occurred_at.date()
    assert latest.risk_tier == "high"
    assert keys(latest) == [
        (date(2025, 1, 1), date.fromordinal(day.toordinal() - 1), "GR-2026", "moderate", "P001"),
        (day, None, "GR-2026", "high", "P001"),
    ]
    # billing: the compacted replay (latest alone) bills like the live run and like the
    # snapshots' own event dates; the tier changes at the next month start
    through = "2027-12"
    replay = member_months(m, coverage_from_roster([latest]), through)
    assert replay == member_months(m, coverage_from_roster(mine), through)
    assert replay == member_months(m, coverage_from_roster([s.model_copy(update={"attribution": ()}) for s in mine]),
                                   through)
    tiers = {mm.period: mm.tier for mm in replay}
    assert tiers["2025-01"] == "moderate" and tiers["2027-12"] == "high"
    assert tiers[period_of(day)] == ("high" if day.day == 1 else "moderate")

    # loading the same file again carries the history and produces nothing
    again = load_roster(ctx, roster_csv(tmp_path / "r3.csv", [high, roster_row(other)]))
    assert (again.changed, again.unchanged) == (0, 2)
    assert len(env.events("members.roster", {m})) == 2


def test_json_members_keep_their_own_history_or_get_it_carried(loads):
    env, ctx, _db = loads
    own, carried = unique("AJ"), unique("AK")

    def member(mid: str, tier: str, **extra) -> dict:
        return {"member_id": mid, "given_name": "Testa", "family_name": "Person", "birth_date": "1960-05-01",
                "sex": "F", "pcp_practice_id": "P001", "contract_id": "GR-2026", "risk_tier": tier,
                "eligibility": [{"start": "2025-01-01"}], **extra}

    history = [{"start": "2025-01-01", "end": "2025-12-31", "contract_id": "GR-2025", "risk_tier": "low",
                "pcp_practice_id": "P001"},
               {"start": "2026-01-01", "contract_id": "GR-2026", "risk_tier": "high", "pcp_practice_id": "P001"}]
    first = load_roster(ctx, [member(own, "high", attribution=history), member(carried, "low")])
    assert (first.status, first.changed) == ("done", 2)

    second = load_roster(ctx, [member(own, "complex"), member(carried, "complex")])
    assert second.changed == 2
    latest = {s.member_id: s for s in env.events("members.roster", {own, carried})}  # the last per member
    assert latest[own].risk_tier == latest[carried].risk_tier == "complex"
    day = latest[own].occurred_at.date()
    before = date.fromordinal(day.toordinal() - 1)
    assert keys(latest[own]) == [
        (date(2025, 1, 1), date(2025, 12, 31), "GR-2025", "low", "P001"),
        (date(2026, 1, 1), before, "GR-2026", "high", "P001"),
        (day, None, "GR-2026", "complex", "P001"),
    ]
    assert keys(latest[carried]) == [(date(2025, 1, 1), before, "GR-2026", "low", "P001"),
                                     (day, None, "GR-2026", "complex", "P001")]
