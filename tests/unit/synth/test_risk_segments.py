"""The synthetic population's CMS-HCC segment file: deterministic, only MA members, readable by risk."""

from __future__ import annotations

import csv
from datetime import date

from carectl.synth.segments import segment_rows, write_segments
from services.risk.domain.segments import parse_segment_row


def roster(n: int) -> list[dict]:
    return [{"member_id": f"M{i:07d}", "birth_date": f"{1930 + i % 60}-06-01",
             "contract_id": "MMO-2026" if i % 3 else "COM-2026"} for i in range(n)]


def test_about_a_fifth_of_ma_members_get_a_dual_status_and_some_old_ones_are_institutional(tmp_path):
    rows = segment_rows(roster(3000), date(2026, 12, 1))
    assert rows == segment_rows(roster(3000), date(2026, 12, 1))           # deterministic
    ma = sum(1 for r in roster(3000) if r["contract_id"] == "MMO-2026")
    duals = [r for r in rows if r[1] != "none"]
    assert 0.15 < len(duals) / ma < 0.25
    assert any(r[2] == "yes" for r in rows)
    assert all(int(r[0][1:]) % 3 for r in rows)                             # MMO-2026 members only
    with open(tmp_path / "roster.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["member_id", "birth_date", "contract_id"])
        w.writeheader()
        w.writerows(roster(300))
    path = write_segments(tmp_path, date(2026, 12, 1))
    with open(path, newline="") as f:
        parsed = [parse_segment_row(r) for r in csv.DictReader(f)]
    assert parsed and all(seg.known for _, seg in parsed)
