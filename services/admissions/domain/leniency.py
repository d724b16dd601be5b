"""What a real feed may get wrong without losing its message: the per-field rules.

Every field the platform reads is one of three kinds (the README's table is this one):

- **required** — without it the message cannot be used: no MSH, not ADT, no trigger, no usable
  patient identifier (PID-3), no readable event time, no sender identity at all. Refused with
  a NAK and dead-lettered (``validation``).
- **optional, kept with a warning** — too long, of the wrong type or an unknown code: the value
  is kept as received when the event contract can hold it, else left out; either way the
  message is accepted and a ``FieldWarning`` (field, kind, text) travels with the event.
- **ignored** — everything else (PID-5 names, NK1, IN1, OBX, Z-segments ...): kept in the raw
  message on the event, never judged.

``assess`` applies the rules to one message's ``AdtFields``: it returns the refusals, the
warnings, and the cleaned values the event is built from. A sender in strict mode
(``senders``) gets every warning as a refusal instead. Texts name the field and the rule,
never the value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from shared.events import Clinician, Diagnosis, FieldWarning, Location, PatientIdentifierV2
from shared.events.adt import PATIENT_LEVEL_TRIGGERS

from .adt_fields import AdtFields, Entry
from .charsets import codec_for
from .hl7_errors import DATA_TYPE_ERROR, REQUIRED_FIELD_MISSING, TABLE_VALUE_NOT_FOUND, Hl7Issue, error
from .hl7_reader import Hl7Message
from .senders import Sender

KNOWN_VERSIONS: tuple[str, ...] = (
    "2.1", "2.2", "2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.7", "2.7.1", "2.8", "2.8.1", "2.8.2")
# HL7 table 0004 (patient class)
PATIENT_CLASSES = frozenset("BCEINOPRU")
# HL7 table 0203 (identifier type), the values seen on PID-3
IDENTIFIER_TYPES = frozenset((
    "AM AN ANC AND ANON ANT APRN BA BC BCT BR BRN BSNR CC CONM CY DDS DEA DFN DI DL DN DO DP DPM DR DS EI EN ESN FI "
    "GI GIN GL GN HC IND JHN LACSN LANR LI LN LR MA MB MC MCD MCN MCR MCT MD MI MR MRT MS NBSNR NCT NE NH NI NII NIIP "
    "NP NPI OD PA PC PCN PE PEN PI PN PNT PPIN PPN PRC PRN PT QA RI RN RPH RR RRI RRP SID SL SN SP SR SS TAX TN TPR U "
    "UPIN USID VN VP VS WC WCN WP XX").split())
# HL7 table 0112 (discharge disposition; the UB-04 patient status codes)
DISPOSITIONS = frozenset((
    "01 02 03 04 05 06 07 08 09 20 21 30 40 41 42 43 50 51 61 62 63 64 65 66 69 70 71 72 81 82 83 84 85 86 87 88 "
    "89 90 91 92 93 94 95").split())
# Triggers that concern the person or may come without a visit: PV1 is optional for them.
PV1_OPTIONAL = frozenset({"A08"}) | PATIENT_LEVEL_TRIGGERS

# The fields this module judges (also the bounded label set of admissions_field_warnings_total).
FIELDS: dict[str, str] = {
    "MSH-2": "optional: a doubled escape character (^~\\\\&) is read as one, with a warning",
    "MSH-4": "identity: empty -> MSH-3, then the TLS client certificate, then the listener's facility (warning); "
             "longer than 64 -> cut (warning); none of them -> refused",
    "MSH-7": "optional: not a date/time -> left out (warning)",
    "MSH-12": "optional: 2.1-2.8.2 accepted; another 2.x -> kept (warning); empty -> warning; not 2.x -> refused",
    "MSH-18": "optional: unknown character set -> UTF-8 else ISO 8859-1 (warning); bytes invalid in the "
              "declared set -> replaced (warning)",
    "EVN-2": "required when it is the event time (no readable EVN-6): unreadable -> refused",
    "EVN-6": "optional: preferred event time; unreadable -> EVN-2 (warning)",
    "PID-3": "required: at least one identifier; a repetition longer than 64 -> left out (warning)",
    "PID-3.4": "optional: longer than 227 -> left out (warning)",
    "PID-3.5": "optional: not in table 0203 -> kept (warning); longer than 64 -> left out (warning)",
    "MRG-1": "required on A40; its repetitions, CX-4 and CX-5 follow the PID-3 rules",
    "MRG-1.4": "as PID-3.4",
    "MRG-1.5": "as PID-3.5",
    "PV1-2": "optional: not in table 0004 -> kept (warning); longer than 64 -> left out (warning)",
    "PV1-3": "optional: a component longer than the contract allows -> that component left out (warning)",
    "PV1-6": "optional: as PV1-3",
    "PV1-7": "optional: a component longer than the contract allows -> that component left out (warning)",
    "PV1-19": "optional: longer than 64 -> left out, the encounter is keyed by its admit date (warning)",
    "PV1-36": "optional: not in table 0112 -> kept (warning); longer than 64 -> left out (warning)",
    "PV1-44": "optional: not a date/time -> left out (warning)",
    "PV1-45": "optional: not a date/time -> left out (warning)",
    "DG1-3": "optional: code longer than 16 -> that diagnosis left out; text or system too long -> left out (warning)",
    "DG1-6": "optional: longer than 8 -> left out (warning)",
}

_TIME_FIELD = {"message_time": "MSH-7", "event_time": "EVN-2", "event_occurred": "EVN-6", "admit_time": "PV1-44",
               "discharge_time": "PV1-45"}


class Quirk(NamedTuple):
    field: str
    kind: str  # too_long | bad_value | unknown_code | fallback | bad_encoding
    text: str

    def model(self) -> FieldWarning:
        return FieldWarning(field=self.field, kind=self.kind, text=self.text)  # type: ignore[arg-type]

    def as_issue(self) -> Hl7Issue:
        """Strict mode: the warning refuses the message instead."""
        segment, _, rest = self.field.partition("-")
        number = int(rest.split(".")[0]) if rest[:1].isdigit() else 0
        component = int(rest.split(".")[1]) if "." in rest else 0
        code = TABLE_VALUE_NOT_FOUND if self.kind == "unknown_code" else (
            REQUIRED_FIELD_MISSING if self.kind == "fallback" else DATA_TYPE_ERROR)
        return error(code, f"{self.text} (this sender is in strict mode)", segment, number, component=component)

    def as_warning_issue(self) -> Hl7Issue:
        """For an ERR segment with severity W."""
        issue = self.as_issue()
        return Hl7Issue(issue.code, self.text, issue.segment, issue.field, component=issue.component)


def _cap(model: Any, name: str) -> int:
    for m in model.model_fields[name].metadata:
        if hasattr(m, "max_length"):
            return m.max_length
    return 1 << 30


CAPS = {
    "id": _cap(PatientIdentifierV2, "id"), "authority": _cap(PatientIdentifierV2, "assigning_authority"),
    "id_type": _cap(PatientIdentifierV2, "id_type"),
    "class": 64, "disposition": 64, "visit": 64,
    "dx_code": _cap(Diagnosis, "code"), "dx_system": _cap(Diagnosis, "system"),
    "dx_text": _cap(Diagnosis, "description"), "dx_type": _cap(Diagnosis, "diagnosis_type"),
}
_DX_CAPS = (("system", CAPS["dx_system"]), ("description", CAPS["dx_text"]), ("diagnosis_type", CAPS["dx_type"]))
_LOCATION_CAPS = {k: _cap(Location, k) for k in ("facility", "point_of_care", "room", "bed")}
_CLINICIAN_CAPS = {k: _cap(Clinician, k) for k in ("id", "family_name", "given_name")}


@dataclass
class Assessment:
    """The verdict on one message and the values its event is built from."""

    sender: Sender | None
    issues: list[Hl7Issue] = field(default_factory=list)
    warnings: list[Quirk] = field(default_factory=list)
    occurred_at: datetime | None = None
    occurred_source: str | None = None
    occurred_precision: str = "second"
    scope: str = "visit"

    def warn(self, fld: str, kind: str, text: str) -> None:
        self.warnings.append(Quirk(fld, kind, text))


def _trim_entry(entry: Entry | None, caps: dict[str, int], where: str, a: Assessment, what: str) -> Entry | None:
    if entry is None:
        return None
    for k, v in entry.items():
        if v is not None and len(v) > caps[k]:
            break
    else:
        return entry  # the usual case: nothing to leave out, nothing copied
    out = dict(entry)
    for key, cap in caps.items():
        if out.get(key) is not None and len(out[key]) > cap:
            out[key] = None
            a.warn(where, "too_long", f"{where} {what} {key.replace('_', ' ')} is longer than {cap}; left out")
    return out if any(v is not None for v in out.values()) else None


def _identifiers(ids: tuple[Entry, ...], where: str, a: Assessment, default_authority: str | None) -> tuple[Entry, ...]:
    for ident in ids:  # the usual case: nothing to judge, nothing copied
        kind = ident["id_type"]
        if (len(ident["id"]) > CAPS["id"] or (ident["assigning_authority"] is None and default_authority)
                or (kind is not None and (kind not in IDENTIFIER_TYPES or len(kind) > CAPS["id_type"]))
                or (ident["assigning_authority"] is not None and len(ident["assigning_authority"]) > CAPS["authority"])):
            break
    else:
        return ids
    out = []
    for ident in ids:
        if len(ident["id"]) > CAPS["id"]:
            a.warn(where, "too_long", f"{where} an identifier longer than {CAPS['id']} was left out")
            continue
        if ident["assigning_authority"] is None and default_authority:
            ident = {**ident, "assigning_authority": default_authority}
        auth = ident["assigning_authority"]
        if auth is not None and len(auth) > CAPS["authority"]:
            ident = {**ident, "assigning_authority": None}
            a.warn(f"{where}.4", "too_long", f"{where}.4 assigning authority is longer than {CAPS['authority']}; left out")
        kind = ident["id_type"]
        if kind is not None:
            if len(kind) > CAPS["id_type"]:
                ident = {**ident, "id_type": None}
                a.warn(f"{where}.5", "too_long", f"{where}.5 identifier type is longer than {CAPS['id_type']}; left out")
            elif kind.upper() not in IDENTIFIER_TYPES:
                a.warn(f"{where}.5", "unknown_code", f"{where}.5 identifier type is not in HL7 table 0203; kept as received")
        out.append(ident)
    return ids if len(out) == len(ids) and all(x is y for x, y in zip(out, ids)) else tuple(out)


def _coded(value: str | None, table: frozenset[str], cap: int, where: str, name: str, number: str,
           a: Assessment) -> str | None:
    if value is None:
        return None
    if len(value) > cap:
        a.warn(where, "too_long", f"{where} {name} is longer than {cap}; left out")
        return None
    if value not in table:
        a.warn(where, "unknown_code", f"{where} {name} is not in HL7 table {number}; kept as received")
    return value


def choose_event_time(f: AdtFields, a: Assessment) -> None:
    """EVN-6 (event occurred), else EVN-2 (recorded), else PV1-45 (A03) / PV1-44, else MSH-7."""
    if f.event_time is not None and f.event_occurred is None and not f.bad_times:  # the usual message
        a.occurred_at, a.occurred_source = f.event_time, "EVN-2"
        a.occurred_precision = f.precisions.get("event_time", "second")
        return
    bad = set(f.bad_times)
    order = ["event_occurred", "event_time"]
    order += ["discharge_time", "admit_time"] if f.trigger == "A03" else ["admit_time", "discharge_time"]
    order.append("message_time")
    for attr in order:
        if attr in bad:
            if attr == "event_time":
                a.issues.append(error(DATA_TYPE_ERROR, "EVN-2 (the event time) is not a valid date/time and EVN-6 "
                                      "gives none: the event time cannot be read", "EVN", 2))
                return
            continue
        value = getattr(f, attr)
        if value is not None:
            a.occurred_at, a.occurred_source = value, _TIME_FIELD[attr]
            a.occurred_precision = f.precisions.get(attr, "second")
            return
    a.issues.append(error(REQUIRED_FIELD_MISSING, "no event time: EVN-6, EVN-2, PV1-44/45 and MSH-7 are all empty",
                          "EVN", 2))


def assess(msg: Hl7Message, f: AdtFields, sender: Sender | None) -> Assessment:
    """Judge the optional fields of an accepted-so-far message and clean ``f`` in place (values
    left out are set to None). Refusals found here (event time) go to ``issues``."""
    a = Assessment(sender)
    policy = sender.policy if sender else None
    if sender is not None:
        if sender.source != "MSH-4" and sender.source != "policy":
            a.warn("MSH-4", "fallback", f"MSH-4 (sending facility) is empty; the sender is identified by {sender.source}")
        if sender.truncated:
            a.warn("MSH-4", "too_long", "MSH-4 (sending facility) is longer than 64; cut to 64 characters")
    if msg.repaired:
        a.warn("MSH-2", "bad_value", "MSH-2 has a doubled escape character; read as one")
    if msg.decode_problem == "invalid":
        a.warn("MSH-18", "bad_encoding", "bytes not valid in the MSH-18 character set were replaced")
    elif msg.decode_problem == "unknown" or (f.character_set and not _charset_known(f.character_set)):
        a.warn("MSH-18", "unknown_code", "MSH-18 names a character set not in HL7 table 0211; read as UTF-8 "
                                         "(else ISO 8859-1)")
    if not f.version:
        a.warn("MSH-12", "fallback", "MSH-12 (version) is empty; read as 2.5.1")
    elif f.version not in KNOWN_VERSIONS:
        a.warn("MSH-12", "unknown_code", "MSH-12 names a 2.x version this interface does not list; kept, "
                                         "acknowledged as 2.5.1")
    for attr in f.bad_times:
        where = _TIME_FIELD[attr]
        if attr != "event_time":
            a.warn(where, "bad_value", f"{where} is not a valid date/time; left out")
    choose_event_time(f, a)
    default_authority = policy.default_authority if policy else None
    f.patient_ids = _identifiers(f.patient_ids, "PID-3", a, default_authority)
    if f.prior_patient_ids:
        f.prior_patient_ids = _identifiers(f.prior_patient_ids, "MRG-1", a, default_authority)
    if f.patient_class is not None and f.patient_class not in PATIENT_CLASSES:
        f.patient_class = _coded(f.patient_class, PATIENT_CLASSES, CAPS["class"], "PV1-2", "patient class", "0004", a)
    if f.discharge_disposition is not None and f.discharge_disposition not in DISPOSITIONS:
        f.discharge_disposition = _coded(f.discharge_disposition, DISPOSITIONS, CAPS["disposition"], "PV1-36",
                                         "discharge disposition", "0112", a)
    if f.visit_number is not None and len(f.visit_number) > CAPS["visit"]:
        f.visit_number = None
        a.warn("PV1-19", "too_long", f"PV1-19 visit number is longer than {CAPS['visit']}; left out")
    f.location = _trim_entry(f.location, _LOCATION_CAPS, "PV1-3", a, "location")
    f.prior_location = _trim_entry(f.prior_location, _LOCATION_CAPS, "PV1-6", a, "prior location")
    f.attending = _trim_entry(f.attending, _CLINICIAN_CAPS, "PV1-7", a, "attending doctor")
    if f.diagnoses:
        kept = [k for d in f.diagnoses if (k := _diagnosis(d, a)) is not None]
        if len(kept) != len(f.diagnoses) or any(x is not y for x, y in zip(kept, f.diagnoses)):
            f.diagnoses = tuple(kept)
    if f.trigger in PATIENT_LEVEL_TRIGGERS or not f.has_pv1:
        a.scope = "patient"
    if policy is not None and policy.strict and a.warnings:
        a.issues.extend(w.as_issue() for w in a.warnings)
    return a


def _diagnosis(d: Entry, a: Assessment) -> Entry | None:
    if len(d["code"]) > CAPS["dx_code"]:
        a.warn("DG1-3", "too_long", f"DG1-3 diagnosis code is longer than {CAPS['dx_code']}; that diagnosis was left out")
        return None
    for k, c in _DX_CAPS:
        v = d.get(k)
        if v is not None and len(v) > c:
            break
    else:
        return d
    d = dict(d)
    for key, cap, where, name in (("system", CAPS["dx_system"], "DG1-3", "coding system"),
                                  ("description", CAPS["dx_text"], "DG1-3", "description"),
                                  ("diagnosis_type", CAPS["dx_type"], "DG1-6", "diagnosis type")):
        if d.get(key) is not None and len(d[key]) > cap:
            d[key] = None
            a.warn(where, "too_long", f"{where} {name} is longer than {cap}; left out")
    return d


def _charset_known(name: str) -> bool:
    return codec_for(name) is not None
