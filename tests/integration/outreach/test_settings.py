"""Outreach settings: the rules file, the time zone override, refusing default secrets."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.outreach.app.staff import Staff, staff_member
from services.outreach.settings import OutreachSettings
from shared.auth import UserDirectory


def test_defaults_match_the_port_plan_and_the_rules_file():
    s = OutreachSettings(environment="test")
    assert (s.api_port, s.worker_port) == (8030, 8031)
    assert str(s.load_rules().tz) == "America/New_York"


def test_the_time_zone_setting_overrides_the_rules_file():
    assert str(OutreachSettings(environment="test", timezone="America/Chicago").load_rules().tz) == "America/Chicago"
    with pytest.raises(ValidationError):
        OutreachSettings(environment="test", timezone="Mars/Olympus")


def test_production_refuses_to_run_the_page_without_a_real_session_secret():
    with pytest.raises(SystemExit):
        _ = OutreachSettings(environment="production").session_key
    with pytest.raises(SystemExit):
        _ = OutreachSettings(environment="production", session_secret="short").session_key
    key = OutreachSettings(environment="production", session_secret="s" * 40).session_key
    assert key == b"s" * 40
    assert OutreachSettings(environment="production").cookie_secure()


def test_staff_roles_map_to_queues_and_access_levels():
    directory = UserDirectory.load(None)
    staff = Staff(directory)
    assert staff_member(directory.get("nurse.east1")).queues() == {"quality_nurse:pod-east"}
    assert staff_member(directory.get("social.west1") or directory.get("social.west")).roles == {"social_worker"}
    assert staff_member(directory.get("supervisor.east")).access == "supervisor"
    assert staff_member(directory.get("ops")).access == "ops"
    assert staff_member(directory.get("hospitalist.hg-north")) is None
    assert {m.user_id for m in staff.for_queue("dietician", "pod-north")} == {"dietician.north"}
