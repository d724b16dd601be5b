"""Least privilege on the broker, derived from the topic registry's ``writers`` and ``readers``.

Each service authenticates as its own user (``ccp-<service>``) and may:

- write (and describe) the topics it writes;
- write the ``.dlq`` twins of the topics whose ``rejects`` name it (intake dead-letters the input
  rows and claims it refused to write);
- read (and describe) the topics it reads, and write their ``.dlq`` twins (a consumer dead-letters
  what it cannot apply);
- use the consumer groups named ``<prefix>ccp-<service>-`` (its worker's group, the admissions
  API's alert tail).

The operators' ``ops`` user (the lag exporter) may describe every topic and group of the
platform. Nothing else is allowed: the broker's StandardAuthorizer refuses a write to a topic
the service does not own. Used by ``ccp up --secure`` (carectl/secure_kafka.py) and by the
Strimzi ``KafkaUser`` manifests (deploy/k8s/generate.py), so both say the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass

from .topics import registry

OPS = "ops"


@dataclass(frozen=True, order=True)
class Acl:
    resource: str        # "topic" | "group"
    name: str
    pattern: str         # "literal" | "prefixed"
    operations: tuple[str, ...]  # "read" | "write" | "describe"


def user_name(service: str) -> str:
    return f"ccp-{service}"


def services() -> list[str]:
    """Every service the registry names as a writer or reader, in a stable order."""
    seen: dict[str, None] = {}
    for spec in registry().values():
        for s in (*spec.writers, *spec.readers):
            seen.setdefault(s, None)
    return list(seen)


def acls_for(service: str, prefix: str = "") -> list[Acl]:
    """The ACLs of ``service``'s user (topic names with ``prefix``, as TOPIC_PREFIX renames them)."""
    if service == OPS:
        return [Acl("topic", prefix, "prefixed", ("describe",)),
                Acl("group", f"{prefix}ccp-", "prefixed", ("describe",))]
    ops: dict[str, set[str]] = {}
    for spec in registry().values():
        if spec.is_dlq:
            continue
        if service in spec.writers:
            ops.setdefault(spec.name, set()).update({"write", "describe"})
        if service in spec.readers:
            ops.setdefault(spec.name, set()).update({"read", "describe"})
            ops.setdefault(spec.dlq, set()).update({"write", "describe"})
        if service in spec.rejects:
            ops.setdefault(spec.dlq, set()).update({"write", "describe"})
    out = [Acl("topic", prefix + name, "literal", tuple(sorted(o))) for name, o in sorted(ops.items())]
    out.append(Acl("group", f"{prefix}ccp-{service}-", "prefixed", ("describe", "read")))
    return out


def writable_topics(service: str) -> set[str]:
    """Registry topic names (DLQs included) the service's user may write."""
    return {a.name for a in acls_for(service) if a.resource == "topic" and "write" in a.operations}
