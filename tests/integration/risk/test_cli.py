"""The risk CLI as an operator runs it (a subprocess, SQLite): segment files with a bad line, the
evidence table, a re-score with no broker needed when nothing changes."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.support.procs import REPO


def cli(tmp_path, *args):
    env = {**os.environ, "PYTHONPATH": str(REPO), "DATABASE_URL": f"sqlite:///{tmp_path}/risk.db",
           "ENVIRONMENT": "test"}
    return subprocess.run([sys.executable, "-m", "services.risk", *args], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=120)


def test_a_segment_file_loads_its_good_lines_and_names_the_bad_ones_by_line_and_column(tmp_path):
    path = tmp_path / "segments.csv"
    path.write_text("member_id,dual_status,institutional,orec\nM1,full,no,0\nM2,sometimes,no,0\nM3,none,yes,1\n")
    out = cli(tmp_path, "segments", "load", str(path))
    assert out.returncode == 1
    assert "2 segments loaded, 1 rejected" in out.stdout
    assert f"{path}:3: dual_status: must be none, full or partial" in out.stderr
    assert "sometimes" not in out.stderr
    evidence = cli(tmp_path, "evidence", "--csv")
    assert evidence.returncode == 0 and evidence.stdout.startswith("practice_id,month,period,visits")
