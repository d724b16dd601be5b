"""Money is integer cents everywhere inside billing.

``Decimal`` appears only at the edges: contract files (dollars, at most 2 decimal places),
claim amounts on events, and statements (strings such as ``"1234.50"``). Whenever a
computation produces a fraction of a cent (a prorated fee, a PMPM bonus times fractional
member months, a benchmark, a sharing rate, a cap) it is carried exactly as a ``Fraction``
and rounded **once per posted amount** — never per day, per member inside a total, or per
intermediate term — **half to even** (``ROUND_HALF_EVEN``, "banker's rounding": 0.5 cent goes
to the even cent) unless the contract version says ``rounding: half_up`` (0.5 cent away from
zero). A prorated fee is ``round(fee × eligible days ÷ days in month)``; the benchmark of a
month is ``benchmark PMPM × the same member-month fraction``, summed exactly and rounded once.

Allocating a total across parts (the months of a lump-sum bonus's year, a claim's paid amount
across its lines) uses cumulative rounding: part *i* gets ``round(total·W_i/W) − round(total·W_{i−1}/W)`` where
``W_i`` is the running weight. The parts of any partition sum to the total exactly, and the
result depends only on the inputs, never on iteration order elsewhere.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

CENT = Decimal("0.01")


ROUNDING_MODES = ("half_even", "half_up")


def round_half_even(value: Fraction | int) -> int:
    """Nearest integer; exact halves go to the even neighbour."""
    if isinstance(value, int):
        return value
    return round(value)  # Fraction.__round__ rounds half to even


def round_cents(value: Fraction | int, mode: str = "half_even") -> int:
    """Nearest integer by the contract's rounding: ``half_even`` (default) or ``half_up``
    (exact halves away from zero)."""
    if isinstance(value, int):
        return value
    if mode == "half_even":
        return round(value)
    if mode == "half_up":
        v = Fraction(value)
        n = math.floor(abs(v) + Fraction(1, 2))
        return n if v >= 0 else -n
    raise ValueError(f"unknown rounding mode {mode!r}")


def to_cents(amount: Decimal | str | int) -> int:
    """Dollars → cents, half to even (``Decimal("0.005")`` → 0, ``"0.015"`` → 2)."""
    d = amount if isinstance(amount, Decimal) else Decimal(str(amount))
    return int((d * 100).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def to_dollars(cents: int) -> Decimal:
    """Cents → a two-place ``Decimal`` (exact)."""
    return (Decimal(cents) / 100).quantize(CENT)


def format_cents(cents: int) -> str:
    """``123456`` → ``"1234.56"``, ``-5`` → ``"-0.05"``."""
    sign = "-" if cents < 0 else ""
    c = abs(cents)
    return f"{sign}{c // 100}.{c % 100:02d}"


def scale(cents: int, factor: Fraction | Decimal | int, mode: str = "half_even") -> int:
    """``cents × factor`` rounded once (a rate, a share, fractional member months)."""
    return round_cents(Fraction(cents) * Fraction(factor), mode)


def cumulative_share(total: int, upto: int, of: int, mode: str = "half_even") -> int:
    """The part of ``total`` belonging to the first ``upto`` of ``of`` equal units."""
    return round_cents(Fraction(total * upto, of), mode)


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Split ``total`` cents in proportion to non-negative integer ``weights``; sums exactly.

    All-zero weights split evenly. The earlier parts take the rounding first only through the
    cumulative rule, so the same inputs always give the same parts.
    """
    if not weights:
        return []
    if any(w < 0 for w in weights):
        raise ValueError("allocation weights must not be negative")
    ws = list(weights) if any(weights) else [1] * len(weights)
    whole = sum(ws)
    parts: list[int] = []
    running = 0
    before = 0
    for w in ws:
        running += w
        upto = round_half_even(Fraction(total * running, whole))
        parts.append(upto - before)
        before = upto
    return parts


def format_fraction(value: Fraction | Decimal | int | None, places: int = 4) -> str | None:
    """A rate or member-month count for display: ``Fraction(1, 3)`` → ``"0.3333"`` (half even)."""
    if value is None:
        return None
    n = round_half_even(Fraction(value) * 10**places)
    return str(Decimal(n).scaleb(-places))
