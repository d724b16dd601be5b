"""A member's data flows from the platform's topics through the portal worker (a process, on the
real broker and PostgreSQL) to the pages the member reads after signing in with a code."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

from tests.unit.portal import events as ev
from tests.support.procs import wait_for

from .conftest import member_id, sign_in


def test_member_reads_their_visits_gaps_tasks_and_care_team_in_plain_language(portal_env, worker):
    m = member_id("MFLOW")
    now = datetime.now(timezone.utc)
    today = now.astimezone(portal_env.settings.tz).date()
    alert_id = uuid.uuid4()
    tcm, scheduled = uuid.uuid4(), uuid.uuid4()
    portal_env.produce([ev.roster(m, at=now - timedelta(days=40))])
    portal_env.wait_member(m)
    portal_env.produce([
        ev.gap_opened(m, "CMS125", at=now - timedelta(days=20), due=today + timedelta(days=25)),
        ev.gap_opened(m, "CMS130", at=now - timedelta(days=20)),
        ev.gap_closed(m, "CMS130", at=now - timedelta(days=5)),
        ev.alert(m, at=now - timedelta(days=6), alert_id=alert_id, key="MERCY|VFLOW"),
        ev.discharge(m, at=now - timedelta(days=3), key="MERCY|VFLOW", admitted=now - timedelta(days=6)),
        ev.task(m, task_id=tcm, kind="tcm", at=now - timedelta(days=3), due=today + timedelta(days=2)),
        ev.task(m, task_id=scheduled, kind="gap", reason_key="CMS125", status="scheduled",
                at=now - timedelta(days=1), appointment=today + timedelta(days=9)),
        ev.alert("OTHER" + m, at=now, key="MERCY|VOTHER"),
    ])
    wait_for(lambda: portal_env.scalar("SELECT count(*) FROM portal_tasks WHERE member_id = :m", m=m) == 2
             and portal_env.scalar("SELECT count(*) FROM portal_gaps WHERE member_id = :m", m=m) == 2
             and portal_env.scalar("SELECT status FROM portal_encounters WHERE member_id = :m", m=m) == "finished",
             30, what="events projected")

    with portal_env.api() as client:
        assert client.get("/").headers["location"] == "/signin"
        assert sign_in(client, m).status_code == 303
        page = client.get("/")
        assert page.status_code == 200, page.text
        html = page.text
        assert "Hello, Ada" in html
        assert "Schedule a mammogram." in html                     # the open gap, the action first
        assert "Colon cancer screening" not in html                # closed since: not a to-do
        assert "Hospital stay at Mercy" in html or "Hospital stay at MERCY" in html.upper()
        assert "A nurse will call you to see how you are doing after your hospital stay." in html
        due = today + timedelta(days=2)
        assert f"Planned by {due:%A} {due.day} {due:%B %Y}." in html
        booked = today + timedelta(days=9)
        assert f"{booked:%A} {booked.day} {booked:%B %Y}" in html and "Breast cancer screening" in html
        assert "Nurse East 1" in html                              # the care coordinator from the users file
        assert "VOTHER" not in html and "CMS125" not in html
        assert page.headers["cache-control"] == "no-store"
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]

    audit = portal_env.rows("SELECT user_id, role, member_id, action, endpoint, detail FROM audit_log "
                            "WHERE member_id = :m ORDER BY id", m=m)
    assert [a.action for a in audit] == ["signin", "read"]
    read = audit[1]
    assert (read.user_id, read.role, read.endpoint) == (f"member:{m}", "member", "PAGE GET /")
    assert "encounters=1" in read.detail and "gaps=1" in read.detail and "tasks=1" in read.detail


def test_a_replayed_topic_changes_nothing(portal_env, worker):
    m = member_id("MREPLAY")
    events = [ev.roster(m, at=datetime.now(timezone.utc)), ev.gap_opened(m, "CMS122")]
    portal_env.produce(events)
    wait_for(lambda: portal_env.scalar("SELECT count(*) FROM portal_gaps WHERE member_id = :m", m=m) == 1, 30,
             what="gap projected")
    portal_env.produce(events)  # the same events again (same ids): deduplicated
    marker = member_id("MMARK")
    portal_env.produce([ev.roster(marker)])
    portal_env.wait_member(marker)
    assert portal_env.scalar("SELECT count(*) FROM processed_events WHERE event_id = :e",
                             e=str(events[1].event_id)) == 1
    assert portal_env.scalar("SELECT count(*) FROM portal_gaps WHERE member_id = :m", m=m) == 1
