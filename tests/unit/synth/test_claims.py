"""Claims CSV: columns, utilization rates, screenings, CPT II results, adjustments after originals."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from shared.events.claims import ClaimLine
from shared.formats import CLAIM_CSV_COLUMNS, CLAIM_CSV_REQUIRED

from carectl.synth import load_manifest

from .conftest import all_claim_rows, read_csv

START, END = date(2026, 1, 1), date(2027, 1, 1)


def _claims(rows):
    """claim_id -> header row (first line) for original claims not later voided."""
    out = {}
    for r in rows:
        out.setdefault(r["claim_id"], r)
    return out


def _member_years(out):
    days = 0
    for r in read_csv(out / "roster.csv"):
        lo = max(START, date.fromisoformat(r["eligibility_start"]))
        hi = END if not r["eligibility_end"] else min(END, date.fromisoformat(r["eligibility_end"]) + timedelta(days=1))
        days += max(0, (hi - lo).days)
    return days / 365.25


def test_claims_csv_header_and_required_fields(year_dir):
    manifest = load_manifest(year_dir)
    for entry in manifest["files"]["claims"]:
        with open(year_dir / entry["csv"], encoding="utf-8") as fh:
            assert tuple(fh.readline().rstrip("\n").split(",")) == CLAIM_CSV_COLUMNS
    rows = all_claim_rows(year_dir)
    assert len(rows) == manifest["counts"]["claim_lines"]
    for r in rows:
        assert all(r[c] for c in CLAIM_CSV_REQUIRED), r["claim_id"]
    for r in rows[:2000]:
        ClaimLine(line_number=int(r["line_number"]), procedure_code=r["procedure_code"],
                  modifiers=tuple(filter(None, r["modifiers"].split(";"))), revenue_code=r["revenue_code"] or None,
                  service_date=r["service_date"], service_date_end=r["service_date_end"] or None,
                  units=Decimal(r["units"]), charge_amount=Decimal(r["charge_amount"]),
                  allowed_amount=Decimal(r["allowed_amount"]), paid_amount=Decimal(r["paid_amount"]))


def test_admission_ed_and_readmission_rates_are_realistic(year_dir):
    claims = _claims(all_claim_rows(year_dir))
    years = _member_years(year_dir)
    stays = [c for c in claims.values() if c["type_of_bill"] == "111"]
    ed = {c["claim_id"] for c in claims.values() if c["type_of_bill"] == "131" and c["procedure_code"].startswith("9928")}
    assert 60 <= len(stays) / years * 1000 <= 100
    assert 340 <= len(ed) / years * 1000 <= 460
    by_member = defaultdict(list)
    for s in stays:
        by_member[s["member_id"]].append((s["admission_date"], s["discharge_date"], s["discharge_status"]))
    index = readmitted = 0
    for seq in by_member.values():
        seq.sort()
        for i, (_adm, dis, status) in enumerate(seq):
            if status in ("20", "07"):
                continue
            index += 1
            if i + 1 < len(seq) and (date.fromisoformat(seq[i + 1][0]) - date.fromisoformat(dis)).days <= 30:
                readmitted += 1
    assert 0.09 <= readmitted / index <= 0.22


def test_inpatient_claims_carry_bill_type_dates_and_status(year_dir):
    stays = [c for c in _claims(all_claim_rows(year_dir)).values() if c["type_of_bill"] == "111"]
    assert stays
    for s in stays:
        assert s["admission_date"] <= s["discharge_date"]
        assert s["discharge_status"] in ("01", "03", "06", "07", "20", "62")
    assert any(s["discharge_status"] == "20" for s in stays)


def test_screening_histories_have_realistic_completion(year_dir):
    rows = all_claim_rows(year_dir)
    roster = {r["member_id"]: r for r in read_csv(year_dir / "roster.csv")}
    colo, fit, mammo = set(), set(), set()
    for r in rows:
        d = r["service_date"]
        if r["procedure_code"] in ("45378", "45380", "G0121", "G0105") and d >= "2017-01-01":
            colo.add(r["member_id"])
        if r["procedure_code"] in ("82274", "G0328") and d >= "2026-01-01":
            fit.add(r["member_id"])
        if r["procedure_code"] in ("77067",) and d >= "2024-10-01":
            mammo.add(r["member_id"])

    def age(m):
        b = date.fromisoformat(roster[m]["birth_date"])
        return 2026 - b.year - ((12, 31) < (b.month, b.day))

    crc_pop = [m for m in roster if 46 <= age(m) <= 75]
    screened = sum(1 for m in crc_pop if m in colo or m in fit) / len(crc_pop)
    assert 0.55 <= screened <= 0.82
    women = [m for m in roster if roster[m]["sex"] == "F" and 42 <= age(m) <= 74]
    assert 0.55 <= sum(m in mammo for m in women) / len(women) <= 0.85
    assert any(r["service_date"] < "2016-06-01" for r in rows if r["procedure_code"] == "45378"), "expired colonoscopies"


def test_results_come_as_cpt_ii_codes_on_office_visits(year_dir):
    rows = all_claim_rows(year_dir)
    by_claim = defaultdict(list)
    for r in rows:
        by_claim[r["claim_id"]].append(r)
    a1c = {"3044F", "3051F", "3052F", "3046F"}
    seen_a1c = set()
    bp_claims = 0
    for lines in by_claim.values():
        codes = {ln["procedure_code"] for ln in lines}
        if codes & a1c:
            seen_a1c |= codes & a1c
            assert any(ln["diagnoses"].split(";")[0] for ln in lines)
            assert any(d.startswith(("E10", "E11", "E13")) for d in lines[0]["diagnoses"].split(";"))
        systolic = codes & {"3074F", "3075F", "3077F"}
        diastolic = codes & {"3078F", "3079F", "3080F"}
        assert bool(systolic) == bool(diastolic), "a BP reading has both numbers on the same day"
        if systolic:
            bp_claims += 1
            assert lines[0]["place_of_service"] in ("11", "10")
            assert any(ln["procedure_code"] in ("99212", "99213", "99214", "99215", "99495", "99496", "99397",
                                                "99396", "99395", "G0439") for ln in lines)
    assert seen_a1c == a1c
    assert bp_claims > 500


def test_social_needs_and_obesity_codes_appear_for_some(year_dir):
    members_social, members_obese = set(), set()
    for r in all_claim_rows(year_dir):
        for d in r["diagnoses"].split(";"):
            if d[:3] in {f"Z{n}" for n in range(55, 66)}:
                members_social.add(r["member_id"])
            if d.startswith("E66"):
                members_obese.add(r["member_id"])
    assert 100 < len(members_social) < 600
    assert 300 < len(members_obese) < 1200


def test_replacements_and_voids_come_after_their_originals(small_dir):
    rows = all_claim_rows(small_dir)
    first_seen: dict[str, int] = {}
    adjustments = 0
    originals = {}
    for i, r in enumerate(rows):
        first_seen.setdefault(r["claim_id"], i)
        if r["frequency_code"] == "1":
            originals[r["claim_id"]] = r
    for i, r in enumerate(rows):
        if r["frequency_code"] in ("7", "8"):
            adjustments += 1
            orig = r["original_claim_id"]
            assert orig in first_seen and first_seen[orig] < i
            assert originals[orig]["member_id"] == r["member_id"]
        else:
            assert r["original_claim_id"] == ""
    assert adjustments > 50
    assert {r["frequency_code"] for r in rows} == {"1", "7", "8"}


def test_a_void_repeats_the_original_lines(small_dir):
    rows = all_claim_rows(small_dir)
    lines = defaultdict(list)
    for r in rows:
        lines[r["claim_id"]].append((r["procedure_code"], r["service_date"], r["charge_amount"]))
    voids = {r["claim_id"]: r["original_claim_id"] for r in rows if r["frequency_code"] == "8"}
    assert voids
    for void, orig in voids.items():
        assert lines[void] == lines[orig]
