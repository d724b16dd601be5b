"""The routes table against the topic registry: every event type on a consumed topic has a
route, and the registry names notifications among the consumers of each topic it routes."""

from shared.topics import registry

from services.notifications.routes import ROUTES

TOPICS = ROUTES.topics()
ROUTED = {(route.topic, route.event_type) for route in ROUTES.routes}


def test_every_event_type_on_a_consumed_topic_is_routed():
    reg = registry()
    for topic in TOPICS:
        for spec in reg[topic].events:
            assert (topic, spec.event_type) in ROUTED, (topic, spec.event_type)


def test_the_registry_names_notifications_as_a_consumer_of_every_routed_topic():
    reg = registry()
    for topic in TOPICS:
        assert any(c.startswith("notifications") for c in reg[topic].consumers), topic
    routed = set(TOPICS)
    for name, spec in reg.items():
        if not spec.is_dlq and any(c.startswith("notifications") for c in spec.consumers):
            assert name in routed, f"the registry says notifications consumes {name}, the routes do not"


def test_the_api_imports_no_faust():
    import subprocess
    import sys

    code = "import sys, services.notifications.api; print('faust' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"
