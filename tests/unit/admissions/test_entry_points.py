"""The entry points stay thin and load only their own process's wiring: the API and the MLLP
listener import no faust (nor aiokafka) and not the worker's wiring; the worker is the one that does."""

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
    modules = loaded_after("from services.admissions.api import create_api\nimport services.admissions.__main__")
    assert "services.admissions.api" in modules and "fastapi" in modules
    assert "faust" not in modules and "aiokafka" not in modules
    assert "services.admissions.worker" not in modules


def test_the_mllp_process_imports_neither_faust_nor_the_web_framework():
    modules = loaded_after("from services.admissions.listener import run_mllp")
    assert "services.admissions.mllp.server" in modules
    assert not {"faust", "aiokafka", "fastapi", "services.admissions.worker"} & modules


def test_the_worker_is_where_faust_is_loaded():
    modules = loaded_after("from services.admissions.worker import build_worker")
    assert "faust" in modules
