"""Cancer screenings: CMS130 colorectal (COL) and CMS125 breast (BCS).

Evidence keeps counting for a number of periods (colonoscopy: the period and 9 before it;
mammogram: 27 months back from the period's end), so a closed gap has a lapse date and may
be ``due_soon``.
"""

from __future__ import annotations

from datetime import date

from .context import Ctx
from .exclusions import common_exclusion
from .index import Hit, describe
from .periods import ONE_DAY, add_months, add_years
from .results import EvidenceItem, MeasureResult

# (value set, periods before the measurement period it still counts, words for a nurse)
COL_TESTS: tuple[tuple[str, int, str], ...] = (
    ("colonoscopy", 9, "colonoscopy"),
    ("ct_colonography", 4, "CT colonography"),
    ("flexible_sigmoidoscopy", 4, "flexible sigmoidoscopy"),
    ("sdna_fit", 2, "stool DNA with FIT"),
    ("fobt", 0, "FIT/FOBT"),
)
COL_AGES = (46, 75)
BCS_LOOKBACK_MONTHS = 27


def _col_lapse(ctx: Ctx, d: date, years: int) -> date:
    """Last day of the last period in which a test on ``d`` still counts."""
    return ctx.period.containing(add_years(d, years)).end


def colorectal(ctx: Ctx) -> MeasureResult:
    m = "CMS130"
    gate = ctx.denominator_gate(m, *COL_AGES, what="colorectal cancer screening")
    if gate is not None:
        return gate
    idx, end = ctx.idx, ctx.end
    excl = common_exclusion(ctx)
    if excl is None:
        cancer = idx.latest("colorectal_cancer", None, end)
        if cancer is not None:
            excl = f"colorectal cancer: {describe(cancer)}", (idx.evidence(cancer),)
        else:
            colectomy = idx.latest("total_colectomy", None, end)
            if colectomy is not None:
                excl = f"total colectomy: {describe(colectomy)}", (idx.evidence(colectomy),)
    if excl is not None:
        return ctx.result(m, "excluded", f"excluded: {excl[0]}", excl[1])

    best: tuple[date, int, Hit, str] | None = None  # (lapse, -rank, hit, words)
    last_expired: tuple[Hit, date, str] | None = None
    for rank, (vs, years, words) in enumerate(COL_TESTS):
        h = idx.latest(vs, None, end)
        if h is None:
            continue
        lapse = _col_lapse(ctx, h[0], years)
        if h[0] >= ctx.lookback_start(years):
            cand = (lapse, -rank, h, words)
            if best is None or cand[:2] > best[:2]:
                best = cand
        elif last_expired is None or h[:5] > last_expired[0][:5]:
            last_expired = (h, lapse, words)
    if best is not None:
        lapse, _, h, words = best
        status = ctx.closed_or_due_soon(lapse)
        reason = f"{words} {describe(h)}; counts through {lapse.isoformat()}"
        if status == "due_soon":
            reason += f"; next screening due by {lapse.isoformat()}"
        return ctx.result(m, status, reason, (idx.evidence(h),), due_date=lapse, lapses_on=lapse)
    if last_expired is not None:
        h, lapse, words = last_expired
        reason = (f"no colorectal cancer screening on file for {ctx.period.label()}; last {words} "
                  f"{h[0].isoformat()} ({h[1]}), expired {lapse.isoformat()}")
        return ctx.result(m, "open", reason, (idx.evidence(h),), due_date=end)
    return ctx.result(m, "open", "no colorectal cancer screening on file (colonoscopy, FIT, "
                                 "stool DNA, sigmoidoscopy or CT colonography)", due_date=end)


def _bcs_ages(ctx: Ctx) -> tuple[int, int]:
    version = ctx.settings.version_number("CMS125")
    return (42, 74) if version is None or version >= 14 else (52, 74)


def _bcs_lapse(ctx: Ctx, d: date) -> date:
    """Last period end E with E + 1 day - 27 months <= d."""
    return ctx.period.containing(add_months(d, BCS_LOOKBACK_MONTHS)).start - ONE_DAY


def _bilateral_mastectomy(ctx: Ctx) -> tuple[str, tuple[EvidenceItem, ...]] | None:
    idx, end = ctx.idx, ctx.end
    h = idx.latest("bilateral_mastectomy", None, end)
    if h is not None:
        return f"bilateral mastectomy: {describe(h)}", (idx.evidence(h),)
    right = idx.latest("right_mastectomy", None, end)
    left = idx.latest("left_mastectomy", None, end)
    unsided: dict[date, Hit] = {}
    for p in sorted(idx.hits("unilateral_mastectomy"), key=lambda x: x[:5]):
        if p[0] > end:
            continue
        mods = getattr(p[5], "modifiers", ())
        if "50" in mods:
            return f"bilateral mastectomy: {describe(p)} (modifier 50)", (idx.evidence(p, value="50"),)
        if "RT" in mods:
            right = p if right is None or p[:5] > right[:5] else right
        elif "LT" in mods:
            left = p if left is None or p[:5] > left[:5] else left
        else:
            unsided.setdefault(p[0], p)
    if right is not None and left is not None:
        return (f"mastectomy of both breasts: right {describe(right)}; left {describe(left)}",
                (idx.evidence(right), idx.evidence(left)))
    if len(unsided) >= 2:
        a, b = sorted(unsided.values(), key=lambda x: x[:5])[-2:]
        return (f"two unilateral mastectomies: {describe(a)}; {describe(b)}",
                (idx.evidence(a), idx.evidence(b)))
    return None


def breast(ctx: Ctx) -> MeasureResult:
    m = "CMS125"
    if ctx.member.sex != "F":
        return ctx.result(m, "not_applicable", "not in the denominator: breast cancer screening counts "
                                               "women; the roster does not list the member as female")
    gate = ctx.denominator_gate(m, *_bcs_ages(ctx), what=f"breast cancer screening ({ctx.settings.version(m)})")
    if gate is not None:
        return gate
    excl = common_exclusion(ctx) or _bilateral_mastectomy(ctx)
    if excl is not None:
        return ctx.result(m, "excluded", f"excluded: {excl[0]}", excl[1])
    idx, end = ctx.idx, ctx.end
    since = add_months(end + ONE_DAY, -BCS_LOOKBACK_MONTHS)
    h = idx.latest("mammography", None, end)
    if h is not None and h[0] >= since:
        lapse = _bcs_lapse(ctx, h[0])
        status = ctx.closed_or_due_soon(lapse)
        reason = f"mammogram {describe(h)}; counts through {lapse.isoformat()}"
        if status == "due_soon":
            reason += f"; next mammogram due by {lapse.isoformat()}"
        return ctx.result(m, status, reason, (idx.evidence(h),), due_date=lapse, lapses_on=lapse)
    if h is not None:
        lapse = _bcs_lapse(ctx, h[0])
        return ctx.result(m, "open", f"no mammogram since {since.isoformat()}; last mammogram "
                                     f"{h[0].isoformat()} ({h[1]}), expired {lapse.isoformat()}",
                          (idx.evidence(h),), due_date=end)
    return ctx.result(m, "open", f"no mammogram on file since {since.isoformat()}", due_date=end)
