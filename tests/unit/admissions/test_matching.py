from shared.events import PatientIdentifier

from services.admissions.domain.matching import crosswalk_entries, match_member

from .builders import roster

XWALK = {("MERCY", "100"): "M1", ("GENERAL", "G7"): "M1", ("MERCY", "200"): "M2"}


def ids(*triples):
    return [PatientIdentifier(id=i, assigning_authority=a, id_type=t) for i, a, t in triples]


def test_mr_identifier_matches_first():
    assert match_member(ids(("X", "SSA", "SS"), ("100", "MERCY", "MR")), XWALK).member_id == "M1"


def test_any_listed_identifier_matches_when_no_mr_does():
    assert match_member(ids(("999", "MERCY", "MR"), ("G7", "GENERAL", "PI")), XWALK).member_id == "M1"


def test_identifier_without_authority_never_matches():
    m = match_member(ids(("100", None, "MR")), XWALK)
    assert not m.matched and not m.ambiguous


def test_identifiers_of_two_members_are_ambiguous_and_unmatched():
    m = match_member(ids(("100", "MERCY", "MR"), ("200", "MERCY", "PI")), XWALK)
    assert m.ambiguous and m.member_id is None


def test_roster_contributes_its_crosswalk_rows():
    assert crosswalk_entries(roster("M9", mrn="55", authority="MERCY")) == [(("MERCY", "55"), "M9")]
