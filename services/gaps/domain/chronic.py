"""Chronic-condition control: CMS122 HbA1c poor control (> 9%, inverse) and CMS165 blood pressure.

Both read results: CPT II codes carry a band (3046F: > 9%), LOINC results carry the value on
the event. Same-day ties are settled without looking at arrival order: for HbA1c the highest
result of the most recent day counts (conservative); for blood pressure the lowest systolic and
the lowest diastolic of the most recent day with both (as the measure says).
"""

from __future__ import annotations

from datetime import date

from .codesets import Band
from .context import Ctx
from .exclusions import common_exclusion
from .index import Hit, describe, in_setting
from .periods import ONE_DAY, add_months, add_years
from .results import EvidenceItem, MeasureResult

A1C_LIMIT = 9.0
SYSTOLIC_LIMIT = 140.0
DIASTOLIC_LIMIT = 90.0


def result_band(ctx: Ctx, value_set: str, hit: Hit) -> Band | None:
    """The band a hit reports in ``value_set``; None when it carries no result."""
    ns, code, value = hit[3], hit[1], hit[4]
    codes = ctx.codes
    if not codes.has_result(value_set, ns, code):
        return None
    band = codes.band(value_set, ns, code)
    if band is not None:
        return band
    if value:
        try:
            return Band.exact(float(value.rstrip("%")), value)
        except ValueError:
            return None
    return None


def _pct(band: Band) -> str:
    return band.label if band.label.endswith("%") else f"{band.label}%"


def diabetes_a1c(ctx: Ctx) -> MeasureResult:
    m = "CMS122"
    gate = ctx.denominator_gate(m, 18, 75, what="diabetes HbA1c control")
    if gate is not None:
        return gate
    idx, start, end = ctx.idx, ctx.start, ctx.end
    dx = idx.latest("diabetes", add_years(start, -ctx.settings.chronic_dx_lookback_years), end)
    if dx is None:
        return ctx.result(m, "not_applicable", "not in the denominator: no diabetes diagnosis "
                                               "(E10, E11, E13) on file")
    excl = common_exclusion(ctx)
    if excl is not None:
        return ctx.result(m, "excluded", f"excluded: {excl[0]}", excl[1])

    latest_day: date | None = None
    day_hits: list[Hit] = []
    for vs in ("hba1c_result", "hba1c_test"):
        for h in idx.hits(vs):
            d = h[0]
            if d < start or d > end:
                continue
            if latest_day is None or d > latest_day:
                latest_day, day_hits = d, [h]
            elif d == latest_day:
                day_hits.append(h)
    if latest_day is None:
        return ctx.result(m, "open", f"no HbA1c test in {ctx.period.label()}", due_date=end)
    worst: tuple[tuple[float, float], Hit, Band] | None = None
    for h in day_hits:
        band = result_band(ctx, "hba1c_result", h)
        if band is None:
            continue
        cand = (band.sort_key(), h, band)
        if worst is None or (cand[0], cand[1][:5]) > (worst[0], worst[1][:5]):
            worst = cand
    if worst is None:
        test = max(day_hits, key=lambda x: x[:5])
        return ctx.result(m, "open", f"HbA1c test {describe(test)} has no result on file",
                          (idx.evidence(test),), due_date=end)
    _, h, band = worst
    ev = idx.evidence(h, value=_pct(band))
    words = f"most recent HbA1c {_pct(band)} on {h[0].isoformat()} ({h[1]})"
    if band.entirely_above(A1C_LIMIT):
        return ctx.result(m, "open", f"{words}: above 9%", (ev,), due_date=end)
    if band.entirely_below(A1C_LIMIT) or (band.high is not None and band.high <= A1C_LIMIT):
        status = ctx.closed_or_due_soon(end)
        return ctx.result(m, status, f"{words}: not above 9%", (ev,), due_date=end, lapses_on=end)
    return ctx.result(m, "open", f"{words}: cannot tell whether it is above 9%", (ev,), due_date=end)


def _renal_or_pregnancy(ctx: Ctx) -> tuple[str, tuple[EvidenceItem, ...]] | None:
    idx, start, end = ctx.idx, ctx.start, ctx.end
    h = idx.latest("pregnancy", start, end)
    if h is not None:
        return f"pregnancy: {describe(h)}", (idx.evidence(h),)
    for vs, words in (("esrd", "end-stage renal disease"), ("dialysis", "dialysis"),
                      ("kidney_transplant", "kidney transplant"), ("ckd_stage_5", "chronic kidney disease stage 5")):
        h = idx.latest(vs, None, end)
        if h is not None:
            return f"{words}: {describe(h)}", (idx.evidence(h),)
    return None


def blood_pressure(ctx: Ctx) -> MeasureResult:
    m = "CMS165"
    gate = ctx.denominator_gate(m, 18, 85, what="controlling high blood pressure")
    if gate is not None:
        return gate
    idx, start, end = ctx.idx, ctx.start, ctx.end
    six_months = add_months(start, 6) - ONE_DAY
    htn = idx.latest("essential_hypertension", add_years(start, -ctx.settings.chronic_dx_lookback_years), six_months)
    if htn is None:
        return ctx.result(m, "not_applicable", "not in the denominator: no essential hypertension (I10) "
                                               f"diagnosed before {(six_months + ONE_DAY).isoformat()}")
    excl = common_exclusion(ctx, frailty_alone_age=81) or _renal_or_pregnancy(ctx)
    if excl is not None:
        return ctx.result(m, "excluded", f"excluded: {excl[0]}", excl[1])

    days: dict[date, list[list[tuple[tuple[float, float], Hit, Band]]]] = {}
    codes = ctx.codes
    for slot, vs in ((0, "systolic_bp"), (1, "diastolic_bp")):
        for h in idx.hits(vs):
            d = h[0]
            if d < start or d > end or in_setting(codes, h[5], "inpatient_ed_setting"):
                continue
            band = result_band(ctx, vs, h)
            if band is None:
                continue
            days.setdefault(d, [[], []])[slot].append((band.sort_key(), h, band))
    complete = [d for d, (s, di) in days.items() if s and di]
    if not complete:
        return ctx.result(m, "open", f"no blood pressure reading (systolic and diastolic on one day) in "
                                     f"{ctx.period.label()} outside inpatient and ED settings", due_date=end)
    day = max(complete)
    sys_low = min(days[day][0], key=lambda x: (x[0], x[1][:5]))
    dia_low = min(days[day][1], key=lambda x: (x[0], x[1][:5]))
    s_band, d_band = sys_low[2], dia_low[2]
    evidence = (idx.evidence(sys_low[1], value=s_band.label), idx.evidence(dia_low[1], value=d_band.label))
    if s_band.low == s_band.high and d_band.low == d_band.high:
        reading = f"{s_band.label}/{d_band.label} mm Hg"
    else:
        reading = f"systolic {s_band.label}, diastolic {d_band.label} mm Hg"
    words = f"most recent blood pressure {reading} on {day.isoformat()} ({sys_low[1][1]}, {dia_low[1][1]})"
    if s_band.entirely_below(SYSTOLIC_LIMIT) and d_band.entirely_below(DIASTOLIC_LIMIT):
        status = ctx.closed_or_due_soon(end)
        return ctx.result(m, status, f"{words}: below 140/90", evidence, due_date=end, lapses_on=end)
    return ctx.result(m, "open", f"{words}: not below 140/90", evidence, due_date=end)
