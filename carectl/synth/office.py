"""Professional services of one rostered person: office and preventive visits with CPT II
results, follow-up after discharge, screenings, the hospitalist's and ED physician's claims,
and the prior years' services (the history batch) that measures look back on.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from . import reference as ref
from .config import SynthConfig
from .encounters import CareHistory, Service, day_between, weekday_near
from .population import Person, poisson

OFFICE_RATE = (1.8, 3.0, 4.5, 6.5)  # office visits per year by tier (engaged members)


class OfficeCare:
    def __init__(self, cfg: SynthConfig, practices: tuple[ref.Practice, ...]) -> None:
        self.cfg = cfg
        self.practices = practices

    def visit_lines(self, p: Person, rng: random.Random, em: str, dx: list[str],
                     with_results: bool) -> list[tuple[str, tuple[str, ...], int, tuple[int, ...]]]:
        lines: list[tuple[str, tuple[str, ...], int, tuple[int, ...]]] = [
            (em, (), 1, tuple(range(1, min(4, len(dx)) + 1)))]
        if not with_results:
            return lines
        if "diabetes" in p.flags and p.a1c_tested and rng.random() < 0.55:
            ptr = (dx.index(next(c for c in p.conditions if c.startswith("E1"))) + 1,)
            level = min(3, max(0, p.a1c_level + rng.choice((0, 0, 0, 0, -1, 1))))
            lines.append(("83036", ("QW",) if rng.random() < 0.5 else (), 1, ptr))
            lines.append((ref.CPT2_HBA1C[level], (), 1, ptr))
        if "hypertension" in p.flags and p.bp_coded and rng.random() < 0.75:
            ptr = (dx.index(ref.HYPERTENSION) + 1,)
            if p.bp_controlled and rng.random() < 0.92:
                sys_c = rng.choice(ref.CPT2_SYSTOLIC[:2])
                dia_c = rng.choice(ref.CPT2_DIASTOLIC[:2])
            else:
                sys_c = rng.choices(ref.CPT2_SYSTOLIC, (10, 20, 70))[0]
                dia_c = rng.choices(ref.CPT2_DIASTOLIC, (30, 30, 40))[0] if sys_c == "3077F" else "3080F"
            lines.append((sys_c, (), 1, ptr))
            lines.append((dia_c, (), 1, ptr))
        return lines

    def visit_dx(self, p: Person, rng: random.Random, reason: str | None) -> list[str]:
        dx = [reason] if reason else []
        for c in p.conditions:
            if c.startswith("Z5") or c.startswith("Z6"):
                if rng.random() < 0.45:
                    dx.append(c)
            elif c.startswith("E66"):
                if rng.random() < 0.6:
                    dx.append(c)
            else:
                dx.append(c)
        if not dx:
            dx = [rng.choice(("J069", "M545", "R051", "Z23", "L309", "R5383"))]
        return dx[:12]

    def visits(self, p: Person, rng: random.Random, hist: CareHistory, lo: date, hi: date,
                years: float, t: int) -> None:
        prac = self.practices[p.practice]
        out = hist.services
        if p.engaged:
            n = poisson(rng, OFFICE_RATE[t] * years)
            for _ in range(n):
                day = weekday_near(day_between(rng, lo, hi), rng, lo, hi)
                em = rng.choices(("99212", "99213", "99214", "99215"), (5, 52, 36, 7))[0]
                dx = self.visit_dx(p, rng, None)
                lines = self.visit_lines(p, rng, em, dx, True)
                pos = "10" if rng.random() < 0.08 else "11"
                out.append(Service(day, "office", lines, dx, pos, prac.npi, p.pcp_npi))
            if rng.random() < 0.55 * min(1.0, years):
                day = weekday_near(day_between(rng, lo, hi), rng, lo, hi)
                if p.contract_id == ref.CONTRACT_MA:
                    em, reason = "G0439", "Z0000"
                else:
                    em = "99395" if p.age < 40 else "99396" if p.age < 65 else "99397"
                    reason = "Z0000"
                dx = self.visit_dx(p, rng, reason)
                lines = self.visit_lines(p, rng, em, dx, True)
                lines += [("80053", (), 1, (1,)), ("85025", (), 1, (1,)), ("80061", (), 1, (1,)),
                          ("36415", (), 1, (1,))]
                if day.month >= 9 and rng.random() < 0.5:
                    lines += [("90686", (), 1, (1,)), ("G0008", (), 1, (1,))]
                out.append(Service(day, "preventive", lines, dx, "11", prac.npi, p.pcp_npi))
        # follow-up after discharges home
        for s in hist.stays:
            if s.kind != "inpatient" or s.disposition in ("20", "07"):
                continue
            if rng.random() < (0.7 if p.engaged else 0.35):
                gap = rng.randint(2, 13) if rng.random() < 0.55 else rng.randint(1, 45)
                day = s.discharge.date() + timedelta(days=gap)
                if day >= hi:
                    continue
                tcm = gap <= 14 and rng.random() < 0.6
                em = ("99496" if gap <= 7 and p.risk_tier in ("high", "complex") else "99495") if tcm else "99214"
                dx = self.visit_dx(p, rng, s.dx[0][0])
                lines = self.visit_lines(p, rng, em, dx, True)
                out.append(Service(day, "followup", lines, dx, "11", prac.npi, p.pcp_npi))

    def screenings(self, p: Person, rng: random.Random, hist: CareHistory, lo: date, hi: date) -> None:
        cfg = self.cfg
        plan: dict[str, object] = {}
        age_end = p.age + 1
        if 45 <= age_end <= 75 and "crc" not in p.flags:
            r = rng.random()
            start = cfg.start
            if r < 0.48:
                plan["colonoscopy"] = start - timedelta(days=rng.randint(200, 9 * 365))
            elif r < 0.54:
                plan["colonoscopy"] = start - timedelta(days=rng.randint(10 * 365 + 30, 12 * 365))
                if rng.random() < 0.3:
                    plan["fit_now"] = True
            elif r < 0.62:
                plan["colonoscopy_now"] = True
            elif r < 0.74:
                plan["fit_now"] = True
            elif r < 0.80:
                plan["fit"] = date(start.year - 1, rng.randint(1, 12), rng.randint(1, 28))
            elif r < 0.83:
                plan["sdna"] = start - timedelta(days=rng.randint(60, 700))
        if p.sex == "F" and 40 <= age_end <= 74 and "mastectomy" not in p.flags:
            r = rng.random()
            if r < 0.50:
                last = cfg.start - timedelta(days=rng.randint(30, 450))
                plan["mammo"] = last
                if rng.random() < 0.6:
                    plan["mammo_now_after"] = last + timedelta(days=rng.randint(335, 420))
            elif r < 0.68:
                plan["mammo_now_after"] = lo
            elif r < 0.78:
                plan["mammo"] = cfg.start - timedelta(days=rng.randint(3 * 365, 5 * 365))
        p.extra["screening_plan"] = plan
        prac = self.practices[p.practice]
        in_window = [lo, hi]

        def when(after: date | None = None) -> date | None:
            a = max(in_window[0], after) if after else in_window[0]
            if a >= in_window[1]:
                return None
            return weekday_near(day_between(rng, a, in_window[1]), rng, a, in_window[1])

        if plan.get("colonoscopy_now"):
            d = when()
            if d:
                code = rng.choices(("45378", "G0121", "45380"), (60, 25, 15))[0]
                hist.services.append(Service(d, "colonoscopy", [(code, (), 1, (1,))], ["Z1211"], "22",
                                             ref.GI_GROUP_NPI, ref.GI_PHYSICIAN_NPI))
        if plan.get("fit_now"):
            d = when()
            if d:
                code = rng.choice(("82274", "G0328"))
                hist.services.append(Service(d, "fit", [(code, (), 1, (1,))], ["Z1212"], "81",
                                             prac.npi, p.pcp_npi))
        after = plan.get("mammo_now_after")
        if isinstance(after, date):
            d = when(after)
            if d:
                lines = [("77067", (), 1, (1,))] + ([("77063", (), 1, (1,))] if rng.random() < 0.5 else [])
                hist.services.append(Service(d, "mammo", lines, ["Z1231"], "22", ref.IMAGING_NPI,
                                             ref.IMAGING_NPI))
        hist.services.sort(key=lambda s: s.day)

    def professional_for_hospital(self, p: Person, rng: random.Random, hist: CareHistory) -> None:
        for s in hist.stays:
            if s.kind == "cancelled":
                continue
            dx = [c for c, _ in s.dx]
            if s.kind == "observation":
                lines = [("99223", (), 1, (1,))]
            else:
                days = (s.discharge.date() - s.admit.date()).days
                lines = [("99223", (), 1, (1,))]
                lines += [(("99232" if rng.random() < 0.7 else "99233"), (), 1, (1,)) for _ in range(min(days - 1, 5))]
                lines.append(("99238", (), 1, (1,)))
            hist.services.append(Service(s.admit.date(), "hospitalist", lines, dx, "21" if s.kind == "inpatient" else "22",
                                         ref.HOSPITALIST_NPI, ref.ATTENDINGS[s.attending][0],
                                         end_day=s.discharge.date()))
            if s.via_ed:
                hist.services.append(Service(s.via_ed.date(), "ed", [("99285", (), 1, (1,))], dx, "23",
                                             ref.ED_GROUP_NPI, ref.ED_PHYSICIAN_NPI))
        for e in hist.ed_visits:
            hist.services.append(Service(e.arrival.date(), "ed", [(e.level, (), 1, (1,))],
                                         [c for c, _ in e.dx], "23", ref.ED_GROUP_NPI, ref.ED_PHYSICIAN_NPI))
        hist.services.sort(key=lambda s: s.day)

    def history(self, p: Person, rng: random.Random, hist: CareHistory) -> None:
        """Prior years' claims: chronic diagnoses on a visit last year; past screenings."""
        cfg = self.cfg
        prac = self.practices[p.practice]
        prior = cfg.start.year - 1
        chronic = [c for c in p.conditions if not c.startswith(("Z5", "Z6"))]
        if chronic and p.engaged:
            day = weekday_near(date(prior, rng.randint(1, 12), rng.randint(1, 28)), rng,
                           date(prior, 1, 1), cfg.start)
            dx = chronic[:12]
            em = rng.choice(("99213", "99214"))
            hist.history.append(Service(day, "history", [(em, (), 1, tuple(range(1, min(4, len(dx)) + 1)))],
                                        dx, "11", prac.npi, p.pcp_npi))
        plan = p.extra.get("screening_plan", {})
        if isinstance(plan.get("colonoscopy"), date):
            hist.history.append(Service(plan["colonoscopy"], "colonoscopy", [("45378", (), 1, (1,))], ["Z1211"],
                                        "22", ref.GI_GROUP_NPI, ref.GI_PHYSICIAN_NPI))
        if isinstance(plan.get("fit"), date):
            hist.history.append(Service(plan["fit"], "fit", [("82274", (), 1, (1,))], ["Z1212"], "81",
                                        prac.npi, p.pcp_npi))
        if isinstance(plan.get("sdna"), date):
            hist.history.append(Service(plan["sdna"], "sdna", [("81528", (), 1, (1,))], ["Z1212"], "81",
                                        prac.npi, p.pcp_npi))
        if isinstance(plan.get("mammo"), date):
            hist.history.append(Service(plan["mammo"], "mammo", [("77067", (), 1, (1,))], ["Z1231"], "22",
                                        ref.IMAGING_NPI, ref.IMAGING_NPI))
        hist.history.sort(key=lambda s: s.day)
