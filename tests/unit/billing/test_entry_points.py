"""Billing's entry points stay thin and load only their own process's wiring: the API process
(and ``python -m services.billing``'s command table) imports no faust nor aiokafka; the worker
is the one that does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def loaded_after(statement: str) -> set[str]:
    code = f"import sys\n{statement}\nprint('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120,
                         env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr[-3000:]
    return set(out.stdout.split())


def test_the_api_process_imports_no_faust():
    modules = loaded_after("from services.billing.api import create_api\nimport services.billing.__main__")
    assert "services.billing.api" in modules and "fastapi" in modules
    assert "faust" not in modules and "aiokafka" not in modules
    assert "services.billing.worker" not in modules


def test_the_worker_is_where_faust_is_loaded():
    modules = loaded_after("from services.billing.worker import build_worker")
    assert "faust" in modules and "services.billing.routes" in modules


def test_the_routes_table_names_one_use_case_per_consumed_event_type():
    from services.billing.routes import ROUTES

    rows = ROUTES.table()
    assert len({(topic, event) for topic, event, _ in rows}) == len(rows)
    assert {topic for topic, _, _ in rows} == {"members.roster", "claims.events", "gaps.events", "care.transitions",
                                               "outreach.tasks", "risk.tiers"}
    assert all(use_case.startswith("services.billing.app.handlers.") for _, _, use_case in rows)
