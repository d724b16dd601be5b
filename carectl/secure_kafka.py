"""``ccp up --secure``: a local broker with SASL (SCRAM-SHA-512) and the StandardAuthorizer, one
user per service with only the ACLs the registry gives it (shared/kafka_acls.py).

    env = secure_kafka.start(brokers=1)        # the broker(s), users, ACLs; returns the process env
    # every process then authenticates as its own service's user (Supervisor reads
    # <SERVICE>_KAFKA_SASL_USERNAME / _PASSWORD), the lag exporter as ``ops``.

Passwords are made once and kept in ``<broker data dir>/credentials.json`` (mode 0600); the
super user's (``admin``, used here to create topics, users and ACLs) in ``admin.password``
beside it. Provisioning is idempotent: users are upserted, ACLs created again harmlessly.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from pathlib import Path

from shared.kafka_acls import OPS, Acl, acls_for, services, user_name
from shared.settings import CommonSettings

MECHANISM = "SCRAM-SHA-512"
PROTOCOL = "SASL_PLAINTEXT"


def _kafkactl():
    from .infra import kafkactl

    return kafkactl()


def credentials(data_dir: Path) -> dict[str, str]:
    """{service: password} for every service of the registry and ``ops``, made once."""
    path = data_dir / "credentials.json"
    known = json.loads(path.read_text()) if path.exists() else {}
    changed = False
    for service in [*services(), OPS]:
        if service not in known:
            known[service] = secrets.token_urlsafe(18)
            changed = True
    if changed:
        data_dir.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(json.dumps(known, indent=1))
    return known


def admin_settings(bootstrap: str, password: str, prefix: str = "") -> CommonSettings:
    return CommonSettings(kafka_bootstrap=bootstrap, kafka_security_protocol=PROTOCOL, kafka_sasl_mechanism=MECHANISM,
                          kafka_sasl_username="admin", kafka_sasl_password=password, topic_prefix=prefix)


def service_settings(bootstrap: str, service: str, password: str, prefix: str = "") -> CommonSettings:
    return CommonSettings(kafka_bootstrap=bootstrap, kafka_security_protocol=PROTOCOL, kafka_sasl_mechanism=MECHANISM,
                          kafka_sasl_username=user_name(service), kafka_sasl_password=password, topic_prefix=prefix)


def _bindings(principal: str, acl: Acl) -> list:
    from confluent_kafka.admin import AclBinding, AclOperation, AclPermissionType, ResourcePatternType, ResourceType

    rtype = {"topic": ResourceType.TOPIC, "group": ResourceType.GROUP}[acl.resource]
    pattern = {"literal": ResourcePatternType.LITERAL, "prefixed": ResourcePatternType.PREFIXED}[acl.pattern]
    ops = {"read": AclOperation.READ, "write": AclOperation.WRITE, "describe": AclOperation.DESCRIBE}
    return [AclBinding(rtype, acl.name, pattern, principal, "*", ops[op], AclPermissionType.ALLOW)
            for op in acl.operations]


def provision(admin: CommonSettings, passwords: dict[str, str], prefix: str = "", timeout: float = 60.0) -> int:
    """Upsert every service's SCRAM user and create its ACLs; returns the number of ACL bindings."""
    from confluent_kafka.admin import (
        AdminClient, ScramCredentialInfo, ScramMechanism, UserScramCredentialUpsertion,
    )

    client = AdminClient(admin.kafka_client_config())
    upserts = [UserScramCredentialUpsertion(user_name(s),
                                            ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192), pw.encode())
               for s, pw in passwords.items()]
    for fut in client.alter_user_scram_credentials(upserts, request_timeout=timeout).values():
        fut.result()
    bindings = []
    for service in passwords:
        principal = f"User:{user_name(service)}"
        for acl in acls_for(service, prefix):
            bindings.extend(_bindings(principal, acl))
    for fut in client.create_acls(bindings, request_timeout=timeout).values():
        fut.result()
    return len(bindings)


def wait_for_cluster(admin: CommonSettings, brokers: int, timeout: float = 90.0) -> None:
    """Until Metadata, asked as the admin user, lists every broker."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    client = AdminClient(admin.kafka_client_config())
    deadline = time.monotonic() + timeout
    seen = 0
    while time.monotonic() < deadline:
        try:
            seen = len(client.list_topics(timeout=5).brokers)
        except KafkaException:
            seen = 0
        if seen >= brokers:
            return
        time.sleep(0.5)
    raise SystemExit(f"ccp: the secure broker(s) listed {seen}/{brokers} brokers after {timeout:.0f}s")


def start(brokers: int = 1, prefix: str = "") -> tuple[dict[str, str], CommonSettings]:
    """Start the secure broker(s) (KAFKA_SECURE=1 for deploy/kafka/kafkactl.py), provision users and
    ACLs; return the environment every platform process gets, and the admin's settings."""
    os.environ["KAFKA_SECURE"] = "1"
    os.environ["KAFKA_NODES"] = str(brokers)
    ctl = _kafkactl()
    ctl.start()
    s = ctl.settings()
    bootstrap = ctl.bootstrap(s)
    admin = admin_settings(bootstrap, ctl.admin_password(s), prefix)
    wait_for_cluster(admin, brokers)
    passwords = credentials(s["data"])
    provision(admin, passwords, prefix)
    return process_env(bootstrap, passwords), admin


def process_env(bootstrap: str, passwords: dict[str, str]) -> dict[str, str]:
    env = {"KAFKA_BOOTSTRAP": bootstrap, "KAFKA_SECURITY_PROTOCOL": PROTOCOL, "KAFKA_SASL_MECHANISM": MECHANISM}
    for service, pw in passwords.items():
        key = service.upper()
        env[f"{key}_KAFKA_SASL_USERNAME"] = user_name(service)
        env[f"{key}_KAFKA_SASL_PASSWORD"] = pw
    return env
