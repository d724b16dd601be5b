"""Money in integer cents: rounding half to even at the edges, allocations that sum exactly."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from services.billing.domain import allocate, format_cents, pmpm_fee_cents, round_cents, scale, to_cents
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
def test_a_prorated_fee_is_the_exact_fraction_rounded_once(fee, days, data):
    # any eligible runs in a month: the fee is fee × eligible days ÷ month days, rounded once
    cuts = sorted(data.draw(st.sets(st.integers(1, days - 1), max_size=6)))
    bounds = [0, *cuts, days]
    runs = [(a + 1, b) for a, b in zip(bounds, bounds[1:])][:: data.draw(st.sampled_from([1, 2]))]
    eligible = sum(b - a + 1 for a, b in runs)
    got = pmpm_fee_cents("prorated", fee, tuple(runs), days)
    exact = Fraction(fee * eligible, days)
    assert abs(got - exact) <= Fraction(1, 2) and got == round(exact)
    assert pmpm_fee_cents("any_day", fee, tuple(runs), days) == fee


def test_half_up_rounds_exact_halves_away_from_zero():
    assert [round_cents(Fraction(n, 2)) for n in (1, 3, 5, -1, -3)] == [0, 2, 2, 0, -2]
    assert [round_cents(Fraction(n, 2), "half_up") for n in (1, 3, 5, -1, -3)] == [1, 2, 3, -1, -2]
    assert round_cents(Fraction(7, 3), "half_up") == 2 and round_cents(5, "half_up") == 5
