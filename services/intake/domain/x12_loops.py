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
``map_segment`` (what each segment does to the claim being built) is in ``x12_segments``.
"""

from __future__ import annotations

from datetime import date, datetime
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
