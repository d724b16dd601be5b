"""Carve-outs: service categories by code ranges whose paid amounts leave cost of care."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, model_validator

from .contract_values import Slug, Term


def _code_range(value: Any) -> Any:
    if isinstance(value, str):
        low, sep, high = value.partition("-")
        return {"low": low.strip(), "high": (high if sep else low).strip()}
    return value


class CodeRange(Term):
    """Inclusive range of same-shaped codes: ``"33010-33999"``, ``"C1000-C1999"``, ``"0481"``.

    A code matches when it has the same length and the same letter/digit pattern as the bounds
    and sorts between them, so a CPT II code such as ``3301F`` never falls in ``33010-33999``.
    """

    low: Annotated[str, Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9]+$")]
    high: Annotated[str, Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9]+$")]

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        return _code_range(value)

    @model_validator(mode="after")
    def _check_shape(self) -> "CodeRange":
        lo, hi = self.low.upper(), self.high.upper()
        if len(lo) != len(hi):
            raise ValueError("both ends of a code range must have the same length")
        if [c.isdigit() for c in lo] != [c.isdigit() for c in hi]:
            raise ValueError("both ends of a code range must have the same letter/digit pattern")
        if lo > hi:
            raise ValueError("code range starts after it ends")
        return self

    def contains(self, code: str) -> bool:
        lo, hi = self.low.upper(), self.high.upper()
        if len(code) != len(lo) or not lo <= code <= hi:
            return False
        return all(c.isdigit() == l.isdigit() for c, l in zip(code, lo))


class CarveOut(Term):
    """A service category the group holds no risk for: its paid amounts leave cost of care."""

    category: Slug
    description: str | None = Field(default=None, max_length=300)
    procedure_codes: tuple[CodeRange, ...] = Field(default=(), description="CPT / HCPCS ranges")
    revenue_codes: tuple[CodeRange, ...] = Field(default=(), description="UB-04 revenue codes (837I lines)")

    @model_validator(mode="after")
    def _has_codes(self) -> "CarveOut":
        if not self.procedure_codes and not self.revenue_codes:
            raise ValueError("a carve-out needs procedure_codes or revenue_codes")
        return self

    def matches(self, procedure_code: str | None, revenue_code: str | None) -> bool:
        if procedure_code and any(r.contains(procedure_code) for r in self.procedure_codes):
            return True
        return bool(revenue_code) and any(r.contains(revenue_code) for r in self.revenue_codes)  # type: ignore[arg-type]
