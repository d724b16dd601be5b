"""A member's history grouped by value set, built once per evaluation.

Every hit is a tuple ``(date, code, claim_id, namespace, value, event)``; the first five
fields order hits deterministically, so "the most recent" never depends on arrival order.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from .codesets import PROC, CodeSets, namespace
from .history import ClinicalHistory, Discharge
from .results import EvidenceItem

Hit = tuple  # (date, code, claim_id, namespace, value, event)

_NS: dict[str, str] = {}


def _ns(code_system: str) -> str:
    ns = _NS.get(code_system)
    if ns is None:
        ns = _NS[code_system] = namespace(code_system)
    return ns


def hit_key(hit: Hit) -> tuple:
    return hit[:5]


def display_code(ns: str, code: str) -> str:
    if ns == "ICD10CM" and len(code) > 3 and "." not in code:
        return f"{code[:3]}.{code[3:]}"
    return code


def display_system(ns: str, code: str) -> str:
    if ns == PROC:
        return "HCPCS" if code[:1].isalpha() else "CPT"
    return ns


def describe(hit: Hit) -> str:
    """"45378 on 2019-06-11, claim C1" - the words a nurse reads for one piece of evidence."""
    d, code, claim_id, ns, _value, _ev = hit
    what = display_code(ns, code)
    if ns == "POS":
        what = f"place of service {code}"
    elif ns == "REV":
        what = f"revenue code {code}"
    elif ns == "DISCH":
        what = f"discharge status {code}"
    text = f"{what} on {d.isoformat()}"
    return f"{text}, claim {claim_id}" if claim_id else text


class MemberIndex:
    __slots__ = ("codes", "by_set", "discharges")

    def __init__(self, history: ClinicalHistory, codes: CodeSets) -> None:
        self.codes = codes
        by_set: dict[str, list[Hit]] = {}
        tags = codes.tags
        for ev in history.services:
            ns = _ns(ev.code_system)
            claim = ev.claim_id or ""
            value = ev.value or ""
            hit = (ev.date, ev.code, claim, ns, value, ev)
            for t in tags(ns, ev.code):
                lst = by_set.get(t)
                if lst is None:
                    by_set[t] = [hit]
                else:
                    lst.append(hit)
            pos = ev.place_of_service
            if pos:
                for t in tags("POS", pos):
                    by_set.setdefault(t, []).append((ev.date, pos, claim, "POS", "", ev))
            rev = ev.revenue_code
            if rev and ns != "REV":  # a revenue-code-only service is already indexed by its code
                for t in tags("REV", rev):
                    by_set.setdefault(t, []).append((ev.date, rev, claim, "REV", "", ev))
        for dx in history.diagnoses:
            code = dx.code.replace(".", "") if "." in dx.code else dx.code
            hit = (dx.date, code, dx.claim_id or "", "ICD10CM", "", dx)
            for t in tags("ICD10CM", code):
                lst = by_set.get(t)
                if lst is None:
                    by_set[t] = [hit]
                else:
                    lst.append(hit)
        for dc in history.discharges:
            if dc.disposition:
                for t in tags("DISCH", dc.disposition):
                    by_set.setdefault(t, []).append(
                        (dc.discharge_date, dc.disposition, dc.discharge_id, "DISCH", "", dc))
        self.by_set = by_set
        self.discharges: tuple[Discharge, ...] = history.discharges

    def hits(self, name: str) -> list[Hit]:
        return self.by_set.get(name, [])

    def latest(self, name: str, lo: date | None = None, hi: date | None = None) -> Hit | None:
        best = None
        for h in self.by_set.get(name, ()):
            d = h[0]
            if (lo is not None and d < lo) or (hi is not None and d > hi):
                continue
            if best is None or h[:5] > best[:5]:
                best = h
        return best

    def earliest(self, name: str, lo: date | None = None, hi: date | None = None) -> Hit | None:
        best = None
        for h in self.by_set.get(name, ()):
            d = h[0]
            if (lo is not None and d < lo) or (hi is not None and d > hi):
                continue
            if best is None or h[:5] < best[:5]:
                best = h
        return best

    def latest_of(self, names: tuple[str, ...], lo: date | None = None, hi: date | None = None) -> Hit | None:
        best = None
        for n in names:
            h = self.latest(n, lo, hi)
            if h is not None and (best is None or h[:5] > best[:5]):
                best = h
        return best

    def evidence(self, hit: Hit, value: str | None = None) -> EvidenceItem:
        d, code, claim_id, ns, v, _ev = hit
        return EvidenceItem(
            code=display_code(ns, code),
            code_system=display_system(ns, code),
            date=d,
            claim_id=claim_id or None,
            value=value if value is not None else (v or None),
            description=self.codes.describe(ns, code),
        )


def in_setting(codes: CodeSets, ev: Any, name: str) -> bool:
    """True when a service event happened in a setting of value set ``name`` (POS, REV, TOB)."""
    if getattr(ev, "setting", None) in ("inpatient", "ed") and name == "inpatient_ed_setting":
        return True
    pos = getattr(ev, "place_of_service", None)
    if pos and name in codes.tags("POS", pos):
        return True
    rev = getattr(ev, "revenue_code", None)
    if rev and name in codes.tags("REV", rev):
        return True
    tob = getattr(ev, "type_of_bill", None)
    if tob and name in codes.tags("TOB", tob):
        return True
    return False
