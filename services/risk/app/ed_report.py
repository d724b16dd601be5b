"""The extended-hours evidence use case: every practice's attributed members' ED visits by month."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ..domain.assessment import member_ed_visits
from ..domain.avoidable import AvoidableList
from ..domain.claims import current_versions
from ..domain.ed_evidence import ClassifiedVisit, MonthRow, before_after, classify, monthly_rows
from ..domain.opening_hours import PracticeHours
from ..domain.segments import age_on
from .ports import RiskRepository


@dataclass(frozen=True)
class EdEvidence:
    rows: list[MonthRow]
    summary: dict
    not_attributed: int          # visits on days the member was not attributed (left out)
    practices_without_hours: list[str]


def ed_evidence(repo: RiskRepository, hours: dict[str, PracticeHours], avoidable: AvoidableList, *,
                start: date | None = None, end: date | None = None, page: int = 2000) -> EdEvidence:
    classified: list[ClassifiedVisit] = []
    left_out = 0
    missing: set[str] = set()
    after = None
    while True:
        chunk = repo.ed_facts(after, page)
        if not chunk:
            break
        after = chunk[-1][0].member_id
        for member, encounters, claims in chunk:
            for v in member_ed_visits(encounters, current_versions(claims)):
                if (start and v.day < start) or (end and v.day > end):
                    continue
                if not member.attributed_on(v.day):
                    left_out += 1
                    continue
                pid = member.practice_on(v.day)
                if pid not in hours:
                    missing.add(pid)
                classified.append(classify(v, practice_id=pid, hours=hours.get(pid), avoidable=avoidable,
                                           age=age_on(member.birth_date, v.day)))
        if len(chunk) < page:
            break
    rows = monthly_rows(classified)
    return EdEvidence(rows, before_after(rows), left_out, sorted(missing))
