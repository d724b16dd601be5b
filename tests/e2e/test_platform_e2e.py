"""The whole platform started as the README does (``python -m carectl up``: broker, topics, every
service on the embedded SQLite default), driven through its public doors only — roster and claims
files through the gaps API, ADT over MLLP — and checked through the public APIs:

- an inpatient admission over MLLP produces a hospitalist alert for the member's group;
- its discharge produces a TCM task in a nurse's queue of the member's pod;
- a colonoscopy claim closes the colorectal-screening gap and the outreach task closes itself;
- the month's statement shows the expected member months and fees.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.support.procs import wait_for

REPO = Path(__file__).resolve().parents[2]
ADMIN = {"Authorization": "Bearer dev-admin"}
NURSE_EAST = [{"Authorization": "Bearer dev-nurse-east1"}, {"Authorization": "Bearer dev-nurse-east2"}]
HOSPITALIST_NORTH = {"Authorization": "Bearer dev-hospitalist-hg-north"}
HOSPITALIST_SOUTH = {"Authorization": "Bearer dev-hospitalist-hg-south"}

ROSTER = """member_id,given_name,family_name,birth_date,sex,mrns,pcp_practice_id,pcp_npi,hospitalist_group,pod,contract_id,program,risk_tier,eligibility_start,eligibility_end
E2E-ADMIT,Alma,Testcase,1950-02-03,F,MERCY:E2E100;STLUKE:E2E900,P001,1234567893,HG-NORTH,pod-east,MMO-2026,medicare-advantage,moderate,2026-01-01,
E2E-SCREEN,Bruno,Testcase,1971-05-05,M,MERCY:E2E200,P001,1234567893,HG-NORTH,pod-east,MMO-2026,commercial,moderate,2026-01-01,
E2E-THIRD,Cora,Testcase,1980-07-07,F,,P001,1234567893,HG-NORTH,pod-east,MMO-2026,commercial,moderate,2026-01-01,
"""


def _ports_free(offset: int) -> bool:
    for port in (2575, 8010, 8011, 8012, 8020, 8021, 8030, 8031, 8040, 8041, 8050):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + offset))
            except OSError:
                return False
    return True


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
    var_dir = tmp_path_factory.mktemp("platform-var")
    offset = next(o for o in (random.randrange(1000, 20000, 100) for _ in range(50)) if _ports_free(o))
    env = dict(os.environ, KAFKA_BOOTSTRAP=kafka_bootstrap, TOPIC_PREFIX=f"e2e{uuid.uuid4().hex[:8]}.",
               PORT_OFFSET=str(offset), VAR_DIR=str(var_dir), ENVIRONMENT="development",
               PYTHONPATH=str(REPO))
    env.pop("DATABASE_URL", None)  # the README's default: SQLite files under VAR_DIR
    log = open(var_dir / "up.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "carectl", "up", "--var-dir", str(var_dir)], env=env, cwd=REPO,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def url(port: int) -> str:
        return f"http://127.0.0.1:{port + offset}"

    def all_healthy():
        if proc.poll() is not None:
            raise AssertionError(f"ccp up exited:\n{(var_dir / 'up.log').read_text()[-4000:]}")
        try:
            return all(httpx.get(url(p) + "/healthz", timeout=1).status_code == 200
                       for p in (8010, 8011, 8012, 8020, 8021, 8030, 8031, 8040, 8041))
        except httpx.HTTPError:
            return False

    try:
        wait_for(all_healthy, timeout=240, interval=1, what="every process healthy")
        yield {"url": url, "mllp": 2575 + offset, "var": var_dir}
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


def test_admission_discharge_gap_closure_and_statement(platform):
    url, mllp = platform["url"], platform["mllp"]
    gaps, outreach, admissions, billing = url(8020), url(8030), url(8010), url(8040)

    # Roster (3 members, moderate tier, MMO-2026) through the gaps service's roster ingest.
    r = httpx.post(f"{gaps}/roster/files?filename=e2e-roster.csv", content=ROSTER.encode(),
                   headers={**ADMIN, "content-type": "text/csv"}, timeout=60)
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 3 and r.json()["rejected"] == 0, r.json()

    # An office visit in the period puts the 55-year-old in the colorectal-screening denominator.
    r = httpx.post(f"{gaps}/claims/files?filename=e2e-visit.837", headers={**ADMIN, "content-type": "text/plain"},
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
    r = httpx.post(f"{gaps}/claims/files?filename=e2e-colonoscopy.837", headers={**ADMIN, "content-type": "text/plain"},
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
