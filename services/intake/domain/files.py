"""What a load reads of its input file before parsing it: the format, the SHA-256 (a claims
file already loaded is found by it) and the first bytes (a dead letter for a rejection that
carries no text of its own)."""

from __future__ import annotations

import hashlib
from pathlib import Path

HEAD_BYTES = 64 * 1024
FORMATS = ("x12", "csv", "json")


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def detect_format(path: Path) -> str:
    """x12 | csv | json, by the file's first bytes (then its extension)."""
    with path.open("rb") as fh:
        head = fh.read(512).lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"ISA"):
        return "x12"
    if head[:1] in (b"{", b"["):
        return "json"
    ext = path.suffix.lower()
    if ext in (".x12", ".edi", ".837"):
        return "x12"
    if ext in (".json", ".jsonl", ".ndjson"):
        return "json"
    return "csv"


def read_head(path: Path, limit: int = HEAD_BYTES) -> bytes:
    with path.open("rb") as fh:
        return fh.read(limit)
