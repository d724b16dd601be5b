from dataclasses import replace

import pytest

from services.outreach.domain import PermissionDenied, StaffMember, authorize, require

from .builders import Consumer, gap_opened, roster

EAST_TASK = Consumer().feed_all([roster(pod="pod-east"), gap_opened()]).only()
WEST_TASK = replace(EAST_TASK, pod="pod-west")
NURSE = StaffMember("nurse.a", roles=frozenset({"quality_nurse"}), pods=frozenset({"pod-east"}))
SUPERVISOR = StaffMember("sup.e", access="supervisor", pods=frozenset({"pod-east"}))
OPS = StaffMember("ops.1", access="ops")
ADMIN = StaffMember("admin.1", access="admin")


def test_a_nurse_of_pod_a_does_not_see_pod_b_tasks_at_all():
    for action in ("view_task", "claim", "work"):
        decision = authorize(NURSE, action, task=WEST_TASK)
        assert not decision.allowed and decision.hide  # the API answers 404
    with pytest.raises(PermissionDenied) as err:
        require(NURSE, "view_task", task=WEST_TASK)
    assert err.value.hide
    assert not authorize(NURSE, "view_queue", queue="quality_nurse:pod-west").allowed


def test_a_nurse_works_only_what_she_holds():
    assert authorize(NURSE, "view_task", task=EAST_TASK).allowed
    assert authorize(NURSE, "claim", task=EAST_TASK).allowed
    refused = authorize(NURSE, "work", task=EAST_TASK)
    assert not refused.allowed and not refused.hide  # 403: she can see it, not work it
    assert authorize(NURSE, "work", task=replace(EAST_TASK, assignee="nurse.a")).allowed
    assert not authorize(NURSE, "claim", task=replace(EAST_TASK, role="dietician")).allowed


@pytest.mark.parametrize("action", ["reassign", "cancel", "supervise", "aggregates", "manage_staff"])
def test_a_nurse_cannot_supervise(action):
    assert not authorize(NURSE, action, task=EAST_TASK, pod="pod-east").allowed


def test_a_supervisor_reassigns_and_views_her_pods_only():
    assert authorize(SUPERVISOR, "reassign", task=EAST_TASK).allowed
    assert authorize(SUPERVISOR, "cancel", task=EAST_TASK).allowed
    assert authorize(SUPERVISOR, "supervise", pod="pod-east").allowed
    assert authorize(SUPERVISOR, "view_queue", queue="social_worker:pod-east").allowed
    assert authorize(SUPERVISOR, "reassign", task=WEST_TASK).hide
    assert not authorize(SUPERVISOR, "supervise", pod="pod-west").allowed
    assert not authorize(SUPERVISOR, "work", task=EAST_TASK).allowed


def test_ops_sees_aggregates_and_no_member_data():
    assert authorize(OPS, "aggregates").allowed
    for action in ("view_task", "claim", "work", "reassign"):
        assert not authorize(OPS, action, task=EAST_TASK).allowed
    assert not authorize(OPS, "view_queue", queue="quality_nurse:pod-east").allowed


def test_admin_may_do_everything_and_inactive_users_nothing():
    for action in ("view_task", "claim", "work", "reassign", "cancel"):
        assert authorize(ADMIN, action, task=WEST_TASK).allowed
    assert authorize(ADMIN, "manage_staff").allowed
    gone = replace(NURSE, active=False)
    assert not authorize(gone, "view_task", task=EAST_TASK).allowed
