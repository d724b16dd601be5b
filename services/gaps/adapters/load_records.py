"""A load's record (``ingest_loads``) as the load API answers it (``api_loads.py``,
``GET /loads/{load_id}``): its report once written, else what the row holds. It goes with the
loads when they leave gaps."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .tables import ingest_loads


def load_record(session: Session, load_id: str) -> dict[str, Any] | None:
    row = session.execute(select(ingest_loads).where(ingest_loads.c.load_id == load_id)).first()
    if row is None:
        return None
    if row.report:
        return json.loads(row.report)
    return {"load_id": row.load_id, "kind": row.kind, "format": row.format, "mode": row.mode, "file": row.file_name,
            "sha256": row.sha256, "status": row.status, "started_at": row.started_at.isoformat(),
            "accepted": row.accepted, "rejected": row.rejected, "lines": row.lines}
