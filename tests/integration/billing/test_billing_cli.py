"""The billing CLI's answers to bad arguments: one line naming the problem, exit status 2."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support.procs import REPO


def _run(tmp_path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "ENVIRONMENT": "test", "PYTHONPATH": str(REPO), "VAR_DIR": str(tmp_path),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'billing.db'}"}
    return subprocess.run([sys.executable, "-m", "services.billing", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=120, env=env)


@pytest.mark.parametrize("args, problem", [
    (("statement", "MMO-2026", "2026-13"), "bad period '2026-13': expected YYYY-MM"),
    (("statement", "MMO-2026", "March"), "bad period 'March': expected YYYY-MM"),
    (("statement", "MMO-2026", "2031-01"), "no version of MMO-2026 is in force in 2031-01"),
    (("close-month", "MMO-2026", "2026/03"), "bad period '2026/03': expected YYYY-MM"),
])
def test_a_bad_period_is_one_line_naming_the_problem_and_exit_status_2(tmp_path, args, problem):
    done = _run(tmp_path, *args)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
    assert any(problem in ln for ln in lines), done.stderr
    assert done.stdout == ""
