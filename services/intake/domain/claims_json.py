"""JSON claims: JSON lines (one object per line, streamed) or one JSON document (an array, or
``{"claims": [...]}``), each object either

- a claim: ``ClaimV2`` body fields with nested ``lines``; what orders the versions of one
  claim is what they say: ``version_sequence``, ``adjudication_date``, ``received_date``,
  ``submitted_at`` (when the sender made the version, like an 837's BHT time; an
  ``occurred_at`` key is read as the same, and is also the event's time), or
- a claim line: the claims CSV columns (``shared.formats.CLAIM_CSV_COLUMNS``) as keys, lists
  allowed for ``diagnoses`` / ``modifiers``; lines of one claim are contiguous, as in the CSV,
  and go through the same grouping and checks (``claims_csv.ClaimRowGrouper``).

Positions are the object's line number (JSON lines) or its 1-based index in the array.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from shared.formats import CLAIM_CSV_COLUMNS, CLAIM_CSV_VERSION_COLUMNS, LIST_SEPARATOR

from .claims_csv import ClaimRowGrouper
from .csv_common import MAX_RAW_CHARS, NUL_IN_ROW, unknown_names
from .records import ParsedClaim, Position, Progress, ProgressCallback, Rejection, validate_claim

_KNOWN_LINE_KEYS = frozenset(CLAIM_CSV_COLUMNS + CLAIM_CSV_VERSION_COLUMNS)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return LIST_SEPARATOR.join(_text(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _raw(obj: Any) -> str:
    try:
        return json.dumps(obj, default=str) + "\n"
    except (TypeError, ValueError):  # pragma: no cover - json.loads output always dumps
        return ""


class _JsonClaims:
    def __init__(self, progress: Progress, source_file: str | None) -> None:
        self.progress = progress
        self.source_file = source_file
        self.grouper = ClaimRowGrouper(progress, source_file)

    def item(self, n: int, obj: Any) -> Iterator[ParsedClaim | Rejection]:
        progress = self.progress
        pos = Position(self.source_file, lines=(n,))
        raw = _raw(obj)
        if "\\u0000" in raw:  # a database refuses NUL in text: never let one through
            yield from self.grouper.finish()
            progress.rejected += 1
            member = _text(obj.get("member_id")).strip() or None if isinstance(obj, dict) else None
            yield Rejection(NUL_IN_ROW, pos, "row", raw=raw, key=member)
            return
        if not isinstance(obj, dict):
            yield from self.grouper.finish()
            progress.rejected += 1
            yield Rejection("not a JSON object", pos, "row", raw=_raw(obj))
            return
        member = _text(obj.get("member_id")).strip() or None
        if isinstance(obj.get("lines"), list):
            yield from self.grouper.finish()
            yield self._claim(obj, pos, member)
            return
        unknown = [(i, str(k)) for i, k in enumerate(obj, 1) if k not in _KNOWN_LINE_KEYS]
        if unknown:  # named by position (and a likely meant column): a key may be patient data
            yield from self.grouper.finish()
            progress.rejected += 1
            yield Rejection("unknown field(s) on a claim line: " + unknown_names(unknown, CLAIM_CSV_COLUMNS, "field", name_fields=True)
                            + " (a claim needs a lines list; a claim line the claims CSV columns)", pos, "line",
                            raw=_raw(obj), key=member)
            return

        def get(name: str, _obj=obj) -> str:
            return _text(_obj.get(name))

        yield from self.grouper.add(n, get, _raw(obj))

    def _claim(self, obj: dict, pos: Position, member: str | None) -> ParsedClaim | Rejection:
        progress = self.progress
        fields = dict(obj)
        created = None
        stamp = fields.pop("occurred_at", None)
        if stamp is not None:
            try:
                created = datetime.fromisoformat(str(stamp))
            except ValueError:
                created = None
            if created is None or created.tzinfo is None:
                progress.rejected += 1
                return Rejection("occurred_at is not an ISO date-time with a time zone", pos, "claim",
                                 raw=_raw(obj), key=member)
        if created is not None:
            fields.setdefault("submitted_at", created)
        fields.setdefault("source_file", self.source_file)
        checked = validate_claim(fields)
        if isinstance(checked, str):
            progress.rejected += 1
            return Rejection(checked, pos, "claim", raw=_raw(obj), key=member)
        progress.accepted += 1
        progress.lines += len(checked.lines)
        return ParsedClaim(checked, pos, created)

    def finish(self) -> Iterator[ParsedClaim | Rejection]:
        yield from self.grouper.finish()


class _CountingReader:
    def __init__(self, fh: TextIO) -> None:
        self._fh = fh
        self.count = 0

    def readline(self) -> str:
        line = self._fh.readline()
        self.count += len(line)
        return line

    def read(self) -> str:
        data = self._fh.read()
        self.count += len(data)
        return data


def iter_claims_json(
    source: str | os.PathLike[str] | TextIO,
    on_progress: ProgressCallback | None = None,
    *,
    source_file: str | None = None,
    progress_every: int = 5000,
) -> Iterator[ParsedClaim | Rejection]:
    """Claims of a JSON-lines file (streamed) or a JSON array document, with rejections."""
    progress = Progress()
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        progress.total_bytes = path.stat().st_size
        source_file = source_file or path.name
        with path.open("r", encoding="utf-8-sig", errors="replace") as fh:
            yield from _walk(_CountingReader(fh), progress, source_file, on_progress, progress_every)
    else:
        yield from _walk(_CountingReader(source), progress, source_file, on_progress, progress_every)


def _walk(reader: _CountingReader, progress: Progress, source_file: str | None,
          on_progress: ProgressCallback | None, every: int) -> Iterator[ParsedClaim | Rejection]:
    claims = _JsonClaims(progress, source_file)
    first = reader.readline()
    line_no = 1
    while first and not first.strip():
        first = reader.readline()
        line_no += 1
    if not first:
        progress.rejected += 1
        yield Rejection("the file is empty", Position(source_file), "file", raw="")
        _done(progress, reader, on_progress)
        return
    try:
        head = json.loads(first)
        lines_mode = isinstance(head, dict) and "claims" not in head
    except (ValueError, RecursionError):  # not JSON, an integer too long, nesting too deep
        head, lines_mode = None, False
    if lines_mode:
        n = line_no
        text: str | None = first
        while text:
            if text.strip():
                progress.units += 1
                if on_progress and progress.units % every == 0:
                    progress.bytes_read = reader.count
                    on_progress(progress)
                reason = None
                try:
                    obj = json.loads(text)
                except json.JSONDecodeError as exc:
                    reason = f"not valid JSON (column {exc.colno})"
                except (ValueError, RecursionError):
                    reason = "not JSON this service reads (a number too long or nesting too deep)"
                if reason is not None:
                    yield from claims.finish()
                    progress.rejected += 1
                    yield Rejection(reason, Position(source_file, lines=(n,)), "row",
                                    raw=(text if text.endswith("\n") else text + "\n")[:MAX_RAW_CHARS])
                else:
                    yield from claims.item(n, obj)
            text = reader.readline()
            n += 1
    else:
        doc_text = first + reader.read()
        reason = None
        try:
            doc = json.load(io.StringIO(doc_text))
        except json.JSONDecodeError as exc:
            reason = f"not JSON lines and not a JSON document (line {exc.lineno}, column {exc.colno})"
        except (ValueError, RecursionError):
            reason = "not JSON this service reads (a number too long or nesting too deep)"
        if reason is not None:
            progress.rejected += 1
            yield Rejection(reason, Position(source_file), "file", raw=doc_text[:MAX_RAW_CHARS])
            _done(progress, reader, on_progress)
            return
        items = doc.get("claims") if isinstance(doc, dict) else doc
        if not isinstance(items, list):
            progress.rejected += 1
            yield Rejection('a JSON document must be an array or {"claims": [...]}', Position(source_file), "file",
                            raw=doc_text[:MAX_RAW_CHARS])
            _done(progress, reader, on_progress)
            return
        for i, obj in enumerate(items, 1):
            progress.units += 1
            yield from claims.item(i, obj)
    yield from claims.finish()
    _done(progress, reader, on_progress)


def _done(progress: Progress, reader: _CountingReader, on_progress: ProgressCallback | None) -> None:
    progress.bytes_read = reader.count
    progress.done = True
    if on_progress:
        on_progress(progress)
