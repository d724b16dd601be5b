"""The whole platform started as the README does (``python -m carectl up``: broker, topics, every
service on the embedded SQLite default), driven through its public doors only — roster and claims
files through the intake API, ADT over MLLP — and checked through the public APIs:

- an inpatient admission over MLLP produces a hospitalist alert for the member's group;
- its discharge produces a TCM task in a nurse's queue of the member's pod;
- a colonoscopy claim closes the colorectal-screening gap and the outreach task closes itself;
- the month's statement shows the expected member months and fees.
"""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest

from tests.support.platform import start_platform
from tests.support.procs import wait_for

ADMIN = {"Authorization": "Bearer dev-admin"}
NURSE_EAST = [{"Authorization": "Bearer dev-nurse-east1"}, {"Authorization": "Bearer dev-nurse-east2"}]
HOSPITALIST_NORTH = {"Authorization": "Bearer dev-hospitalist-hg-north"}
HOSPITALIST_SOUTH = {"Authorization": "Bearer dev-hospitalist-hg-south"}

ROSTER = """member_id,given_name,family_name,birth_date,sex,mrns,pcp_practice_id,pcp_npi,hospitalist_group,pod,contract_id,program,risk_tier,eligibility_start,eligibility_end
E2E-ADMIT,Alma,Testcase,1950-02-03,F,MERCY:E2E100;STLUKE:E2E900,P001,1234567893,HG-NORTH,pod-east,MMO-2026,medicare-advantage,moderate,2026-01-01,
E2E-SCREEN,Bruno,Testcase,1971-05-05,M,MERCY:E2E200,P001,1234567893,HG-NORTH,pod-east,MMO-2026,commercial,moderate,2026-01-01,
E2E-THIRD,Cora,Testcase,1980-07-07,F,,P001,1234567893,HG-NORTH,pod-east,MMO-2026,commercial,moderate,2026-01-01,
"""


def x12_837p(claims: list[tuple[str, str, str, str, str]], control: int) -> str:
    """A minimal 005010X222A1 file: (claim id, member id, CPT, service date YYYYMMDD, ICD-10)."""
    seg = []
    seg.append(f"ST*837*{control:04d}*005010X222A1")
    seg.append(f"BHT*0019*00*E2E{control}*20261101*0800*CH")
    seg.append("NM1*41*2*E2E CLEARINGHOUSE*****46*CH0001")
    seg.append("PER*IC*EDI DESK*TE*5555550100")
    seg.append("NM1*40*2*MMO HEALTH PLAN*****46*MMOHP")
    seg.append("HL*1**20*1")
    seg.append("NM1*85*2*RIVERSIDE FAMILY MEDICINE*****XX*1234567893")
    seg.append("N3*1 MAIN ST")
    seg.append("N4*SPRINGFIELD*IL*62701")
    seg.append("REF*EI*123456789")
    hl = 1
    for claim_id, member, cpt, dos, dx in claims:
        hl += 1
        seg.append(f"HL*{hl}*1*22*0")
        seg.append("SBR*P*18*GRP100******CI")
        seg.append(f"NM1*IL*1*TESTCASE*PATIENT****MI*{member}")
        seg.append("NM1*PR*2*MMO HEALTH PLAN*****PI*MMOHP")
        seg.append(f"CLM*{claim_id}*250***11:B:1*Y*A*Y*Y")
        seg.append(f"HI*ABK:{dx}")
        seg.append("LX*1")
        seg.append(f"SV1*HC:{cpt}*250*UN*1***1")
        seg.append(f"DTP*472*D8*{dos}")
    seg.append(f"SE*{len(seg) + 1}*{control:04d}")
    isa = (f"ISA*00*          *00*          *ZZ*E2ESENDER      *ZZ*CAREPLATFORM   *261101*0800*^*00501*"
           f"{control:09d}*0*T*:")
    body = [isa, f"GS*HC*E2ESENDER*CAREPLATFORM*20261101*0800*{control}*X*005010X222A1", *seg,
            f"GE*1*{control}", f"IEA*1*{control:09d}"]
    return "~\n".join(body) + "~\n"


def hl7(trigger: str, control: str, when: str, *, pv1_extra: dict[int, str]) -> bytes:
    pv1 = ["PV1", "1", "I", "4W^412^A^MERCY", "", "", "", "1922334455^Osler^William"] + [""] * 40
    pv1[19] = "E2EV1"
    for k, v in pv1_extra.items():
        pv1[k] = v
    while pv1 and pv1[-1] == "":
        pv1.pop()
    segs = [
        f"MSH|^~\\&|EPICADT|MERCY|CCP|CCP|{when}||ADT^{trigger}^ADT_A01|{control}|P|2.5.1",
        f"EVN|{trigger}|{when}",
        "PID|1||E2E100^^^MERCY^MR||Testcase^Alma||19500203|F",
        "|".join(pv1),
        "DG1|1||J18.9^Pneumonia^I10||20261102|A",
    ]
    return ("\r".join(segs) + "\r").encode()


