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
    (("explain", "MMO-2026", "2026-13", "fees"), "bad period '2026-13': expected YYYY-MM"),
    (("explain", "MMO-2026", "2026-03", "profit"), "unknown figure 'profit' for MMO-2026 2026-03; one of: fees"),
    (("explain", "MMO-2026", "2031-01", "fees"), "no version of MMO-2026 is in force in 2031-01"),
])
def test_a_bad_period_is_one_line_naming_the_problem_and_exit_status_2(tmp_path, args, problem):
    done = _run(tmp_path, *args)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
    assert any(problem in ln for ln in lines), done.stderr
    assert done.stdout == ""


def test_explain_prints_the_arithmetic_with_the_clause_and_the_member_months(tmp_path):
    from datetime import date

    from services.billing.handlers import Billing
    from services.billing.store import BillingDatabase

    from .billing_inputs import claim, roster

    assert _run(tmp_path, "migrate").returncode == 0
    db = BillingDatabase(f"sqlite:///{tmp_path / 'billing.db'}")
    with db.transaction() as s:
        Billing(open_month_policy="fixed", open_month="2026-04", estimate_interval_s=0).handle(s, [
            roster("CLI-M1", contract_id="GR-2026", start=date(2026, 3, 17)),
            claim("CLI-M1", "K1", (("93458", date(2026, 3, 20), "3000.00"), ("99213", date(2026, 3, 20), "90.00")))])
    db.dispose()
    done = _run(tmp_path, "explain", "GR-2026", "2026-03", "cost_of_care")
    assert done.returncode == 0, done.stderr
    assert "GR-2026 2026-03 cost_of_care = 90.00" in done.stdout
    assert "excluded carve_out: 1 item(s), 3000.00 paid" in done.stdout
    assert "versions[0].carve_outs[1] cardiac_catheterization (93451-93533, revenue 0481)" in done.stdout
    mm = _run(tmp_path, "explain", "GR-2026", "2026-03", "member_months", "--json")
    assert mm.returncode == 0 and '"eligible_days": 15' in mm.stdout and '"member_months": "0.4839"' in mm.stdout
