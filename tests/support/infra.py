"""Find or start the real infrastructure the integration tests need.

Kafka: ``KAFKA_BOOTSTRAP`` if set; else the project's local broker (deploy/kafka, Maven +
Java); else a testcontainers Kafka where a Docker engine runs.
PostgreSQL: ``DATABASE_URL`` (or ``TEST_DATABASE_URL``) if set; else the local Debian cluster
(deploy/postgres, installed with apt when absent); else a testcontainers PostgreSQL.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    assert spec and spec.loader
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def kafkactl():
    return _load(REPO / "deploy" / "kafka" / "kafkactl.py", "ccp_kafkactl")


def pgctl():
    return _load(REPO / "deploy" / "postgres" / "pgctl.py", "ccp_pgctl")


def docker_engine_available() -> bool:
    if not shutil.which("docker"):
        return False
    try:
        import docker  # type: ignore

        docker.from_env(timeout=3).ping()
        return True
    except Exception:  # noqa: BLE001 - any failure means "no engine"
        return False


_containers: list = []


def kafka_bootstrap() -> str:
    env = os.environ.get("KAFKA_BOOTSTRAP")
    if env:
        return env
    if shutil.which("java") and (shutil.which("mvn") or kafkactl().jars_present()):
        kafkactl().start()
        return f"127.0.0.1:{kafkactl().settings()['port']}"
    if docker_engine_available():
        from testcontainers.kafka import KafkaContainer

        c = KafkaContainer("apache/kafka:4.1.1").with_kraft()
        c.start()
        _containers.append(c)
        return c.get_bootstrap_server()
    raise RuntimeError("no Kafka: set KAFKA_BOOTSTRAP, install Java 17 + Maven, or run a Docker engine")


def postgres_url() -> str:
    env = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if env:
        return env
    ctl = pgctl()
    if ctl.bindir() or (os.geteuid() == 0 and shutil.which("apt-get")):
        return ctl.start()
    if docker_engine_available():
        from testcontainers.postgres import PostgresContainer

        c = PostgresContainer("postgres:16", driver="psycopg")
        c.start()
        _containers.append(c)
        return c.get_connection_url()
    raise RuntimeError("no PostgreSQL: set DATABASE_URL, install postgresql, or run a Docker engine")


def stop_containers() -> None:
    while _containers:
        _containers.pop().stop()


# Topic prefixes this test session (or benchmark process) created, so its cleanup deletes only
# its own topics and never those of a benchmark or another session sharing the broker.
_PREFIXES: set[str] = set()


def new_topic_prefix(kind: str = "t", digits: int = 10) -> str:
    """A fresh topic namespace ``<kind><hex>.``, remembered for ``delete_own_topics``."""
    import uuid

    prefix = f"{kind}{uuid.uuid4().hex[:digits]}."
    _PREFIXES.add(prefix)
    return prefix


def topic_names(bootstrap: str) -> set[str]:
    """Every topic on the broker."""
    from confluent_kafka.admin import AdminClient

    return set(AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=15).topics)


def delete_own_topics(bootstrap: str) -> int:
    """Delete the topics under the prefixes ``new_topic_prefix`` handed out in this process.
    Without this a developer's broker collects thousands of partitions and starts in a minute
    instead of seconds. ``CCP_KEEP_TOPICS=1`` keeps them for inspection."""
    if os.environ.get("CCP_KEEP_TOPICS") or not _PREFIXES:
        return 0
    own = sorted(t for t in topic_names(bootstrap) if any(t.startswith(p) for p in _PREFIXES))
    return delete_topics_named(bootstrap, own)


def delete_topics_named(bootstrap: str, names: list[str]) -> int:
    """Best-effort deletion (``shared.kafka_admin.delete_topics``) of topics by full name."""
    from shared.kafka_admin import delete_topics
    from shared.settings import CommonSettings

    delete_topics(CommonSettings(kafka_bootstrap=bootstrap), names, timeout=60)
    return len(names)


class Databases:
    """Fresh, empty PostgreSQL databases on one server (``new()`` returns a URL), all dropped by
    ``drop_all()``: a test's, a test module's or a benchmark's own databases."""

    def __init__(self, server_url: str, name_prefix: str = "t_") -> None:
        from sqlalchemy import create_engine
        from sqlalchemy.engine import make_url

        self.server_url = make_url(server_url)
        self.name_prefix = name_prefix
        self.names: list[str] = []
        self._admin = create_engine(self.server_url.set(database="postgres"), isolation_level="AUTOCOMMIT")

    def new(self) -> str:
        import uuid

        from sqlalchemy import text

        name = f"{self.name_prefix}{uuid.uuid4().hex[:12]}"
        with self._admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        self.names.append(name)
        return self.server_url.set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        from sqlalchemy import text

        with self._admin.connect() as conn:
            for name in self.names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.names.clear()
        self._admin.dispose()
