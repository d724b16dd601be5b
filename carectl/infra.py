"""Local infrastructure for the CLI: the Kafka broker and PostgreSQL from deploy/."""

from __future__ import annotations

import importlib.util
import sys
from functools import lru_cache
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    assert spec and spec.loader
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


@lru_cache(maxsize=1)
def kafkactl():
    return _load(REPO / "deploy" / "kafka" / "kafkactl.py", "ccp_kafkactl")


@lru_cache(maxsize=1)
def pgctl():
    return _load(REPO / "deploy" / "postgres" / "pgctl.py", "ccp_pgctl")


def create_topics(bootstrap: str, prefix: str = "", settings=None) -> dict[str, str]:
    """The registry's topics (replicated per its production values on a cluster); ``settings``
    (e.g. the secure broker's admin) instead of a plain bootstrap when given."""
    from shared.kafka_admin import ensure_topics
    from shared.settings import CommonSettings
    from shared.topics import all_topics

    return ensure_topics(settings or CommonSettings(kafka_bootstrap=bootstrap, topic_prefix=prefix), all_topics())


def start_kafka(brokers: int = 1, secure: bool = False, prefix: str = ""):
    """The local broker, or a cluster of ``brokers`` KRaft nodes (deploy/kafka/kafkactl.py), plain or
    ``secure`` (SASL + ACLs per service, carectl/secure_kafka.py). Returns (the environment the
    platform's processes get, settings to create topics with)."""
    import os

    from shared.settings import CommonSettings

    if secure:
        from . import secure_kafka

        return secure_kafka.start(brokers, prefix)
    os.environ["KAFKA_NODES"] = str(brokers)
    os.environ.pop("KAFKA_SECURE", None)
    ctl = kafkactl()
    ctl.start()
    bootstrap = ctl.bootstrap()
    return {"KAFKA_BOOTSTRAP": bootstrap}, CommonSettings(kafka_bootstrap=bootstrap, topic_prefix=prefix)


def ensure_chromium() -> str | None:
    """Debian's headless Chromium for the nurse page's browser test (installed with apt if absent).

    Returns its path, or None when it cannot be installed here (the browser test then fails
    with that reason rather than passing silently)."""
    import os
    import shutil
    import subprocess

    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return None
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "chromium"]
    if subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return shutil.which("chromium")


def ensure_apt_tool(binary: str, package: str) -> str | None:
    """A tool from Debian's packages (e.g. prometheus/promtool), installed with apt when absent."""
    import os
    import shutil
    import subprocess

    path = shutil.which(binary)
    if path or os.geteuid() != 0 or not shutil.which("apt-get"):
        return path
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = ["apt-get", "install", "-y", "-q", "--no-install-recommends", package]
    if subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return shutil.which(binary)
