"""Dispatchers are woken by the database when work becomes owed, not by their poll: a worker
whose poll is a minute long delivers within seconds what the API made owed again (a reactivated
subscription's held deliveries, its dead letters redelivered) — the API runs in another process,
so only PostgreSQL's notification on commit can tell the worker."""

from __future__ import annotations

from tests.support.procs import wait_for

from . import events as ev
from .conftest import start
from .receivers import HttpReceiver


def test_work_made_owed_by_the_api_wakes_a_worker_whose_poll_is_a_minute(notif_env):
    notif_env.worker.stop()
    notif_env.worker = start(notif_env, "worker", DISPATCH_POLL_S="60")
    rx = HttpReceiver(mode="fail").start()
    try:
        sub = notif_env.subscribe(rx.url, ["care-gap-opened"], retry={"max_attempts": 1})
        rx.secrets = [sub["secret"]]
        m = ev.member()
        notif_env.enroll(ev.roster(m))
        notif_env.produce([ev.gap_opened(m, "CMS130")])
        wait_for(lambda: notif_env.scalar("SELECT count(*) FROM deliveries WHERE subscription_id = :s "
                                          "AND state = 'dead'", s=sub["id"]) == 1, 30, what="a dead letter")
        notif_env.produce([ev.gap_opened(m, "CMS125")])  # held while the subscription is in error
        wait_for(lambda: notif_env.scalar("SELECT events_count FROM subscriptions WHERE id = :s", s=sub["id"]) == 2,
                 30, what="the later event owed")
        rx.mode = "ok"
        with notif_env.client() as c:
            assert c.post(f"/subscriptions/{sub['id']}/reactivate").json()["status"] == "active"
            wait_for(lambda: len(rx.webhooks()) == 1, 20, what="the held delivery, well before the minute's poll")
            assert c.post(f"/subscriptions/{sub['id']}/redeliver").json() == {"requeued": 1}
        wait_for(lambda: len(rx.webhooks()) == 2, 20, what="the dead letter, well before the minute's poll")
    finally:
        rx.stop()
        notif_env.worker.stop()
        notif_env.worker = start(notif_env, "worker")
