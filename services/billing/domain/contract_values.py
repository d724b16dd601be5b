"""Value types of contract files: dollars, rates and targets as ``Decimal``, and the frozen base.

Amounts are dollars with at most two decimal places (a sub-cent amount is refused, never
rounded); rates are shares between 0 and 1. YAML reads an unquoted ``30.10`` as a float; its
written form is kept (``repr``), but quoting amounts avoids the question.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from .money import CENT


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ValueError("expected a number, not true/false")
    if isinstance(value, Decimal):
        d = value
    elif isinstance(value, (int, str)):
        try:
            d = Decimal(str(value).strip().replace(",", "").lstrip("$"))
        except InvalidOperation:
            raise ValueError("expected a number such as 30.00") from None
    elif isinstance(value, float):
        d = Decimal(repr(value))  # YAML read an unquoted number: keep what was written
    else:
        raise ValueError("expected a number")
    if not d.is_finite():
        raise ValueError("expected a finite number")
    return d


def _dollars(value: Any) -> Decimal:
    d = _decimal(value)
    if d < 0:
        raise ValueError("amount must not be negative")
    if d != d.quantize(CENT):
        raise ValueError("amount has fractions of a cent (at most 2 decimal places)")
    return d.quantize(CENT)


def _rate(value: Any) -> Decimal:
    d = _decimal(value)
    if not 0 <= d <= 1:
        raise ValueError("rate must be between 0 and 1 (e.g. 0.5 for 50%)")
    return d


def _number(value: Any) -> Decimal:
    d = _decimal(value)
    if d < 0:
        raise ValueError("target must not be negative")
    return d


Dollars = Annotated[Decimal, BeforeValidator(_dollars)]
Rate = Annotated[Decimal, BeforeValidator(_rate)]
Number = Annotated[Decimal, BeforeValidator(_number)]
Slug = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")]


class Term(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
