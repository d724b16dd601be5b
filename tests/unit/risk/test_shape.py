"""The service's shape: routes agree with the topic registry, layers import what they may."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from services.risk.routes import ROUTES
from shared.topics import registry

RISK = Path(__file__).resolve().parents[3] / "services" / "risk"
IO_LIBS = ("faust", "aiokafka", "confluent_kafka", "sqlalchemy", "fastapi", "httpx", "starlette", "uvicorn")


def test_the_registry_names_risk_as_a_consumer_of_exactly_the_routed_topics():
    consumed_by_risk = {name for name, spec in registry().items()
                        if not spec.is_dlq and any(c.split(" ")[0] == "risk" for c in spec.consumers)}
    assert consumed_by_risk == set(ROUTES.topics())
    assert "risk worker" in registry()["risk.tiers"].producers


def test_every_consumed_event_type_has_a_route_and_every_route_an_event_type():
    routed = {(r.topic, r.event_type) for r in ROUTES.routes}
    assert {(c.TOPIC, c.model_fields["event_type"].default) for c in ROUTES.events()} == routed
    for topic, event_type in routed:
        assert event_type in {e.event_type for e in registry()[topic].events}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            out.add(("." * node.level) + (node.module or ""))
    return out


def test_domain_is_pure_and_app_uses_no_adapters_or_io():
    for path in (RISK / "domain").glob("*.py"):
        for name in _imports(path):
            assert not name.startswith(IO_LIBS), f"{path.name} imports {name}"
            assert "adapters" not in name and not name.startswith("..app"), f"{path.name} imports {name}"
    for path in (RISK / "app").glob("*.py"):
        for name in _imports(path):
            assert not name.startswith(IO_LIBS) and "adapters" not in name, f"{path.name} imports {name}"


def test_the_api_process_does_not_import_faust():
    code = "import sys; import services.risk.api; print('faust' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=RISK.parents[1])
    assert out.stdout.strip() == "False"


def test_the_import_contracts_hold_the_risk_layers():
    """``.importlinter`` keeps risk's layers (entry points > web | routes | adapters > app > domain),
    a pure domain, use cases without SQL/Kafka/HTTP and an API without faust."""
    code = ("import sys\nfrom importlinter.cli import lint_imports\n"
            "sys.exit(lint_imports(config_filename='.importlinter', no_cache=True, no_logo=True))")
    out = subprocess.run([sys.executable, "-c", code], cwd=RISK.parents[1], capture_output=True, text=True,
                         timeout=300, env={"PYTHONPATH": str(RISK.parents[1]), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stdout[-4000:]
    kept = " ".join(out.stdout.split())
    for name in ("risk: entry points on top, then web | routes | adapters, then app, then domain KEPT",
                 "risk domain imports no I/O library and no I/O part of shared/ KEPT",
                 "risk use cases import no I/O library (no SQL, no Kafka, no HTTP) KEPT",
                 "risk API process imports no faust (nor the worker's wiring) KEPT"):
        assert name in kept, name
