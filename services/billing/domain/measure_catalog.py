"""What the contract's goals are measured on: quality measures (from gap statuses) and
operational metrics (computed by the platform or fed through the API).

``direction`` says which way is better. CMS122 is the inverse measure: its rate is the share
of diabetic members whose HbA1c is poorly controlled (> 9 %) — the members whose CMS122 gap
is *open* — so lower is better. For every other measure the rate is closed gaps ÷ members in
the denominator (open + closed; excluded and not-applicable members leave the denominator).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Direction = Literal["higher", "lower"]


@dataclass(frozen=True, slots=True)
class Goalpost:
    title: str
    direction: Direction
    is_rate: bool  # a share between 0 and 1 (targets must lie in [0, 1])


MEASURES: dict[str, Goalpost] = {
    "CMS130": Goalpost("Colorectal cancer screening", "higher", True),
    "CMS125": Goalpost("Breast cancer screening", "higher", True),
    "CMS122": Goalpost("Diabetes: HbA1c poor control (> 9%)", "lower", True),
    "CMS165": Goalpost("Controlling high blood pressure", "higher", True),
    "FUP": Goalpost("Follow-up within 30 days after discharge", "higher", True),
}

# Metrics the platform knows. A contract may name another metric (fed through the API) if it
# states the direction itself.
METRICS: dict[str, Goalpost] = {
    "readmission_rate": Goalpost("30-day readmissions ÷ index discharges", "lower", True),
    "median_days_to_appointment": Goalpost("Median days from request to appointment", "lower", False),
    "ed_visits_per_1000": Goalpost("Emergency department visits per 1,000 member months", "lower", False),
    "tcm_contact_within_2_days_rate": Goalpost("Discharges with contact within 2 business days", "higher", True),
    "patient_experience_score": Goalpost("Patient experience survey score", "higher", False),
}

INVERSE_MEASURES: frozenset[str] = frozenset(k for k, v in MEASURES.items() if v.direction == "lower")
