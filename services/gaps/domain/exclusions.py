"""The exclusions all four eCQMs share.

Hospice care in the period; palliative care in the period; age 66+ with frailty in the
period and advanced illness in the period or the year before; age 66+ living long term in a
nursing home (claims proxy: a long-term-care place of service in the period). CMS165 also
excludes age 81+ with frailty alone (``frailty_alone_age``).
"""

from __future__ import annotations

from .context import Ctx
from .index import describe
from .periods import add_years
from .results import EvidenceItem

FRAILTY: tuple[str, ...] = ("frailty_device", "frailty_diagnosis", "frailty_encounter", "frailty_symptom")


def common_exclusion(ctx: Ctx, frailty_alone_age: int | None = None) -> tuple[str, tuple[EvidenceItem, ...]] | None:
    """``(reason, evidence)`` of the first common exclusion the member meets, else None."""
    idx, start, end = ctx.idx, ctx.start, ctx.end
    h = idx.latest("hospice", start, end)
    if h is not None:
        return f"hospice care: {describe(h)}", (idx.evidence(h),)
    h = idx.latest("palliative_care", start, end)
    if h is not None:
        return f"palliative care: {describe(h)}", (idx.evidence(h),)
    if ctx.age >= 66:
        frail = idx.latest_of(FRAILTY, start, end)
        if frail is not None:
            ill = idx.latest("advanced_illness", add_years(start, -1), end)
            if ill is not None:
                return (f"age {ctx.age} with frailty ({describe(frail)}) and advanced illness ({describe(ill)})",
                        (idx.evidence(frail), idx.evidence(ill)))
            if frailty_alone_age is not None and ctx.age >= frailty_alone_age:
                return f"age {ctx.age} with frailty ({describe(frail)})", (idx.evidence(frail),)
        ltc = idx.latest("long_term_care_setting", start, end)
        if ltc is not None:
            return (f"age {ctx.age} living long term in a nursing home ({describe(ltc)})",
                    (idx.evidence(ltc),))
    return None
