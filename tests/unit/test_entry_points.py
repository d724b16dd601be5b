"""The entry points stay thin and load only their own process's wiring: a service's API process
imports no faust (nor aiokafka) and not the worker's wiring; the worker is the one that does; the
MLLP listener loads neither faust nor the web framework. Each check runs in a fresh interpreter, so
what is loaded is what the import really pulls in.

Every service is in the shape (worker.py beside api.py; issue 16). intake has no worker (it
consumes no topic): its API and its CLI loads import no faust at all."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
IN_THE_SHAPE = ["admissions", "outreach", "risk", "notifications", "portal", "billing", "gaps"]


def loaded_after(statement: str) -> set[str]:
    code = f"import sys\n{statement}\nprint('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120,
                         env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr[-3000:]
    return set(out.stdout.split())


@pytest.mark.parametrize("service", IN_THE_SHAPE)
def test_the_api_process_imports_no_faust(service):
    modules = loaded_after(f"from services.{service}.api import create_api\nimport services.{service}.__main__")
    assert f"services.{service}.api" in modules and "fastapi" in modules
    assert "faust" not in modules and "aiokafka" not in modules
    assert f"services.{service}.worker" not in modules


@pytest.mark.parametrize("service", [*IN_THE_SHAPE, "intake"])
def test_the_api_process_imports_no_faust_nor_a_worker(service):
    modules = loaded_after(f"from services.{service}.api import create_api\nimport services.{service}.__main__")
    assert f"services.{service}.api" in modules and "fastapi" in modules
    assert "faust" not in modules and "aiokafka" not in modules


def test_intake_has_no_worker_and_its_cli_loads_import_no_faust():
    assert not (REPO / "services" / "intake" / "worker.py").exists()
    modules = loaded_after("from services.intake.cli import COMMANDS, load_claims_command\n"
                           "from services.intake.adapters.wiring import load_context\n"
                           "from services.intake.adapters.topic_reader import KafkaTopicReader\n"
                           "from services.intake.app.seed import seed_roster")
    assert "services.intake.app.claims" in modules and "pyx12" in modules
    assert not {"faust", "aiokafka", "fastapi"} & modules


@pytest.mark.parametrize("service", IN_THE_SHAPE)
def test_the_worker_is_where_faust_is_loaded(service):
    modules = loaded_after(f"from services.{service}.worker import build_worker")
    assert "faust" in modules


def test_the_mllp_process_imports_neither_faust_nor_the_web_framework():
    modules = loaded_after("from services.admissions.listener import run_mllp")
    assert "services.admissions.mllp.server" in modules
    assert not {"faust", "aiokafka", "fastapi", "services.admissions.worker"} & modules
