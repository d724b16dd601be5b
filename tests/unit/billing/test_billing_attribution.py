"""Attribution history on the roster snapshot, revenue-code-only lines, satisfaction metrics."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from billing_factories import claim, examples, roster
from services.billing.domain import accrue_member_events, coverage_from_roster, member_months
from services.billing.domain.satisfaction import TaskStep, chosen_metrics, median_days_to_appointment
from services.billing.domain.facts import MetricValue
from services.billing.domain.rates import measure_rates, measure_rates_series
from shared.events import AttributionSpan, ClaimLine, GapClosedV1, GapExcludedV1, GapOpenedV1

TIERS = ("low", "moderate", "high", "complex")


def with_attribution(snapshot, spans):
    return snapshot.model_copy(update={"attribution": tuple(
        AttributionSpan(start=s, end=e, contract_id=c, risk_tier=t, pcp_practice_id="P001") for s, e, c, t in spans)})


def tiers_by_month(snapshots, through="2026-12"):
    return {m.period: (m.contract_id, m.tier) for m in member_months("M1", coverage_from_roster(snapshots), through)}


def test_the_latest_snapshots_attribution_replays_the_tier_history_alone():
    jan = roster(tier="low", on=date(2026, 1, 1))
    june = roster(tier="high", on=date(2026, 6, 15))
    latest = with_attribution(june, [(date(2026, 1, 1), date(2026, 6, 14), "MMO-2026", "low"),
                                     (date(2026, 6, 15), None, "MMO-2026", "high")])
    live = tiers_by_month([jan, june])
    # the compacted topic keeps only the latest snapshot: its spans give the same months
    assert tiers_by_month([latest]) == live
    assert live["2026-06"] == ("MMO-2026", "low") and live["2026-07"] == ("MMO-2026", "high")
    book = examples()
    assert accrue_member_events("M1", [latest], [], book, "2026-12").postings == \
        accrue_member_events("M1", [jan, june], [], book, "2026-12").postings


def test_without_attribution_the_snapshot_values_hold():
    only = roster(tier="moderate", on=date(2026, 3, 20))
    assert set(tiers_by_month([only], "2026-04").values()) == {("MMO-2026", "moderate")}


def test_attribution_moves_a_member_between_contracts_at_the_month_start():
    snap = with_attribution(roster(contract_id="GR-2026", tier="high", on=date(2026, 4, 10)), [
        (date(2026, 1, 1), date(2026, 4, 9), "MMO-2026", "moderate"),
        (date(2026, 4, 10), None, "GR-2026", "high"),
    ])
    months = tiers_by_month([snap], "2026-06")
    assert months["2026-04"] == ("MMO-2026", "moderate")  # April started under MMO
    assert months["2026-05"] == ("GR-2026", "high")


def test_attribution_spans_win_over_earlier_snapshots_values():
    early = roster(tier="complex", on=date(2026, 1, 1))
    latest = with_attribution(roster(tier="low", on=date(2026, 5, 1)),
                              [(date(2026, 1, 1), None, "MMO-2026", "low")])
    assert set(tiers_by_month([early, latest], "2026-05").values()) == {("MMO-2026", "low")}


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 12), st.sampled_from(TIERS)), min_size=1, max_size=5, unique_by=lambda x: x[0]))
def test_spans_give_the_same_months_as_the_snapshots_they_summarise(changes):
    changes = sorted(changes)
    snaps = [roster(tier=t, on=date(2026, m, 1 + (i % 20))) for i, (m, t) in enumerate(changes)]
    ordered = sorted(snaps, key=lambda s: s.occurred_at)
    spans = [(s.occurred_at.date(), None, s.contract_id, s.risk_tier) for s in ordered]
    latest = with_attribution(ordered[-1], spans)
    assert tiers_by_month([latest]) == tiers_by_month(snaps)


def test_a_revenue_code_only_line_is_costed_and_can_be_carved_out():
    r = roster(contract_id="GR-2026", tier="low")
    cath = ClaimLine(line_number=1, procedure_code=None, revenue_code="0481", service_date=date(2026, 3, 5),
                     paid_amount="2500.00")
    room = ClaimLine(line_number=2, procedure_code=None, revenue_code="0120", service_date=date(2026, 3, 5),
                     paid_amount="800.00")
    acc = accrue_member_events("M1", [r], [claim("I1", (cath, room))], examples(), "2026-03")
    costs = {(k.account, k.rule): v for k, v in acc.postings.items() if k.account != "pmpm_fee"}
    assert costs == {("carve_out", "claim:I1:cardiac_catheterization"): 250000, ("cost_of_care", "claim:I1"): 80000}


def at(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, 9, tzinfo=timezone.utc)


def steps(task, opened, scheduled_on, appt, contract="MMO-2026"):
    return [TaskStep(task, contract, "open", at(opened), None, f"{task}-1"),
            TaskStep(task, contract, "scheduled", at(scheduled_on), appt, f"{task}-2")]


def test_median_days_to_appointment_counts_tasks_scheduled_in_the_window():
    events = [
        *steps("t1", date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 5)),   # 4 days
        *steps("t2", date(2026, 3, 1), date(2026, 3, 3), date(2026, 3, 11)),  # 10 days
        *steps("t3", date(2026, 3, 2), date(2026, 3, 4), date(2026, 3, 9)),   # 7 days
        *steps("t4", date(2026, 3, 2), date(2026, 4, 4), date(2026, 4, 30)),  # scheduled after as_of
        *steps("t5", date(2026, 3, 2), date(2026, 3, 4), date(2026, 3, 30), contract="GR-2026"),
    ]
    m = median_days_to_appointment(events, "MMO-2026", date(2026, 1, 1), date(2026, 3, 31))
    assert m is not None and m.value == 7 and m.denominator == 3
    even = median_days_to_appointment(events[:4], "MMO-2026", date(2026, 1, 1), date(2026, 3, 31))
    assert even is not None and even.value == Fraction(7)  # (4 + 10) / 2
    assert median_days_to_appointment(events, "MMO-2026", date(2026, 1, 1), date(2026, 2, 28)) is None


def test_a_fed_metric_wins_over_the_computed_one():
    computed = {"median_days_to_appointment": MetricValue.of(9), "readmission_rate": None}
    fed = {"median_days_to_appointment": MetricValue.of("6.5")}
    assert chosen_metrics(computed, fed) == {"median_days_to_appointment": MetricValue(Fraction(13, 2))}


# ---------------------------------------------------------------- measure rates for a year at once
GAP_KINDS = {"open": GapOpenedV1, "closed": GapClosedV1, "due_soon": GapClosedV1, "excluded": GapExcludedV1,
             "not_applicable": GapExcludedV1}


@st.composite
def gap_histories(draw):
    events = []
    for n in range(draw(st.integers(0, 25))):
        member = draw(st.sampled_from("abcd"))
        measure = draw(st.sampled_from(["CMS130", "CMS122", "FUP"]))
        year = draw(st.sampled_from([2025, 2026]))
        status = draw(st.sampled_from(sorted(GAP_KINDS)))
        day = date(2025, 10, 1) + timedelta(days=draw(st.integers(0, 500)))
        ts = datetime(day.year, day.month, day.day, draw(st.integers(0, 1)), tzinfo=timezone.utc)
        cls = GAP_KINDS[status]
        events.append(cls(
            **cls.envelope(occurred_at=ts, recorded_at=ts, source="g", member_id=member, event_id=uuid.uuid4()),
            gap_key=f"{member}|{measure}|{year}", measure_id=measure, measure_version="v", status=status,
            period_start=date(year, 1, 1), period_end=date(year, 12, 31), reason="r", practice_id="P1",
            contract_id=draw(st.sampled_from(["MMO-2026", "GR-2026"]))))
    return events


@settings(max_examples=60, deadline=None)
@given(gap_histories())
def test_rates_for_many_dates_equal_the_rates_for_each_date(events):
    days = [date(2025, 12, 31), date(2026, 1, 31), date(2026, 2, 28), date(2026, 6, 30), date(2026, 12, 31)]
    series = measure_rates_series(events, "MMO-2026", days)
    assert series == {d: measure_rates(events, "MMO-2026", d) for d in days}


@settings(max_examples=60, deadline=None)
@given(gap_histories())
def test_a_gap_counts_in_one_contract_only_the_one_its_latest_event_names(events):
    day = date(2026, 6, 30)
    per_contract = [measure_rates(events, c, day) for c in ("MMO-2026", "GR-2026")]
    counted = sum(r.denominator for rates in per_contract for r in rates.values())
    latest: dict = {}
    for e in sorted(events, key=lambda e: (e.occurred_at, e.recorded_at, str(e.event_id))):
        if e.occurred_at.date() <= day and e.period_start <= day <= e.period_end:
            latest[e.gap_key] = e
    assert counted == sum(1 for e in latest.values() if e.status not in ("excluded", "not_applicable"))
