"""X12 837P / 837I (005010X222A1 / 005010X223A2) claims, streamed.

pyx12's raw reader splits the file into segments with the file's own delimiters
(``x12_envelope.Tokens``), the envelope counts are checked as pyx12's ``X12Reader`` checks them
(SE01, SE02, GE, IEA, unique control numbers), and the loops are mapped here - an order of
magnitude faster than pyx12's validating walk (see ``x12_validate`` for that, with a 999).

Loops read: ISA/GS/ST/BHT envelope; 2010AA billing provider (NM1*85); 2010BA subscriber
(NM1*IL NM109 = member id); 2010BB payer (NM1*PR); 2300 claim (CLM, REF*F8, HI, DTP*434/435,
CL1, NM1*82 / NM1*71 providers); 2400 lines (LX, SV1 / SV2, DTP*472, NM1*82 line rendering);
2430 line adjudication (SVD paid amount, CAS patient responsibility) when the 837 is a
post-adjudication encounter / COB file.

Claims of one transaction set are held until its SE arrives (the 837 guides cap a set at
5,000 claims), because a malformed envelope rejects the whole set; the file is never read
whole. A malformed claim is rejected alone with its position (ST control number, segment
number) and a reason that names the segment, never its values.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TextIO

import pyx12.errors

from .records import (
    ParsedClaim, Position, Progress, ProgressCallback, Rejection, validate_claim,
)
from .x12_envelope import EnvelopeChecker, Tokens
from .x12_loops import MAPPED, TransactionState, claim_fields, finish_line, map_segment, v as _v

_CONTROL = frozenset({"ISA", "IEA", "GS", "GE", "ST", "SE"})

SUPPORTED = {"005010X222A1": "professional", "005010X223A2": "institutional",
             "005010X223A1": "institutional", "005010X223A3": "institutional"}
_ST_ERRORS = {
    "2": "SE trailer missing",
    "3": "SE02 does not match ST02",
    "4": "SE01 segment count does not match the segments in the set",
    "23": "ST02 control number is not unique in the group",
}


MAX_RAW_CHARS = 900_000  # a dead letter must stay under the broker's default 1 MB message size


def _join(lines: list[str], term: str) -> str:
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
                 progress_every: int = 5000, reject_sets: Mapping[str, str] | None = None) -> None:
        self.source_file = source_file
        self.reject_sets = dict(reject_sets or {})
        self.on_progress = on_progress
        self.progress_every = progress_every
        self.progress = Progress()
        self.seg_term = "~"

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
        problems = tx.errors + extra
        if tx.control in self.reject_sets:
            problems.append(self.reject_sets[tx.control])
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
        except pyx12.errors.X12Error:
            self.progress.rejected += 1
            yield Rejection("not an X12 5010 interchange: the file must start with a 106-character ISA "
                            "segment (version 00501)", self._pos(None), "file")
            self._done(counter)
            return
        self.seg_term = tokens.seg_term
        envelope = EnvelopeChecker()
        pending_env: list[tuple] = []  # ISA/GS errors, reported at the next GE / IEA / end of file
        orphans: list[str] = []  # segments outside any transaction set (its ST missing or damaged)
        tx: TransactionState | None = None
        group_kind: str | None = None
        group_error: str | None = None
        try:
            for sid, els, line in tokens:
                self._tick(counter)
                errs = envelope.check(sid, els)
                if errs:
                    st_errs = [e for e in errs if e[0] == "st"]
                    pending_env.extend(e for e in errs if e[0] in ("isa", "gs"))
                else:
                    st_errs = errs
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
                    tx = TransactionState(_v(els, 2), group_kind)
                    tx.raw.append(line)
                    tx.errors.extend(_ST_ERRORS.get(e[1], f"transaction set envelope error {e[1]}") for e in st_errs)
                    if _v(els, 1) != "837":
                        tx.errors.append("ST01 is not 837")
                    elif group_error:
                        tx.errors.append(group_error)
                    elif tx.kind is None:
                        tx.errors.append("no GS functional group before ST")
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
                    version = _v(els, 8)
                    group_kind = SUPPORTED.get(version)
                    group_error = None
                    if _v(els, 1) != "HC":
                        group_error = "GS01 is not HC (health care claim)"
                    elif group_kind is None:
                        group_error = "GS08 is not a supported 837 version (005010X222A1, 005010X223A2)"
                    continue
                if sid in ("GE", "IEA"):
                    if tx is not None:
                        yield from self._flush(tx, [f"no SE trailer before {sid}"])
                        tx = None
                    yield from self._envelope_rejections(pending_env)
                    continue
                # ISA: nothing more to do
        except pyx12.errors.X12Error:
            pending_env.append(("isa", "ISA", "an ISA segment inside the file is malformed"))
        if tx is not None:
            yield from self._flush(tx, ["file ended without an SE trailer"])
        if orphans:
            yield from self._orphans(orphans)
        pending_env.extend(e for e in envelope.finish() if e[0] in ("isa", "gs"))
        yield from self._envelope_rejections(pending_env)
        self._done(counter)

    def _orphans(self, orphans: list[str]) -> Iterator[Rejection]:
        claims = sum(1 for line in orphans if line.startswith("CLM"))
        self.progress.rejected += 1
        yield Rejection(f"{len(orphans)} segment(s) outside a transaction set (its ST segment is missing or damaged)"
                        + (f"; {claims} claim(s) not loaded" if claims else ""), self._pos(None), "transaction",
                        raw=_join(orphans, self.seg_term))
        orphans.clear()

    def _envelope_rejections(self, pending: list[tuple]) -> Iterator[Rejection]:
        for e in pending:
            self.progress.rejected += 1
            yield Rejection(f"envelope: {_envelope_words(e)}", Position(self.source_file), "group")
        pending.clear()

    def _done(self, counter: _Counting) -> None:
        self.progress.bytes_read = counter.count
        self.progress.done = True
        if self.on_progress:
            self.on_progress(self.progress)

def _envelope_words(err: tuple) -> str:
    kind, code, text = err[0], err[1], err[2]
    # pyx12's texts name control numbers and counts only; keep them short.
    return f"{kind.upper()} error {code}: {text[:160]}"


def iter_837(
    source: str | os.PathLike[str] | TextIO,
    on_progress: ProgressCallback | None = None,
    *,
    source_file: str | None = None,
    progress_every: int = 5000,
    reject_sets: Mapping[str, str] | None = None,
) -> Iterator[ParsedClaim | Rejection]:
    """Claims of an 837P / 837I file (or open text stream), in file order, with rejections.

    ``on_progress`` gets a ``Progress`` every ``progress_every`` segments and at the end.
    ``reject_sets``: ST control number → reason, for transaction sets rejected elsewhere (the
    validating walk's 999): they are rejected whole, with their text, like a broken envelope.
    """
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        parser = Parser837(source_file or path.name, on_progress, progress_every, reject_sets)
        parser.progress.total_bytes = path.stat().st_size
        with path.open("r", encoding="latin-1", newline="") as fh:
            yield from parser.records(fh)
    else:
        parser = Parser837(source_file, on_progress, progress_every, reject_sets)
        yield from parser.records(source)
