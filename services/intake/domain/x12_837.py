"""X12 837P / 837I claims (005010X222A1/A2, 005010X223A1/A2/A3), streamed.

``x12_tokens.Tokens`` splits the file with its own delimiters, leniently (byte-order mark,
terminator variants, ISA padding, blank and lower-case segments, a mismatched component
separator: see there); the envelope counts are checked as pyx12's ``X12Reader`` checks them
(``x12_envelope``), and the loops are mapped here (``x12_loops``, ``x12_segments``) - an order of magnitude
faster than pyx12's validating walk (``x12_validate``, with a 999).

What rejects what:

- nothing readable as an interchange (no ISA, UTF-16): the file;
- a transaction set that is not an 837 of a supported version (the reason names the version
  found), a broken set envelope (SE missing, SE01 count or SE02 wrong, ST02 repeated), a set
  the validating walk rejected: the set, whole, with its text;
- a claim that cannot be read (a bad date or amount, no service line, no member id, a
  dependent patient without an id of their own): the claim alone, with its subscriber loop;
- ISA / GS trailer problems (a count, a control number, a missing GE or IEA after complete
  sets) do not lose a claim: they are warnings.

Claims of one transaction set are held until its SE arrives (the 837 guides cap a set at
5,000 claims), because a malformed set envelope rejects the whole set; the file is never
read whole. Rejection reasons and warnings name segments, elements and rules, never values.
``Parser837.warnings`` counts the warnings (fixed sentences) for the load report.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TextIO

import pyx12.errors

from .records import (
    ParsedClaim, Position, Progress, ProgressCallback, Rejection, validate_claim,
)
from .x12_envelope import EnvelopeChecker
from .x12_loops import MAPPED, TransactionState, claim_fields, finish_line, v as _v
from .x12_segments import map_segment
from .x12_tokens import Tokens, X12FormatError
from .x12_versions import SUPPORTED, set_version, shown, unsupported_reason

_CONTROL = frozenset({"ISA", "IEA", "GS", "GE", "ST", "SE"})
_ST_ERRORS = {
    "2": "SE trailer missing",
    "3": "SE02 does not match ST02",
    "4": "SE01 segment count does not match the segments in the set",
    "23": "ST02 control number is not unique in the group",
}

__all__ = ["SUPPORTED", "Parser837", "iter_837"]

MAX_RAW_CHARS = 900_000  # a dead letter must stay under the broker's default 1 MB message size


def _join(lines: list[str], term: str) -> str:
    term = "~" if term == "\n" else term
    text = "".join(line + term + "\n" for line in lines)
    return text if len(text) <= MAX_RAW_CHARS else text[:MAX_RAW_CHARS]


class _Counting:
    """File wrapper that counts characters read (latin-1: one per byte) for progress."""

    def __init__(self, fh: TextIO) -> None:
        self._fh = fh
        self.count = 0

    @property
    def closed(self) -> bool:
        return self._fh.closed

    def read(self, n: int = -1) -> str:
        data = self._fh.read(n)
        self.count += len(data)
        return data


class Parser837:
    """Streaming 837 parser; iterate ``records()`` for ``ParsedClaim`` / ``Rejection``."""

    def __init__(self, source_file: str | None = None, on_progress: ProgressCallback | None = None,
                 progress_every: int = 5000, reject_sets: Mapping[str, str] | None = None,
                 reject_all: str | None = None) -> None:
        self.source_file = source_file
        self.reject_sets = dict(reject_sets or {})
        self.reject_all = reject_all  # every set is rejected with this reason (validation could not run)
        self.on_progress = on_progress
        self.progress_every = progress_every
        self.progress = Progress()
        self.seg_term = "~"
        self.warnings: Counter[str] = Counter()
        self.versions: Counter[str] = Counter()  # transaction sets per (supported) version read

    # -- helpers -------------------------------------------------------------------------
    def _pos(self, tx: TransactionState | None, segment: int | None = None, index: int | None = None) -> Position:
        return Position(source_file=self.source_file, st_control_number=tx.control if tx else None,
                        segment_number=segment, claim_index=index)

    def _finish_claim(self, tx: TransactionState) -> None:
        claim = tx.claim
        if claim is None:
            return
        tx.claim = None
        finish_line(claim)
        pos = self._pos(tx, claim.segment, claim.index)
        if claim.errors:
            tx.claims.append(self._reject(tx, claim, claim.errors[0], pos))
            return
        fields = claim_fields(tx, claim, self.source_file)
        if isinstance(fields, str):
            tx.claims.append(self._reject(tx, claim, fields, pos))
            return
        checked = validate_claim(fields)
        if isinstance(checked, str):
            tx.claims.append(self._reject(tx, claim, checked, pos))
        else:
            tx.claims.append(ParsedClaim(checked, pos, tx.created_at))

    def _reject(self, tx: TransactionState, claim, reason: str, pos: Position) -> Rejection:
        return Rejection(reason, pos, "claim", raw=_join(tx.claim_raw(claim), self.seg_term), key=claim.member_id)

    def _tick(self, counter: _Counting | None) -> None:
        p = self.progress
        p.units += 1
        if self.on_progress and p.units % self.progress_every == 0:
            if counter is not None:
                p.bytes_read = counter.count
            self.on_progress(p)

    def _flush(self, tx: TransactionState, extra: list[str]) -> Iterator[ParsedClaim | Rejection]:
        self._finish_claim(tx)
        self.warnings.update(set(tx.notes))
        problems = tx.errors + extra
        if tx.control in self.reject_sets:
            problems.append(self.reject_sets[tx.control])
        if self.reject_all:
            problems.append(self.reject_all)
        if problems:
            n = sum(1 for r in tx.claims if isinstance(r, ParsedClaim))
            self.progress.rejected += 1
            yield Rejection(f"transaction set rejected: {problems[0]}"
                            + (f" ({n} claims not loaded)" if n else ""), self._pos(tx), "transaction",
                            raw=_join(tx.raw, self.seg_term))
            return
        for r in tx.claims:
            if isinstance(r, ParsedClaim):
                self.progress.accepted += 1
                self.progress.lines += r.line_count
            else:
                self.progress.rejected += 1
            yield r

    # -- the walk ------------------------------------------------------------------------
    def records(self, fh: TextIO) -> Iterator[ParsedClaim | Rejection]:
        counter = _Counting(fh)
        try:
            tokens = Tokens(counter)
        except pyx12.errors.X12Error as exc:
            self.progress.rejected += 1
            reason = str(exc) if isinstance(exc, X12FormatError) else "the file is not an X12 interchange"
            yield Rejection(f"not a readable X12 interchange: {reason}", self._pos(None), "file")
            self._done(counter)
            return
        self.seg_term = tokens.seg_term
        envelope = EnvelopeChecker()
        orphans: list[str] = []  # segments outside any transaction set (its ST missing or damaged)
        tx: TransactionState | None = None
        gs08 = ""
        group_error: str | None = None
        in_group = False
        try:
            for sid, els, line in tokens:
                self._tick(counter)
                errs = envelope.check(sid, els)
                st_errs = [e for e in errs if e[0] == "st"]
                for e in errs:
                    if e[0] != "st":
                        self.warnings[f"envelope: {e[2]}"] += 1
                if sid not in _CONTROL:
                    if tx is None:
                        orphans.append(line)  # no set to belong to: rejected with its text at the next envelope
                        continue
                    tx.segments += 1
                    if sid in MAPPED:
                        try:
                            map_segment(tx, sid, els, self._finish_claim)
                        except (ValueError, IndexError) as exc:
                            if tx.claim is not None:
                                tx.claim.errors.append(f"{sid} segment: {exc}")
                            else:
                                tx.errors.append(f"{sid} segment: {exc}")
                    if "\x00" in line:  # a database refuses NUL in text: never let one through
                        (tx.claim.errors if tx.claim is not None else tx.errors).append(
                            f"{sid} segment contains a NUL character")
                    tx.raw.append(line)
                    continue
                if orphans and sid != "SE":
                    yield from self._orphans(orphans)
                if sid == "ST":
                    if tx is not None:
                        yield from self._flush(tx, ["no SE trailer before the next ST"])
                    tx = self._start_set(els, st_errs, gs08, group_error, in_group)
                    tx.raw.append(line)
                    continue
                if sid == "SE":
                    if tx is None:
                        if orphans:
                            orphans.append(line)
                            yield from self._orphans(orphans)
                        continue
                    tx.segments += 1
                    extra = [_ST_ERRORS.get(e[1], f"transaction set envelope error {e[1]}") for e in st_errs]
                    self._finish_claim(tx)  # before SE joins the set's text: the claim ends at its last line
                    tx.raw.append(line)
                    yield from self._flush(tx, extra)
                    tx = None
                    continue
                if sid == "GS":
                    in_group = True
                    gs08 = _v(els, 8)
                    group_error = None if _v(els, 1).upper() == "HC" else \
                        f"GS01 is {shown(_v(els, 1))}, not HC (health care claim)"
                    continue
                if sid in ("GE", "IEA"):
                    if tx is not None:
                        yield from self._flush(tx, [f"no SE trailer before {sid}"])
                        tx = None
                    if sid == "GE":
                        in_group, gs08, group_error = False, "", None
                    continue
                # ISA: a new interchange
                in_group, gs08, group_error = False, "", None
        except X12FormatError as exc:
            if tx is not None:
                yield from self._flush(tx, ["the file continues with an unreadable ISA segment"])
                tx = None
            rest = exc.rest or ""
            claims = sum(1 for seg in rest.split(self.seg_term) if seg.lstrip().upper().startswith("CLM"))
            self.progress.rejected += 1
            yield Rejection(f"{exc}: the rest of the file is not loaded"
                            + (f" ({claims} claim(s))" if claims else ""), self._pos(None), "group",
                            raw=rest[:MAX_RAW_CHARS])
        except pyx12.errors.X12Error:
            if tx is not None:
                yield from self._flush(tx, ["the file continues with an unreadable ISA segment"])
                tx = None
        if tx is not None:
            yield from self._flush(tx, ["file ended without an SE trailer"])
        if orphans:
            yield from self._orphans(orphans)
        for e in envelope.finish():
            if e[0] != "st":
                self.warnings[f"envelope: {e[2]}"] += 1
        for note in tokens.notes:
            self.warnings[note] += 1
        self._done(counter)

    def _start_set(self, els, st_errs, gs08: str, group_error: str | None, in_group: bool) -> TransactionState:
        version, kind, note = set_version(gs08, _v(els, 3))
        tx = TransactionState(_v(els, 2), kind)
        tx.errors.extend(_ST_ERRORS.get(e[1], f"transaction set envelope error {e[1]}") for e in st_errs)
        if note:
            tx.notes.append(note)
        st01, st03 = _v(els, 1), _v(els, 3)
        if st01 != "837":
            tx.errors.append(f"ST01 is {shown(st01)}, not 837 (health care claim)")
        elif group_error:
            tx.errors.append(group_error)
        elif kind is None:
            if not in_group and not st03:
                tx.errors.append("no GS functional group before ST, and no ST03 version to read the set by")
            else:
                where = "ST03" if st03 and version == st03.upper() else "GS08"
                if st03 and gs08.strip().upper() == st03.strip().upper():
                    where = "GS08 (and ST03)"
                tx.errors.append(unsupported_reason(where, version))
        else:
            self.versions[version] += 1
            if not in_group:
                tx.notes.append("a transaction set outside a GS functional group: read by its ST03 version")
        return tx

    def _orphans(self, orphans: list[str]) -> Iterator[Rejection]:
        claims = sum(1 for line in orphans if line.upper().startswith("CLM"))
        self.progress.rejected += 1
        yield Rejection(f"{len(orphans)} segment(s) outside a transaction set (its ST segment is missing or damaged)"
                        + (f"; {claims} claim(s) not loaded" if claims else ""), self._pos(None), "transaction",
                        raw=_join(orphans, self.seg_term))
        orphans.clear()

    def _done(self, counter: _Counting) -> None:
        self.progress.bytes_read = counter.count
        self.progress.done = True
        if self.on_progress:
            self.on_progress(self.progress)


def iter_837(
    source: str | os.PathLike[str] | TextIO,
    on_progress: ProgressCallback | None = None,
    *,
    source_file: str | None = None,
    progress_every: int = 5000,
    reject_sets: Mapping[str, str] | None = None,
    parser: Parser837 | None = None,
) -> Iterator[ParsedClaim | Rejection]:
    """Claims of an 837P / 837I file (or open text stream), in file order, with rejections.

    ``on_progress`` gets a ``Progress`` every ``progress_every`` segments and at the end.
    ``reject_sets``: ST control number → reason, for transaction sets rejected elsewhere (the
    validating walk's 999): they are rejected whole, with their text, like a broken envelope.
    ``parser``: a ``Parser837`` to use (the caller reads its ``warnings`` afterwards).
    """
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        parser = parser or Parser837(source_file or path.name, on_progress, progress_every, reject_sets)
        parser.progress.total_bytes = path.stat().st_size
        with path.open("r", encoding="latin-1", newline="") as fh:
            yield from parser.records(fh)
    else:
        parser = parser or Parser837(source_file, on_progress, progress_every, reject_sets)
        yield from parser.records(source)
