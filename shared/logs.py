"""Logging setup for every process: one line per record, the service and process named.

PHI rule: log messages carry counts, codes, topics, offsets and opaque ids (event ids), never
names, MRNs, member ids or birth dates. ``tests/`` scans the demo's logs for them.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone


class _JsonFormatter(logging.Formatter):
    def __init__(self, service: str, process: str) -> None:
        super().__init__()
        self.service, self.process = service, process

    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(),
            "level": record.levelname,
            "service": self.service,
            "process": self.process,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return json.dumps(doc)


def configure_logging(service: str, process: str, level: str = "INFO", fmt: str = "text") -> None:
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(_JsonFormatter(service, process))
    else:
        handler.setFormatter(logging.Formatter(
            f"%(asctime)s %(levelname)s {service}.{process} %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Libraries that are chatty at INFO.
    for noisy in ("aiokafka", "faust.transport", "mode", "uvicorn.access", "httpx", "sqlalchemy.engine"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
