"""The 837 loops this service reads, mapped from tokenized segments (no I/O).

2010AA billing provider (NM1*85), 2010BA subscriber (NM1*IL NM109 = member id), 2000C/2010CA
patient (HL*23, NM1*QC), 2010BB payer (NM1*PR), 2300 claim (CLM, REF*F8, HI, DTP*434/435, DTP*050 received,
CL1, NM1*82 / NM1*71), 2330B DTP*573 (claim paid), 2400 lines (LX, SV1 / SV2, DTP*472, NM1*82),
2430 adjudication (SVD paid amount, CAS*PR patient share, DTP*573 line adjudication date).
Qualifiers are read case-insensitively.

Diagnoses are ICD-10-CM (``ClaimV1.diagnoses``): HI ABK/ABF codes; BK/BF (ICD-9-CM) codes are
left out with a note, unless the code is plainly ICD-10-CM (a letter other than E/V first, or
E0-E7), which some senders label BK/BF by mistake. A qualifier written as its own element
(``HI*BK*8901``) is paired with the code that follows.

A patient who is not the subscriber (loop 2000C) has, in 5010, no member id of their own; the
subscriber's would attribute the claim to the wrong person, so such a claim is rejected - unless
the sender put the patient's id in NM1*QC NM109 (a 4010 habit), which is then used.

Errors raised here are ValueError texts naming the segment or element, never its value; notes
(``TransactionState.notes``) are fixed sentences about what the sender did out of the guide.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

# The segments ``map_segment`` reads; the others (N3, N4, DMG, PER, SBR, PRV, AMT, OI, ...) are
# counted and kept as text but not mapped.
MAPPED = frozenset({"CLM", "HL", "BHT", "NM1", "LX", "SV1", "SV2", "DTP", "REF", "HI", "CL1", "SVD", "CAS"})
ICD10_QUALIFIERS = frozenset({"ABK", "ABF"})
ICD9_QUALIFIERS = frozenset({"BK", "BF"})
DX_QUALIFIERS = ICD10_QUALIFIERS | ICD9_QUALIFIERS
NOTE_ICD9_LEFT_OUT = "ICD-9-CM diagnoses (HI BK/BF) left out of the claims' diagnoses (ICD-10-CM only)"
NOTE_ICD9_AS_10 = "ICD-10-CM codes under the ICD-9-CM qualifiers BK/BF: read as ICD-10-CM"
NOTE_NUMERIC_UNDER_10 = "numeric (ICD-9-CM) codes under the ICD-10-CM qualifiers ABK/ABF: left out"
NOTE_HI_SPLIT = "HI qualifier and code in separate elements (HI*BK*code): read as one diagnosis"
NOTE_PATIENT_ID = "a dependent patient's id taken from 2010CA NM1*QC NM109 (not used in 5010)"
REJECT_DEPENDENT = ("the patient is a dependent (loop 2000C, HL*23) with no member id of their own: the subscriber's "
                    "id (2010BA NM109) would attribute the claim to another person")
# CLM05-3 claim frequency → ClaimV2.frequency_code. Interim / late-charge bills (2-5) are new
# information about the stay, not replacements; 6 (corrected) replaces like 7.
FREQUENCY = {"1": "1", "2": "1", "3": "1", "4": "1", "5": "1", "6": "7", "7": "7", "8": "8"}


def els(seg: Any) -> list[list[str]]:
    """A pyx12 segment as lists of sub-element strings (element 1 at index 0)."""
    return [[e.value for e in comp.elements] for comp in seg.elements]


def v(els: list[list[str]], i: int, sub: int = 1) -> str:
    """Element ``i`` (1-based), sub-element ``sub``, stripped; empty when absent."""
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


class ClaimState:
    """A 2300 claim loop being read."""

    __slots__ = ("els", "segment", "index", "errors", "ref_f8", "dx", "stmt_from", "stmt_to",
                 "admit", "status", "rendering", "attending", "lines", "line", "in_lines", "member_id",
                 "raw_start", "dependent", "patient_id", "received", "adjudicated")

    def __init__(self, els: list[list[str]], segment: int, index: int, member_id: str | None = None,
                 raw_start: int = 0) -> None:
        self.els = els
        self.segment = segment
        self.index = index
        self.member_id = member_id
        self.raw_start = raw_start  # index of the CLM segment in TransactionState.raw
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
        self.dependent = False
        self.patient_id: str | None = None
        self.received: date | None = None  # 2300 DTP*050 (received date)
        self.adjudicated: date | None = None  # latest DTP*573 (2330B claim paid, 2430 line adjudication)


class TransactionState:
    """An ST..SE transaction set being read."""

    __slots__ = ("control", "kind", "created_at", "claims", "errors", "segments", "billing_npi",
                 "member_id", "payer_id", "claim", "claim_count", "hl_level", "raw", "hl_start", "hl_end", "notes",
                 "dependent", "patient_id")

    def __init__(self, control: str, kind: str | None) -> None:
        self.control = control
        self.kind = kind
        self.notes: list[str] = []  # what the sender did out of the guide (warnings), fixed sentences
        self.dependent = False  # inside a 2000C patient loop
        self.patient_id: str | None = None
        self.created_at: datetime | None = None
        self.claims: list[Any] = []
        self.errors: list[str] = []
        self.segments = 1
        self.billing_npi: str | None = None
        self.member_id: str | None = None
        self.payer_id: str | None = None
        self.claim: ClaimState | None = None
        self.claim_count = 0
        self.hl_level = ""
        # The set's segment texts (ST first), kept until SE for the dead-letter topic, and where
        # the current subscriber loop (HL .. first CLM) sits in it.
        self.raw: list[str] = []
        self.hl_start = 0
        self.hl_end: int | None = None

    def claim_raw(self, claim: "ClaimState") -> list[str]:
        """Segment texts of ``claim``: its subscriber loop, then CLM up to the current segment."""
        head = self.raw[self.hl_start:self.hl_end] if self.hl_end is not None and self.hl_end <= claim.raw_start \
            else []
        return head + self.raw[claim.raw_start:]


def finish_line(claim: ClaimState) -> None:
    if claim.line is not None:
        claim.lines.append(claim.line)
        claim.line = None


def claim_fields(tx: TransactionState, c: ClaimState, source_file: str | None) -> dict[str, Any] | str:
    """ClaimV2 body fields of a finished claim, or why it cannot be one."""
    els = c.els
    member_id = c.member_id
    if not member_id:
        return "no subscriber member id (2010BA NM1*IL NM109) before the claim"
    if c.dependent:
        if not c.patient_id:
            return REJECT_DEPENDENT
        member_id = c.patient_id
        tx.notes.append(NOTE_PATIENT_ID)
    claim_id = v(els, 1)
    if not claim_id:
        return "CLM01 (claim id) is empty"
    freq_raw = v(els, 5, 3)
    freq = FREQUENCY.get(freq_raw or "1")
    if freq is None:
        return "CLM05-3 frequency code is not one of 1-8"
    try:
        total = _amount(v(els, 2) or "0")
    except ValueError:
        return "CLM02 (total charge) is not an amount"
    facility = v(els, 5, 1)
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
            "procedure_code": ln.get("procedure_code") or None,
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
        "member_id": member_id,
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
        "source_file": source_file,
        # what orders this claim's versions (shared.claim_versions), never the load time
        "submitted_at": tx.created_at,
        "received_date": c.received,
        "adjudication_date": c.adjudicated,
    }


def map_segment(tx: TransactionState, sid: str, els: list[list[str]],
                finish_claim: Callable[[TransactionState], None]) -> None:
    """Apply one segment of a transaction set to the claim being built (2000A-2430 loops)."""
    claim = tx.claim
    if sid == "CLM":
        finish_claim(tx)
        tx.claim_count += 1
        if tx.hl_end is None:
            tx.hl_end = len(tx.raw)
        claim = tx.claim = ClaimState(els, tx.segments, tx.claim_count, tx.member_id, len(tx.raw))
        claim.dependent, claim.patient_id = tx.dependent, tx.patient_id
        return
    if sid == "HL":
        finish_claim(tx)
        tx.hl_start, tx.hl_end = len(tx.raw), None
        tx.hl_level = v(els, 3)
        if tx.hl_level == "20":
            tx.billing_npi = None
            tx.member_id = None
            tx.payer_id = None
            tx.dependent, tx.patient_id = False, None
        elif tx.hl_level == "22":
            tx.member_id = None
            tx.payer_id = None
            tx.dependent, tx.patient_id = False, None
        elif tx.hl_level == "23":
            tx.dependent, tx.patient_id = True, None
        return
    if sid == "BHT":
        d, t = v(els, 4), v(els, 5)
        try:
            day = _d8(d)
            hh, mm = (int(t[0:2]), int(t[2:4])) if len(t) >= 4 and t[:4].isdigit() else (0, 0)
            tx.created_at = datetime(day.year, day.month, day.day, hh, mm, tzinfo=timezone.utc)
        except ValueError:
            tx.created_at = None
        return
    if sid == "NM1":
        entity = v(els, 1).upper()
        ident = v(els, 9) or None
        npi = v(els, 8).upper() == "XX"
        if claim is None:
            if entity == "85":
                tx.billing_npi = ident if npi else tx.billing_npi
            elif entity == "IL":
                tx.member_id = ident
            elif entity == "PR":
                tx.payer_id = ident
            elif entity == "QC" and tx.dependent:
                tx.patient_id = ident
            return
        if entity == "82" and npi:
            if claim.in_lines and claim.line is not None:
                claim.line["rendering_npi"] = ident
            elif not claim.in_lines:
                claim.rendering = ident
        elif entity == "71" and npi and not claim.in_lines:
            claim.attending = ident
        return
    if claim is None:
        return
    if sid == "LX":
        finish_line(claim)
        claim.in_lines = True
        n = v(els, 1)
        claim.line = {"line_number": int(n) if n.isdigit() else len(claim.lines) + 1}
        return
    line = claim.line
    if sid == "SV1" and line is not None:
        proc = els[0] if els else []
        if len(proc) < 2 or not proc[1].strip():
            raise ValueError("SV101 has no procedure code")
        line["procedure_code"] = proc[1].strip().upper()
        line["modifiers"] = tuple(m.strip().upper() for m in proc[2:6] if m.strip())
        line["charge_amount"] = _amount(v(els, 2) or "0")
        line["units"] = _amount(v(els, 4) or "1")
        line["place_of_service"] = v(els, 5) or None
        ptrs = els[6] if len(els) >= 7 else []
        line["diagnosis_pointers"] = tuple(int(p) for p in ptrs if p.strip().isdigit())
        return
    if sid == "SV2" and line is not None:
        rev = v(els, 1)
        if not rev:
            raise ValueError("SV201 has no revenue code")
        line["revenue_code"] = rev
        proc = els[1] if len(els) >= 2 else []
        # A line billed by revenue code only has no procedure code (SV202 absent): None.
        line["procedure_code"] = proc[1].strip().upper() if len(proc) >= 2 and proc[1].strip() else None
        line["modifiers"] = tuple(m.strip().upper() for m in proc[2:6] if m.strip())
        line["charge_amount"] = _amount(v(els, 3) or "0")
        line["units"] = _amount(v(els, 5) or "1")
        return
    if sid == "DTP":
        qual, fmt, value = v(els, 1), v(els, 2).upper(), v(els, 3)
        if qual == "472" and line is not None:
            start, end = _date_or_range(fmt, value, "DTP*472")
            line["service_date"], line["service_date_end"] = start, end
        elif qual == "434" and not claim.in_lines:
            claim.stmt_from, claim.stmt_to = _date_or_range(fmt, value, "DTP*434")
        elif qual == "435" and not claim.in_lines:
            claim.admit = _d8(value) if len(value) >= 8 else _bad("DTP*435 is not a date")
        elif qual == "050" and not claim.in_lines:
            claim.received = _date_or_range(fmt, value, "DTP*050")[0]
        elif qual == "573":
            day = _date_or_range(fmt, value, "DTP*573")[0]
            claim.adjudicated = day if claim.adjudicated is None else max(claim.adjudicated, day)
        return
    if sid == "REF" and not claim.in_lines:
        if v(els, 1).upper() == "F8":
            claim.ref_f8 = v(els, 2) or None
        return
    if sid == "HI" and not claim.in_lines:
        read_diagnoses(tx, claim, els)
        return
    if sid == "CL1" and not claim.in_lines:
        claim.status = v(els, 3) or None
        return
    if sid == "SVD" and line is not None:
        paid = _amount(v(els, 2) or "0")
        line["paid_amount"] = (line.get("paid_amount") or Decimal(0)) + paid
        line["allowed_amount"] = (line.get("allowed_amount") or Decimal(0)) + paid
        return
    if sid == "CAS" and line is not None and line.get("paid_amount") is not None:
        if v(els, 1).upper() == "PR":
            for i in range(3, 19, 3):
                amt = v(els, i)
                if amt:
                    line["allowed_amount"] = line["allowed_amount"] + _amount(amt)
        return


def _dx_code(tx: TransactionState, qualifier: str, text: str) -> str | None:
    """The ICD-10-CM code of one HI composite, or None (left out, with a note)."""
    code = text.strip().upper().replace(".", "")
    if not code:
        return None
    if qualifier in ICD10_QUALIFIERS:
        if code[0].isdigit():
            tx.notes.append(NOTE_NUMERIC_UNDER_10)
            return None
        return code
    icd10 = code[0].isalpha() and (code[0] not in "EV" or (code[0] == "E" and code[1:2] in tuple("01234567")))
    if icd10 and len(code) >= 3 and code[1].isdigit():
        tx.notes.append(NOTE_ICD9_AS_10)
        return code
    tx.notes.append(NOTE_ICD9_LEFT_OUT)
    return None


def read_diagnoses(tx: TransactionState, claim: ClaimState, els: list[list[str]]) -> None:
    """HI principal / other diagnoses (ABK, ABF; BK, BF) into ``claim.dx``, in order."""
    skip = False
    for i, comp in enumerate(els):
        if skip:
            skip = False
            continue
        qualifier = comp[0].strip().upper() if comp else ""
        if qualifier not in DX_QUALIFIERS:
            continue
        if len(comp) >= 2:
            text = comp[1]
        elif i + 1 < len(els) and len(els[i + 1]) == 1 and any(ch.isdigit() for ch in els[i + 1][0]):
            text, skip = els[i + 1][0], True  # HI*BK*8901: qualifier and code in separate elements
            tx.notes.append(NOTE_HI_SPLIT)
        else:
            continue
        code = _dx_code(tx, qualifier, text)
        if code is not None:
            claim.dx.append(code)
