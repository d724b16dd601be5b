"""Segment by segment: what each mapped 837 segment (CLM, HL, BHT, NM1, LX, SV1 / SV2, DTP, REF,
HI, CL1, SVD, CAS) does to the claim being built (no I/O). The loop states, the value helpers
and the claim's fields are in ``x12_loops``; the notes and rejection texts are named there too.

Errors raised here are ValueError texts naming the segment or element, never its value.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from decimal import Decimal

from .x12_loops import (
    DX_QUALIFIERS, FREQUENCY, ICD10_QUALIFIERS, NOTE_HI_SPLIT, NOTE_ICD9_AS_10, NOTE_ICD9_LEFT_OUT,
    NOTE_NUMERIC_UNDER_10, NOTE_PATIENT_ID, REJECT_DEPENDENT, ClaimState, TransactionState, _amount, _bad, _d8,
    _date_or_range, finish_line, v,
)


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
