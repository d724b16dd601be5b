"""The numbers hold in any arrival order — through the real ingest, as a user runs it.

Roster and claims files are loaded with ``python -m services.intake load-roster / load-claims``
(X12, CSV, JSON) onto the real broker; the gaps worker and the billing worker (processes) read
them into PostgreSQL; the ledger, the gap rows, the statements and the worker's metrics are
read back. Each test shows one defect of issue 13:

1. a void loaded before the claim it voids (an earlier CSV file), and a replacement listed
   before its original in the same file, converge to the state the claims say — the voided
   $5,000 colonoscopy is not cost of care and does not close the gap; the ledger rebuilt from
   the topics equals the live one to the cent;
2. a part month's fee is the fee × eligible days ÷ month days rounded once ($48.39, not $48.38);
3. months before a contract's first version raise no "unpriced" alarm; a month inside the term
   without a version does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from shared.formats import CLAIM_CSV_COLUMNS, ROSTER_COLUMNS
from tests.support.infra import Databases
from tests.support.procs import REPO, Proc, free_port, start_process, wait_for

from ..intake.x12_build import Claim, Line, professional

ADMIN = {"X-API-Key": "dev-admin"}

PRORATED = """
contract_id: PRO-2026
payer: Test Payer
name: Prorated fees and a benchmark
versions:
  - version: 1
    effective_from: 2026-01-01
    effective_to: 2026-12-31
    member_month_rule: prorated
    pmpm_fees: {low: "9.00", moderate: "17.00", high: "30.00", complex: "100.00"}
    shared_savings:
      benchmark_pmpm: "1000.00"
      minimum_savings_rate: "0.02"
      sharing_rate: "0.50"
      cap_rate: "0.10"
      quality_gate: {mode: none}
"""

GAPPED = """
contract_id: GAP-2026
payer: Test Payer
name: A contract with a month between its versions
versions:
  - {version: 1, effective_from: 2026-01-01, effective_to: 2026-02-28, member_month_rule: any_day,
     pmpm_fees: {low: "9.00", moderate: "17.00", high: "30.00", complex: "100.00"}}
  - {version: 2, effective_from: 2026-04-01, member_month_rule: any_day,
     pmpm_fees: {low: "9.00", moderate: "17.00", high: "30.00", complex: "100.00"}}
