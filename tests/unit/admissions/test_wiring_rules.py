"""Pieces of the wiring that decide something without I/O: who sees which member's data, the
duplicate cache's memory bound, the contract terms taken from settings."""

from __future__ import annotations

import asyncio

from shared.auth import User

from services.admissions.adapters.dedupe import WriteBehindDedupe
from services.admissions.ingest import KafkaStatus
from services.admissions.app.scope import scope_of
from services.admissions.settings import AdmissionsSettings


def user(*roles, groups=(), pods=()):
    return User(id="u", name="U", roles=frozenset(roles), hospitalist_groups=frozenset(groups), pods=frozenset(pods))


def test_hospitalists_see_their_groups_pod_staff_their_pods_admins_everything_feeds_nothing():
    north = scope_of(user("hospitalist", groups=["HG-NORTH"]))
    assert north.allows("HG-NORTH", "pod-west") and not north.allows("HG-SOUTH", "pod-east")
    nurse = scope_of(user("nurse", pods=["pod-east"]))
    assert nurse.allows("HG-SOUTH", "pod-east") and not nurse.allows("HG-NORTH", "pod-west")
    assert scope_of(user("admin")).allows(None, None)
    assert scope_of(user()).empty and scope_of(user("ops")).empty
    # a hospitalist's pods (if any were listed) do not widen what a hospitalist sees
    assert not scope_of(user("hospitalist", groups=["HG-NORTH"], pods=["pod-east"])).allows("HG-SOUTH", "pod-east")


def test_duplicate_cache_returns_the_stored_ack_and_forgets_the_least_recently_used_first():
    async def go():
        cache = WriteBehindDedupe(None, capacity=2)
        await cache.put("MERCY", "1", b"ACK1")
        await cache.put("MERCY", "2", b"ACK2")
        assert await cache.get("MERCY", "1") == b"ACK1"  # 1 is now the most recent
        await cache.put("MERCY", "3", b"ACK3")
        return [await cache.get("MERCY", c) for c in ("1", "2", "3")], await cache.get("STLUKE", "1")
    found, other_facility = asyncio.run(go())
    assert found == [b"ACK1", None, b"ACK3"] and other_facility is None


def test_kafka_status_follows_the_latest_write():
    s = KafkaStatus()
    assert s.reachable() is None
    s.last_ok = 10.0
    assert s.reachable() is True
    s.last_failure = 11.0
    assert s.reachable() is False


def test_contract_terms_come_from_settings():
    rules = AdmissionsSettings(readmission_window_days=45, tcm_contact_business_days=3, inpatient_classes="I,O",
                               _env_file=None).rules()
    assert rules.readmission_window_days == 45 and rules.tcm_contact_business_days == 3
    assert rules.inpatient_classes == frozenset({"I", "O"}) and rules.tcm_classes == frozenset({"I", "O"})
    assert rules.transition_classes == frozenset({"I", "O", "E"})
