"""CMS-HCC segment inputs for the synthetic population (``risk_segments.csv``), for the risk service.

Real plans learn dual status from Medicaid eligibility (an 834) and institutional status from
the MDS assessments; the synthetic population has neither, so a deterministic share of the
Medicare Advantage members (contract MMO-2026, 65+) gets one, by a hash of the member id (the
same population always gets the same file): about 14 % full-benefit dual, 6 % partial-benefit
dual, and 4 % of those 80 and over long-term institutional.
"""

from __future__ import annotations

import csv
import hashlib
from datetime import date
from pathlib import Path

FILE = "risk_segments.csv"
HEADER = ("member_id", "dual_status", "institutional", "orec")


def _bucket(member_id: str, salt: str) -> int:
    return int(hashlib.sha256(f"{salt}|{member_id}".encode()).hexdigest()[:8], 16) % 100


def segment_rows(roster_rows, today: date) -> list[tuple[str, str, str, str]]:
    out = []
    for r in roster_rows:
        if r.get("contract_id") != "MMO-2026":
            continue
        mid = r["member_id"]
        born = date.fromisoformat(r["birth_date"])
        age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
        d = _bucket(mid, "dual")
        dual = "full" if d < 14 else "partial" if d < 20 else "none"
        institutional = age >= 80 and _bucket(mid, "ltc") < 4
        if dual != "none" or institutional:
            out.append((mid, dual, "yes" if institutional else "no", "0" if age >= 65 else "1"))
    return out


def write_segments(population_dir: str | Path, today: date) -> Path:
    """Write ``risk_segments.csv`` beside the population's roster.csv (idempotent)."""
    out = Path(population_dir)
    with open(out / "roster.csv", newline="", encoding="utf-8") as f:
        rows = segment_rows(csv.DictReader(f), today)
    path = out / FILE
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(HEADER)
        w.writerows(rows)
    return path