"""


@dataclass
class Platform:
    tmp: Path
    env: dict[str, str]
    gaps_db: Engine
    billing_db: Engine
    billing_port: int
    billing_worker: Proc

    def run(self, service: str, *args: str, db: str = "billing", timeout: float = 180) -> subprocess.CompletedProcess:
        env = {**os.environ, "PYTHONPATH": str(REPO), "ENVIRONMENT": "test", "LOG_LEVEL": "WARNING", **self.env,
               "DATABASE_URL": self.env[{"gaps": "GAPS_URL", "intake": "INTAKE_URL"}.get(db, "BILLING_URL")]}
        return subprocess.run([sys.executable, "-m", f"services.{service}", *args], cwd=REPO, env=env, text=True,
                              capture_output=True, timeout=timeout)

    def load(self, kind: str, path: Path) -> dict:
        r = self.run("intake", f"load-{kind}", str(path), "--json", "--no-progress", db="intake")
        assert r.returncode in (0, 3), r.stdout + r.stderr
        return json.loads(r.stdout)

    def scalar(self, engine: Engine, sql: str, **params):
        with engine.connect() as conn:
            try:
                return conn.execute(text(sql), params).scalar()
            except Exception:  # noqa: BLE001 - the worker has not created its schema yet
                conn.rollback()
                return None

    def nets(self, member: str) -> dict[tuple[str, str, str], int]:
        with self.billing_db.connect() as conn:
            rows = conn.execute(text("SELECT period, account, rule, sum(amount_cents) FROM ledger_entries "
                                     "WHERE member_id = :m GROUP BY period, account, rule"), {"m": member}).all()
        return {(p, a, r): int(v) for p, a, r, v in rows if int(v)}

    def metrics(self) -> str:
        return httpx.get(f"http://127.0.0.1:{self.env['WORKER_PORT']}/metrics", timeout=10).text

    def api(self, path: str) -> httpx.Response:
        return httpx.get(f"http://127.0.0.1:{self.billing_port}{path}", headers=ADMIN, timeout=60)


@pytest.fixture(scope="module")
def platform(kafka_bootstrap, postgres_server_url, tmp_path_factory):
    from dataclasses import replace

    from shared.kafka_admin import delete_topics, ensure_topics
    from shared.settings import CommonSettings
    from shared.topics import all_topics
    from tests.support.infra import new_topic_prefix

    tmp = tmp_path_factory.mktemp("arrival")
    prefix = new_topic_prefix()
    settings = CommonSettings(kafka_bootstrap=kafka_bootstrap, topic_prefix=prefix)
    created = ensure_topics(settings, [replace(s, partitions=min(s.partitions, 2)) for s in all_topics()])
    dbs = Databases(postgres_server_url)
    gaps_url, billing_url, intake_url = dbs.new(), dbs.new(), dbs.new()
    env = {"KAFKA_BOOTSTRAP": kafka_bootstrap, "TOPIC_PREFIX": prefix, "GAPS_URL": gaps_url, "INTAKE_URL": intake_url,
           "BILLING_URL": billing_url, "VAR_DIR": str(tmp / "var"), "MEASUREMENT_YEAR": "2026",
           "EVALUATION_DATE": "2026-06-30", "OPEN_MONTH_POLICY": "fixed", "OPEN_MONTH": "2026-04",
           "ESTIMATE_INTERVAL_S": "0.2", "WORKER_PORT": str(free_port())}
    procs: list[Proc] = []
    gaps_db, billing_db = create_engine(gaps_url), create_engine(billing_url)
    try:
        p = Platform(tmp, env, gaps_db, billing_db, free_port(), None)  # type: ignore[arg-type]
        for name, body in (("pro.yaml", PRORATED), ("gap.yaml", GAPPED)):
            (tmp / name).write_text(body)
            r = p.run("billing", "load-contract", str(tmp / name))
            assert r.returncode == 0, r.stderr
        gaps_port = free_port()
        procs.append(start_process("gaps", "worker", {**env, "DATABASE_URL": gaps_url, "WORKER_PORT": str(gaps_port)},
                                   tmp, http_port=gaps_port))
        p.billing_worker = start_process("billing", "worker", {**env, "DATABASE_URL": billing_url}, tmp,
                                         http_port=int(env["WORKER_PORT"]))
        procs.append(p.billing_worker)
        procs.append(start_process("billing", "api", {**env, "DATABASE_URL": billing_url,
                                                      "API_PORT": str(p.billing_port)}, tmp, http_port=p.billing_port))
        for proc in procs:
            proc.wait_healthy(120)
        yield p
    finally:
        for proc in procs:
            proc.stop()
        gaps_db.dispose()
        billing_db.dispose()
        dbs.drop_all()
        delete_topics(settings, created.keys())


def roster_file(path: Path, rows: list[tuple[str, str, str, str, str]]) -> Path:
    """rows: (member id, contract, tier, eligibility start, eligibility end)."""
    lines = [",".join(ROSTER_COLUMNS)] + [f"{m},Testa,Person,1960-05-01,F,MERCY:MRN-{m},P001,1234567893,HG-NORTH,pod-east,{c},"
                               f"VBC,{t},{start},{end}" for m, c, t, start, end in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def csv_row(member: str, claim_id: str, code: str, day: date, paid: str, *, freq: str = "1", original: str = "",
            line: int = 1) -> str:
    values = dict.fromkeys(CLAIM_CSV_COLUMNS, "")
    values.update(claim_id=claim_id, frequency_code=freq, original_claim_id=original, claim_type="professional",
                  member_id=member, payer_id="MMO", billing_npi="1234567893", place_of_service="11",
                  diagnoses="Z1211", line_number=str(line), procedure_code=code, service_date=day.isoformat(),
                  units="1", charge_amount=paid, paid_amount=paid)
    return ",".join(values[c] for c in CLAIM_CSV_COLUMNS)


def test_corrections_before_their_originals_converge_and_the_ledger_rebuilds_to_the_cent(platform):
    p = platform
    a, b, c = "AO-A1", "AO-B1", "AO-C1"
    p.load("roster", roster_file(p.tmp / "r1.csv", [(a, "MMO-2026", "high", "2026-01-01", ""),
                                                   (b, "MMO-2026", "high", "2026-01-01", ""),
                                                   (c, "MMO-2026", "high", "2026-01-01", "")]))
    wait_for(lambda: len(p.nets(a)) == 4 and len(p.nets(b)) == 4, 90, what="the members' fees accrued")

    # An earlier file (loaded first): A's colonoscopy claim voided, A's office visit; B's replacement
    # listed before its original in the same file; B's void of a claim that was never sent.
    first = p.tmp / "corrections-first.csv"
    first.write_text("\n".join([
        ",".join(CLAIM_CSV_COLUMNS),
        csv_row(a, "COL-A", "45378", date(2026, 3, 5), "5000.00", freq="8", original="COL-A"),
        csv_row(a, "V-A", "99213", date(2026, 2, 10), "100.00"),
        csv_row(b, "R-B", "99214", date(2026, 3, 12), "80.00", freq="7", original="O-B"),
        csv_row(b, "O-B", "99213", date(2026, 3, 12), "60.00"),
        csv_row(b, "VX-B", "99213", date(2026, 3, 20), "30.00", freq="8", original="NEVER-B"),
    ]) + "\n")
    report = p.load("claims", first)
    assert report["accepted"] == 5
    # X12: C's replacement (REF*F8) in a file built later, loaded before the file with the original
    x12_late = p.tmp / "replacement.x12"
    x12_late.write_text(professional([Claim(c, "RX-C", [Line("99213", date(2026, 3, 3))], frequency="7",
                                            original="OX-C")], at=datetime(2026, 4, 10, 9), control=41))
    x12_early = p.tmp / "original.x12"
    x12_early.write_text(professional([Claim(c, "OX-C", [Line("99213", date(2026, 3, 3)), Line("45378", date(2026, 3, 3))])],
                                      at=datetime(2026, 4, 1, 9), control=42))
    assert p.load("claims", x12_late)["accepted"] == 1
    # A later file (JSON, loaded afterwards): the colonoscopy claim the void withdrew
    later = p.tmp / "originals-later.jsonl"
    later.write_text(json.dumps({
        "member_id": a, "claim_id": "COL-A", "claim_type": "professional", "payer_id": "MMO", "billing_npi": "1234567893",
        "diagnoses": ["Z1211"], "lines": [{"line_number": 1, "procedure_code": "45378", "service_date": "2026-03-05",
                                           "charge_amount": "5000.00", "paid_amount": "5000.00"}]}) + "\n")
    assert p.load("claims", later)["accepted"] == 1
    assert p.load("claims", x12_early)["accepted"] == 1

    def billing_has(member: str, n: int) -> bool:
        return p.scalar(p.billing_db, "SELECT count(*) FROM claim_events WHERE member_id = :m", m=member) == n

    def gaps_has(member: str, n: int) -> bool:
        return p.scalar(p.gaps_db, "SELECT count(*) FROM claim_versions WHERE member_id = :m", m=member) == n

    wait_for(lambda: billing_has(a, 3) and billing_has(b, 3) and billing_has(c, 2), 90, what="billing read the claims")
    wait_for(lambda: gaps_has(a, 3) and gaps_has(c, 2), 90, what="gaps read the claims")

    # the voided $5,000 is not cost of care; B's replacement counts, not its original
    costs = {(k[0], k[2]): v for k, v in wait_for(lambda: p.nets(a), 30).items() if k[1] == "cost_of_care"}
    assert costs == {("2026-02", "claim:V-A"): 10000}
    b_costs = {(k[0], k[2]): v for k, v in p.nets(b).items() if k[1] == "cost_of_care"}
    assert b_costs == {("2026-03", "claim:O-B"): 8000}
    # the voided colonoscopy does not close A's gap; C's replacement (a visit only) supersedes the
    # original that carried one
    status = lambda m: p.scalar(p.gaps_db, "SELECT status FROM gaps WHERE member_id = :m AND measure_id = 'CMS130'", m=m)  # noqa: E731
    assert wait_for(lambda: status(a), 30) == "open"
    assert wait_for(lambda: status(c), 30) == "open"

    # the load report names the voids whose original had not been received, without values
    held_warning = next(w for w in report["warnings"] if "held" in w)
    assert "2 correction(s) (0 replacement(s), 2 void(s))" in held_warning
    assert "line 2" in held_warning and "line 6" in held_warning
    assert "COL-A" not in held_warning and a not in held_warning
    # the orphan void is reported (API, metric); the others found their original
    held = p.api("/claims/held").json()
    assert [(r["member_id"], r["claim_id"], r["waiting_for"]) for r in held["rows"]] == [(b, "VX-B", "NEVER-B")]
    wait_for(lambda: 'billing_claims_held{kind="void"} 1.0' in p.metrics(), 30, what="the held gauge")
    # and the statement figure explains itself
    ex = p.api(f"/explain/MMO-2026/2026-03/cost_of_care?member={a}").json()
    assert {(e["claim_id"], e["frequency_code"], e["status"]) for e in ex["claims_excluded"]} == {
        ("COL-A", "1", "voided"), ("COL-A", "8", "void")}

    # THE INVARIANT: replaying every input topic into an empty ledger gives the same balances
    rebuild = p.run("billing", "rebuild", timeout=300)
    assert rebuild.returncode == 0, rebuild.stdout + rebuild.stderr
    assert "balances match to the cent" in rebuild.stdout


def test_a_part_month_fee_is_rounded_once_and_prorated_like_the_benchmark(platform):
    p = platform
    m = "PR-M1"
    p.load("roster", roster_file(p.tmp / "r2.csv", [(m, "PRO-2026", "complex", "2026-03-02", "2026-03-16")]))
    fee = wait_for(lambda: p.nets(m).get(("2026-03", "pmpm_fee", "pmpm:complex")), 90, what="the part month's fee")
    assert fee == 4839  # $100.00 × 15/31 = 48.387…: $48.39 (summed from rounded days it was $48.38)
    st = p.api("/statements/PRO-2026/2026-03").json()
    assert st["member_months"]["fees"] == "48.39" and st["member_months"]["member_months"] == "0.4839"
    # the benchmark uses the same member-month fraction: $1,000.00 × 15/31 = 483.87
    assert st["shared_savings"]["benchmark_total"] == "483.87"
    ex = p.api("/explain/PRO-2026/2026-03/fees").json()
    assert ex["amount"] == "48.39" and any("100.00 × 15/31 = 48.39" in line for line in ex["arithmetic"])


def test_months_before_a_contracts_term_raise_no_unpriced_alarm(platform):
    p = platform
    early, gapped = "UP-EARLY1", "UP-GAP1"
    p.load("roster", roster_file(p.tmp / "r3.csv", [(early, "MMO-2026", "low", "2025-11-01", ""),
                                                   (gapped, "GAP-2026", "low", "2026-01-01", "")]))
    wait_for(lambda: len(p.nets(early)) == 4 and len(p.nets(gapped)) == 3, 90, what="both members accrued")
    scraped = p.metrics()
    # November and December 2025 are before MMO-2026's first version: not unpriced
    assert 'billing_unpriced_member_months_total{contract="MMO-2026"}' not in scraped
    # March 2026 is inside GAP-2026's term with no version in force: that one is unpriced
    assert 'billing_unpriced_member_months_total{contract="GAP-2026"} 1.0' in scraped
    assert sorted(k[0] for k in p.nets(gapped)) == ["2026-01", "2026-02", "2026-04"]
