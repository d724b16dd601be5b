"""X12 837P / 837I (005010X222A1 / 005010X223A2) claims, streamed.

pyx12's ``X12Reader`` tokenizes segments with the file's own delimiters and checks the
envelope counts (SE01, SE02, GE, IEA); the loops are mapped here, which is an order of
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
from collections.abc import Iterator
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TextIO

import pyx12.errors
from pyx12.x12file import X12Reader

from .records import (
    ParsedClaim, Position, Progress, ProgressCallback, Rejection, validate_claim_fields,
)

SUPPORTED = {"005010X222A1": "professional", "005010X223A2": "institutional",
             "005010X223A1": "institutional", "005010X223A3": "institutional"}
DX_QUALIFIERS = frozenset({"ABK", "ABF", "BK", "BF"})
# CLM05-3 claim frequency → ClaimV1.frequency_code. Interim / late-charge bills (2-5) are new
# information about the stay, not replacements; 6 (corrected) replaces like 7.
FREQUENCY = {"1": "1", "2": "1", "3": "1", "4": "1", "5": "1", "6": "7", "7": "7", "8": "8"}


_ST_ERRORS = {
    "2": "SE trailer missing",
    "3": "SE02 does not match ST02",
    "4": "SE01 segment count does not match the segments in the set",
    "23": "ST02 control number is not unique in the group",
}


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


def _els(seg: Any) -> list[list[str]]:
    """A pyx12 segment as lists of sub-element strings (element 1 at index 0)."""
    return [[e.value for e in comp.elements] for comp in seg.elements]


def _v(els: list[list[str]], i: int, sub: int = 1) -> str:
    if i <= len(els):
        comp = els[i - 1]
        if sub <= len(comp):
            return comp[sub - 1].strip()
    return ""


def _d8(text: str) -> date:
    return date(int(text[0:4]), int(text[4:6]), int(text[6:8])) if len(text) >= 8 and text[:8].isdigit() \
        else _bad_date()


def _bad_date() -> date:
    raise ValueError("not a date")


def _amount(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ValueError("not an amount") from None


class _Claim:
    __slots__ = ("els", "segment", "index", "errors", "ref_f8", "dx", "stmt_from", "stmt_to",
                 "admit", "status", "rendering", "attending", "lines", "line", "in_lines")

    def __init__(self, els: list[list[str]], segment: int, index: int) -> None:
        self.els = els
        self.segment = segment
        self.index = index
        self.errors: list[str] = []
        self.ref_f8: str | None = None
        self.dx: list[str] = []
        self.stmt_from: date | None = None
        self.stmt_to: date | None = None
        self.admit: date | None = None
        self.status: str | None = None
        self.rendering: str | None = None
        self.attending: str | None = None
        self.lines: list[dict[str, Any]] = []
        self.line: dict[str, Any] | None = None
        self.in_lines = False


class _Transaction:
    __slots__ = ("control", "kind", "created_at", "claims", "errors", "segments", "billing_npi",
                 "member_id", "payer_id", "claim", "claim_count", "hl_level")

    def __init__(self, control: str, kind: str | None) -> None:
        self.control = control
        self.kind = kind
        self.created_at: datetime | None = None
        self.claims: list[ParsedClaim | Rejection] = []
        self.errors: list[str] = []
        self.segments = 1
        self.billing_npi: str | None = None
        self.member_id: str | None = None
        self.payer_id: str | None = None
        self.claim: _Claim | None = None
        self.claim_count = 0
        self.hl_level = ""


class Parser837:
    """Streaming 837 parser; iterate ``records()`` for ``ParsedClaim`` / ``Rejection``."""

    def __init__(self, source_file: str | None = None, on_progress: ProgressCallback | None = None,
                 progress_every: int = 5000) -> None:
        self.source_file = source_file
        self.on_progress = on_progress
        self.progress_every = progress_every
        self.progress = Progress()

    # -- helpers -------------------------------------------------------------------------
    def _pos(self, tx: _Transaction | None, segment: int | None = None, index: int | None = None) -> Position:
        return Position(source_file=self.source_file, st_control_number=tx.control if tx else None,
                        segment_number=segment, claim_index=index)

    def _finish_line(self, claim: _Claim) -> None:
        if claim.line is not None:
            claim.lines.append(claim.line)
            claim.line = None

    def _finish_claim(self, tx: _Transaction) -> None:
        claim = tx.claim
        if claim is None:
            return
        tx.claim = None
        self._finish_line(claim)
        pos = self._pos(tx, claim.segment, claim.index)
        if claim.errors:
            tx.claims.append(Rejection(claim.errors[0], pos, "claim"))
            return
        fields = self._claim_fields(tx, claim)
        if isinstance(fields, str):
            tx.claims.append(Rejection(fields, pos, "claim"))
            return
        checked = validate_claim_fields(fields)
        if isinstance(checked, str):
            tx.claims.append(Rejection(checked, pos, "claim"))
        else:
            tx.claims.append(ParsedClaim(checked, pos, tx.created_at))

    def _claim_fields(self, tx: _Transaction, c: _Claim) -> dict[str, Any] | str:
        els = c.els
        if not tx.member_id:
            return "no subscriber member id (2010BA NM1*IL NM109) before the claim"
        claim_id = _v(els, 1)
        if not claim_id:
            return "CLM01 (claim id) is empty"
        freq_raw = _v(els, 5, 3)
        freq = FREQUENCY.get(freq_raw or "1")
        if freq is None:
            return "CLM05-3 frequency code is not one of 1-8"
        try:
            total = _amount(_v(els, 2) or "0")
        except ValueError:
            return "CLM02 (total charge) is not an amount"
        facility = _v(els, 5, 1)
        institutional = tx.kind == "institutional"
        if not c.lines:
            return "the claim has no service lines (2400 LX)"
        lines = []
        paid_total: Decimal | None = None
        for n, ln in enumerate(c.lines, 1):
            svc = ln.get("service_date") or c.stmt_from
            end = ln.get("service_date_end")
            if svc is None:
                return f"service line {n}: no service date (DTP*472) and no statement dates (DTP*434)"
            if ln.get("paid_amount") is not None:
                paid_total = (paid_total or Decimal(0)) + ln["paid_amount"]
            lines.append({
                "line_number": ln.get("line_number") or n,
                "procedure_code": ln.get("procedure_code") or "",
                "modifiers": tuple(ln.get("modifiers") or ()),
                "revenue_code": ln.get("revenue_code"),
                "service_date": svc,
                "service_date_end": end if end and end != svc else None,
                "units": ln.get("units", Decimal(1)),
                "charge_amount": ln.get("charge_amount", Decimal(0)),
                "allowed_amount": ln.get("allowed_amount"),
                "paid_amount": ln.get("paid_amount"),
                "place_of_service": ln.get("place_of_service"),
                "diagnosis_pointers": tuple(ln.get("diagnosis_pointers") or ()),
                "rendering_npi": ln.get("rendering_npi"),
            })
        discharge = None
        if institutional and c.admit and c.status and c.status != "30":
            discharge = c.stmt_to
        return {
            "member_id": tx.member_id,
            "claim_id": claim_id,
            "frequency_code": freq,
            "original_claim_id": c.ref_f8,
            "claim_type": "institutional" if institutional else "professional",
            "payer_id": tx.payer_id,
            "billing_npi": tx.billing_npi,
            "rendering_npi": c.rendering,
            "attending_npi": c.attending,
            "place_of_service": None if institutional else (facility or None),
            "type_of_bill": (facility + (freq_raw or "1")) if institutional and facility else None,
            "admission_date": c.admit,
            "discharge_date": discharge,
            "discharge_status": c.status if institutional else None,
            "statement_from": c.stmt_from,
            "statement_to": c.stmt_to,
            "diagnoses": tuple(c.dx),
            "lines": tuple(lines),
            "total_charge": total,
            "paid_amount": paid_total,
            "source_file": self.source_file,
        }

    def _tick(self, counter: _Counting | None) -> None:
        p = self.progress
        p.units += 1
        if self.on_progress and p.units % self.progress_every == 0:
            if counter is not None:
                p.bytes_read = counter.count
            self.on_progress(p)

    def _flush(self, tx: _Transaction, extra: list[str]) -> Iterator[ParsedClaim | Rejection]:
        self._finish_claim(tx)
        problems = tx.errors + extra
        if problems:
            n = sum(1 for r in tx.claims if isinstance(r, ParsedClaim))
            self.progress.rejected += 1
            yield Rejection(f"transaction set rejected: {problems[0]}"
                            + (f" ({n} claims not loaded)" if n else ""), self._pos(tx), "transaction")
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
            reader = X12Reader(counter)
        except pyx12.errors.X12Error:
            self.progress.rejected += 1
            yield Rejection("not an X12 5010 interchange: the file must start with a 106-character ISA "
                            "segment (version 00501)", self._pos(None), "file")
            self._done(counter)
            return
        tx: _Transaction | None = None
        group_kind: str | None = None
        group_error: str | None = None
        group_control: str | None = None
        for seg in reader:
            self._tick(counter)
            sid = seg.get_seg_id()
            errs = reader.pop_errors()
            st_errs = [e for e in errs if e[0] == "st"]
            env_errs = [e for e in errs if e[0] in ("isa", "gs")]
            if tx is not None and sid not in ("ST", "SE"):
                tx.segments += 1
            if sid == "ST":
                if tx is not None:
                    yield from self._flush(tx, ["no SE trailer before the next ST"])
                els = _els(seg)
                tx = _Transaction(_v(els, 2), group_kind)
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
                    continue
                tx.segments += 1
                extra = [_ST_ERRORS.get(e[1], f"transaction set envelope error {e[1]}") for e in st_errs]
                yield from self._flush(tx, extra)
                tx = None
                continue
            if sid == "GS":
                els = _els(seg)
                group_control = _v(els, 6)
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
                for e in env_errs:
                    self.progress.rejected += 1
                    yield Rejection(f"envelope: {_envelope_words(e)}",
                                    Position(self.source_file, None, None, None), "group")
                continue
            if sid == "ISA":
                continue
            if tx is None:
                continue
            try:
                self._segment(tx, sid, _els(seg))
            except (ValueError, IndexError) as exc:
                if tx.claim is not None:
                    tx.claim.errors.append(f"{sid} segment: {exc}")
                else:
                    tx.errors.append(f"{sid} segment: {exc}")
        if tx is not None:
            yield from self._flush(tx, ["file ended without an SE trailer"])
        reader.cleanup()
        for e in reader.pop_errors():
            if e[0] in ("isa", "gs"):
                self.progress.rejected += 1
                yield Rejection(f"envelope: {_envelope_words(e)}", Position(self.source_file), "group")
        _ = group_control
        self._done(counter)

    def _done(self, counter: _Counting) -> None:
        self.progress.bytes_read = counter.count
        self.progress.done = True
        if self.on_progress:
            self.on_progress(self.progress)

    def _segment(self, tx: _Transaction, sid: str, els: list[list[str]]) -> None:
        claim = tx.claim
        if sid == "CLM":
            self._finish_claim(tx)
            tx.claim_count += 1
            tx.claim = _Claim(els, tx.segments, tx.claim_count)
            return
        if sid == "HL":
            self._finish_claim(tx)
            tx.hl_level = _v(els, 3)
            if tx.hl_level == "20":
                tx.billing_npi = None
                tx.member_id = None
                tx.payer_id = None
            elif tx.hl_level == "22":
                tx.member_id = None
                tx.payer_id = None
            return
        if sid == "BHT":
            d, t = _v(els, 4), _v(els, 5)
            try:
                day = _d8(d)
                hh, mm = (int(t[0:2]), int(t[2:4])) if len(t) >= 4 and t[:4].isdigit() else (0, 0)
                tx.created_at = datetime(day.year, day.month, day.day, hh, mm, tzinfo=timezone.utc)
            except ValueError:
                tx.created_at = None
            return
        if sid == "NM1":
            entity = _v(els, 1)
            ident = _v(els, 9) or None
            if claim is None:
                if entity == "85":
                    tx.billing_npi = ident if _v(els, 8) == "XX" else tx.billing_npi
                elif entity == "IL":
                    tx.member_id = ident
                elif entity == "PR":
                    tx.payer_id = ident
                return
            if entity == "82" and _v(els, 8) == "XX":
                if claim.in_lines and claim.line is not None:
                    claim.line["rendering_npi"] = ident
                elif not claim.in_lines:
                    claim.rendering = ident
            elif entity == "71" and _v(els, 8) == "XX" and not claim.in_lines:
                claim.attending = ident
            return
        if claim is None:
            return
        if sid == "LX":
            self._finish_line(claim)
            claim.in_lines = True
            n = _v(els, 1)
            claim.line = {"line_number": int(n) if n.isdigit() else len(claim.lines) + 1}
            return
        line = claim.line
        if sid == "SV1" and line is not None:
            proc = els[0] if els else []
            if len(proc) < 2 or not proc[1]:
                raise ValueError("SV101 has no procedure code")
            line["procedure_code"] = proc[1].strip().upper()
            line["modifiers"] = tuple(m.strip().upper() for m in proc[2:6] if m.strip())
            line["charge_amount"] = _amount(_v(els, 2) or "0")
            line["units"] = _amount(_v(els, 4) or "1")
            line["place_of_service"] = _v(els, 5) or None
            ptrs = els[6] if len(els) >= 7 else []
            line["diagnosis_pointers"] = tuple(int(p) for p in ptrs if p.strip().isdigit())
            return
        if sid == "SV2" and line is not None:
            rev = _v(els, 1)
            if not rev:
                raise ValueError("SV201 has no revenue code")
            line["revenue_code"] = rev
            proc = els[1] if len(els) >= 2 else []
            code = proc[1].strip().upper() if len(proc) >= 2 and proc[1].strip() else rev
            line["procedure_code"] = code
            line["modifiers"] = tuple(m.strip().upper() for m in proc[2:6] if m.strip())
            line["charge_amount"] = _amount(_v(els, 3) or "0")
            line["units"] = _amount(_v(els, 5) or "1")
            return
        if sid == "DTP":
            qual, fmt, value = _v(els, 1), _v(els, 2), _v(els, 3)
            if qual == "472" and line is not None:
                start, end = _date_or_range(fmt, value, "DTP*472")
                line["service_date"], line["service_date_end"] = start, end
            elif qual == "434" and not claim.in_lines:
                claim.stmt_from, claim.stmt_to = _date_or_range(fmt, value, "DTP*434")
            elif qual == "435" and not claim.in_lines:
                claim.admit = _d8(value) if len(value) >= 8 else _bad("DTP*435 is not a date")
            return
        if sid == "REF" and not claim.in_lines:
            if _v(els, 1) == "F8":
                claim.ref_f8 = _v(els, 2) or None
            return
        if sid == "HI" and not claim.in_lines:
            for comp in els:
                if len(comp) >= 2 and comp[0] in DX_QUALIFIERS and comp[1].strip():
                    claim.dx.append(comp[1].strip().upper().replace(".", ""))
            return
        if sid == "CL1" and not claim.in_lines:
            claim.status = _v(els, 3) or None
            return
        if sid == "SVD" and line is not None:
            paid = _amount(_v(els, 2) or "0")
            line["paid_amount"] = (line.get("paid_amount") or Decimal(0)) + paid
            line["allowed_amount"] = (line.get("allowed_amount") or Decimal(0)) + paid
            return
        if sid == "CAS" and line is not None and line.get("paid_amount") is not None:
            if _v(els, 1) == "PR":
                for i in range(3, 19, 3):
                    amt = _v(els, i)
                    if amt:
                        line["allowed_amount"] = line["allowed_amount"] + _amount(amt)
            return


def _bad(reason: str) -> Any:
    raise ValueError(reason)


def _date_or_range(fmt: str, value: str, what: str) -> tuple[date, date | None]:
    try:
        if fmt == "RD8" or "-" in value:
            a, _, b = value.partition("-")
            return _d8(a), _d8(b) if b else None
        return _d8(value), None
    except ValueError:
        raise ValueError(f"{what} is not a valid date") from None


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
) -> Iterator[ParsedClaim | Rejection]:
    """Claims of an 837P / 837I file (or open text stream), in file order, with rejections.

    ``on_progress`` gets a ``Progress`` every ``progress_every`` segments and at the end.
    """
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        parser = Parser837(source_file or path.name, on_progress, progress_every)
        parser.progress.total_bytes = path.stat().st_size
        with path.open("r", encoding="latin-1", newline="") as fh:
            yield from parser.records(fh)
    else:
        parser = Parser837(source_file, on_progress, progress_every)
        yield from parser.records(source)
