"""Issue 12: every message of tests/corpus/hl7 through the real ``mllp`` process (real MLLP framing,
real Kafka, PostgreSQL): each label of SOURCES.yaml holds — the ACK codes on the wire, the event on
``adt.events`` with its sender and its exact warnings, or the raw bytes on ``adt.events.dlq`` with
the table 0357 code and the reason — and the feed-quirks report (CLI and API) shows the same counts."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import httpx
import yaml

from services.admissions.domain.adt_event import adt_event_id
from services.admissions.domain.hl7_reader import Hl7Message
from services.admissions.domain.validation import identify
from services.admissions.domain.senders import sender_book
from tests.support.procs import REPO, read_topic, wait_for

from .conftest import END, START, MllpConn

CORPUS = REPO / "tests" / "corpus" / "hl7"
LISTENER_FACILITY = "CORPUS-LISTENER"
OPS = {"X-API-Key": "dev-ops"}


def load() -> list[dict]:
    return yaml.safe_load((CORPUS / "SOURCES.yaml").read_text(encoding="utf-8"))["messages"]


def test_the_corpus_meets_the_issue():
    messages = load()
    assert len(messages) >= 60 and sum(m["adt"] for m in messages) >= 45
    versions = {m.get("version") for m in messages if m["adt"]}
    assert {"2.2", "2.3", "2.4", "2.5", "2.6", "2.7", "2.8"} <= versions
    sources = {s for m in messages for s in m["observed_in"]}
    named = yaml.safe_load((CORPUS / "SOURCES.yaml").read_text(encoding="utf-8"))["sources"]
    # distinct public repositories (the HL7 standard and the issue itself are not counted)
    repositories = {named[s].split()[0] for s in sources - {"S10", "S11"}}
    assert len(repositories) >= 8, repositories
    assert sorted(p.name for p in CORPUS.glob("*.hl7")) == sorted(m["file"] for m in messages)


def frames(conn: MllpConn, n: int) -> list[bytes]:
    out = []
    while len(out) < n:
        while END not in conn.buf:
            chunk = conn.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed by the listener")
            conn.buf += chunk
        frame, _, conn.buf = conn.buf.partition(END)
        out.append(frame[frame.index(START) + 1:])
    return out


def control_id(data: bytes) -> str:
    msg = Hl7Message.parse(data)
    return msg.value("MSH", 10)


def test_every_corpus_label_holds_through_the_mllp_listener_and_the_quirks_report_counts_it(admissions):
    messages = load()
    _, ports = admissions.start("mllp", MLLP_DEFAULT_FACILITY=LISTENER_FACILITY, QUIRKS_FLUSH_S="0.2")
    conn = MllpConn(ports["MLLP_PORT"])
    for m in messages:
        data = (CORPUS / m["file"]).read_bytes()
        conn.send(START + data + END)
        expected = ([] if m["ack"] == "none" else [m["ack"]]) + ([m["application_ack"]] if m.get("application_ack") else [])
        got = [Hl7Message.parse(f).value("MSA", 1) for f in frames(conn, len(expected))]
        assert got == expected, (m["file"], got)
    conn.close()

    s = admissions.settings
    accepted = [m for m in messages if m["expect"] == "accept"]
    refused = [m for m in messages if m["expect"] == "refuse"]
    events = read_topic(s, s.topic("adt.events"), expect=len(accepted), timeout=60, settle=1.0)
    by_id = {json.loads(e.value())["event_id"]: json.loads(e.value()) for e in events}
    assert len(by_id) == len(events) == len(accepted)
    for m in accepted:
        data = (CORPUS / m["file"]).read_bytes()
        body = by_id.get(str(adt_event_id(m["facility"], control_id(data))))
        assert body is not None, f"{m['file']}: no event for sender {m['facility']}"
        assert body["schema_version"] == 2 and body["sending_facility"] == m["facility"]
        assert sorted(f"{w['field']}:{w['kind']}" for w in body["warnings"]) == m["warnings"], m["file"]
        assert '""' not in json.dumps({k: v for k, v in body.items() if k != "raw"}), m["file"]
    dead = read_topic(s, s.topic("adt.events.dlq"), expect=len(refused), timeout=60, settle=1.0)
    assert len(dead) == len(refused)
    by_raw = {d.value(): dict(d.headers()) for d in dead}
    for m in refused:
        headers = by_raw[(CORPUS / m["file"]).read_bytes()]
        assert headers["hl7.error_code"].decode() == str(m["code"]), m["file"]
        assert m["reason"] in headers["dlq.reason"].decode(), (m["file"], headers["dlq.reason"])

    # admissions_field_warnings_total{field,kind} on the listener's /metrics
    metrics = httpx.get(f"http://127.0.0.1:{ports['MLLP_METRICS_PORT']}/metrics", timeout=10).text
    counted = {f"{f}:{k}": float(v) for f, k, v in re.findall(
        r'^admissions_field_warnings_total\{field="([^"]+)",kind="([^"]+)"\} ([0-9.e+]+)$', metrics, re.M)}
    labelled = Counter(w for m in accepted for w in m["warnings"])
    assert counted == {k: float(v) for k, v in labelled.items()}

    # the feed-quirks report, from the database the listener writes behind to
    expected = expected_report(messages)
    env = {**os.environ, "PYTHONPATH": str(REPO), "DATABASE_URL": admissions.pg_url, "ENVIRONMENT": "test"}

    def cli_report():
        out = subprocess.run([sys.executable, "-m", "services.admissions", "feeds-report", "--json"], env=env,
                             cwd=REPO, capture_output=True, text=True, check=True).stdout
        report = summarise(json.loads(out))
        return report if report == expected else None

    wait_for(cli_report, timeout=30, interval=0.5, what="the quirks report to count the corpus")
    text = subprocess.run([sys.executable, "-m", "services.admissions", "feeds-report"], env=env, cwd=REPO,
                          capture_output=True, text=True, check=True).stdout
    assert "GHHSFacility:" in text and "PV1-36" in text and "unknown_code" in text

    _, api_ports = admissions.start("api")
    api = f"http://127.0.0.1:{api_ports['API_PORT']}"
    assert summarise(httpx.get(f"{api}/feeds/quirks", headers=OPS, timeout=10).json()) == expected
    assert httpx.get(f"{api}/feeds/quirks", headers={"X-API-Key": "dev-nurse-east1"}, timeout=10).status_code == 403
    one = httpx.get(f"{api}/feeds/quirks", params={"facility": "RIVERSIDE"}, headers=OPS, timeout=10).json()
    assert [f["facility"] for f in one] == ["RIVERSIDE"]


def expected_report(messages: list[dict]) -> dict:
    """Per facility: accepted, refused, {field:kind: count}, {code: count}, from the labels alone."""
    out: dict = {}
    for m in messages:
        f = out.setdefault(m["facility"], {"accepted": 0, "refused": 0, "warnings": Counter(), "codes": Counter()})
        if m["expect"] == "accept":
            f["accepted"] += 1
            f["warnings"].update(m["warnings"])
        else:
            f["refused"] += 1
            f["codes"][str(m["code"])] += 1
    return {k: {**v, "warnings": dict(v["warnings"]), "codes": dict(v["codes"])} for k, v in out.items()}


def summarise(rows: list[dict]) -> dict:
    out = {}
    for r in rows:
        codes: Counter = Counter()
        for ref in r["refusals"]:  # each issue of a refused message is counted; the corpus's have one each
            codes[ref["code"]] += ref["count"]
        out[r["facility"]] = {"accepted": r["accepted"], "refused": r["refused"],
                              "warnings": {f"{w['field']}:{w['kind']}": w["count"] for w in r["warnings"]},
                              "codes": dict(codes)}
    return out


def test_the_corpus_senders_are_identified_as_labelled():
    """A cheap check, without the broker, that a label's facility is the identity rule's answer."""
    book = sender_book(None, LISTENER_FACILITY)
    for m in load():
        if m["facility"] == "(unidentified)":
            continue
        msg = Hl7Message.parse((CORPUS / m["file"]).read_bytes())
        assert identify(msg, book).facility == m["facility"], m["file"]


def test_the_policy_file_applies_per_sender_and_the_quirks_report_survives_a_restart(admissions, tmp_path):
    from tests.unit.admissions.builders import hl7_message

    policy = tmp_path / "feeds.yaml"
    policy.write_text(
        "senders:\n"
        "  - match: {facility: STRICTHOSP}\n"
        "    mode: strict\n"
        "  - match: {application: OLDADT}\n"
        "    facility: RENAMED\n"
        "    identifier_priority: [{type: PI}]\n", encoding="utf-8")
    day_case = hl7_message(control_id="P-1", facility="STRICTHOSP").replace("|I|4W^412^A^MERCY|", "|DAY CASE|4W|")
    renamed = hl7_message(control_id="P-2", facility="").replace("|EPICADT|", "|OLDADT|", 1).replace(
        "100234^^^MERCY^MR", "100234^^^MERCY^MR~X9^^^MERCY^PI")
    proc, ports = admissions.start("mllp", FEED_POLICIES_FILE=str(policy), QUIRKS_FLUSH_S="0.2")
    conn = MllpConn(ports["MLLP_PORT"])
    assert Hl7Message.parse(frames_after(conn, day_case)[0]).value("MSA", 1) == "AE", "strict: the warning refuses"
    assert Hl7Message.parse(frames_after(conn, renamed)[0]).value("MSA", 1) == "AA"
    conn.close()
    proc.stop()  # a graceful stop flushes the tally

    _, ports = admissions.start("mllp", FEED_POLICIES_FILE=str(policy), QUIRKS_FLUSH_S="0.2")
    conn = MllpConn(ports["MLLP_PORT"])
    again = renamed.replace("P-2", "P-3")
    assert Hl7Message.parse(frames_after(conn, again)[0]).value("MSA", 1) == "AA"
    conn.close()
    s = admissions.settings
    events = {json.loads(m.value())["message_control_id"]: json.loads(m.value())
              for m in read_topic(s, s.topic("adt.events"), expect=2, settle=0.5)}
    assert events["P-2"]["sending_facility"] == "RENAMED" and events["P-2"]["patient_key"] == "MERCY|X9"
    env = {**os.environ, "PYTHONPATH": str(REPO), "DATABASE_URL": admissions.pg_url, "ENVIRONMENT": "test"}

    def counts():
        out = subprocess.run([sys.executable, "-m", "services.admissions", "feeds-report", "--json"], env=env,
                             cwd=REPO, capture_output=True, text=True, check=True).stdout
        rows = {r["facility"]: r for r in json.loads(out)}
        got = {f: (r["accepted"], r["refused"]) for f, r in rows.items()}
        return rows if got == {"STRICTHOSP": (0, 1), "RENAMED": (2, 0)} else None

    rows = wait_for(counts, timeout=30, interval=0.5, what="counts from both listener runs")
    assert rows["STRICTHOSP"]["refusals"][0]["where"] == "PV1-2" and rows["STRICTHOSP"]["refusals"][0]["code"] == "103"
    assert {(w["field"], w["kind"], w["count"]) for w in rows["RENAMED"]["warnings"]} == {("MSH-4", "fallback", 2)}


def frames_after(conn: MllpConn, message: str) -> list[bytes]:
    conn.send(START + message.encode() + END)
    return frames(conn, 1)
