"""The DEQM-shaped care-gaps document, built from stored gaps (``app.ports.GapView``-shaped, the
evidence as ``domain.EvidenceItem``) and validated with fhir.resources (R4B models)."""

from datetime import date, datetime, timezone
from types import SimpleNamespace

from fhir.resources.R4B.bundle import Bundle

from services.gaps.domain import EvidenceItem
from services.gaps.web.fhir import GAP_STATUS_EXT, care_gaps_bundle, care_gaps_parameters

NOW = datetime(2026, 6, 30, 12, tzinfo=timezone.utc)
MEMBER = SimpleNamespace(member_id="M1", sex="F", birth_date=date(1960, 5, 1))
BODY = {"given_name": "Ada", "family_name": "Tester"}


def row(measure, status, *, reason="why", evidence=(), instance=None, lapses=None, due=None):
    return SimpleNamespace(
        gap_key=f"M1|{measure}|2026-01-01" + (f"|{instance}" if instance else ""), measure_id=measure,
        measure_version=f"{measure}v14", period_start=date(2026, 1, 1), period_end=date(2026, 12, 31),
        instance_id=instance, status=status, reason=reason, evidence=evidence, due_date=due, lapses_on=lapses,
        updated_at=NOW)


ROWS = [
    row("CMS130", "closed", reason="colonoscopy 45378 on 2024-05-02, claim C9",
        evidence=(EvidenceItem(code="45378", code_system="CPT", date=date(2024, 5, 2), claim_id="C9",
                               value=None, description="Colonoscopy flexible"),), lapses=date(2033, 12, 31)),
    row("CMS125", "due_soon", reason="mammogram 77067 on 2024-10-15", lapses=date(2026, 12, 31)),
    row("CMS122", "open", reason="most recent HbA1c 9.4% on 2026-05-02 (3046F)"),
    row("CMS165", "not_applicable", reason="not in the denominator: no hypertension diagnosis"),
    row("FUP", "open", instance="2026-06-01", due=date(2026, 7, 1), reason="no outpatient visit yet"),
]


def build(statuses=("open-gap", "closed-gap")):
    return care_gaps_bundle(MEMBER, BODY, ROWS, measure_base="https://ccp.example.org/fhir", now=NOW,
                            statuses=statuses)


def by_type(bundle, kind):
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def test_document_bundle_composition_first_and_valid():
    b = build()
    Bundle.model_validate(b)  # raises if the document is not valid FHIR
    assert b["type"] == "document" and b["entry"][0]["resource"]["resourceType"] == "Composition"
    comp = b["entry"][0]["resource"]
    assert comp["type"]["coding"][0]["code"] == "96315-7"
    assert len(comp["section"]) == 5 and len(by_type(b, "MeasureReport")) == 5
    refs = {e["fullUrl"] for e in b["entry"]}
    for section in comp["section"]:  # every reference resolves inside the bundle
        assert section["focus"]["reference"] in refs
        assert all(x["reference"] in refs for x in section.get("entry", []))


def test_detected_issues_carry_the_gap_status_and_the_evidence():
    issues = by_type(build(), "DetectedIssue")
    codes = [i["modifierExtension"][0]["valueCodeableConcept"]["coding"][0]["code"] for i in issues]
    assert sorted(codes) == ["closed-gap", "closed-gap", "open-gap", "open-gap"]
    assert all(i["modifierExtension"][0]["url"] == GAP_STATUS_EXT for i in issues)
    colo = next(i for i in issues if "45378" in i["detail"])
    assert colo["evidence"][1]["code"][0]["coding"][0]["code"] == "45378"
    assert "claim C9" in colo["evidence"][1]["code"][0]["text"]
    assert any("due soon" in i["detail"] for i in issues) and any("due 2026-07-01" in i["detail"] for i in issues)
    only_open = by_type(build(("open-gap",)), "DetectedIssue")
    assert len(only_open) == 2


def test_populations_follow_the_status_and_the_inverse_measure():
    reports = {r["measure"].split("/")[-1].split("|")[0]: r for r in by_type(build(), "MeasureReport")}

    def counts(measure):
        return {p["code"]["coding"][0]["code"]: p["count"] for p in reports[measure]["group"][0]["population"]}

    assert counts("CMS130") == {"initial-population": 1, "denominator": 1, "denominator-exclusion": 0, "numerator": 1}
    assert counts("CMS122")["numerator"] == 1  # open = poor control, the inverse measure's numerator
    assert reports["CMS122"]["improvementNotation"]["coding"][0]["code"] == "decrease"
    assert counts("CMS165") == {"initial-population": 0, "denominator": 0, "denominator-exclusion": 0, "numerator": 0}


def test_same_rows_same_ids_and_a_parameters_wrapper():
    a, b = build(), build()
    assert [e["fullUrl"] for e in a["entry"]] == [e["fullUrl"] for e in b["entry"]]
    params = care_gaps_parameters([a])
    assert params["resourceType"] == "Parameters" and params["parameter"][0]["name"] == "return"
