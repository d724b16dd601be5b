"""Who is on the roster: columns, identifiers, attribution, eligibility, conditions, risk."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import date
from statistics import mean

from shared.events import MemberRosterV1
from shared.formats import ROSTER_COLUMNS

from carectl.synth import SynthConfig, load_manifest
from carectl.synth import reference as ref
from carectl.synth.population import TIERS, make_person

from .conftest import read_csv


def test_roster_header_is_the_shared_column_list(year_dir):
    with open(year_dir / "roster.csv", encoding="utf-8") as fh:
        assert tuple(fh.readline().rstrip("\n").split(",")) == ROSTER_COLUMNS


def test_roster_rows_are_valid_roster_events(year_dir):
    rows = read_csv(year_dir / "roster.csv")
    assert len(rows) == 5000
    assert rows[0]["member_id"] == "M0000001"
    for r in rows[:300]:
        MemberRosterV1(
            event_id="7f0c2f7e-1d0a-4a53-9b55-3f4a0d8c2a11", occurred_at="2026-01-01T00:00:00+00:00",
            recorded_at="2026-01-01T00:00:00+00:00", source="test", member_id=r["member_id"],
            given_name=r["given_name"], family_name=r["family_name"], birth_date=r["birth_date"], sex=r["sex"],
            mrns=[{"assigning_authority": a, "mrn": m} for a, m in (x.split(":") for x in r["mrns"].split(";") if x)],
            pcp_practice_id=r["pcp_practice_id"], pcp_npi=r["pcp_npi"], hospitalist_group=r["hospitalist_group"],
            pod=r["pod"], contract_id=r["contract_id"], program=r["program"], risk_tier=r["risk_tier"],
            eligibility=[{"start": r["eligibility_start"], "end": r["eligibility_end"] or None}])


def test_mrns_most_members_known_at_two_to_four_hospitals(year_dir):
    rows = read_csv(year_dir / "roster.csv")
    counts = Counter(len([x for x in r["mrns"].split(";") if x]) for r in rows)
    assert (counts[2] + counts[3] + counts[4]) / len(rows) > 0.75
    assert counts[0] > 0                                   # some members are known nowhere
    seen: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        for pair in filter(None, r["mrns"].split(";")):
            auth, mrn = pair.split(":")
            assert auth in ("MERCY", "STLUKE", "GENERAL", "VALLEY")
            assert mrn not in seen[auth], "an MRN is unique within its hospital"
            seen[auth].add(mrn)


def test_practices_map_to_one_hospitalist_group_and_pod(year_dir):
    rows = read_csv(year_dir / "roster.csv")
    by_practice = defaultdict(set)
    for r in rows:
        by_practice[r["pcp_practice_id"]].add((r["hospitalist_group"], r["pod"]))
    assert sorted(by_practice) == [f"P{i:03d}" for i in range(1, 21)]
    assert all(len(v) == 1 for v in by_practice.values())
    assert len({g for v in by_practice.values() for g, _ in v}) >= 3


def test_contracts_follow_age_and_the_65_plus_share(year_dir):
    rows = read_csv(year_dir / "roster.csv")
    start = date(2026, 1, 1)

    def age(r):
        b = date.fromisoformat(r["birth_date"])
        return start.year - b.year - ((start.month, start.day) < (b.month, b.day))

    assert all(age(r) >= 18 for r in rows)
    older = [r for r in rows if age(r) >= 65]
    assert 0.31 < len(older) / len(rows) < 0.39
    assert all(r["contract_id"] == "MMO-2026" for r in older)
    assert {r["contract_id"] for r in rows if age(r) < 65} == {"GR-2026"}
    assert 0.47 < sum(r["sex"] == "F" for r in rows) / len(rows) < 0.60


def test_eligibility_churns_during_the_year(year_dir):
    rows = read_csv(year_dir / "roster.csv")
    joined = [r for r in rows if r["eligibility_start"] > "2026-01-01"]
    termed = [r for r in rows if r["eligibility_end"]]
    assert 0.04 < len(joined) / len(rows) < 0.14
    assert 0.04 < len(termed) / len(rows) < 0.14
    assert all(r["eligibility_end"] >= r["eligibility_start"] for r in termed)


def test_monthly_snapshot_drops_a_member_after_the_termination_month(year_dir):
    manifest = load_manifest(year_dir)
    snaps = {s["month"]: {r["member_id"]: r for r in read_csv(year_dir / s["path"])} for s in manifest["files"]["rosters"]}
    termed = [r for r in read_csv(year_dir / "roster.csv") if r["eligibility_end"] and r["eligibility_end"] < "2026-11-01"]
    assert termed
    for r in termed[:50]:
        month = r["eligibility_end"][:7]
        nxt = f"2026-{int(month[5:]) + 1:02d}"
        assert snaps[month][r["member_id"]]["eligibility_end"] == r["eligibility_end"]
        assert r["member_id"] not in snaps[nxt]
    joiner = next(r for r in read_csv(year_dir / "roster.csv") if r["eligibility_start"] >= "2026-03-01")
    assert joiner["member_id"] not in snaps["2026-01"]
    assert joiner["member_id"] in snaps[joiner["eligibility_start"][:7]]


def _people(n=5000, seed=11):
    cfg = SynthConfig(members=n, seed=seed)
    hospitals = ref.make_hospitals(cfg.hospitals)
    practices = ref.make_practices(cfg.practices, len(hospitals))
    return [make_person(cfg, hospitals, practices, i) for i in range(n)]


def test_chronic_condition_prevalence_is_realistic():
    people = _people()
    share = lambda f: sum(f in p.flags for p in people) / len(people)  # noqa: E731
    assert 0.09 <= share("diabetes") <= 0.13
    assert 0.26 <= share("hypertension") <= 0.34
    assert 0.10 <= share("obesity") <= 0.22
    assert 0.03 <= share("ckd") <= 0.10
    assert 0.04 <= share("social") <= 0.10


def test_risk_tiers_rise_with_chronic_conditions():
    people = _people()
    chronic = {t: mean(len(p.flags & {"diabetes", "hypertension", "ckd", "chf", "copd"}) for p in people
                       if p.risk_tier == t) for t in TIERS}
    assert chronic["low"] < chronic["moderate"] < chronic["high"] < chronic["complex"]
    tiers = Counter(p.risk_tier for p in people)
    assert tiers["low"] > tiers["moderate"] > tiers["high"] > tiers["complex"] > 0


def test_names_are_obviously_synthetic_and_ids_are_formatted(year_dir):
    rows = read_csv(year_dir / "roster.csv")
    families = {r["family_name"] for r in rows}
    assert families <= set(ref.FAMILY) | set(ref.FAMILY_DELIMITED)
    assert all(re.fullmatch(r"M\d{7}", r["member_id"]) for r in rows)
    assert all(re.fullmatch(r"\d{10}", r["pcp_npi"]) for r in rows)


def test_npis_carry_a_valid_luhn_check_digit():
    assert ref.luhn_npi(123456789) == "1234567893"   # the CMS example NPI