def mllp_send(port: int, message: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=15) as s:
        s.sendall(b"\x0b" + message + b"\x1c\x0d")
        data = b""
        while not data.endswith(b"\x1c\x0d"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    return data


@pytest.fixture(scope="module")
def platform(kafka_bootstrap, tmp_path_factory):
    p = start_platform(kafka_bootstrap, tmp_path_factory.mktemp("platform-var"))
    try:
        yield {"url": p.url, "mllp": p.mllp_port, "var": p.var_dir, "platform": p}
    finally:
        p.stop()


def test_admission_discharge_gap_closure_and_statement(platform):
    url, mllp = platform["url"], platform["mllp"]
    gaps, outreach, admissions, billing = url(8020), url(8030), url(8010), url(8040)
    intake = url(8090)

    # Roster (3 members, moderate tier, MMO-2026) through the intake service's roster load.
    r = httpx.post(f"{intake}/roster/files?filename=e2e-roster.csv", content=ROSTER.encode(),
                   headers={**ADMIN, "content-type": "text/csv"}, timeout=60)
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 3 and r.json()["rejected"] == 0, r.json()

    # An office visit in the period puts the 55-year-old in the colorectal-screening denominator.
    r = httpx.post(f"{intake}/claims/files?filename=e2e-visit.837", headers={**ADMIN, "content-type": "text/plain"},
                   content=x12_837p([("E2EVISIT1", "E2E-SCREEN", "99213", "20260310", "Z0000")], 101), timeout=60)
    assert r.status_code == 200 and r.json()["accepted"] == 1, r.text

    def screening_gap():
        res = httpx.get(f"{gaps}/members/E2E-SCREEN/gaps", headers=ADMIN, timeout=5)
        if res.status_code != 200:
            return None
        return next((g for g in res.json()["gaps"] if g["measure_id"] == "CMS130" and g["status"] == "open"), None)

    gap = wait_for(screening_gap, timeout=90, what="CMS130 gap open")
    assert "colonoscopy" in gap["reason"].lower()

    def nurse_task(member_id: str, kind: str):
        for headers in NURSE_EAST:
            q = httpx.get(f"{outreach}/api/queue", headers=headers, timeout=5)
            if q.status_code != 200:
                continue
            body = q.json()
            for t in body["working"] + body["available"]:
                if t["member_id"] == member_id and t["kind"] == kind:
                    return t, headers
        return None

    gap_task, gap_nurse = wait_for(lambda: nurse_task("E2E-SCREEN", "gap"), timeout=90,
                                   what="outreach task for the screening gap")
    assert gap_task["queue"] == "quality_nurse:pod-east"

    # Inpatient admission over MLLP -> hospitalist alert for HG-NORTH (not for HG-SOUTH).
    ack = mllp_send(mllp, hl7("A01", "E2E-A01", "20261102080000-0500", pv1_extra={44: "20261102075500-0500"}))
    assert b"MSA|AA|E2E-A01" in ack, ack

    def alert():
        res = httpx.get(f"{admissions}/alerts", headers=HOSPITALIST_NORTH, timeout=5)
        return next((a for a in res.json() if a["member_id"] == "E2E-ADMIT"), None) if res.status_code == 200 else None

    a = wait_for(alert, timeout=60, what="hospitalist alert")
    assert a["kind"] == "inpatient_admit" and a["facility"] == "MERCY"
    assert a["pcp_practice_id"] == "P001" and a["contract_id"] == "MMO-2026"
    south = httpx.get(f"{admissions}/alerts", headers=HOSPITALIST_SOUTH, timeout=5).json()
    assert all(x["member_id"] != "E2E-ADMIT" for x in south)

    # Discharge -> TCM task in a pod-east nurse's queue, contact due in 2 business days.
    ack = mllp_send(mllp, hl7("A03", "E2E-A03", "20261106113000-0500",
                              pv1_extra={36: "01", 44: "20261102075500-0500", 45: "20261106113000-0500"}))
    assert b"MSA|AA|E2E-A03" in ack, ack
    tcm, tcm_nurse = wait_for(lambda: nurse_task("E2E-ADMIT", "tcm"), timeout=90, what="TCM task")
    assert tcm["queue"] == "quality_nurse:pod-east"
    assert tcm["due_date"] == "2026-11-10"  # Friday discharge -> Tuesday (Veterans Day is the 11th)

    # A colonoscopy claim closes the gap, and the outreach task closes itself naming the evidence.
    r = httpx.post(f"{intake}/claims/files?filename=e2e-colonoscopy.837", headers={**ADMIN, "content-type": "text/plain"},
                   content=x12_837p([("E2ECOLO1", "E2E-SCREEN", "45378", "20261005", "Z1211")], 102), timeout=60)
    assert r.status_code == 200 and r.json()["accepted"] == 1, r.text

    def task_closed():
        res = httpx.get(f"{outreach}/api/tasks/{gap_task['task_id']}", headers=gap_nurse, timeout=5)
        body = res.json() if res.status_code == 200 else {}
        return body if body.get("status") == "done" else None

    closed = wait_for(task_closed, timeout=90, what="gap task closed by the claim")
    assert "45378" in (closed["outcome"] or ""), closed["outcome"]

    # The month's statement: 3 moderate-tier member months at $17.00.
    def statement():
        res = httpx.get(f"{billing}/statements/MMO-2026/2026-10", headers=ADMIN, timeout=10)
        if res.status_code != 200:
            return None
        mm = res.json()["member_months"]
        return res.json() if mm["member_months"] in ("3", "3.0000") else None

    st = wait_for(statement, timeout=90, what="statement with 3 member months")
    mm = st["member_months"]
    assert mm["fees"] == "51.00"
    tier = {t["tier"]: t for t in mm["by_tier"]}
    assert tier["moderate"]["fee_pmpm"] == "17.00" and tier["moderate"]["members"] == 3
    assert tier["high"]["members"] == 0


def test_real_prometheus_scrapes_every_process_and_loads_the_rules(platform, tmp_path):
    """Debian's Prometheus against the running platform, with deploy/prometheus's rules."""
    import shutil
    import subprocess

    import yaml

    from tests.support.procs import free_port

    prometheus = shutil.which("prometheus")
    promtool = shutil.which("promtool")
    assert prometheus and promtool, "Prometheus is not installed (./ccp test installs Debian's prometheus package)"
    repo = Path(__file__).resolve().parents[2]
    rules_dir = repo / "deploy" / "prometheus" / "rules"
    check = subprocess.run([promtool, "check", "rules", *map(str, sorted(rules_dir.glob("*.yml")))],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr

    # The shipped scrape config, pointed at this platform's shifted ports.
    p = platform["platform"]
    config = yaml.safe_load((repo / "deploy" / "prometheus" / "prometheus.yml").read_text())
    for job in config["scrape_configs"]:
        for sc in job["static_configs"]:
            sc["targets"] = [f"127.0.0.1:{int(t.split(':')[1]) + p.offset}" for t in sc["targets"]]
    config["rule_files"] = [str(rules_dir / "recording.yml"), str(rules_dir / "alerts.yml")]
    config["global"]["scrape_interval"] = "1s"
    config["global"]["evaluation_interval"] = "1s"
    cfg_file = tmp_path / "prometheus.yml"
    cfg_file.write_text(yaml.safe_dump(config))
    check = subprocess.run([promtool, "check", "config", str(cfg_file)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr

    port = free_port()
    proc = subprocess.Popen([prometheus, f"--config.file={cfg_file}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                             f"--web.listen-address=127.0.0.1:{port}"], stdout=subprocess.DEVNULL,
                            stderr=open(tmp_path / "prometheus.log", "wb"))
    api = f"http://127.0.0.1:{port}/api/v1"
    try:
        def query(expr):
            try:
                res = httpx.get(f"{api}/query", params={"query": expr}, timeout=5).json()
            except (httpx.HTTPError, ValueError):
                return []
            return res.get("data", {}).get("result", [])

        # Every process the shipped config names (each service's worker, API, the MLLP listener,
        # the lag exporter) is up: a service added to the platform but not to the config, or
        # listening on another port than the config says, fails here.
        shipped = {job["job_name"] for job in config["scrape_configs"]}
        n_targets = sum(len(sc["targets"]) for job in config["scrape_configs"] for sc in job["static_configs"])
        assert {"admissions", "gaps", "outreach", "billing", "notifications", "portal", "risk", "intake",
                "lag-exporter"} <= shipped
        up = wait_for(lambda: (r := query("up")) and len(r) == n_targets and all(x["value"][1] == "1" for x in r)
                      and r, timeout=60, what=f"all {n_targets} targets up")
        jobs = {x["metric"]["job"] for x in up}
        assert jobs == shipped
        for series in ("admissions_messages_total", "admissions_ack_latency_seconds_count",
                       "admissions_admit_to_alert_seconds_count", "ccp_consumer_events_total",
                       "intake_claims_ingested_total", "outreach_tasks_open", "billing_accrued_cents",
                       "ccp_consumer_lag"):
            wait_for(lambda s=series: query(s), timeout=30, what=f"series {series}")
        rules = httpx.get(f"{api}/rules", timeout=5).json()["data"]["groups"]
        names = {g["name"] for g in rules}
        assert names == {"ccp-recording", "ccp-alerts"}
        assert all(r.get("health") in ("ok", "unknown") for g in rules for r in g["rules"])
        # A recording rule produces data from the scraped series.
        wait_for(lambda: query("admissions:messages:rate1m"), timeout=30, what="recording rule evaluated")
    finally:
        proc.terminate()
        proc.wait(20)
