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


def create_topics(bootstrap: str, prefix: str = "") -> dict[str, str]:
    from shared.kafka import ensure_topics
    from shared.settings import CommonSettings
    from shared.topics import all_topics

    return ensure_topics(CommonSettings(kafka_bootstrap=bootstrap, topic_prefix=prefix), all_topics())
