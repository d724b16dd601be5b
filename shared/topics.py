"""The topic registry, loaded from ``shared/contract/topics.yaml``."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

REGISTRY_FILE = Path(__file__).parent / "contract" / "topics.yaml"
DLQ_SUFFIX = ".dlq"

# Names, so code never spells a topic twice.
ROSTER = "members.roster"
ADT = "adt.events"
CLAIMS = "claims.events"
ALERTS = "alerts.hospitalist"
TRANSITIONS = "care.transitions"
GAPS = "gaps.events"
TASKS = "outreach.tasks"
ACCRUALS = "billing.accruals"
PORTAL_MESSAGES = "portal.messages"
PORTAL_REPLIES = "portal.replies"
RISK_TIERS = "risk.tiers"
NOTIFICATION_DEAD_LETTERS = "notifications.dead_letters"


@dataclass(frozen=True)
class EventSpec:
    event_type: str
    versions: tuple[int, ...]
    examples: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class TopicSpec:
    name: str
    key: str
    partitions: int
    cleanup_policy: str
    retention_ms: int
    producers: tuple[str, ...]
    consumers: tuple[str, ...]
    events: tuple[EventSpec, ...] = field(default_factory=tuple)
    is_dlq: bool = False
    writers: tuple[str, ...] = ()  # service names (ACLs); a DLQ's writers are its source's readers and rejecters
    readers: tuple[str, ...] = ()
    rejects: tuple[str, ...] = ()  # services that dead-letter the input they refused to write here (intake)

    @property
    def dlq(self) -> str:
        return self.name + DLQ_SUFFIX

    def config(self, min_insync_replicas: int | None = None) -> dict[str, str]:
        cfg = {"cleanup.policy": self.cleanup_policy, "retention.ms": str(self.retention_ms)}
        if self.cleanup_policy == "compact":
            cfg.pop("retention.ms")
            cfg["min.compaction.lag.ms"] = "0"
        if min_insync_replicas is not None:
            cfg["min.insync.replicas"] = str(min_insync_replicas)
        return cfg


@dataclass(frozen=True)
class Replication:
    """The registry's production replication (``defaults``), and what a smaller cluster gets."""

    factor: int
    min_insync_replicas: int

    def for_brokers(self, brokers: int) -> "Replication":
        """min(factor, brokers) replicas; min ISR one less than the replicas at most, so a cluster
        still takes ``acks=all`` writes with one broker down (one broker: 1 and 1)."""
        rf = max(1, min(self.factor, brokers))
        return Replication(rf, max(1, min(self.min_insync_replicas, rf - 1)))


def replication() -> Replication:
    defaults = yaml.safe_load(REGISTRY_FILE.read_text()).get("defaults", {})
    return Replication(int(defaults.get("replication_factor", 1)), int(defaults.get("min_insync_replicas", 1)))


@lru_cache(maxsize=1)
def registry() -> dict[str, TopicSpec]:
    data = yaml.safe_load(REGISTRY_FILE.read_text())
    defaults = data.get("defaults", {})
    out: dict[str, TopicSpec] = {}
    for t in data["topics"]:
        spec = TopicSpec(
            name=t["name"],
            key=t["key"],
            partitions=int(t["partitions"]),
            cleanup_policy=t["cleanup_policy"],
            retention_ms=int(t["retention_ms"]),
            producers=tuple(t.get("producers", ())),
            consumers=tuple(t.get("consumers", ())),
            events=tuple(
                EventSpec(e["event_type"], tuple(e["versions"]), tuple(e.get("examples", ())))
                for e in t.get("events", ())
            ),
            writers=tuple(t.get("writers", ())),
            readers=tuple(t.get("readers", ())),
            rejects=tuple(t.get("rejects", ())),
        )
        out[spec.name] = spec
        out[spec.dlq] = TopicSpec(
            name=spec.dlq,
            key=spec.key,
            partitions=int(defaults.get("dlq_partitions", 1)),
            cleanup_policy="delete",
            retention_ms=int(defaults.get("dlq_retention_ms", -1)),
            producers=("any consumer of " + spec.name,),
            consumers=("operators (ccp dlq list / replay)",),
            is_dlq=True,
            writers=tuple(dict.fromkeys((*spec.readers, *spec.rejects))),
            readers=(),
        )
    return out


def topic(name: str) -> TopicSpec:
    return registry()[name]


def all_topics(prefix: str = "") -> list[TopicSpec]:
    """Every topic (with DLQ twins). ``prefix`` renames them, e.g. for a test's fresh topics."""
    specs = list(registry().values())
    if not prefix:
        return specs
    from dataclasses import replace

    return [replace(s, name=prefix + s.name) for s in specs]
