"""The mllp process over real sockets, real Kafka: ACK semantics, duplicates, every bad input of
the issue, Kafka down, TLS and mutual TLS."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import time

import pytest

from tests.support.procs import free_port, read_topic, start_process
from tests.unit.admissions.builders import hl7_message

from .conftest import END, START, MllpConn, err_code, msa, wait_port


def test_aa_comes_with_the_event_on_adt_events_and_a_duplicate_gets_the_same_ack_and_no_second_event(admissions):
    _, ports = admissions.start("mllp")
    conn = MllpConn(ports["MLLP_PORT"])
    message = hl7_message("A01", control_id="DUP-1")
    first = conn.roundtrip(message)
    assert msa(first)[1:3] == ["AA", "DUP-1"]
    topic = admissions.settings.topic("adt.events")
    events = read_topic(admissions.settings, topic, expect=1, settle=0.5)
    assert len(events) == 1
    body = json.loads(events[0].value())
    assert (body["message_control_id"], body["trigger"], body["sending_facility"]) == ("DUP-1", "A01", "MERCY")
    assert body["raw"].startswith("MSH|") and events[0].key() == b"MERCY|100234"
    again = conn.roundtrip(message)
    assert again == first, "a duplicate gets the very same ACK"
    assert len(read_topic(admissions.settings, topic, expect=2, timeout=3, settle=0.5)) == 1
    conn.close()


BIG = hl7_message("A01", control_id="BIG-1").encode() + b"\rZBG|" + b"x" * (5 * 1024 * 1024)
GARBAGE = bytes(b for b in os.urandom(4000) if b not in (0x0B, 0x1C, 0x0D))[:2000]

# (name, MLLP bytes, ACK code, table 0357 code, words in the dead letter's reason)
BAD_INPUTS = [
    ("no MSH", START + hl7_message("A01", control_id="B1").split("\r", 1)[1].encode() + END, "AR", "100",
     "does not start with an MSH"),
    ("wrong field separator", START + hl7_message("A01", control_id="B2").replace("|", "A").encode() + END, "AR",
     "102", "MSH-1"),
    ("truncated frame", START + hl7_message("A01", control_id="B3").encode()[:60], "AR", "100", "cut short"),
    ("two messages in one frame",
     START + (hl7_message("A01", control_id="B4") + "\r" + hl7_message("A01", control_id="B5")).encode() + END,
     "AR", "100", "more than one message"),
    ("ORU", START + hl7_message("R01", message_type="ORU", control_id="B6").encode() + END, "AR", "200",
     "message type ORU"),
    ("unknown trigger", START + hl7_message("A99", control_id="B7").encode() + END, "AR", "201", "A99"),
    # issue 12: 2.9 is accepted with a warning now; a version that is not HL7 v2 is still refused
    ("wrong version", START + hl7_message("A01", version="3.0", control_id="B8").encode() + END, "AR", "203",
     "version 3.0"),
    ("missing PID-3", START + hl7_message("A01", mrn="", control_id="B9").encode() + END, "AE", "101", "PID-3"),
    ("impossible date", START + hl7_message("A01", event_time="20260230120000", message_time="20260302140500",
                                            control_id="B10").encode() + END, "AE", "102", "EVN-2"),
    ("binary garbage", START + GARBAGE + END, "AR", "100", "MSH"),
    ("5 MB message", START + BIG + END, "AR", "207", "larger than"),
]


def test_every_bad_input_gets_its_nak_is_dead_lettered_and_the_connection_serves_the_next_message(admissions):
    _, ports = admissions.start("mllp")
    conn = MllpConn(ports["MLLP_PORT"])
    for n, (name, data, code, err, _) in enumerate(BAD_INPUTS):
        conn.send(data)
        good = hl7_message("A01", control_id=f"GOOD-{n}")
        conn.send(START + good.encode() + END)
        nak, ack = conn.ack(), conn.ack()
        assert msa(nak)[1] == code and err_code(nak) == err, (name, nak)
        assert msa(ack)[1:3] == ["AA", f"GOOD-{n}"], (name, ack)
    conn.close()
    dead = read_topic(admissions.settings, admissions.settings.topic("adt.events.dlq"), expect=len(BAD_INPUTS),
                      settle=0.5)
    assert len(dead) == len(BAD_INPUTS)
    for m, (name, data, _, err, words) in zip(dead, BAD_INPUTS):
        headers = dict(m.headers())
        assert headers["hl7.error_code"].decode() == err, name
        assert words in headers["dlq.reason"].decode(), (name, headers["dlq.reason"])
        assert headers["dlq.source_topic"].decode() == admissions.settings.topic("adt.events")
    assert dead[0].value() == BAD_INPUTS[0][1][1:-2], "the raw bytes are kept as received"
    accepted = read_topic(admissions.settings, admissions.settings.topic("adt.events"), expect=len(BAD_INPUTS),
                          settle=0.5)
    assert sorted(json.loads(m.value())["message_control_id"] for m in accepted) == sorted(
        f"GOOD-{n}" for n in range(len(BAD_INPUTS)))


def test_kafka_unreachable_answers_ae_within_the_publish_timeout_never_aa(tmp_path):
    port, metrics_port = free_port(), free_port()
    proc = start_process("admissions", "mllp", {
        "KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port()}", "VAR_DIR": str(tmp_path), "TOPIC_PREFIX": "nokafka.",
        "MLLP_PORT": str(port), "MLLP_METRICS_PORT": str(metrics_port), "PUBLISH_TIMEOUT_S": "2"},
        tmp_path, http_port=metrics_port)
    try:
        proc.wait_healthy(60)
        conn = MllpConn(port)
        started = time.monotonic()
        ack = conn.roundtrip(hl7_message("A01", control_id="DOWN-1"))
        took = time.monotonic() - started
        assert msa(ack)[1:3] == ["AE", "DOWN-1"] and err_code(ack) == "207"
        assert took < 5, took
        bad = conn.roundtrip(hl7_message("A99", control_id="DOWN-2"))
        assert msa(bad)[1] == "AE", "a NAK that cannot be dead-lettered asks for a resend instead"
        conn.close()
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")

    def make(name):
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", str(d / f"{name}.key"), "-out", str(d / f"{name}.pem"), "-days", "1",
             "-subj", f"/CN={name}", "-addext", "subjectAltName=IP:127.0.0.1"],
            check=True, capture_output=True)
        return str(d / f"{name}.pem"), str(d / f"{name}.key")
    return {"server": make("server"), "client": make("client")}


def _client(certs, with_cert: bool) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=certs["server"][0])
    if with_cert:
        ctx.load_cert_chain(*certs["client"])
    return ctx


def test_tls_and_mutual_tls(admissions, certs):
    server_cert, server_key = certs["server"]
    _, tls = admissions.start("mllp", MLLP_TLS_CERT=server_cert, MLLP_TLS_KEY=server_key)
    conn = MllpConn(tls["MLLP_PORT"], _client(certs, with_cert=False))
    assert msa(conn.roundtrip(hl7_message("A01", control_id="TLS-1")))[1] == "AA"
    conn.close()

    _, mtls = admissions.start("mllp", MLLP_TLS_CERT=server_cert, MLLP_TLS_KEY=server_key,
                               MLLP_TLS_CLIENT_CA=certs["client"][0], MLLP_TLS_REQUIRE_CLIENT_CERT="true")
    wait_port(mtls["MLLP_PORT"])
    with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
        anonymous = MllpConn(mtls["MLLP_PORT"], _client(certs, with_cert=False))
        anonymous.roundtrip(hl7_message("A01", control_id="MTLS-0"))
    conn = MllpConn(mtls["MLLP_PORT"], _client(certs, with_cert=True))
    assert msa(conn.roundtrip(hl7_message("A01", control_id="MTLS-1")))[1] == "AA"
    # issue 12: no MSH-4 and no MSH-3 — the client certificate's common name identifies the sender
    anonymous_header = hl7_message("A01", control_id="MTLS-2", facility="").replace("|EPICADT|", "||", 1)
    assert msa(conn.roundtrip(anonymous_header))[1] == "AA"
    conn.close()
    events = read_topic(admissions.settings, admissions.settings.topic("adt.events"), expect=3, settle=0.5)
    by_control = {json.loads(m.value())["message_control_id"]: json.loads(m.value()) for m in events}
    assert by_control["MTLS-2"]["sending_facility"] == "client"
    assert [w["field"] for w in by_control["MTLS-2"]["warnings"]] == ["MSH-4"]


def test_a_resend_after_a_listener_restart_gets_the_same_ack_and_no_second_event(admissions):
    proc, ports = admissions.start("mllp")
    message = hl7_message("A01", control_id="RESTART-1")
    conn = MllpConn(ports["MLLP_PORT"])
    first = conn.roundtrip(message)
    conn.close()
    assert msa(first)[1] == "AA"
    time.sleep(0.5)  # the write-behind flush (every 250 ms)
    proc.stop()
    _, ports = admissions.start("mllp")
    conn = MllpConn(ports["MLLP_PORT"])
    assert conn.roundtrip(message) == first
    conn.close()
    events = read_topic(admissions.settings, admissions.settings.topic("adt.events"), expect=2, timeout=3, settle=0.5)
    assert len(events) == 1


def test_two_listener_processes_share_one_port_and_every_message_is_written_once(admissions, tmp_path):
    """MLLP_REUSE_PORT: one listener per core on the same port. The kernel spreads the connections
    over both processes; every message is answered AA and is on adt.events exactly once."""
    import httpx

    port = free_port()
    metrics_ports = []
    for _ in range(2):
        mport = free_port()
        proc = start_process("admissions", "mllp", admissions.env(MLLP_PORT=str(port), MLLP_METRICS_PORT=str(mport),
                                                                  MLLP_REUSE_PORT="true"),
                             tmp_path, http_port=mport)
        admissions.procs.append(proc)
        proc.wait_healthy(60)
        metrics_ports.append(mport)
    conns = [MllpConn(port) for _ in range(24)]
    answers = [msa(c.roundtrip(hl7_message("A01", control_id=f"RP-{i}", mrn=f"RP{i}")))[1]
               for i, c in enumerate(conns)]
    for c in conns:
        c.close()
    assert answers == ["AA"] * 24

    def answered(mport: int) -> float:
        text = httpx.get(f"http://127.0.0.1:{mport}/metrics", timeout=5).text
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith("admissions_messages_total{"))

    per_process = [answered(m) for m in metrics_ports]
    assert sum(per_process) == 24 and all(n > 0 for n in per_process), per_process
    events = read_topic(admissions.settings, admissions.settings.topic("adt.events"), expect=24, settle=0.5)
    assert sorted(json.loads(m.value())["message_control_id"] for m in events) == sorted(f"RP-{i}" for i in range(24))
