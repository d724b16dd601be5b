from dataclasses import replace
from datetime import date, timedelta

from services.outreach.domain import (
    PriorityContext, StaffMember, assign, claim_next, place_new_task, staff_from_records, workloads,
)

from .builders import CALENDAR, RULES, T0, Consumer, gap_opened, roster, transition

STAFF = staff_from_records([
    {"user_id": "nurse.a", "roles": ["quality_nurse"], "pods": ["pod-east"], "capacity": 3},
    {"user_id": "nurse.b", "roles": ["quality_nurse"], "pods": ["pod-east"], "capacity": 3},
    {"user_id": "nurse.c", "roles": ["quality_nurse"], "pods": ["pod-east"], "capacity": 3},
    {"user_id": "nurse.w", "roles": ["quality_nurse"], "pods": ["pod-west"], "capacity": 9},
    {"user_id": "diet.a", "roles": ["dietician"], "pods": ["pod-east"], "capacity": 9},
    {"user_id": "sup.e", "access": "supervisor", "roles": ["quality_nurse"], "pods": ["pod-east"], "capacity": 9},
    {"user_id": "nurse.gone", "roles": ["quality_nurse"], "pods": ["pod-east"], "capacity": 9, "active": False},
])


def member_tasks():
    """A member with a gap task held by nurse.c, and a new TCM task to place."""
    c = Consumer().feed_all([roster(), gap_opened("CMS130")])
    held = replace(c.only("gap"), assignee="nurse.c", status="claimed", version=2)
    c.tasks[held.task_id] = held
    new = [i for i in c.feed(transition(diagnoses=())) if i.task.kind == "tcm"][0]
    return held, new.task, new


def test_continuity_first_when_the_nurse_has_room():
    held, task, _ = member_tasks()
    choice = assign(task, STAFF, {"nurse.a": 0, "nurse.b": 0, "nurse.c": 2}, [held])
    assert (choice.assignee, choice.rule) == ("nurse.c", "continuity")
    assert "continuity" in choice.why


def test_continuity_gives_way_to_capacity():
    held, task, _ = member_tasks()
    choice = assign(task, STAFF, {"nurse.a": 2, "nurse.b": 1, "nurse.c": 3}, [held])
    assert (choice.assignee, choice.rule) == ("nurse.b", "least_loaded")


def test_continuity_only_within_the_same_queue():
    held, task, _ = member_tasks()
    west = replace(task, pod="pod-west")
    assert assign(west, STAFF, {}, [held]).assignee == "nurse.w"


def test_least_loaded_ties_break_by_user_id_and_never_pick_outsiders():
    _, task, _ = member_tasks()
    choice = assign(task, STAFF, {"nurse.a": 1, "nurse.b": 1, "nurse.c": 2}, [])
    assert choice.assignee == "nurse.a"
    # supervisors, dieticians, other pods and inactive users are never chosen
    only_others = [s for s in STAFF if s.user_id not in {"nurse.a", "nurse.b", "nurse.c"}]
    assert assign(task, only_others, {}, []).assignee is None


def test_everyone_at_capacity_leaves_the_task_unassigned_in_its_queue():
    _, task, _ = member_tasks()
    choice = assign(task, STAFF, {"nurse.a": 3, "nurse.b": 3, "nurse.c": 3}, [])
    assert choice.assignee is None and choice.rule == "unassigned" and "capacity" in choice.why


def test_place_new_task_assigns_and_scores_the_created_task():
    held, task, intent = member_tasks()
    loads = workloads([held])
    placed, choice, score = place_new_task(
        intent, staff=STAFF, loads=loads, member_tasks=[held], priority_ctx=PriorityContext(risk_tier="high"),
        weights=RULES.priority, calendar=CALENDAR, as_of=date(2026, 3, 2))
    assert placed.task.assignee == "nurse.c" == placed.transition.assignee
    assert placed.task.priority == score.score > 0
    assert choice.why in placed.transition.note


def _open(n: int, priority: float, due: date | None, *, assignee=None, pod="pod-east", status="open",
          minutes: int = 0):
    task = Consumer(member_id=f"M{n}").feed_all([gap_opened(["CMS130", "CMS125", "CMS122", "CMS165", "FUP"][n % 5],
                                           member=f"M{n}", at=T0 + timedelta(minutes=minutes))]).only()
    return replace(task, priority=priority, due_date=due, assignee=assignee, pod=pod, status=status,
                   role="quality_nurse")


def test_claim_next_takes_the_highest_priority_unclaimed_task_in_her_queues():
    nurse = STAFF[0]
    tasks = [
        _open(1, 50, date(2026, 3, 10)),
        _open(2, 80, date(2026, 3, 12), pod="pod-west"),  # not her pod
        _open(3, 90, date(2026, 3, 12), assignee="nurse.b"),  # someone else's
        _open(4, 95, date(2026, 3, 12), status="claimed", assignee="nurse.a"),  # already claimed
        _open(5, 70, date(2026, 3, 11)),
        _open(6, 70, date(2026, 3, 9)),  # same score, earlier due date
    ]
    assert claim_next(tasks, nurse).member_id == "M6"
    assert claim_next([t for t in tasks if t.member_id not in {"M5", "M6"}], nurse).member_id == "M1"
    assert claim_next(tasks[1:4], nurse) is None


def test_claim_next_ties_go_to_the_oldest_task():
    nurse = STAFF[0]
    tasks = [_open(1, 70, date(2026, 3, 9), minutes=30), _open(2, 70, date(2026, 3, 9), minutes=10)]
    assert claim_next(tasks, nurse).member_id == "M2"


def test_staff_directory_rejects_duplicates_and_bad_roles():
    import pytest
    with pytest.raises(ValueError):
        staff_from_records([{"user_id": "x"}, {"user_id": "x"}])
    with pytest.raises(ValueError):
        StaffMember("y", roles=frozenset({"surgeon"}))
