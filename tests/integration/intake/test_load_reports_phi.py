"""Rejection reasons name the file, row or segment, the element and the rule - never the value:
bad claims CSV, claims JSON, roster CSV and roster JSON loads (real broker, real PostgreSQL)
with planted names, ids and birth dates, and their reports, stored load rows and log lines
scanned for them. (X12: ``test_x12_corpus.py``.)
"""

from __future__ import annotations

import json
import logging

import pytest

from services.intake.adapters.wiring import database as open_database, load_context
from services.intake.app import load_claims, load_roster
from shared.formats import CLAIM_CSV_COLUMNS, ROSTER_COLUMNS
from shared.kafka import EventProducer

PLANTED = ("PHIMEMBER77", "Ravelstone", "Quentina", "1944-02-29", "1944-02-30", "PHICLAIM91", "2026-13-45",
           "MRN-PHI-5531")


@pytest.fixture(scope="module")
def ctx(intake_infra):
    env = intake_infra
    db = open_database(env.settings)
    producer = EventProducer(env.settings, client_id="intake-phi-test")
    yield env, load_context(env.settings, db, producer)
    producer.close()
    db.dispose()


def claim_row(**kw) -> str:
    base = dict(claim_id="PHICLAIM91", frequency_code="1", original_claim_id="", claim_type="professional",
                member_id="PHIMEMBER77", payer_id="SHP01", billing_npi="1234567893", rendering_npi="",
                place_of_service="11", type_of_bill="", admission_date="", discharge_date="", discharge_status="",
                diagnoses="E11.9", line_number="1", procedure_code="99213", modifiers="", revenue_code="",
                service_date="2026-02-01", service_date_end="", units="1", charge_amount="100", allowed_amount="",
                paid_amount="")
    base.update(kw)
    return ",".join(base[c] for c in CLAIM_CSV_COLUMNS)


def roster_row(**kw) -> str:
    base = dict(member_id="PHIMEMBER77", given_name="Quentina", family_name="Ravelstone", birth_date="1944-02-29",
                sex="F", mrns="MERCY:MRN-PHI-5531", pcp_practice_id="P001", pcp_npi="1234567893",
                hospitalist_group="HG-NORTH", pod="pod-east", contract_id="GR-2026", program="MSSP", risk_tier="low",
                eligibility_start="2026-01-01", eligibility_end="")
    base.update(kw)
    return ",".join(base[c] for c in ROSTER_COLUMNS)


def inputs(tmp_path):
    claims_header = ",".join(CLAIM_CSV_COLUMNS)
    roster_header = ",".join(ROSTER_COLUMNS)
    files = {
        # the header line is missing: the first row (patient data) is where the header should be
        "claims-no-header.csv": claim_row() + "\n" + claim_row(claim_id="PHICLAIM92") + "\n",
        "claims-bad-values.csv": "\n".join([claims_header, claim_row(service_date="2026-13-45"),
                                            claim_row(claim_id="PHICLAIM92", charge_amount="Ravelstone")]) + "\n",
        "claims-unknown-keys.jsonl": "\n".join([
            json.dumps({"Quentina Ravelstone": "1944-02-29", **dict(zip(CLAIM_CSV_COLUMNS, claim_row().split(",")))}),
            json.dumps({"member_id": "PHIMEMBER77", "claim_id": "PHICLAIM93", "claim_type": "professional",
                        "PHIMEMBER77-DOB": "1944-02-29", "lines": [{"line_number": 1, "procedure_code": "99213",
                                                                   "service_date": "2026-02-01"}]}),
        ]) + "\n",
        "roster-no-header.csv": roster_row() + "\n",
        "roster-bad-values.csv": "\n".join([roster_header, roster_row(birth_date="1944-02-30"),
                                            roster_row(member_id="PHIMEMBER78", mrns="Ravelstone")]) + "\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return files


def test_no_report_or_log_line_quotes_the_rejected_values(ctx, tmp_path, caplog):
    env, c = ctx
    files = inputs(tmp_path)
    roster_json = [{"member_id": "PHIMEMBER79", "given_name": "Quentina", "family_name": "Ravelstone",
                    "birth_date": "1944-02-29", "sex": "F", "pcp_practice_id": "P1", "contract_id": "K1",
                    "Ravelstone": "MRN-PHI-5531", "eligibility": [{"start": "2026-01-01"}]}]
    reports = []
    with caplog.at_level(logging.INFO):
        for name in files:
            path = tmp_path / name
            loader = load_roster if name.startswith("roster") else load_claims
            reports.append(loader(c, path))
        reports.append(load_roster(c, roster_json))
    for report in reports:
        assert report.status in ("done", "rejected") and report.rejected >= 1, report.as_dict()
        texts = [json.dumps(report.as_dict()), env.rows("SELECT report FROM ingest_loads WHERE load_id = :i",
                                                          i=report.load_id)[0][0]]
        if report.report_file:
            texts.append(open(report.report_file).read())
        for text in texts:
            # the report names positions and fields; the file name is not patient data here
            text = text.replace(report.file or "", "")
            leaked = [v for v in PLANTED if v in text]
            assert not leaked, f"{report.file}: {leaked} in {text[:2000]}"
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert logged and not [v for v in PLANTED if v in logged]

    by_file = {r.file: r for r in reports}
    no_header = by_file["claims-no-header.csv"]
    assert no_header.status == "rejected" and "not a header" in no_header.rejections[0]["reason"]
    unknown = by_file["claims-unknown-keys.jsonl"].rejections
    assert "field 1" in unknown[0]["reason"] and "(an unknown field)" in unknown[1]["reason"]
    assert by_file["roster-no-header.csv"].status == "rejected"
