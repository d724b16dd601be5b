"""Which 837 implementation guides this service reads, and which pyx12 map validates each.

The version of a transaction set is its ST03 (5010: the implementation convention reference),
else its group's GS08. 005010X222A1/A2 (837P) and 005010X223A1/A2/A3 (837I) are read; the
errata (A2, A3) changed situational rules and code lists, not the loops this service maps.
pyx12 ships maps for 005010X222A1 and 005010X223A2 only: the other versions are validated
against the nearest map of their guide (the report says so).
"""

from __future__ import annotations

import re

SUPPORTED: dict[str, str] = {
    "005010X222A1": "professional",
    "005010X222A2": "professional",
    "005010X223A1": "institutional",
    "005010X223A2": "institutional",
    "005010X223A3": "institutional",
}
SUPPORTED_TEXT = "005010X222A1/A2 (837P), 005010X223A1/A2/A3 (837I)"

# GS08 -> the GS08 of the pyx12 map that validates it (pyx12/map/maps.xml, ICVN 00501, GS01 HC)
PYX12_MAPS = {"005010X222A1", "005010X223A2"}
NEAREST_MAP: dict[str, str] = {
    "005010X222A1": "005010X222A1",
    "005010X222A2": "005010X222A1",
    "005010X223A1": "005010X223A2",
    "005010X223A2": "005010X223A2",
    "005010X223A3": "005010X223A2",
}

_KNOWN_OTHERS = {
    "005010X224": "an 837D dental claim",
    "004010X098": "a 4010 837P (replaced by 5010 in 2012)",
    "004010X096": "a 4010 837I (replaced by 5010 in 2012)",
    "004010X097": "a 4010 837D",
    "005010X221": "an 835 remittance",
    "005010X220": "an 834 enrollment",
    "005010X231": "a 999 acknowledgment",
    "005010X212": "a 276/277 claim status",
    "005010X279": "a 270/271 eligibility",
}
_SAFE = re.compile(r"[0-9A-Z]{1,15}")


def normalize(version: str) -> str:
    return version.strip().upper()


def shown(value: str) -> str:
    """An envelope code as it may appear in a report: letters and digits only, else a word."""
    value = value.strip().upper()
    if not value:
        return "empty"
    return value if _SAFE.fullmatch(value) else "an unreadable value"


def kind_of(version: str) -> str | None:
    return SUPPORTED.get(normalize(version))


def unsupported_reason(element: str, version: str) -> str:
    """Why ``version`` (found in ``element``, GS08 or ST03) is refused, naming what was found."""
    v = normalize(version)
    what = next((text for prefix, text in _KNOWN_OTHERS.items() if v.startswith(prefix)), None)
    found = shown(v)
    if what:
        return f"{element} is {found}, {what}: this service reads {SUPPORTED_TEXT}"
    if found == "empty":
        return f"{element} (the implementation guide version) is empty: this service reads {SUPPORTED_TEXT}"
    return f"{element} is {found}, not an 837 version this service reads ({SUPPORTED_TEXT})"


def set_version(gs08: str, st03: str) -> tuple[str, str | None, str | None]:
    """(the set's version, its kind or None, a warning or None) from GS08 and ST03."""
    g, s = normalize(gs08), normalize(st03)
    if s and s != g:
        if s in SUPPORTED:
            note = (f"ST03 ({s}) differs from GS08 ({shown(g)}): the set was read as ST03 says"
                    if g else None)
            return s, SUPPORTED[s], note
        if g in SUPPORTED:
            return g, SUPPORTED[g], f"ST03 is {shown(s)}, GS08 is {g}: the set was read as GS08 says"
    version = s or g
    return version, SUPPORTED.get(version), None
