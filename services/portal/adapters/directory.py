"""Names a member can read: practices, clinicians, hospitals (a YAML directory file) and care-team
staff (the platform's users file).

The directory file (``DIRECTORY_FILE``)::

    practices:
      P001: {name: Synthetic Family Medicine 01, phone: "555-0100", address: "1 Example St"}
    clinicians:
      "1234567893": {name: "Dr. Ada Example"}
    facilities:
      MERCY: Mercy Synthetic Hospital

Without one, the portal shows the ids it has ("Practice P001").
"""

from __future__ import annotations

from pathlib import Path

import yaml

from shared.auth import UserDirectory

from ..domain.model import Clinician, Practice


class FileDirectory:
    def __init__(self, data: dict | None = None, users: UserDirectory | None = None) -> None:
        data = data or {}
        self._practices = {str(k): v or {} for k, v in (data.get("practices") or {}).items()}
        self._clinicians = {str(k): v or {} for k, v in (data.get("clinicians") or {}).items()}
        self._facilities = {str(k): str(v) for k, v in (data.get("facilities") or {}).items()}
        self._users = users

    @classmethod
    def load(cls, path: Path | None, users: UserDirectory | None = None) -> "FileDirectory":
        if path is None or not Path(path).exists():
            return cls(None, users)
        return cls(yaml.safe_load(Path(path).read_text()) or {}, users)

    def practice(self, practice_id: str) -> Practice:
        p = self._practices.get(practice_id)
        if not p:
            return Practice(practice_id, f"Practice {practice_id}")
        return Practice(practice_id, str(p.get("name") or f"Practice {practice_id}"), p.get("phone"), p.get("address"))

    def clinician(self, npi: str | None) -> Clinician | None:
        if not npi:
            return None
        c = self._clinicians.get(npi)
        return Clinician(npi, str(c["name"])) if c and c.get("name") else None

    def facility(self, facility_id: str) -> str:
        return self._facilities.get(facility_id, facility_id.title())

    def staff_name(self, user_id: str | None) -> str | None:
        if not user_id:
            return None
        user = self._users.get(user_id) if self._users is not None else None
        return user.name if user is not None else None
