"""Full X12 validation with pyx12's map walk, answering the sender with a 999.

About 340 service lines/s on this machine (MEASURED.md): run it on demand - not on the ingest
fast path (``x12_837``).

pyx12 reads what the standard says and crashes on much of what real senders write, so it is
given a normalized copy of the file (``x12_normalize``): the same segments, read by the lenient
tokenizer (byte-order mark, whitespace, terminator variants, ISA padding, lower-case segment
ids), versions without a pyx12 map under the nearest map of their guide, groups of versions this
service does not read left out (this module refuses them in the 999 itself, ``x12_ack``).
Anything pyx12 still raises on is caught: the report says validation could not be completed
(``crashed``), every set is refused in the 999, and the caller rejects the file. A ``deadline``
(``time.monotonic()`` value) stops the walk with ``ValidationTimeout``.

The report names segments, positions and the X12 error codes in words (IK3 / IK4 / IK5 / AK9),
with pyx12's element names from its maps; it never carries the offending values (pyx12's own
texts are not used). The 999 itself echoes bad element values in IK4-4, as the standard wants;
it goes back to the sender only.
"""

from __future__ import annotations

import io
import json
import logging
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import pyx12.params
import pyx12.x12n_document

from ..domain.x12_ack import build_999, merge_999
from ..domain.x12_normalize import Normalized, normalize_for_pyx12
from ..domain.x12_tokens import X12FormatError

_PYX12_LOGGERS = ("pyx12", "pyx12.errh_xml", "pyx12.error_997", "pyx12.error_999", "pyx12.error_handler",
                  "pyx12.error_html", "pyx12.params", "pyx12.walk_tree", "pyx12.x12xml.simple", "pyx12.map_walker",
                  "pyx12.x12file", "pyx12.map_if", "pyx12.validation")

SEGMENT_ERRORS = {  # IK304
    "1": "unrecognized segment id", "2": "unexpected segment", "3": "required segment missing",
    "4": "loop occurs over its maximum times", "5": "segment exceeds its maximum use",
    "6": "segment not in the transaction set", "7": "segment not in proper sequence",
    "8": "segment has data element errors", "I4": "a 'not used' segment is present",
    "I6": "an implementation-dependent segment is missing", "I7": "loop occurs under its minimum times",
    "I8": "segment below its minimum use", "I9": "an implementation-dependent 'not used' segment is present",
    # pyx12's own checks (reported in the 999 as segment errors)
    "HL1": "HL01 is not the next hierarchical id number (HL01 starts at 1 in each set)",
    "HL2": "HL02 names no enclosing hierarchical level", "LX": "LX01 is not the next service line number",
    "SEG1": "the segment ends with empty elements (trailing separators)",
}
ELEMENT_ERRORS = {  # IK403
    "1": "required element missing", "2": "conditionally required element missing", "3": "too many elements",
    "4": "element too short", "5": "element too long", "6": "invalid character", "7": "invalid code value",
    "8": "invalid date", "9": "invalid time", "10": "exclusion condition violated", "12": "too many repetitions",
    "13": "too many components", "I6": "code value not used in this implementation",
    "I9": "implementation-dependent element missing", "I10": "a 'not used' element is present",
    "I11": "too few repetitions", "I12": "does not match the implementation's pattern",
    "I13": "an implementation-dependent 'not used' element is present",
}
SET_ERRORS = {  # IK502
    "1": "transaction set not supported", "2": "transaction set trailer missing",
    "3": "ST02 and SE02 control numbers do not match", "4": "SE01 segment count does not match the set",
    "5": "one or more segments in error", "6": "missing or invalid transaction set identifier",
    "7": "missing or invalid transaction set control number", "23": "ST02 is not unique in the group",
}
GROUP_ERRORS = {  # AK905
    "1": "functional group not supported", "2": "functional group version not supported",
    "3": "GE trailer missing", "4": "GS06 and GE02 do not match", "5": "GE01 does not match the sets received",
    "6": "group control number violates syntax",
}
INTERCHANGE_ERRORS = {  # TA105
    "001": "ISA13 and IEA02 do not match", "021": "IEA01 does not match the groups received",
    "022": "invalid control structure", "023": "IEA trailer missing", "024": "invalid interchange content",
    "025": "duplicate interchange control number",
}


class ValidationTimeout(Exception):
    """The validating walk did not finish before its deadline."""


@dataclass(frozen=True)
class TransactionReport:
    st_control_number: str
    ack_code: str  # A accepted, E accepted with errors, R rejected
    errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class ValidationReport:
    valid: bool
    ack_999: str
    transactions: tuple[TransactionReport, ...] = ()
    envelope_errors: tuple[str, ...] = field(default_factory=tuple)
    notes: tuple[str, ...] = ()  # how the file was validated (nearest maps, normalizations)
    crashed: str | None = None  # validation could not be completed: why (the file must be rejected)

    @property
    def rejected(self) -> tuple[str, ...]:
        return tuple(t.st_control_number for t in self.transactions if t.ack_code == "R")


class _DeadlineReader:
    """A text file for pyx12 that stops the walk at ``deadline``."""

    def __init__(self, fh: TextIO, deadline: float | None) -> None:
        self._fh = fh
        self._deadline = deadline

    @property
    def closed(self) -> bool:
        return self._fh.closed

    def read(self, n: int = -1) -> str:
        if self._deadline is not None and time.monotonic() > self._deadline:
            raise ValidationTimeout()
        return self._fh.read(n)

    def close(self) -> None:
        self._fh.close()


def _words(table: dict[str, str], code) -> str:
    code = str(code or "").strip()
    return table.get(code, f"error {code}" if code else "error")


