"""Topic names are spelled once (the registry, shared/contract/topics.yaml) and the registry's
``consumers:`` are checked against the code that consumes.

- ``shared.topics``' constants are exactly the registry's topics;
- every event model's ``TOPIC`` is a registry topic that lists its event type, and every event
  type the registry lists has a model published there;
- a ``consumers:`` entry that starts with a service's name (``outreach (TCM tasks)``, ``admissions
  worker``) names that service's worker; other entries (``dashboards``, ``hospitalist inbox
  (admissions api)``) are readers outside the services' workers. For every service the topics
  its worker consumes must equal the topics whose entries name it; they come from its
  ``routes.py`` table (``ROUTES``, a ``shared.routing.Routes``), which every service with a worker
  has; a service with no worker and no routes.py (intake: it only produces) consumes nothing;
- a service spells no topic name in its code (it uses ``shared.topics``).
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

from shared import topics
from shared.events import EVENT_CLASSES
from shared.routing import Routes
from shared.topics import DLQ_SUFFIX, registry

REPO = Path(__file__).resolve().parents[3]
SERVICES = REPO / "services"
CONSTANTS = {name: value for name, value in vars(topics).items() if name.isupper() and isinstance(value, str)
             and name not in ("DLQ_SUFFIX",)}


def source_topics() -> dict[str, object]:
    return {name: spec for name, spec in registry().items() if not spec.is_dlq}


def service_names() -> list[str]:
    return sorted(p.name for p in SERVICES.iterdir() if (p / "__init__.py").exists())


def converted(service: str) -> Routes | None:
    """The service's shared routes table, or None when it has none."""
    if not (SERVICES / service / "routes.py").exists():
        return None
    routes = getattr(importlib.import_module(f"services.{service}.routes"), "ROUTES", None)
    return routes if isinstance(routes, Routes) else None


def workerless(service: str) -> bool:
    """A service with no worker and no routes.py consumes no topic (intake: it only produces, from
    files and its API); the registry must then name it as no topic's consumer."""
    return not any((SERVICES / service / f).exists() for f in ("routes.py", "worker.py"))


def consumed_by(service: str) -> set[str]:
    return set() if workerless(service) else set(converted(service).topics())


def registry_consumers(service: str) -> set[str]:
    return {name for name, spec in source_topics().items()
            if any(entry.split()[0] == service for entry in spec.consumers if entry.split())}


def test_the_topic_constants_are_exactly_the_registry_topics():
    assert sorted(CONSTANTS.values()) == sorted(source_topics())
    assert all(not v.endswith(DLQ_SUFFIX) for v in CONSTANTS.values())


def test_every_event_model_is_published_on_a_registry_topic_that_lists_its_type_and_back():
    listed = {(name, e.event_type) for name, spec in source_topics().items() for e in spec.events}
    models = {(cls.TOPIC, cls.model_fields["event_type"].default) for cls in EVENT_CLASSES}
    assert models == listed


def test_the_registry_consumers_match_what_every_service_consumes():
    mismatches = {}
    for service in service_names():
        worker, listed = consumed_by(service), registry_consumers(service)
        if worker != listed:
            mismatches[service] = {"consumed but not in the registry": sorted(worker - listed),
                                   "in the registry but not consumed": sorted(listed - worker)}
    assert not mismatches, mismatches


def test_every_service_with_a_worker_is_on_the_shared_routes_table():
    """Each worker consumes through a non-empty ``shared.routing.Routes`` in its service's
    ``routes.py`` (no topics declared anywhere else); a service without one has no worker."""
    with_worker = [s for s in service_names() if not workerless(s)]
    missing = [s for s in with_worker if converted(s) is None]
    assert not missing, f"services without a shared routes table: {missing}"
    for service in with_worker:
        assert converted(service).routes, service


def test_a_service_spells_no_topic_name():
    """(A consumer's name may equal a topic's: outreach's consumer has been ``outreach.tasks``
    since before the routes table, and its ``processed_events`` rows carry that name.)"""
    names = set(source_topics()) | {n + DLQ_SUFFIX for n in source_topics()}
    spelled = {}
    for service in service_names():
        for path in sorted((SERVICES / service).rglob("*.py")):
            tree = ast.parse(path.read_text())
            consumer_names = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Assign)
                              and any(getattr(t, "id", None) == "CONSUMER" for t in n.targets)}
            for node in ast.walk(tree):
                if isinstance(node, ast.Constant) and node.value in names and id(node) not in consumer_names:
                    spelled.setdefault(str(path.relative_to(REPO)), []).append(node.value)
    assert not spelled, spelled


def test_every_producer_and_consumer_entry_is_whole():
    """A comma inside an unquoted YAML flow-list item (``[billing (satisfaction, activity)]``)
    splits it in two, and the halves read as consumers named ``billing (satisfaction`` and
    ``activity)`` — one even read as a consumer ``admissions`` of care.transitions. Such an entry
    must be quoted."""
    broken = {name: [e for e in spec.producers + spec.consumers if e.count("(") != e.count(")")]
              for name, spec in source_topics().items()}
    assert not {k: v for k, v in broken.items() if v}, broken
