"""Potentially avoidable (primary-care treatable) ED visits: a published code list kept as data.

The list is AHRQ's Prevention Quality Indicators in ED Settings (PQE, QI software v2025; Davies
et al., "Development and Validation of the Agency for Healthcare Research and Quality Measures
of Potentially Preventable Emergency Department (ED) Visits", Health Services Research 2017,
doi 10.1111/1475-6773.12687), first-listed diagnosis codes per indicator, with each
indicator's age band. See ``data/avoidable_ed/SOURCE.md`` for what was taken and what was not
(the area-level exclusions and the two-visit back-pain rule are not applied at visit level).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass


@dataclass(frozen=True)
class AvoidableCategory:
    category: str
    label: str
    min_age: int | None
    max_age: int | None

    def admits(self, age: int | None) -> bool:
        if age is None:
            return True
        return (self.min_age is None or age >= self.min_age) and (self.max_age is None or age <= self.max_age)


@dataclass(frozen=True)
class AvoidableList:
    source: str
    version: str
    categories: dict[str, AvoidableCategory]
    codes: dict[str, str]          # ICD-10-CM (no dot) -> category

    def classify(self, primary_dx: str | None, age: int | None) -> str | None:
        """The list's category of a visit's primary diagnosis, or None (not on the list / outside its ages)."""
        if not primary_dx:
            return None
        cat = self.codes.get(primary_dx.replace(".", "").upper())
        if cat is None or not self.categories[cat].admits(age):
            return None
        return cat


def parse_avoidable(codes_csv: str, meta: dict) -> AvoidableList:
    cats = {}
    for key, spec in (meta.get("categories") or {}).items():
        cats[key] = AvoidableCategory(key, str(spec["label"]), spec.get("min_age"), spec.get("max_age"))
    codes = {}
    for i, row in enumerate(csv.DictReader(io.StringIO(codes_csv)), start=2):
        code, cat = (row.get("code") or "").strip().upper(), (row.get("category") or "").strip()
        if not code or cat not in cats:
            raise ValueError(f"avoidable ED list line {i}: code and a known category are required")
        codes[code] = cat
    return AvoidableList(str(meta.get("source", "")), str(meta.get("version", "")), cats, codes)
