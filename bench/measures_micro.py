"""Micro benchmark: the gaps measure engine (pure Python), 5 measures per member.

Builds a synthetic population in memory (its own small generator, seeded), loads the code
lists, evaluates CMS130, CMS125, CMS122, CMS165 and FUP for every member and prints the time
per member-measure and the projection for 100,000 members x 5 measures (target <= 30 s).

    .venv/bin/python bench/measures_micro.py [members=20000]
"""

from __future__ import annotations

import random
import sys
import time
from datetime import date, timedelta
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import report  # noqa: E402 - RESULT lines for bench/run_all.py

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.gaps.codes import load_code_sets  # noqa: E402
from services.gaps.domain import (  # noqa: E402
    ClinicalHistory, DiagnosisEvent, Discharge, MeasureSettings, Member, Period, ServiceEvent, evaluate_member,
)

VISITS = ["99213", "99214", "99215", "99396", "G0439", "98005"]
SCREENS = ["45378", "82274", "81528", "77067", "G0202"]
RESULTS = ["3044F", "3051F", "3052F", "3046F", "3074F", "3075F", "3077F", "3078F", "3079F", "3080F"]
OTHER = ["80053", "85025", "93000", "71046", "36415", "J1100"]
DXS = ["E119", "E1165", "I10", "Z0000", "M545", "J449", "R54", "I509", "Z1211", "F329"]


def population(n: int, seed: int = 7) -> list[tuple[Member, ClinicalHistory]]:
    rng = random.Random(seed)
    out = []
    start = date(2016, 1, 1)
    for i in range(n):
        birth = date(1940, 1, 1) + timedelta(days=rng.randrange(0, 365 * 62))
        m = Member(f"M{i:07d}", birth, rng.choice("FM"), f"P{i % 40}", f"K{i % 3}")
        svcs = []
        for _ in range(rng.randint(4, 16)):
            pool = rng.choice((VISITS, VISITS, SCREENS, RESULTS, RESULTS, OTHER))
            code = rng.choice(pool)
            day = date(2026, 1, 1) + timedelta(days=rng.randrange(0, 330)) if pool is not SCREENS else \
                start + timedelta(days=rng.randrange(0, 3900))
            svcs.append(ServiceEvent(code, day, "HCPCS" if code[0].isalpha() else "CPT", f"C{i}-{len(svcs)}",
                                     place_of_service=rng.choice(("11", "11", "22", "23"))))
        dxs = [DiagnosisEvent(rng.choice(DXS), date(2025, 6, 1) + timedelta(days=rng.randrange(0, 500)))
               for _ in range(rng.randint(1, 6))]
        dcs = [Discharge(f"T{i}", date(2026, 1, 1) + timedelta(days=rng.randrange(0, 330)), "adt",
                         disposition=rng.choice(("01", "06", "03")))] if rng.random() < 0.12 else []
        out.append((m, ClinicalHistory(tuple(svcs), tuple(dxs), tuple(dcs))))
    return out


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    t0 = time.perf_counter()
    codes = load_code_sets()
    t_load = time.perf_counter() - t0
    t0 = time.perf_counter()
    pop = population(n)
    t_build = time.perf_counter() - t0
    settings = MeasureSettings(period=Period.calendar_year(2026), as_of=date(2026, 11, 20))
    statuses: dict[str, int] = {}
    t0 = time.perf_counter()
    for m, h in pop:
        for r in evaluate_member(m, h, settings, codes):
            statuses[r.status] = statuses.get(r.status, 0) + 1
    t_eval = time.perf_counter() - t0
    per = t_eval / (n * 5) * 1e6
    print(f"code lists loaded in {t_load * 1000:.0f} ms (version {codes.version})")
    print(f"synthetic histories built: {n:,} members in {t_build:.2f} s")
    print(f"evaluated {n:,} members x 5 measures in {t_eval:.2f} s: {per:.1f} us per member-measure, "
          f"{n / t_eval:,.0f} members/s")
    print(f"projected 100,000 members x 5 measures: {t_eval * 100_000 / n + t_load:.1f} s (target <= 30 s)")
    report("Measure engine alone, per member-measure (pure, in memory)", per, "µs", better="lower")
    print("statuses:", ", ".join(f"{k} {v:,}" for k, v in sorted(statuses.items())))


if __name__ == "__main__":
    main()
