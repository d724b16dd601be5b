"""evaluate_member: one member's history in, one result per measure (per discharge for FUP) out.

Pure and order-independent: the history is indexed by value set once, every "most recent" or
"first" choice breaks ties on (date, code, claim id, code system, value), never on input order.
"""

from __future__ import annotations

from collections.abc import Callable

from .chronic import blood_pressure, diabetes_a1c
from .codesets import CodeSets
from .context import Ctx, MeasureSettings
from .followup import followups
from .history import ClinicalHistory, Member
from .index import MemberIndex
from .results import MeasureResult
from .screening import breast, colorectal

_SINGLE: dict[str, Callable[[Ctx], MeasureResult]] = {
    "CMS130": colorectal,
    "CMS125": breast,
    "CMS122": diabetes_a1c,
    "CMS165": blood_pressure,
}


def evaluate_member(
    member: Member, history: ClinicalHistory, settings: MeasureSettings, codes: CodeSets,
) -> list[MeasureResult]:
    """Every measure in ``settings.measures`` for one member, in measure order.

    A member termed from the roster gets ``not_applicable`` for every gap it had (the FUP
    instances included), so the wiring can retire them.
    """
    ctx = Ctx(member, MemberIndex(history, codes), settings, codes)
    out: list[MeasureResult] = []
    for measure_id in settings.measures:
        if measure_id == "FUP":
            out.extend(followups(ctx))
        else:
            out.append(_SINGLE[measure_id](ctx))
    if member.status == "termed":
        out = [ctx.result(r.measure_id, "not_applicable", "not in the denominator: the member was termed "
                          "from the roster", instance_id=r.instance_id) for r in out]
    return out
