import pytest
import yaml
from pydantic import ValidationError

from services.outreach import DEFAULT_RULES_PATH
from services.outreach.domain import parse_rules, rules_from_mapping
from services.outreach.domain.rules import CodeMatcher


def shipped() -> dict:
    return yaml.safe_load(DEFAULT_RULES_PATH.read_text())


def test_the_shipped_rules_cover_every_measure_and_both_referrals():
    rules = parse_rules(DEFAULT_RULES_PATH.read_text())
    assert set(rules.gap_tasks) == {"CMS130", "CMS125", "CMS122", "CMS165", "FUP"}
    assert {r.id: r.role for r in rules.referrals} == {
        "social_needs": "social_worker", "obesity_cardiometabolic": "dietician"}
    assert rules.tcm.role == "quality_nurse" and "20" in rules.tcm.skip_dispositions


def test_a_missing_measure_is_refused():
    data = shipped()
    del data["gap_tasks"]["CMS125"]
    with pytest.raises(ValidationError, match="CMS125"):
        rules_from_mapping(data)


def test_unknown_keys_and_roles_are_refused():
    data = shipped()
    data["gap_tasks"]["CMS130"]["colour"] = "red"
    with pytest.raises(ValidationError):
        rules_from_mapping(data)
    data = shipped()
    data["tcm"]["role"] = "surgeon"
    with pytest.raises(ValidationError):
        rules_from_mapping(data)


@pytest.mark.parametrize("bad", [{"from": "Z65", "to": "Z55"}, {"from": "Z5", "to": "Z65"},
                                 {"prefix": "E66", "from": "E66", "to": "E67"}, {}])
def test_bad_code_matchers_are_refused(bad):
    with pytest.raises(ValidationError):
        CodeMatcher.model_validate(bad)


def test_duplicate_referral_ids_and_bad_time_zones_are_refused():
    data = shipped()
    data["referrals"].append(data["referrals"][0])
    with pytest.raises(ValidationError):
        rules_from_mapping(data)
    data = shipped()
    data["workflow"]["timezone"] = "Mars/Olympus"
    with pytest.raises(ValidationError):
        rules_from_mapping(data)
