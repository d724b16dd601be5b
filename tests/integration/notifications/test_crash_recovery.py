"""A worker killed in the middle of deliveries (SIGKILL: no goodbye, leases held) and started
again: every owed notification reaches the receiver, a redelivery carries its first id, and the
per-member order holds."""

from __future__ import annotations

from tests.support.procs import wait_for

from . import events as ev
from .conftest import start
from .receivers import HttpReceiver


def test_a_worker_killed_mid_delivery_loses_nothing_and_sends_no_new_ids(notif_env):
    rx = HttpReceiver(mode="slow", slow_s=0.3).start()
    try:
        sub = notif_env.subscribe(rx.url, ["care-gap-opened"], timeout_s=5, max_in_flight=4)
        rx.secrets = [sub["secret"]]
        members = [ev.member() for _ in range(8)]
        notif_env.enroll(*[ev.roster(m) for m in members])
        sent = [ev.gap_opened(m, measure) for measure in ("CMS130", "CMS125", "CMS122", "CMS165") for m in members]
        notif_env.produce(sent)
        wait_for(lambda: len(rx.webhooks()) >= 6, 60, what="some deliveries under way")
        notif_env.worker.kill()  # leases held, attempts in flight unrecorded
        rx.mode = "ok"
        notif_env.worker = start(notif_env, "worker")
        wait_for(lambda: len(set(rx.ids())) >= len(sent), 90, what="every notification after the restart")
        ids = rx.ids()
        assert len(set(ids)) == len(sent), "nothing lost, nothing invented"
        for m in members:
            numbers = [w["data"]["event_number"] for w in rx.webhooks() if w["data"]["patient"] == f"Patient/{m}"]
            firsts = list(dict.fromkeys(numbers))
            assert firsts == sorted(firsts), f"member order kept: {numbers}"
        # an id received twice is a redelivery of the same notification (same id), never a new one
        assert len(ids) - len(set(ids)) <= 4 * 4
        wait_for(lambda: notif_env.scalar("SELECT count(*) FROM deliveries WHERE subscription_id = :s "
                                          "AND state = 'delivered'", s=sub["id"]) == len(sent), 30, what="recorded")
    finally:
        rx.stop()
