"""Member months and paid lines on SQL (``app.ports.AccrualRows``): one row per member month
(contract, tier, eligible day runs) and one per paid claim line attributed to a contract month
(``member_family`` = member|claim family, so one family's rows are replaced together)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from shared.chunks import chunks

from ..app.ports import CostRow, MonthRow, cost_sort
from .sql import CHUNK, among, copy_rows
from .tables import member_months, paid_lines

_MONTH_COLS = ("member_id", "period", "contract_id", "tier", "runs")
_PAID_LINE_COLS = ("member_family", "member_id", "contract_id", "period", "procedure_code", "revenue_code",
                   "paid_cents")


class SqlAccrualRows:
    def __init__(self, session: Session) -> None:
        self.session = session

    def months(self, members: Sequence[str]) -> dict[str, set[MonthRow]]:
        out: dict[str, set[MonthRow]] = defaultdict(set)
        mm = member_months.c
        for part in chunks(sorted(members), CHUNK):
            for r in self.session.execute(select(mm.member_id, mm.period, mm.contract_id, mm.tier, mm.runs)
                                          .where(among(self.session, mm.member_id, part))):
                out[r.member_id].add((r.period, r.contract_id, r.tier, r.runs))
        return out

    def costs(self, members: Sequence[str], member_families: Sequence[str] = ()
              ) -> dict[str, dict[str, list[CostRow]]]:
        out: dict[str, dict[str, list[CostRow]]] = defaultdict(lambda: defaultdict(list))
        s, pl = self.session, paid_lines.c
        cols = (pl.member_id, pl.member_family, pl.contract_id, pl.period, pl.procedure_code, pl.revenue_code,
                pl.paid_cents)
        queries = [select(*cols).where(among(s, pl.member_id, part)) for part in chunks(sorted(members), CHUNK)]
        queries += [select(*cols).where(among(s, pl.member_family, part))
                    for part in chunks(sorted(set(member_families)), CHUNK)]
        for q in queries:
            for r in s.execute(q):
                family = r.member_family.split("|", 1)[1]
                out[r.member_id][family].append((r.contract_id, r.period, r.procedure_code, r.revenue_code,
                                                 r.paid_cents))
        for fams in out.values():
            for rows in fams.values():
                rows.sort(key=cost_sort)
        return out

    def replace_months(self, removed: Sequence[tuple[str, str]], added: Sequence[tuple[str, str, str, str, str]]
                       ) -> None:
        by_member: dict[str, list[str]] = defaultdict(list)
        for mid, period in removed:
            by_member[mid].append(period)
        mm = member_months.c
        for mid, periods in by_member.items():
            self.session.execute(delete(member_months).where(mm.member_id == mid, mm.period.in_(periods)))
        copy_rows(self.session, member_months, _MONTH_COLS, added)

    def replace_costs(self, replaced: Sequence[str], added: Sequence[tuple]) -> None:
        for part in chunks(sorted(replaced), CHUNK):
            self.session.execute(delete(paid_lines).where(among(self.session, paid_lines.c.member_family, part)))
        copy_rows(self.session, paid_lines, _PAID_LINE_COLS, added)

    # ------------------------------------------------------------------ reads of the API, explain, gauges
    def month_counts(self) -> dict[str, int]:
        mm = member_months.c
        return {c: int(n) for c, n in self.session.execute(
            select(mm.contract_id, func.count()).group_by(mm.contract_id))}

    def contract_months(self, contract_id: str, period: str, member: str | None = None, limit: int | None = None,
                        offset: int = 0) -> list[tuple[str, str, str]]:
        mm = member_months.c
        q = select(mm.member_id, mm.tier, mm.runs).where(mm.contract_id == contract_id, mm.period == period)
        if member is not None:
            q = q.where(mm.member_id == member)
        q = q.order_by(mm.member_id)
        if limit is not None:
            q = q.limit(limit).offset(offset)
        return [(m, t, r) for m, t, r in self.session.execute(q)]

    def contract_members(self, contract_id: str, member: str | None = None) -> list[str]:
        mm = member_months.c
        q = select(mm.member_id).where(mm.contract_id == contract_id).distinct()
        if member is not None:
            q = q.where(mm.member_id == member)
        return sorted(r[0] for r in self.session.execute(q))

    def tiers(self, contract_id: str, period: str) -> dict[str, int]:
        mm = member_months.c
        return {t: int(n) for t, n in self.session.execute(
            select(mm.tier, func.count()).where(mm.contract_id == contract_id, mm.period == period)
            .group_by(mm.tier))}
