"""The Kubernetes manifests (deploy/k8s), checked offline.

- the generated base is what ``deploy/k8s/generate.py`` writes from the registry, the ACLs and the
  process table today (a change to any of them without regenerating fails here);
- every document of the base and of each overlay, as kustomize renders it, validates: built-in
  kinds against the Kubernetes OpenAPI schemas shipped in ``kubernetes-validate`` (strict:
  unknown fields refused), custom resources (Strimzi, CloudNativePG, KEDA, Prometheus operator)
  against the JSON schemas vendored from their CRDs in deploy/k8s/schemas (strict too);
- the KafkaTopics are the registry's topics (partitions, RF 3, min ISR 2, cleanup, retention) and
  each service's KafkaUser allows exactly the topics the registry says it writes and reads;
- every process docker-compose runs, and every process ``ccp up`` runs, has a Deployment with the
  same command, probes on its health path, resources, a PodDisruptionBudget and a NetworkPolicy;
  every worker a KEDA ScaledObject on its consumer group's lag capped at its topics' partitions;
- every Secret a workload reads is made by the overlay, by Strimzi (users, cluster CA) or is one
  of the documented Secrets production creates before deploying.

kustomize: from PATH, or built once from the Go module proxy into var/tools/bin (``go install``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

from carectl.processes import PROCESSES
from shared.kafka_acls import OPS, acls_for, services, user_name
from shared.topics import registry, replication

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
SCHEMAS = K8S / "schemas"
KUBERNETES = "1.33"
KUSTOMIZE = "sigs.k8s.io/kustomize/kustomize/v5@v5.7.1"
OVERLAYS = ("dev", "production")
# Secrets production creates before deploying (deploy/k8s/README.md); the rest come from operators.
PROVIDED_SECRETS = {"ccp-api-users", *(f"ccp-db-{s}" for s in {p.service for p in PROCESSES if not p.module})}


def base_documents() -> list[dict]:
    kust = yaml.safe_load((K8S / "base" / "kustomization.yaml").read_text())
    return [d for f in kust["resources"] for d in yaml.safe_load_all((K8S / "base" / f).read_text()) if d]


@lru_cache(maxsize=1)
def kustomize() -> str | None:
    found = shutil.which("kustomize") or (str(REPO / "var/tools/bin/kustomize")
                                          if (REPO / "var/tools/bin/kustomize").exists() else None)
    if found:
        return found
    go = shutil.which("go") or ("/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None)
    if not go:
        return None
    env = dict(os.environ, GOBIN=str(REPO / "var" / "tools" / "bin"), GOFLAGS="-mod=mod")
    proc = subprocess.run([go, "install", KUSTOMIZE], env=env, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, f"go install {KUSTOMIZE} failed:\n{proc.stderr[-3000:]}"
    return str(REPO / "var/tools/bin/kustomize")


def render(overlay: str) -> list[dict]:
    binary = kustomize()
    if binary is None:
        pytest.skip("kustomize is not installed and no Go toolchain can build it: overlays not rendered "
                    "(the base is still validated file by file)")
    out = subprocess.run([binary, "build", str(K8S / "overlays" / overlay)], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    return [d for d in yaml.safe_load_all(out.stdout) if d]


@lru_cache(maxsize=None)
def crd_validator(api_version: str, kind: str):
    group, _, version = api_version.rpartition("/")
    path = SCHEMAS / group / f"{kind.lower()}_{version}.json"
    if not path.exists():
        return None
    schema = json.loads(path.read_text())
    return jsonschema.Draft7Validator(schema)


def validate(doc: dict) -> list[str]:
    """Problems of one document (empty when it is valid)."""
    where = f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
    api = doc.get("apiVersion", "")
    group = api.rpartition("/")[0]
    if group and "." in group and not group.endswith(".k8s.io"):
        v = crd_validator(api, doc["kind"])
        if v is None:
            return [f"{where}: no vendored schema for {api} {doc['kind']} (deploy/k8s/schemas/vendor_crds.py)"]
        return [f"{where}: {'/'.join(map(str, e.absolute_path))}: {e.message}" for e in v.iter_errors(doc)]
    try:
        kubernetes_validate.validate(doc, KUBERNETES, strict=True)
    except kubernetes_validate.ValidationError as exc:
        return [f"{where}: {exc.message}"]
    except kubernetes_validate.SchemaNotFoundError as exc:
        return [f"{where}: {exc.message}"]
    return []


def by_kind(docs: list[dict], kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


# --------------------------------------------------------------------------------- generated
def test_the_committed_base_is_what_the_generator_writes_from_the_registry_and_processes():
    proc = subprocess.run([sys.executable, str(K8S / "generate.py"), "--check"], capture_output=True, text=True,
                          cwd=REPO, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_base_document_validates_against_kubernetes_and_crd_schemas():
    docs = base_documents()
    problems = [p for d in docs for p in validate(d)]
    assert problems == [], "\n".join(problems[:30])
    assert {d["kind"] for d in docs} >= {"Deployment", "Service", "PodDisruptionBudget", "NetworkPolicy",
                                         "ConfigMap", "Kafka", "KafkaNodePool", "KafkaTopic", "KafkaUser",
                                         "Cluster", "Database", "ScaledObject", "TriggerAuthentication", "PodMonitor"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_overlay_renders_and_validates(overlay):
    docs = render(overlay)
    problems = [p for d in docs for p in validate(d)]
    assert problems == [], "\n".join(problems[:30])
    namespaces = {d["metadata"].get("namespace") for d in docs if d["kind"] != "Namespace"}
    assert len(namespaces) == 1 and None not in namespaces


def test_the_validation_refuses_a_misspelt_field_and_a_wrong_type():
    deployment = next(d for d in base_documents() if d["kind"] == "Deployment")
    bad = json.loads(json.dumps(deployment))
    bad["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {}
    assert validate(bad)
    topic = next(d for d in base_documents() if d["kind"] == "KafkaTopic")
    bad = json.loads(json.dumps(topic))
    bad["spec"]["partitons"] = 3
    assert validate(bad)
    bad = json.loads(json.dumps(topic))
    bad["spec"]["partitions"] = "six"
    assert validate(bad)


# --------------------------------------------------------------------------------- Kafka
def test_the_kafka_topics_are_the_registry_with_production_replication():
    topics = by_kind(base_documents(), "KafkaTopic")
    repl = replication()
    assert set(topics) == set(registry())
    for name, spec in registry().items():
        t = topics[name]["spec"]
        assert t["topicName"] == name and t["partitions"] == spec.partitions and t["replicas"] == repl.factor == 3
        assert t["config"]["min.insync.replicas"] == repl.min_insync_replicas == 2
        assert t["config"]["cleanup.policy"] == spec.cleanup_policy
        if spec.cleanup_policy != "compact":
            assert t["config"]["retention.ms"] == spec.retention_ms


def test_kraft_with_separate_controller_and_broker_pools_and_no_auto_created_topics():
    docs = base_documents()
    (kafka,) = by_kind(docs, "Kafka").values()
    cfg = kafka["spec"]["kafka"]["config"]
    assert cfg["min.insync.replicas"] == 2 and cfg["default.replication.factor"] == 3
    assert cfg["auto.create.topics.enable"] is False and kafka["spec"]["kafka"]["authorization"]["type"] == "simple"
    (listener,) = kafka["spec"]["kafka"]["listeners"]
    assert listener["tls"] is True and listener["authentication"]["type"] == "scram-sha-512"
    pools = by_kind(docs, "KafkaNodePool")
    assert {tuple(p["spec"]["roles"]) for p in pools.values()} == {("controller",), ("broker",)}
    assert all(p["spec"]["replicas"] == 3 for p in pools.values())


def acl_set(user: dict) -> set[tuple]:
    return {(a["resource"]["type"], a["resource"]["name"], a["resource"]["patternType"], op)
            for a in user["spec"]["authorization"]["acls"] for op in a["operations"]}


def test_each_kafka_user_may_touch_only_the_topics_the_registry_gives_its_service():
    users = by_kind(base_documents(), "KafkaUser")
    assert set(users) == {user_name(s) for s in [*services(), OPS]}
    for service in services():
        acls = acl_set(users[user_name(service)])
        topic_ops = {(name, op) for kind, name, _, op in acls if kind == "topic"}
        for spec in registry().values():
            if spec.is_dlq:
                continue
            assert ((spec.name, "Write") in topic_ops) == (service in spec.writers), (service, spec.name)
            assert ((spec.name, "Read") in topic_ops) == (service in spec.readers), (service, spec.name)
            assert ((spec.dlq, "Write") in topic_ops) == (service in spec.readers or service in spec.rejects), \
                (service, spec.dlq)
        assert not any(name.endswith(".dlq") and op == "Read" for name, op in topic_ops)
        assert {(k, n, p) for k, n, p, _ in acls if k == "group"} == {("group", f"ccp-{service}-", "prefix")}
        assert acls == {(a.resource, a.name, "literal" if a.pattern == "literal" else "prefix", op.capitalize())
                        for a in acls_for(service) for op in a.operations}
    ops = acl_set(users[user_name(OPS)])
    assert {op for *_, op in ops} == {"Describe"}


# --------------------------------------------------------------------------------- processes
def compose_processes() -> dict[str, list[str]]:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    out = {}
    for name, svc in compose["services"].items():
        cmd = svc.get("command") or []
        if cmd and (cmd[0].startswith("services.") or cmd[0] == "carectl.lag_exporter"):
            out[name] = cmd
    return out


def test_every_process_in_compose_and_in_ccp_up_has_a_deployment_with_the_same_command():
    deployments = by_kind(base_documents(), "Deployment")
    commands = {tuple(d["spec"]["template"]["spec"]["containers"][0]["args"]) for d in deployments.values()}
    for name, cmd in compose_processes().items():
        assert tuple(cmd) in commands, f"compose runs {name} ({cmd}) but no Deployment does"
    for spec in PROCESSES:
        assert tuple(spec.argv()[1:]) in commands, f"ccp up runs {spec.name} but no Deployment does"


def test_each_deployment_is_probed_sized_budgeted_and_fenced():
    docs = base_documents()
    deployments = by_kind(docs, "Deployment")
    pdbs, policies = by_kind(docs, "PodDisruptionBudget"), by_kind(docs, "NetworkPolicy")
    scaled = by_kind(docs, "ScaledObject")
    specs = {(s.argv()[-1] if s.module else f"{s.service}-{s.process}"): s for s in PROCESSES}
    for name, d in deployments.items():
        pod = d["spec"]["template"]["spec"]
        (c,) = pod["containers"]
        http = next(p["containerPort"] for p in c["ports"] if p["name"] == "http")
        spec = next(s for s in PROCESSES if tuple(s.argv()[1:]) == tuple(c["args"]))
        assert http == spec.http_port
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            assert c[probe]["httpGet"] == {"path": spec.health_path, "port": "http"}, (name, probe)
        assert c["resources"]["requests"]["memory"] and c["resources"]["limits"]["memory"]
        assert c["securityContext"]["readOnlyRootFilesystem"] is True and pod["securityContext"]["runAsNonRoot"]
        annotations = d["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true" and annotations["prometheus.io/port"] == str(http)
        selector = d["spec"]["selector"]["matchLabels"]
        assert pdbs[name]["spec"]["selector"]["matchLabels"] == selector
        assert policies[name]["spec"]["podSelector"]["matchLabels"] == selector
        assert set(policies[name]["spec"]["policyTypes"]) == {"Ingress", "Egress"}
        if spec.process == "worker":
            so = scaled[name]["spec"]
            inputs = [t for t in registry().values() if spec.service in t.readers and not t.is_dlq]
            assert so["scaleTargetRef"]["name"] == name
            assert so["maxReplicaCount"] == max(t.partitions for t in inputs)
            (trigger,) = so["triggers"]
            assert trigger["type"] == "kafka" and trigger["metadata"]["consumerGroup"] == f"ccp-{spec.service}-worker"
    assert len(specs) == len(deployments)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_secret_a_workload_reads_exists_or_is_made_by_an_operator_or_documented(overlay):
    docs = render(overlay)
    made = {d["metadata"]["name"] for d in docs if d["kind"] == "Secret"}
    made |= {d["metadata"]["name"] for d in docs if d["kind"] == "KafkaUser"}  # Strimzi's user operator
    made |= {f"{d['metadata']['name']}-cluster-ca-cert" for d in docs if d["kind"] == "Kafka"}
    if overlay == "production":
        made |= PROVIDED_SECRETS
    wanted = set()
    for d in docs:
        if d["kind"] == "Deployment":
            pod = d["spec"]["template"]["spec"]
            wanted |= {v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v}
            wanted |= {e["valueFrom"]["secretKeyRef"]["name"] for c in pod["containers"] for e in c["env"]
                       if "valueFrom" in e and "secretKeyRef" in e["valueFrom"]}
        if d["kind"] == "TriggerAuthentication":
            wanted |= {r["name"] for r in d["spec"].get("secretTargetRef", [])}
        if d["kind"] == "Cluster":
            wanted |= {r["passwordSecret"]["name"] for r in d["spec"]["managed"]["roles"]}
    assert wanted - made == set()
    if overlay == "production":
        assert not any(d["kind"] == "Secret" for d in docs), "production secrets never come from git"