def _segment_errors(seg: dict) -> list[str]:
    out = []
    where = f"{seg.get('seg_id')} segment {seg.get('seg_count')} ({seg.get('name')})"
    for e in seg.get("errors") or ():
        out.append(f"{where}: {_words(SEGMENT_ERRORS, e.get('err_cde'))} (IK3 {e.get('err_cde')})")
    for ele in seg.get("elements") or ():
        for e in ele.get("errors") or ():
            out.append(f"{where}: element {ele.get('ele_pos')} ({ele.get('name')}): "
                       f"{_words(ELEMENT_ERRORS, e.get('err_cde'))} (IK4 {e.get('err_cde')})")
    return out


def _run_pyx12(path: Path, deadline: float | None) -> tuple[bool, str, dict]:
    ack = io.StringIO()
    report_json = io.StringIO()
    # pyx12 logs offending values at ERROR: keep them out of our logs while it runs.
    loggers = [logging.getLogger(n) for n in _PYX12_LOGGERS]
    saved = [lg.disabled for lg in loggers]
    for lg in loggers:
        lg.disabled = True
    try:
        with path.open("r", encoding="latin-1", newline="") as fh:
            ok = pyx12.x12n_document.x12n_document(pyx12.params.params(), _DeadlineReader(fh, deadline), ack, None,
                                                   None, report_json)
    finally:
        for lg, was in zip(loggers, saved):
            lg.disabled = was
    try:
        data = json.loads(report_json.getvalue() or "{}")
    except ValueError:
        data = {}
    return bool(ok), ack.getvalue(), data


def _from_pyx12(data: dict) -> tuple[list[TransactionReport], list[str]]:
    transactions: list[TransactionReport] = []
    envelope: list[str] = []
    for isa in data.get("interchanges") or ():
        envelope += [f"interchange: {_words(INTERCHANGE_ERRORS, e.get('err_cde'))} (TA1 {e.get('err_cde')})"
                     for e in isa.get("errors") or ()]
        for gs in isa.get("groups") or ():
            envelope += [f"group: {_words(GROUP_ERRORS, e.get('err_cde'))} (AK9 {e.get('err_cde')})"
                         for e in gs.get("errors") or ()]
            for st in gs.get("transactions") or ():
                errs = [f"transaction set: {_words(SET_ERRORS, e.get('err_cde'))} (IK5 {e.get('err_cde')})"
                        for e in st.get("errors") or ()]
                for seg in st.get("segments") or ():
                    errs += _segment_errors(seg)
                transactions.append(TransactionReport(str(st.get("trn_set_control_num")), str(st.get("ack_code")),
                                                      tuple(errs)))
    return transactions, envelope


def _refused(norm: Normalized, crashed: bool) -> list[TransactionReport]:
    out = []
    for g in norm.refused + (norm.validated if crashed else []):
        why = (f"group refused: {_words(GROUP_ERRORS, g.reason_code)} (AK9 {g.reason_code})" if g.reason_code
               else "validation could not be completed")
        out += [TransactionReport(st02, "R", (why,)) for st02, _ in g.sets]
    return out


def validate_837(source: str | os.PathLike[str] | TextIO, ack_out: TextIO | None = None, *,
                 deadline: float | None = None, work_dir: str | os.PathLike[str] | None = None) -> ValidationReport:
    """Validate an 837 against pyx12's 5010 maps; write the 999 to ``ack_out`` if given.

    Never raises for the file's content: a crash inside the walk becomes ``crashed``. Raises
    ``ValidationTimeout`` when ``deadline`` passes."""
    with tempfile.TemporaryDirectory(prefix="x12-validate-", dir=work_dir) as tmp:
        copy = Path(tmp) / "normalized.x12"
        try:
            if isinstance(source, (str, os.PathLike)):
                with Path(source).open("r", encoding="latin-1", newline="") as fh:
                    norm = normalize_for_pyx12(fh, copy, deadline)
            else:
                norm = normalize_for_pyx12(source, copy, deadline)
        except X12FormatError as exc:
            report = ValidationReport(False, "", (), (f"not a readable X12 interchange: {exc}",),
                                      ("no 999: the file has no readable ISA interchange header to acknowledge",))
            return report
        notes = list(norm.notes)
        if norm.timed_out:
            raise ValidationTimeout()
        crashed: str | None = None
        if norm.validated:
            try:
                ok, text, data = _run_pyx12(copy, deadline)
            except ValidationTimeout:
                raise
            except (Exception, RecursionError) as exc:  # noqa: BLE001 - any crash becomes a report
                crashed = (f"validation could not be completed: the validator failed ({exc.__class__.__name__}) "
                           "on this file's structure")
                ok, text, data = False, "", {}
            if crashed is None and not text.strip():
                crashed = "validation could not be completed: the validator wrote no 999 for this file"
        else:
            ok, text, data = False, "", {}
        if crashed:
            transactions = _refused(norm, crashed=True)
            envelope = [crashed]
            text = build_999(norm.interchange, norm.validated + norm.refused)
        else:
            transactions, envelope = _from_pyx12(data)
            transactions += _refused(norm, crashed=False)
            if norm.validated:
                text = merge_999(text, norm.refused, norm.original_versions, norm.original_set_versions)
            else:
                text = build_999(norm.interchange, norm.refused)
                envelope.append("no functional group of a version this service reads: nothing was validated")
        if ack_out is not None:
            ack_out.write(text)
        valid = bool(ok) and not crashed and not norm.refused
        return ValidationReport(valid, text, tuple(transactions), tuple(envelope), tuple(notes), crashed)
