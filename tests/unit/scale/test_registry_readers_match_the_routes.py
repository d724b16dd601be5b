"""The registry's machine-readable ``readers`` (from which the per-service ACLs and the Strimzi
KafkaUsers are derived) agree with what each service's worker really consumes: the topics passed
to ``shared.faust_app.consume`` in its code. A worker subscribing to a topic its service may not
read would be refused by the broker under ``--secure`` and in Kubernetes; a reader nobody's code
consumes would be a permission too many.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from shared.topics import registry

REPO = Path(__file__).resolve().parents[3]
# readers that are not the service's worker: the admissions API tails alerts.hospitalist for its
# Server-Sent Events (services/admissions/alert_stream.py)
NOT_THE_WORKER = {("admissions", "alerts.hospitalist")}
WRITTEN_ELSEWHERE: set[str] = set()  # services listed in the registry before their code lands


def worker_topics(service: str) -> set[str]:
    """Topics of every ``consume(app, settings, TOPICS, ...)`` call in the service's modules (``None``:
    the service's routes table, ``services/<name>/routes.py``)."""
    out: set[str] = set()
    for path in sorted((REPO / "services" / service).glob("*.py")):
        tree = ast.parse(path.read_text())
        calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "consume"]
        if not calls:
            continue
        module = importlib.import_module(f"services.{service}.{path.stem}")
        for call in calls:
            topics = eval(compile(ast.Expression(call.args[2]), str(path), "eval"), vars(module))  # noqa: S307
            if topics is None:  # the shaped services: the processor's routes table (shared.routing)
                topics = importlib.import_module(f"services.{service}.routes").ROUTES.topics()
            out |= set(topics)
    return out


SERVICES = sorted({s for t in registry().values() for s in t.readers} - WRITTEN_ELSEWHERE)


@pytest.mark.parametrize("service", SERVICES)
def test_a_services_readers_are_the_topics_its_worker_consumes(service):
    consumed = worker_topics(service)
    assert consumed, f"no consume(...) call found under services/{service}"
    readers = {name for name, t in registry().items() if service in t.readers}
    assert consumed - readers == set(), f"{service}'s worker consumes topics the registry does not let it read"
    assert {(service, t) for t in readers - consumed} <= NOT_THE_WORKER, \
        f"{service} may read {sorted(readers - consumed)} but its worker does not consume them"


def test_the_reliability_checks_cover_every_topic_each_worker_consumes():
    """tests/reliability/invariants.CONSUMERS (what quiesce waits for and coverage checks) lists each
    worker's real inputs: a topic added to a worker's routes is also checked for lost events."""
    from tests.reliability.invariants import CONSUMERS

    for service, (_, inputs) in CONSUMERS.items():
        assert set(inputs) == worker_topics(service), service
