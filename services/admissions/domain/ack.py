"""HL7 acknowledgments (ACK) for inbound ADT messages.

- Original mode (MSH-15 and MSH-16 empty): MSA-1 is AA, AE or AR.
- Enhanced mode (MSH-15 or MSH-16 valued): the accept acknowledgment is CA, CR or CE. A message
  refused for its content is CR — never CE, which tells the sender to send the same message
  again forever; CE only means "not stored, send it again" (207). MSH-15 decides whether the
  accept ACK is sent at all (AL or empty: always, NE: never, ER: only on error/reject, SU:
  only on success).
- Application acknowledgments (MSH-16 AL, ER, SU) are built by ``build_ack(application=True)``:
  MSA-1 AA/AE/AR, their own MSH-10, MSH-15/16 NE (nothing to answer back). The gateway sends
  one after the CA on the same connection, as HAPI's single-port mode does; a refused message
  then gets CA (kept: dead-lettered) followed by the application AE/AR with the reasons.
- MSA-2 echoes MSH-10. The ACK uses the message's own delimiters and swaps sender and
  receiver (ACK MSH-3..6 = inbound MSH-5, MSH-6, MSH-3, MSH-4), copied as received.
- Errors: v2.5 and later get one ERR per issue (ERR-2 location, ERR-3 table 0357 code,
  ERR-4 severity E, ERR-8 a readable text) and, where the sender's policy asks, one ERR with
  severity W per warning on an accepted message; v2.1-v2.4 get ERR-1 (segment^sequence^field^
  code&text&HL70357) plus MSA-3 text and MSA-6 error condition (no warnings: no severity field).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from .adt_fields import AdtFields
from .hl7_errors import Hl7Issue
from .hl7_reader import Hl7Message
from .hl7_time import format_ts
from .hl7_errors import APPLICATION_INTERNAL_ERROR
from .validation import SUPPORTED_VERSIONS, shown

ORIGINAL_CODES = {"ok": "AA", "error": "AE", "reject": "AR"}
ENHANCED_CODES = {"ok": "CA", "error": "CE", "reject": "CR"}
DEFAULT_VERSION = "2.5.1"
MAX_ERR_SEGMENTS = 5
_DEFAULT_DELIMITERS = Hl7Message.parse("MSH|^~\\&|")


@dataclass(frozen=True)
class Ack:
    code: str           # AA AE AR CA CE CR
    text: str           # segments joined by CR, ending with CR
    data: bytes         # ``text`` in the message's encoding (not MLLP-framed)
    send: bool = True   # False when MSH-15 says this accept ACK is not wanted

    @property
    def accepted(self) -> bool:
        return self.code in ("AA", "CA")


def ack_code(issues: list[Hl7Issue] | tuple[Hl7Issue, ...], enhanced: bool, application: bool = False) -> str:
    codes = ENHANCED_CODES if enhanced and not application else ORIGINAL_CODES
    if not issues:
        return codes["ok"]
    if enhanced and not application:
        # CE only for "not stored, send it again"; anything wrong with the message itself is CR
        retry = all(i.code == APPLICATION_INTERNAL_ERROR and not i.reject for i in issues)
        return codes["error"] if retry else codes["reject"]
    return codes["reject"] if any(i.reject for i in issues) else codes["error"]


def application_ack_wanted(application_ack_type: str, code: str) -> bool:
    """MSH-16: AL always, ER only when refused, SU only when accepted, NE/empty never."""
    kind = application_ack_type.upper()
    if kind == "AL":
        return True
    if kind == "ER":
        return code != "AA"
    if kind == "SU":
        return code == "AA"
    return False


def ack_wanted(accept_ack_type: str, code: str, enhanced: bool) -> bool:
    """MSH-15 (accept acknowledgment type) in enhanced mode; original mode always answers."""
    if not enhanced:
        return True
    kind = accept_ack_type.upper()
    if kind == "NE":
        return False
    if kind == "ER":
        return code != "CA"
    if kind == "SU":
        return code == "CA"
    return True


def _version_tuple(version: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in version.split("."))
    except ValueError:
        return (2, 5)


def ack_control_id(sending_facility: str, control_id: str, code: str, prefix: str = "A") -> str:
    """A deterministic MSH-10 for the ACK (20 characters, the v2.5 limit)."""
    return prefix + hashlib.blake2b(f"{sending_facility}|{control_id}|{code}".encode(), digest_size=10).hexdigest()[:19]


def _location(msg: Hl7Message, issue: Hl7Issue) -> str:
    if not issue.segment:
        return ""
    parts = [issue.segment, str(issue.occurrence or 1)]
    if issue.field:
        parts.append(str(issue.field))
        if issue.repetition or issue.component:
            parts.append(str(issue.repetition or 1))
        if issue.component:
            parts.append(str(issue.component))
    return (msg.component_sep or "^").join(parts)


def _err_v25(msg: Hl7Message, issue: Hl7Issue, severity: str = "E") -> str:
    cs = msg.component_sep or "^"
    fs = msg.field_sep
    code = cs.join((str(issue.code), msg.escape(issue.code_text), "HL70357"))
    return fs.join(("ERR", "", _location(msg, issue), code, severity, "", "", "", msg.escape(issue.text)))


def _err_v23(msg: Hl7Message, issues: list[Hl7Issue]) -> str:
    cs = msg.component_sep or "^"
    ss = msg.subcomponent_sep
    reps = []
    for issue in issues:
        code = ss.join((str(issue.code), msg.escape(issue.code_text), "HL70357")) if ss else str(issue.code)
        where = [issue.segment, str(issue.occurrence or 1) if issue.segment else "", str(issue.field or "")]
        reps.append(cs.join(where + [code]))
    rs = msg.repetition_sep
    return "ERR" + msg.field_sep + (rs.join(reps) if rs else reps[0])


def build_ack(
    msg: Hl7Message | None,
    fields: AdtFields | None,
    issues: list[Hl7Issue] | tuple[Hl7Issue, ...],
    *,
    now: datetime,
    local_application: str = "CCP",
    local_facility: str = "CCP",
    warnings: list[Hl7Issue] | tuple[Hl7Issue, ...] = (),
    application: bool = False,
) -> Ack:
    """The ACK for ``msg`` (None when the envelope could not be read: default delimiters).
    ``warnings`` become ERR segments with severity W (v2.5+, accepted messages only);
    ``application`` builds the application acknowledgment of an enhanced-mode exchange."""
    issues = list(issues)
    d = msg or _DEFAULT_DELIMITERS
    enhanced = bool(fields and fields.enhanced_mode)
    code = ack_code(issues, enhanced, application)
    version = fields.version if fields and fields.version in SUPPORTED_VERSIONS else DEFAULT_VERSION
    vt = _version_tuple(version)
    fs, cs = d.field_sep, d.component_sep or "^"

    msh_in = (msg.fields_of("MSH") if msg is not None else None) or []
    send_app, send_fac, recv_app, recv_fac = (msh_in[n] if n < len(msh_in) else "" for n in (3, 4, 5, 6))
    control_raw, processing = (msh_in[n] if n < len(msh_in) else "" for n in (10, 11))
    trigger = fields.trigger if fields and shown(fields.trigger) == fields.trigger else ""
    msg_type = "ACK"
    if trigger and vt >= (2, 2):
        msg_type = cs.join(("ACK", trigger, "ACK")) if vt >= (2, 3, 1) else cs.join(("ACK", trigger))
    facility = fields.sending_facility if fields else ""
    control = ack_control_id(facility, fields.control_id if fields else format_ts(now), code,
                             "P" if application else "A")
    header = [
        "MSH", d.encoding_chars or "^~\\&",
        recv_app or d.escape(local_application), recv_fac or d.escape(local_facility), send_app, send_fac,
        format_ts(now), "", msg_type, control, processing or "P", version,
    ]
    if application:  # nothing to answer back: MSH-15/16 NE
        header += ["", "", "NE", "NE"]
    segments = [fs.join(header)]
    shown_issues = issues[:MAX_ERR_SEGMENTS]
    if vt < (2, 5):
        msa = ["MSA", code, control_raw]
        if shown_issues:
            first = shown_issues[0]
            msa += [d.escape(first.text)]
            if vt >= (2, 2):
                msa += ["", "", cs.join((str(first.code), d.escape(first.code_text), "HL70357"))]
        segments.append(fs.join(msa))
        if shown_issues:
            segments.append(_err_v23(d, shown_issues))
    else:
        segments.append(fs.join(("MSA", code, control_raw)))
        segments.extend(_err_v25(d, i) for i in shown_issues)
        if code in ("AA", "CA") and not issues:
            segments.extend(_err_v25(d, w, "W") for w in list(warnings)[:MAX_ERR_SEGMENTS])
    text = "\r".join(segments) + "\r"
    encoding = msg.encoding if msg is not None else "utf-8"
    send = True if application else ack_wanted(fields.accept_ack_type if fields else "", code, enhanced)
    return Ack(code, text, text.encode(encoding, "replace"), send)
