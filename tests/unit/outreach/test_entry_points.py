"""The entry points stay thin and load only their own process's wiring: the API process imports
no faust (nor aiokafka); the worker is the one that does."""

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
    modules = loaded_after("from services.outreach.api import create_api\nimport services.outreach.__main__")
    assert "services.outreach.api" in modules and "fastapi" in modules
    assert "faust" not in modules and "aiokafka" not in modules
    assert "services.outreach.worker" not in modules


def test_the_worker_is_where_faust_is_loaded():
    modules = loaded_after("from services.outreach.worker import build_worker")
    assert "faust" in modules
