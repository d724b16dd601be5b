"""A member's CMS-HCC segment and demographic inputs.

The segment (CMS names: ``CNA``/``CND`` community non-dual aged/disabled, ``CFA``/``CFD``
full-benefit dual, ``CPA``/``CPD`` partial-benefit dual, ``INS`` long-term institutional)
comes from the dual status (Medicaid eligibility, e.g. an 834) and institutional status.
Where nothing is known the member is scored community, non-dual, with OREC 0 (old age).
"Disabled" is under 65 with OREC other than 0; a member under 65 with OREC 0 is scored
disabled-by-age by the model (the library treats age < 65 as non-aged).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

DualStatus = Literal["none", "full", "partial"]

# The MMA dual status code the model reads: 00 non-dual; 02 QMB plus full Medicaid (full-benefit);
# 01 QMB only (partial-benefit). Any full code (02, 04, 08) or partial code (01, 03, 05, 06)
# scores the same; one representative of each is enough.
DUAL_STATUS_CODE: dict[str, str] = {"none": "00", "full": "02", "partial": "01"}


@dataclass(frozen=True, slots=True)
class Segment:
    dual: DualStatus = "none"
    institutional: bool = False
    orec: str = "0"           # original reason for entitlement: 0 old age, 1 disability, 2 ESRD, 3 both
    known: bool = False        # false: the defaults above, nothing was supplied

    def code(self, age: int) -> str:
        """The CMS segment name for a member of ``age`` (what the explanation shows)."""
        if self.institutional:
            return "INS"
        dual = {"none": "N", "full": "F", "partial": "P"}[self.dual]
        aged = "A" if age >= 65 else "D"
        return f"C{dual}{aged}"


def age_on(birth_date: date, day: date) -> int:
    """Whole years on ``day`` (a member born on 29 February turns a year older on 1 March)."""
    years = day.year - birth_date.year
    if (day.month, day.day) < (birth_date.month, birth_date.day):
        years -= 1
    return max(years, 0)


SEGMENT_CSV_HEADER = ("member_id", "dual_status", "institutional", "orec")


def parse_segment_row(row: dict[str, str]) -> tuple[str, Segment]:
    """One line of a segment file. Raises ValueError naming the column and the rule (never the value)."""
    member_id = (row.get("member_id") or "").strip()
    if not member_id or len(member_id) > 64:
        raise ValueError("member_id: required, at most 64 characters")
    dual = (row.get("dual_status") or "none").strip().lower() or "none"
    if dual not in DUAL_STATUS_CODE:
        raise ValueError("dual_status: must be none, full or partial")
    inst_text = (row.get("institutional") or "").strip().lower()
    if inst_text not in ("", "0", "1", "true", "false", "yes", "no", "y", "n"):
        raise ValueError("institutional: must be yes/no, true/false or 1/0")
    orec = (row.get("orec") or "0").strip() or "0"
    if orec not in ("0", "1", "2", "3"):
        raise ValueError("orec: must be 0, 1, 2 or 3")
    return member_id, Segment(dual=dual, institutional=inst_text in ("1", "true", "yes", "y"),  # type: ignore[arg-type]
                              orec=orec, known=True)
