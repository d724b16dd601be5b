"""``app.ports.Validator``: pyx12's validating walk (``x12_validate``), its 999 written with the
report (``files.ReportFolder.write_999``); a walk out of time ends the load's budget."""

from __future__ import annotations

import io
from pathlib import Path

from ..app.budget import BudgetExceeded
from ..app.ports import Validated
from .files import ReportFolder
from .x12_validate import ValidationTimeout, validate_837


class Pyx12Validator:
    def __init__(self, folder: ReportFolder) -> None:
        self.folder = folder

    def __call__(self, path: Path, beside: Path | None, load_id: str, deadline: float) -> Validated:
        ack = io.StringIO()
        work = self.folder.reports
        work.mkdir(parents=True, exist_ok=True)
        try:
            result = validate_837(path, ack, deadline=deadline, work_dir=work)
        except ValidationTimeout:
            raise BudgetExceeded() from None
        ack_file = self.folder.write_999(result.ack_999, beside, load_id) if result.ack_999 else None
        summary = {
            "valid": result.valid,
            "crashed": result.crashed,
            "notes": list(result.notes),
            "transactions": [{"st_control_number": t.st_control_number, "ack_code": t.ack_code,
                              "errors": list(t.errors[:20])} for t in result.transactions],
            "envelope_errors": list(result.envelope_errors[:20]),
        }
        return Validated(summary, list(result.notes), ack_file, result.crashed, list(result.rejected))
