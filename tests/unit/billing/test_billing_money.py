"""Money in integer cents: rounding half to even at the edges, allocations that sum exactly."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from services.billing.domain import allocate, format_cents, scale, share_of_units, to_cents
from services.billing.domain.money import format_fraction


def test_dollars_to_cents_rounds_half_to_even():
    assert to_cents(Decimal("30.00")) == 3000
    assert to_cents(Decimal("0.005")) == 0
    assert to_cents(Decimal("0.015")) == 2
    assert to_cents(Decimal("0.025")) == 2
    assert to_cents(Decimal("-1.235")) == -124


def test_scaling_rounds_once_half_to_even():
    assert scale(5, Fraction(1, 2)) == 2  # 2.5 → 2
    assert scale(7, Fraction(1, 2)) == 4  # 3.5 → 4
    assert scale(100_000, Decimal("0.5")) == 50_000


def test_formatting():
    assert format_cents(123456) == "1234.56"
    assert format_cents(-5) == "-0.05"
    assert format_fraction(Fraction(17, 31)) == "0.5484"
    assert format_fraction(Fraction(1, 2), 0) == "0"


def test_allocation_of_odd_cents_is_deterministic():
    assert allocate(5, [1, 1]) == [2, 3]
    assert allocate(7, [1, 1]) == [4, 3]
    assert allocate(100, [0, 0, 0]) == [33, 34, 33]
    assert allocate(1000, [2000, 1000, 0]) == [667, 333, 0]


@given(st.integers(-10**9, 10**9), st.lists(st.integers(0, 10**6), min_size=1, max_size=20))
def test_allocation_sums_exactly(total, weights):
    parts = allocate(total, weights)
    assert sum(parts) == total
    assert len(parts) == len(weights)


@given(
    st.integers(0, 10**7),
    st.sampled_from([28, 29, 30, 31]),
    st.data(),
)
def test_prorated_days_of_any_partition_of_a_month_sum_to_the_fee(fee, days, data):
    # split the month at random cut points into runs; the runs' shares add up to the fee exactly
    cuts = sorted(data.draw(st.sets(st.integers(1, days - 1), max_size=6)))
    bounds = [0, *cuts, days]
    runs = [(a + 1, b) for a, b in zip(bounds, bounds[1:])]
    assert sum(share_of_units(fee, [r], days) for r in runs) == fee
    assert share_of_units(fee, runs, days) == fee
    # and every single day is within a cent of fee / days
    for d in range(1, days + 1):
        assert abs(Fraction(share_of_units(fee, [(d, d)], days)) - Fraction(fee, days)) <= 1
