"""The routes table and the topic registry agree: every topic the portal routes names the
portal among its consumers, every routed (topic, event type) is a registered one, and every event
type registered on those topics has a route (the portal accepts everything on its topics; what it
has no use for goes to a no-op route)."""

from __future__ import annotations

import sys

from services.portal.routes import ROUTES
from shared.topics import registry


def test_registry_consumers_name_the_portal_for_each_routed_topic():
    reg = registry()
    for topic in ROUTES.topics():
        assert any(c.split()[0] == "portal" for c in reg[topic].consumers), topic


def test_every_route_is_a_registered_event_type_of_its_topic():
    reg = registry()
    for topic, event_type, _use_case in ROUTES.table():
        assert event_type in {e.event_type for e in reg[topic].events}, (topic, event_type)


def test_every_event_type_registered_on_the_portals_topics_has_a_route():
    reg = registry()
    registered = {(topic, e.event_type) for topic in ROUTES.topics() for e in reg[topic].events}
    assert registered == {(topic, event_type) for topic, event_type, _ in ROUTES.table()}


def test_the_portal_reads_the_topics_its_pages_need():
    assert set(ROUTES.topics()) >= {"members.roster", "alerts.hospitalist", "care.transitions", "gaps.events",
                                    "outreach.tasks", "portal.messages", "portal.replies"}


def test_domain_and_app_import_no_io_library_and_the_api_no_faust():
    import importlib
    import subprocess
    for mod in ("services.portal.domain", "services.portal.app.reads", "services.portal.app.sessions",
                "services.portal.app.messages", "services.portal.app.projection"):
        importlib.import_module(mod)
    code = ("import sys, services.portal.api as a; "
            "bad=[m for m in ('faust','aiokafka') if m in sys.modules]; print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
    code = ("import sys, services.portal.domain, services.portal.app.reads, services.portal.app.sessions, "
            "services.portal.app.messages, services.portal.app.projection, services.portal.routes; "
            "bad=[m for m in ('faust','confluent_kafka','sqlalchemy','fastapi','httpx','authlib') if m in sys.modules];"
            " print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_portal_tables_share_no_name_with_another_services_tables():
    """A database shared by every service (one DATABASE_URL) must not see two tables of one name;
    only the shared machinery's tables (processed_events, audit_log) are common by design."""
    import importlib
    import importlib.util

    from services.portal.adapters.tables import metadata

    ours = set(metadata.tables) - {"processed_events", "audit_log"}
    for service in ("admissions", "gaps", "outreach", "billing"):
        module = "adapters.tables" if importlib.util.find_spec(f"services.{service}.adapters") else "store"
        theirs = set(importlib.import_module(f"services.{service}.{module}").metadata.tables)
        assert not ours & theirs, (service, ours & theirs)
    assert all(name.startswith("portal_") for name in ours)

