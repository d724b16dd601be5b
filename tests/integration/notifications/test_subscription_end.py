"""A subscription whose ``end`` passes is turned ``off`` (what FHIR says of an ended subscription)
and owes nothing more; ops may give it a later end and turn it on again."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from tests.support.procs import wait_for

from . import events as ev
from .receivers import HttpReceiver


def test_a_subscription_past_its_end_turns_off_and_owes_nothing_more(notif_env):
    rx = HttpReceiver().start()
    try:
        end = datetime.now(timezone.utc) + timedelta(seconds=2)
        sub = notif_env.subscribe(rx.url, ["care-gap-opened"], end=end.isoformat())
        assert sub["status"] == "active"

        def status():
            with notif_env.client() as c:
                return c.get(f"/subscriptions/{sub['id']}").json()

        off = wait_for(lambda: (s := status())["status"] == "off" and s, 30, what="the subscription turned off")
        assert off["status_reason"] == "reached its end"
        m = ev.member()
        notif_env.enroll(ev.roster(m))
        other = notif_env.subscribe(rx.url, ["care-gap-opened"])  # a live one: the event is processed
        rx.secrets = [other["secret"]]
        notif_env.produce([ev.gap_opened(m, "CMS130")])
        wait_for(lambda: len(rx.webhooks()) == 1, 30, what="the live subscription's delivery")
        assert notif_env.scalar("SELECT events_count FROM subscriptions WHERE id = :s", s=sub["id"]) == 0
        # a later end, and on again
        with notif_env.client() as c:
            later = (datetime.now(timezone.utc) + timedelta(days=30)).isoformat()
            r = c.patch(f"/subscriptions/{sub['id']}", json={"expected_version": off["version"], "end": later,
                                                              "status": "active"})
            assert r.status_code == 200, r.text
        assert r.json()["status"] == "active"
    finally:
        rx.stop()


def test_a_patch_with_nulls_changes_only_what_null_may_clear(notif_env):
    """Found by the API fuzzing: null for a number made a 500; null means 'unchanged' there, and
    clears only what may be absent (end, heartbeat)."""
    sub = notif_env.subscribe("http://127.0.0.1:9/hook", ["care-gap-opened"], max_in_flight=7,
                              end="2030-01-01T00:00:00+00:00")
    with notif_env.client() as c:
        r = c.patch(f"/subscriptions/{sub['id']}", json={"expected_version": sub["version"], "max_in_flight": None,
                                                          "endpoint": None, "timeout_s": None, "end": None})
        assert r.status_code == 200, r.text
        got = r.json()
        assert (got["max_in_flight"], got["endpoint"], got["end"]) == (7, "http://127.0.0.1:9/hook", None)
