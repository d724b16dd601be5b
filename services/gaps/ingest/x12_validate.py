"""Full X12 validation with pyx12's map walk, answering the sender with a 999.

About 340 service lines/s on this machine (MEASURED.md): run it on demand, in a worker
process, or in parallel - not on the ingest fast path (``x12_837``).

The report names segments, positions and error codes with pyx12's element names; it leaves
out the offending values (a bad date of birth must not reach a log). The 999 itself echoes
bad element values in IK4-4, as the standard wants; it goes back to the sender only.
"""

from __future__ import annotations

import io
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import pyx12.params
import pyx12.x12n_document


_PYX12_LOGGERS = ("pyx12", "pyx12.errh_xml", "pyx12.error_997", "pyx12.error_999", "pyx12.error_handler",
                  "pyx12.error_html", "pyx12.params", "pyx12.walk_tree", "pyx12.x12xml.simple")


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

    @property
    def rejected(self) -> tuple[str, ...]:
        return tuple(t.st_control_number for t in self.transactions if t.ack_code == "R")


def _segment_errors(seg: dict) -> list[str]:
    out = []
    where = f"{seg.get('seg_id')} segment {seg.get('seg_count')} ({seg.get('name')})"
    for e in seg.get("errors") or ():
        out.append(f"{where}: error {e.get('err_cde')}: {_no_values(e.get('err_str', ''))}")
    for ele in seg.get("elements") or ():
        for e in ele.get("errors") or ():
            out.append(f"{where}: element {ele.get('ele_pos')} ({ele.get('name')}) error {e.get('err_cde')}")
    return out


def _no_values(text: str) -> str:
    """pyx12 puts the offending value in parentheses at the end of some texts: drop it."""
    if text.endswith(")") and "(" in text:
        head = text[: text.rfind("(")].rstrip()
        if head.endswith("contains an invalid date") or "invalid character" in head or head.endswith("value"):
            return head
    return text[:200]


def validate_837(source: str | os.PathLike[str] | TextIO, ack_out: TextIO | None = None) -> ValidationReport:
    """Validate an 837 against pyx12's 5010 maps; write the 999 to ``ack_out`` if given."""
    src = str(Path(source)) if isinstance(source, (str, os.PathLike)) else source
    ack = io.StringIO()
    report_json = io.StringIO()
    # pyx12 logs offending values at ERROR: keep them out of our logs while it runs.
    loggers = [logging.getLogger(n) for n in _PYX12_LOGGERS]
    saved = [lg.disabled for lg in loggers]
    for lg in loggers:
        lg.disabled = True
    try:
        ok = pyx12.x12n_document.x12n_document(pyx12.params.params(), src, ack, None, None, report_json)
    finally:
        for lg, was in zip(loggers, saved):
            lg.disabled = was
    text = ack.getvalue()
    if ack_out is not None:
        ack_out.write(text)
    transactions: list[TransactionReport] = []
    envelope: list[str] = []
    try:
        data = json.loads(report_json.getvalue() or "{}")
    except ValueError:
        data = {}
    for isa in data.get("interchanges") or ():
        envelope += [f"ISA error {e.get('err_cde')}: {_no_values(e.get('err_str', ''))}" for e in isa.get("errors") or ()]
        for gs in isa.get("groups") or ():
            envelope += [f"GS error {e.get('err_cde')}: {_no_values(e.get('err_str', ''))}" for e in gs.get("errors") or ()]
            for st in gs.get("transactions") or ():
                errs = [f"ST error {e.get('err_cde')}: {_no_values(e.get('err_str', ''))}" for e in st.get("errors") or ()]
                for seg in st.get("segments") or ():
                    errs += _segment_errors(seg)
                transactions.append(TransactionReport(str(st.get("trn_set_control_num")), str(st.get("ack_code")),
                                                      tuple(errs)))
    if not data:
        envelope.append("not an X12 file pyx12 can read")
    return ValidationReport(bool(ok), text, tuple(transactions), tuple(envelope))
