"""The worker's gauges, refreshed from the database on a timer: attributed members in house by
facility (``admissions_census``; a facility that empties goes to 0) and the patient records no
roster member matches yet (``admissions_unmatched_patients``)."""

from __future__ import annotations

from .. import metrics
from .ports import UnitOfWorkFactory


class Gauges:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self.uow = uow
        self.facilities: set[str] = set()

    def refresh(self) -> None:
        with self.uow() as uow:
            by_facility = dict(uow.encounters.census_by_facility())
            unmatched = uow.states.unmatched()
        for facility in self.facilities - set(by_facility):
            metrics.CENSUS.labels(facility).set(0)
        for facility, n in by_facility.items():
            metrics.CENSUS.labels(facility).set(n)
        self.facilities.update(by_facility)
        metrics.UNMATCHED.set(unmatched)
