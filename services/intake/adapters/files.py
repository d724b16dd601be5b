"""What a load writes to disk: its report as JSON (``<file>.report.json`` beside the file, else
REPORTS_DIR/<load id>.json) and the 999 of a validated X12 file (``<file>.999`` beside it, else
REPORTS_DIR/<load id>.999)."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from ..domain import LoadReport

log = logging.getLogger(__name__)


class ReportFolder:
    """``app.ports.ReportFiles`` over a folder (``reports``: REPORTS_DIR)."""

    def __init__(self, reports: Path) -> None:
        self.reports = reports

    def write(self, report: LoadReport, beside: Path | None) -> None:
        candidates = []
        if beside is not None:
            candidates.append(beside.with_name(beside.name + ".report.json"))
        candidates.append(self.reports / f"{report.load_id}.json")
        for target in candidates:
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                report.report_file = str(target)
                tmp = target.with_name(target.name + ".tmp")
                tmp.write_text(json.dumps(report.as_dict(), indent=2))
                os.replace(tmp, target)
                return
            except OSError:
                continue
        report.report_file = None
        log.warning("load %s: the report could not be written to a file", report.load_id)

    def write_999(self, text: str, beside: Path | None, load_id: str) -> str:
        target = beside.with_name(beside.name + ".999") if beside is not None else self.reports / f"{load_id}.999"
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        except OSError:
            target = self.reports / f"{load_id}.999"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        return str(target)
