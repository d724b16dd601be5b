"""Inpatient stays and 30-day readmissions of one member.

- A stay is a chain of inpatient encounters in which each next admission starts on the day
  of the previous discharge or the day after (``transfer_gap_days``): same/next-day
  acute-to-acute transfers are one stay, and the chain's last encounter carries its
  discharge. Overlapping stays (clock skew between hospitals) also chain.
- An index stay is a discharged stay whose last disposition is not death (20, 40-42) or
  left against medical advice (07).
- A readmission is the first stay after an index stay whose admit date is at most
  ``readmission_window_days`` after the index discharge date. Only that first stay counts;
  the readmission stay can itself be the index of the next one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from .encounters import ACTIVE, DISCHARGED, Encounter
from .rules import DEFAULT_RULES, AdmissionRules


@dataclass(frozen=True)
class Stay:
    encounters: tuple[Encounter, ...]  # chronological

    @property
    def first(self) -> Encounter:
        return self.encounters[0]

    @property
    def last(self) -> Encounter:
        return self.encounters[-1]

    @property
    def admit_time(self) -> datetime:
        start = self.first.start_time()
        assert start is not None
        return start

    @property
    def admit_date(self) -> date:
        return self.admit_time.date()

    @property
    def discharge_date(self) -> date | None:
        last = self.last
        return last.discharge_time.date() if last.status == DISCHARGED and last.discharge_time else None

    def is_index(self, rules: AdmissionRules = DEFAULT_RULES) -> bool:
        return self.discharge_date is not None and self.last.disposition not in rules.non_index_dispositions


@dataclass(frozen=True)
class Readmission:
    index: Stay
    readmit: Stay

    @property
    def days(self) -> int:
        assert self.index.discharge_date is not None
        return (self.readmit.admit_date - self.index.discharge_date).days


def inpatient_stays(encounters: Iterable[Encounter], rules: AdmissionRules = DEFAULT_RULES) -> list[Stay]:
    inpatient = sorted(
        (e for e in encounters if e.status in (ACTIVE, DISCHARGED) and e.inpatient_since is not None),
        key=lambda e: (e.start_time(), e.key),
    )
    chains: list[list[Encounter]] = []
    for enc in inpatient:
        if chains:
            prev = chains[-1][-1]
            start = enc.start_time()
            if (prev.status == DISCHARGED and prev.discharge_time is not None and start is not None
                    and (start.date() - prev.discharge_time.date()).days <= rules.transfer_gap_days):
                chains[-1].append(enc)
                continue
        chains.append([enc])
    return [Stay(tuple(c)) for c in chains]


def readmissions(stays: list[Stay], rules: AdmissionRules = DEFAULT_RULES) -> list[Readmission]:
    out = []
    for prev, nxt in zip(stays, stays[1:]):
        if not prev.is_index(rules):
            continue
        assert prev.discharge_date is not None
        days = (nxt.admit_date - prev.discharge_date).days
        if 0 <= days <= rules.readmission_window_days:
            out.append(Readmission(prev, nxt))
    return out
