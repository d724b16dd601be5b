"""The local cluster's configuration and the scale-out options, without starting anything:
three KRaft voters with their own ports, RF 3 / min ISR 2 for the internal topics, the
registry's replication scaled to the brokers present, worker instances on ports of their own."""

from __future__ import annotations

import pytest

from carectl.processes import MAX_WORKERS, PROCESSES, parse_workers, with_workers, worker_port
from shared.topics import Replication, replication
from tests.support.infra import kafkactl

SERVICES = ["admissions", "billing", "gaps", "outreach"]


def props(lines: list[str]) -> dict[str, str]:
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))


def test_three_nodes_are_three_voters_each_on_its_own_ports(monkeypatch, tmp_path):
    monkeypatch.setenv("KAFKA_NODES", "3")
    monkeypatch.setenv("KAFKA_PORT", "29092")
    monkeypatch.setenv("KAFKA_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("KAFKA_CONTROLLER_PORT", raising=False)
    monkeypatch.delenv("KAFKA_SECURE", raising=False)
    ctl = kafkactl()
    s = ctl.settings()
    configs = [props(ctl.config_lines(s, n)) for n in ctl.nodes(s)]
    assert [c["node.id"] for c in configs] == ["1", "2", "3"]
    assert {c["controller.quorum.voters"] for c in configs} == {
        "1@127.0.0.1:29192,2@127.0.0.1:29193,3@127.0.0.1:29194"}
    assert [c["advertised.listeners"] for c in configs] == [f"PLAINTEXT://127.0.0.1:{p}" for p in (29092, 29093, 29094)]
    assert len({c["log.dirs"] for c in configs}) == 3
    for c in configs:
        assert c["offsets.topic.replication.factor"] == "3" and c["default.replication.factor"] == "3"
        assert c["min.insync.replicas"] == "2" and c["transaction.state.log.min.isr"] == "2"
        assert c["unclean.leader.election.enable"] == "false"
    assert ctl.bootstrap(s) == "127.0.0.1:29092,127.0.0.1:29093,127.0.0.1:29094"


def test_one_node_keeps_its_layout_and_replication_one(monkeypatch, tmp_path):
    for k in ("KAFKA_NODES", "KAFKA_PORT", "KAFKA_CONTROLLER_PORT", "KAFKA_SECURE"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("KAFKA_DATA_DIR", str(tmp_path))
    ctl = kafkactl()
    s = ctl.settings()
    (n,) = ctl.nodes(s)
    c = props(ctl.config_lines(s, n))
    assert n["data"] == tmp_path.resolve() and n["port"] == 9092 and n["controller_port"] == 9093
    assert c["offsets.topic.replication.factor"] == "1" and c["min.insync.replicas"] == "1"


def test_secure_nodes_take_sasl_and_the_standard_authorizer(monkeypatch, tmp_path):
    monkeypatch.setenv("KAFKA_SECURE", "1")
    monkeypatch.setenv("KAFKA_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("KAFKA_NODES", raising=False)
    ctl = kafkactl()
    s = ctl.settings()
    path = ctl.write_config(s, ctl.node(s, 1))
    c = props(path.read_text().splitlines())
    assert c["listeners"].startswith("SASL_PLAINTEXT://127.0.0.1:")
    assert "PLAINTEXT://" not in c["advertised.listeners"].replace("SASL_PLAINTEXT://", "")
    assert c["authorizer.class.name"].endswith("StandardAuthorizer")
    assert c["allow.everyone.if.no.acl.found"] == "false" and c["super.users"] == "User:admin"
    assert (tmp_path / "admin.password").stat().st_mode & 0o077 == 0


def test_the_registry_states_production_replication_and_a_small_cluster_gets_what_it_can():
    prod = replication()
    assert (prod.factor, prod.min_insync_replicas) == (3, 2)
    assert prod.for_brokers(1) == Replication(1, 1)
    assert prod.for_brokers(2) == Replication(2, 1)
    assert prod.for_brokers(3) == Replication(3, 2)
    assert prod.for_brokers(5) == Replication(3, 2)


def test_workers_option_for_all_or_one_service():
    assert parse_workers(["3"], SERVICES) == dict.fromkeys(SERVICES, 3)
    assert parse_workers(["2", "gaps=4"], SERVICES) == {**dict.fromkeys(SERVICES, 2), "gaps": 4}
    for bad in (["0"], ["gaps=x"], ["nosuch=2"], [str(MAX_WORKERS + 1)]):
        with pytest.raises(ValueError):
            parse_workers(bad, SERVICES)


def test_worker_instances_get_ports_inside_their_service_block_and_never_collide():
    specs = with_workers(PROCESSES, dict.fromkeys(SERVICES, MAX_WORKERS))
    ports = [s.http_port for s in specs]
    assert len(ports) == len(set(ports)) and 2575 not in ports
    gaps = [s for s in specs if s.service == "gaps" and s.process == "worker"]
    assert [s.name for s in gaps][:3] == ["gaps-worker", "gaps-worker-2", "gaps-worker-3"]
    assert all(8020 <= s.http_port < 8030 for s in gaps)
    assert worker_port(8011, 1) == 8011 and worker_port(8011, 2) == 8014


def test_the_scale_tests_order_check_finds_a_partition_applied_out_of_order():
    from tests.reliability.invariants import Rec
    from tests.reliability.test_scale_workers import order_violations

    def rec(p, o):
        return Rec("t", p, o, None, None, (("event_id", f"{p}-{o}".encode()),))

    records = [rec(0, o) for o in range(4)] + [rec(1, o) for o in range(3)]
    in_order = {"0-0": 1, "0-1": 1, "0-2": 2, "0-3": 3, "1-0": 1, "1-1": 5, "1-2": 5}
    assert order_violations(in_order, records) == []
    # partition 1: offset 2 applied (by another worker) before offset 1
    assert order_violations({**in_order, "1-1": 6, "1-2": 4}, records) == [("t", 1, 2)]
    # the same event id written again at offset 4 (a re-derived event) was skipped, not applied late
    again = Rec("t", 0, 4, None, None, (("event_id", b"0-1"),))
    assert order_violations(in_order, [*records, again]) == []
