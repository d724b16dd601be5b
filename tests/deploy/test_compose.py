"""docker-compose.yml checked as far as a machine without a Docker engine allows: it parses,
every service's command exists, env names belong to the process's settings class, published
ports match the settings, Prometheus scrapes what compose runs, mounted files exist."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from shared.settings import CommonSettings

REPO = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
PLATFORM = {name: svc for name, svc in SERVICES.items() if (svc.get("command") or [""])[0].startswith("services.")}
PORT_FIELDS = {"api": "api_port", "worker": "worker_port", "mllp": "mllp_port"}


def settings_class(service: str) -> type[CommonSettings]:
    mod = importlib.import_module(f"services.{service}.settings")
    classes = [c for c in vars(mod).values()
               if isinstance(c, type) and issubclass(c, CommonSettings) and c is not CommonSettings
               and c.SERVICE == service]
    assert len(classes) == 1, f"services/{service}/settings.py must define one settings class"
    return classes[0]


def test_compose_runs_the_required_infrastructure():
    assert SERVICES["kafka"]["image"].startswith("apache/kafka:")
    assert SERVICES["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert SERVICES["postgres"]["image"].startswith("postgres:")
    assert SERVICES["prometheus"]["image"].startswith("prom/prometheus")
    assert SERVICES["grafana"]["image"].startswith("grafana/grafana")
    for svc in ("admissions", "gaps", "outreach", "billing"):
        procs = {n for n, s in PLATFORM.items() if s["command"][0] == f"services.{svc}"}
        assert {f"{svc}-api", f"{svc}-worker"} <= procs, f"{svc} needs an api and a worker process"
    assert "admissions-mllp" in PLATFORM


def test_one_image_built_by_the_dockerfile_in_deploy():
    builds = {(s["build"]["context"], s["build"]["dockerfile"]) for s in SERVICES.values() if "build" in s}
    assert builds == {(".", "deploy/Dockerfile")}
    dockerfile = (REPO / "deploy" / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["python", "-m"]' in dockerfile
    for src in re.findall(r"^COPY (\S+)", dockerfile, re.M):
        assert (REPO / src).exists(), f"Dockerfile copies {src}, which does not exist"


@pytest.mark.parametrize("name", sorted(PLATFORM))
def test_every_service_command_exists(name):
    module, process = PLATFORM[name]["command"]
    service = module.split(".")[1]
    assert (REPO / "services" / service / "__main__.py").exists()
    out = subprocess.run([sys.executable, "-m", module, "--help"], cwd=REPO, capture_output=True, text=True,
                         timeout=60)
    usage = out.stderr + out.stdout
    assert re.search(rf"\b{re.escape(process)}\b", usage), f"`python -m {module}` does not offer {process}: {usage}"


@pytest.mark.parametrize("name", sorted(PLATFORM))
def test_env_names_and_ports_match_the_settings_class(name):
    svc = PLATFORM[name]
    module, process = svc["command"]
    service = module.split(".")[1]
    cls = settings_class(service)
    fields = {f.upper() for f in cls.model_fields}
    env = svc["environment"]
    unknown = sorted(k for k in env if k not in fields)
    assert not unknown, f"{name}: environment names not in {cls.__name__}: {unknown}"
    published = {int(p.split(":")[1]) for p in svc.get("ports", [])}
    field = PORT_FIELDS[process]
    port = int(env.get(field.upper(), cls.model_fields[field].default))
    assert port in published, f"{name}: {field}={port} is not published ({published})"
    if process == "mllp":
        assert int(env["MLLP_METRICS_PORT"]) in published
    assert env["DATABASE_URL"].endswith(f"/{service}")


def test_prometheus_scrapes_every_compose_process():
    prom = yaml.safe_load((REPO / "deploy" / "prometheus" / "prometheus.docker.yml").read_text())
    targets = {t for job in prom["scrape_configs"] for sc in job["static_configs"] for t in sc["targets"]}
    for name, svc in PLATFORM.items():
        process = svc["command"][1]
        env = svc["environment"]
        port = env.get("MLLP_METRICS_PORT") if process == "mllp" else env[PORT_FIELDS[process].upper()]
        assert f"{name}:{port}" in targets, f"Prometheus does not scrape {name}:{port}"
    assert "lag-exporter:8050" in targets and "lag-exporter" in SERVICES
    for rule_file in prom["rule_files"]:
        assert (REPO / "deploy" / "prometheus" / rule_file).exists()


def test_mounted_files_exist():
    for svc in SERVICES.values():
        for vol in svc.get("volumes", []):
            src = vol.split(":")[0]
            if src.startswith("./"):
                assert (REPO / src).exists(), f"compose mounts {src}, which does not exist"


def test_topic_init_uses_the_cli_that_exists():
    cmd = SERVICES["kafka-init"]["command"]
    assert cmd[:2] == ["carectl", "topics"]
    out = subprocess.run([sys.executable, "-m", "carectl", "--help"], cwd=REPO, capture_output=True, text=True,
                         timeout=60)
    assert "topics" in out.stdout + out.stderr


def test_the_three_node_profile_is_one_kraft_quorum_with_production_replication():
    import base64

    nodes = {name: svc for name, svc in SERVICES.items() if svc.get("profiles") == ["cluster"]}
    assert sorted(nodes) == ["kafka-1", "kafka-2", "kafka-3"]
    envs = {name: svc["environment"] for name, svc in nodes.items()}
    voters = {e["KAFKA_CONTROLLER_QUORUM_VOTERS"] for e in envs.values()}
    assert voters == {"1@kafka-1:9093,2@kafka-2:9093,3@kafka-3:9093"}
    assert {e["KAFKA_NODE_ID"] for e in envs.values()} == {1, 2, 3}
    for name, e in envs.items():
        assert e["KAFKA_ADVERTISED_LISTENERS"] == f"PLAINTEXT://{name}:9092"
        assert e["KAFKA_DEFAULT_REPLICATION_FACTOR"] == 3 and e["KAFKA_MIN_INSYNC_REPLICAS"] == 2
        assert e["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == 3
    (cid,) = {e["CLUSTER_ID"] for e in envs.values()}
    assert len(base64.urlsafe_b64decode(cid + "==")) == 16 and not cid.startswith("-")
    assert len({v for svc in nodes.values() for v in svc["volumes"]}) == 3
    cluster_env = dict(line.split("=", 1) for line in (REPO / "deploy" / "compose" / "cluster.env").read_text()
                       .splitlines() if line and not line.startswith("#"))
    assert cluster_env["COMPOSE_PROFILES"] == "cluster"
    assert cluster_env["KAFKA_BOOTSTRAP"] == ",".join(f"{n}:9092" for n in sorted(nodes))
    for svc in PLATFORM.values():
        assert svc["environment"]["KAFKA_BOOTSTRAP"] == "${KAFKA_BOOTSTRAP:-kafka:9092}"
