"""Post-discharge follow-up (FUP): one gap per acute inpatient discharge in the period.

Denominator: an adult member (18+ on the period's last day), an acute inpatient discharge in
the period (other stays - observation, skilled nursing - make no gap at all), alive, discharged home or to the community (UB-04 patient status in the
``discharge_home`` list; a discharge whose status was not given counts, and the reason says
so). Numerator: an outpatient visit (office E&M, TCM, telehealth / virtual, home, wellness)
1 to 30 days after the discharge, never on the discharge day, not in an inpatient or ED
setting. Exclusion: hospice care in the period.

The instance is the discharge date: an ADT transition and the institutional claim for the
same stay give one gap, whichever arrives first.
"""

from __future__ import annotations

from datetime import date, timedelta

from .context import Ctx
from .history import Discharge
from .index import Hit, describe, in_setting
from .results import EvidenceItem, MeasureResult

FUP_VISITS: tuple[str, ...] = (
    "office_visit", "transitional_care", "telephone_visit", "online_assessment", "telehealth_visit",
    "home_healthcare", "preventive_care", "annual_wellness_visit",
)


def _merge(group: list[Discharge]) -> Discharge:
    """One discharge per date: the ADT transition wins over a claim, then the smallest id."""
    group = sorted(group, key=lambda d: (d.source != "adt", d.discharge_id, d.disposition or "",
                                         d.admit_date or date.min, d.facility or "", not d.acute))
    first = group[0]
    disposition = first.disposition or next((d.disposition for d in group if d.disposition), None)
    acute = any(d.acute for d in group)
    return Discharge(first.discharge_id, first.discharge_date, first.source, first.admit_date,
                     disposition, acute, first.facility)


def _discharge_evidence(d: Discharge) -> EvidenceItem:
    return EvidenceItem(code=d.disposition or "discharge", code_system="ADT" if d.source == "adt" else "UB04",
                        date=d.discharge_date, claim_id=d.discharge_id if d.source == "claim" else None,
                        description=f"inpatient discharge ({d.source} {d.discharge_id})"[:200])


def followups(ctx: Ctx) -> list[MeasureResult]:
    m = "FUP"
    by_day: dict[date, list[Discharge]] = {}
    for d in ctx.idx.discharges:
        if ctx.start <= d.discharge_date <= ctx.end:
            by_day.setdefault(d.discharge_date, []).append(d)
    if not by_day:
        return []
    codes, idx = ctx.codes, ctx.idx
    window = ctx.settings.fup_window_days
    hospice = idx.latest("hospice", ctx.start, ctx.end)
    visits: list[Hit] = []
    for vs in FUP_VISITS:
        visits.extend(idx.hits(vs))
    out: list[MeasureResult] = []
    for day in sorted(by_day):
        dc = _merge(by_day[day])
        inst = day.isoformat()
        due = day + timedelta(days=window)
        src = f"discharge {day.isoformat()} ({dc.source} {dc.discharge_id})"
        dev = (_discharge_evidence(dc),)
        if ctx.age < 18:
            out.append(ctx.result(m, "not_applicable", f"not in the denominator: {ctx.age_text()}; "
                                  "follow-up after discharge counts adults", dev, instance_id=inst))
            continue
        if not dc.acute:
            continue  # not an acute inpatient stay: no follow-up gap at all
        disp = dc.disposition
        if disp and "discharge_expired" in codes.tags("DISCH", disp):
            out.append(ctx.result(m, "not_applicable", f"not in the denominator: the member died during "
                                  f"the stay (status {disp})", dev, instance_id=inst))
            continue
        if disp and "discharge_home" not in codes.tags("DISCH", disp):
            out.append(ctx.result(m, "not_applicable", f"not in the denominator: {src} was not to home or "
                                  f"the community (status {disp})", dev, instance_id=inst))
            continue
        if hospice is not None:
            out.append(ctx.result(m, "excluded", f"excluded: hospice care: {describe(hospice)}",
                                  (idx.evidence(hospice),), instance_id=inst))
            continue
        lo, hi = day + timedelta(days=1), due
        first = None
        for h in visits:
            if lo <= h[0] <= hi and not in_setting(codes, h[5], "inpatient_ed_setting"):
                if first is None or h[:5] < first[:5]:
                    first = h
        unknown = "" if disp else " (discharge status not given)"
        if first is not None:
            days_after = (first[0] - day).days
            out.append(ctx.result(m, "closed", f"follow-up visit {describe(first)}, {days_after} days after "
                                  f"{src}{unknown}", (idx.evidence(first),) + dev, due_date=due,
                                  instance_id=inst))
            continue
        as_of = ctx.settings.as_of
        if as_of is not None and as_of > due:
            reason = f"no outpatient visit within {window} days of {src}; the window closed {due.isoformat()}"
        else:
            reason = f"no outpatient visit yet after {src}; visit due by {due.isoformat()} (not on the discharge day)"
        out.append(ctx.result(m, "open", reason + unknown, dev, due_date=due, instance_id=inst))
    return out
