"""Topic names are spelled once (the registry, shared/contract/topics.yaml) and the registry's
``consumers:`` are checked against the code that consumes.

- ``shared.topics``' constants are exactly the registry's topics;
- every event model's ``TOPIC`` is a registry topic that lists its event type, and every event
  type the registry lists has a model published there;
- a ``consumers:`` entry that starts with a service's name (``outreach (TCM tasks)``, ``admissions
  worker``) names that service's worker; other entries (``dashboards``, ``hospitalist inbox
  (admissions api)``) are readers outside the services' workers. For every service the topics
  its worker consumes must equal the topics whose entries name it. A converted service's topics
  come from its ``routes.py`` table (``ROUTES``, a ``shared.routing.Routes``); a service with a
  table of its own in ``routes.py`` (portal, until it moves to the shared one) from its
  ``TOPICS``; a service not converted yet from the topics its ``agents.py`` hands to
  ``consume(...)`` — the test says which services are not on the shared table yet; a service with
  none of these and no worker (intake) consumes nothing;
- a converted service spells no topic name in its code (it uses ``shared.topics``).
"""

from __future__ import annotations

import ast
import importlib
import warnings
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
    """The service's shared routes table, or None when it has none (yet)."""
    if not (SERVICES / service / "routes.py").exists():
        return None
    routes = getattr(importlib.import_module(f"services.{service}.routes"), "ROUTES", None)
    return routes if isinstance(routes, Routes) else None


def own_table(service: str) -> set[str] | None:
    """The TOPICS of a routes.py that is not (yet) a shared.routing table."""
    if converted(service) is not None or not (SERVICES / service / "routes.py").exists():
        return None
    topics_ = getattr(importlib.import_module(f"services.{service}.routes"), "TOPICS", None)
    assert topics_, f"services/{service}/routes.py declares neither a shared.routing.Routes ROUTES nor TOPICS"
    return set(topics_)


def _literal_topics(node: ast.AST, names: dict[str, ast.AST], module_dir: Path) -> set[str]:
    """Topic names in a list/tuple of shared.topics constants, string literals, or a name bound to one."""
    if isinstance(node, (ast.List, ast.Tuple)):
        out: set[str] = set()
        for elt in node.elts:
            out |= _literal_topics(elt, names, module_dir)
        return out
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.Name):
        if node.id in CONSTANTS:
            return {CONSTANTS[node.id]}
        if node.id in names:
            return _literal_topics(names[node.id], names, module_dir)
    if isinstance(node, ast.Attribute) and node.attr in CONSTANTS:
        return {CONSTANTS[node.attr]}
    raise AssertionError(f"cannot read the topics of {ast.dump(node)} in {module_dir}")


def _bindings(path: Path) -> tuple[ast.Module, dict[str, ast.AST]]:
    """A module's tree and its module-level names bound to a value, following ``from .x import NAME``."""
    tree = ast.parse(path.read_text())
    names: dict[str, ast.AST] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign):
            for target in stmt.targets:
                if isinstance(target, ast.Name):
                    names[target.id] = stmt.value
        elif isinstance(stmt, ast.ImportFrom) and stmt.level == 1 and stmt.module:
            sibling = path.parent / f"{stmt.module}.py"
            if sibling.exists():
                _, theirs = _bindings(sibling)
                for alias in stmt.names:
                    if alias.name in theirs:
                        names[alias.asname or alias.name] = theirs[alias.name]
    return tree, names


def declared_in_agents(service: str) -> set[str]:
    """The topics an unconverted service's ``agents.py`` passes to ``consume(app, settings, TOPICS, ...)``."""
    path = SERVICES / service / "agents.py"
    assert path.exists(), f"services/{service} has neither routes.py nor agents.py: nothing says what it consumes"
    tree, names = _bindings(path)
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "consume" and len(node.args) >= 3:
            found |= _literal_topics(node.args[2], names, path)
    return found


def workerless(service: str) -> bool:
    """A service with no worker, no agents.py and no routes.py consumes no topic (intake: it only
    produces, from files and its API); the registry must then name it as no topic's consumer."""
    return not any((SERVICES / service / f).exists() for f in ("routes.py", "agents.py", "worker.py"))


def consumed_by(service: str) -> set[str]:
    if workerless(service):
        return set()
    routes = converted(service)
    if routes is not None:
        return set(routes.topics())
    own = own_table(service)
    return own if own is not None else declared_in_agents(service)


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


def test_which_services_still_declare_their_topics_outside_a_routes_table():
    """Tells (as a warning in the summary) which services are not converted yet; each must still
    declare readable topics in its agents.py, and each converted one has a non-empty table."""
    unconverted = [s for s in service_names() if converted(s) is None and not workerless(s)]
    how = {s: "its own routes.py TOPICS" if own_table(s) is not None else "agents.py" for s in unconverted}
    for service in unconverted:
        assert consumed_by(service), service
    for service in set(service_names()) - set(unconverted) - {s for s in service_names() if workerless(s)}:
        assert converted(service).routes
    if unconverted:
        warnings.warn(UserWarning("services not on the shared routes table yet (topics read from): "
                                  + ", ".join(f"{s} ({how[s]})" for s in unconverted)), stacklevel=1)


def test_a_converted_service_spells_no_topic_name():
    """(A consumer's name may equal a topic's: outreach's consumer has been ``outreach.tasks``
    since before the routes table, and its ``processed_events`` rows carry that name.)"""
    names = set(source_topics()) | {n + DLQ_SUFFIX for n in source_topics()}
    spelled = {}
    for service in service_names():
        if converted(service) is None:
            continue
        for path in sorted((SERVICES / service).rglob("*.py")):
            tree = ast.parse(path.read_text())
            consumer_names = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Assign)
                              and any(getattr(t, "id", None) == "CONSUMER" for t in n.targets)}
            for node in ast.walk(tree):
                if isinstance(node, ast.Constant) and node.value in names and id(node) not in consumer_names:
                    spelled.setdefault(str(path.relative_to(REPO)), []).append(node.value)
    assert not spelled, spelled


def test_the_declared_list_reader_reads_what_the_unconverted_services_hand_to_consume():
    # Pin the reader on today's declarations so a change in their form fails loudly here.
    for service in service_names():
        if converted(service) is None and own_table(service) is None and not workerless(service):
            assert declared_in_agents(service) <= set(source_topics()), service
    if "admissions" in service_names() and converted("admissions") is None:
        assert declared_in_agents("admissions") == {topics.ROSTER, topics.ADT}


def test_every_producer_and_consumer_entry_is_whole():
    """A comma inside an unquoted YAML flow-list item (``[billing (satisfaction, activity)]``)
    splits it in two, and the halves read as consumers named ``billing (satisfaction`` and
    ``activity)`` — one even read as a consumer ``admissions`` of care.transitions. Such an entry
    must be quoted."""
    broken = {name: [e for e in spec.producers + spec.consumers if e.count("(") != e.count(")")]
              for name, spec in source_topics().items()}
    assert not {k: v for k, v in broken.items() if v}, broken
