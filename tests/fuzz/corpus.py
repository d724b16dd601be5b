"""The bad-input corpus: valid inputs of every kind the platform ingests, and strategies that
break them the ways senders do (a field with delimiters in it, a segment dropped or repeated,
a frame cut short, a wrong encoding, binary noise) or the ways an attacker would.

Used by the hypothesis properties in this folder and as the seed corpus of
``bench/fuzz_atheris.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import strategies as st

from shared.formats import CLAIM_CSV_COLUMNS, ROSTER_COLUMNS
from tests.unit.admissions.builders import hl7_message

REPO = Path(__file__).resolve().parents[2]
X12_FIXTURES = REPO / "tests" / "fixtures" / "x12"

TRIGGERS = ("A01", "A02", "A03", "A04", "A06", "A08", "A11", "A13", "A40", "A99")
# Characters that mean something to one of the formats, plus encodings' troublemakers.
NASTY = ("|", "^", "~", "\\", "&", "\r", "\n", "\r\n", "\x0b", "\x1c", "\x1c\r", "\x00", " ", "\t", "\ufeff",
         "é", "€", "\\X41\\", "\\F\\", "\\E\\", "\\Xzz\\", "MSH|^~\\&|", "*", ":", ",", ";", '"', "'", "{", "}", "[",
         "]", "ISA*", "~ST*837*", "~SE*", "CLM*", "-", "0", "9" * 30, "2026-02-30", "1e400", "NaN", "\u202e")


# ---------------------------------------------------------------------------- valid seeds

def seed_hl7() -> list[str]:
    out = []
    for trig in TRIGGERS[:-1]:
        out.append(hl7_message(trig, control_id=f"SEED{trig}", prior_mrn="OLD1" if trig == "A40" else "",
                               discharge="20260305101500" if trig == "A03" else ""))
    out.append(hl7_message("A01", control_id="SEEDV23", version="2.3", msh15="AL", msh16="NE"))
    out.append(hl7_message("A03", control_id="SEEDLF", sep="\n"))
    return out


def seed_837() -> list[str]:
    return [p.read_text(encoding="latin-1") for p in sorted(X12_FIXTURES.glob("*.x12"))]


def claim_csv_row(**kw: str) -> str:
    base = dict(claim_id="C1", frequency_code="1", original_claim_id="", claim_type="professional", member_id="M1",
                payer_id="SHP01", billing_npi="1234567893", rendering_npi="", place_of_service="11", type_of_bill="",
                admission_date="", discharge_date="", discharge_status="", diagnoses="E11.9;I10", line_number="1",
                procedure_code="99213", modifiers="25", revenue_code="", service_date="2026-02-01",
                service_date_end="", units="1", charge_amount="120.50", allowed_amount="", paid_amount="")
    base.update(kw)
    return ",".join(base[c] for c in CLAIM_CSV_COLUMNS)


def roster_csv_row(**kw: str) -> str:
    base = dict(member_id="M1", given_name="Jane", family_name="Doe", birth_date="1960-03-15", sex="F",
                mrns="GENHOSP:MRN100;STMARY:778", pcp_practice_id="P1", pcp_npi="1992753880",
                hospitalist_group="HG-NORTH", pod="pod-east", contract_id="MMO-2026", program="MSSP",
                risk_tier="High", eligibility_start="2025-01-01", eligibility_end="")
    base.update(kw)
    return ",".join(base[c] for c in ROSTER_COLUMNS)


def seed_claims_csv() -> list[str]:
    header = ",".join(CLAIM_CSV_COLUMNS)
    return [
        "\n".join([header, claim_csv_row(), claim_csv_row(line_number="2", procedure_code="3044F", charge_amount="0"),
                   claim_csv_row(claim_id="C2", member_id="M2", procedure_code="45378")]) + "\n",
        "\r\n".join([header, claim_csv_row(claim_type="institutional", type_of_bill="111", revenue_code="0120",
                                           procedure_code="", admission_date="2026-03-10",
                                           discharge_date="2026-03-14", discharge_status="01")]) + "\r\n",
    ]


def seed_roster_csv() -> list[str]:
    header = ",".join(ROSTER_COLUMNS)
    return ["\n".join([header, roster_csv_row(), roster_csv_row(member_id="M2", mrns="", pod="pod-west"),
                       roster_csv_row(member_id="M3", eligibility_end="2026-12-31")]) + "\n"]


def seed_claims_json() -> list[str]:
    line = {c: v for c, v in zip(CLAIM_CSV_COLUMNS, claim_csv_row().split(","), strict=True) if v}
    claim = {"claim_id": "J1", "frequency_code": "1", "claim_type": "professional", "member_id": "M1",
             "diagnoses": ["E119"], "lines": [{"line_number": 1, "procedure_code": "99213",
                                               "service_date": "2026-02-01", "charge_amount": "10"}]}
    return [json.dumps(line) + "\n" + json.dumps({**line, "line_number": "2"}) + "\n",
            json.dumps([claim, claim]), json.dumps({"claims": [claim]})]


def seed_adt_json() -> list[str]:
    body = {"trigger": "A01", "message_control_id": "J0001", "sending_facility": "MERCY",
            "occurred_at": "2026-03-02T14:05:00-05:00", "patient_class": "I",
            "patient_ids": [{"id": "100234", "assigning_authority": "MERCY", "id_type": "MR"}]}
    return [json.dumps(body)]


# ---------------------------------------------------------------------------- mutations

nasty_text = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=12),
    st.text(alphabet=st.sampled_from("".join(sorted(set("".join(NASTY))))), max_size=12),
)


@st.composite
def mutated(draw, base: st.SearchStrategy[str], max_ops: int = 6) -> str:
    """``base`` with up to ``max_ops`` edits: insert, delete, replace, repeat a slice, cut."""
    text = draw(base)
    for _ in range(draw(st.integers(0, max_ops))):
        n = len(text)
        op = draw(st.sampled_from(("insert", "delete", "replace", "repeat", "cut")))
        i = draw(st.integers(0, n))
        j = min(n, i + draw(st.integers(0, 40)))
        if op == "insert":
            text = text[:i] + draw(nasty_text) + text[i:]
        elif op == "delete":
            text = text[:i] + text[j:]
        elif op == "replace":
            text = text[:i] + draw(nasty_text) + text[j:]
        elif op == "repeat":
            text = text[:j] + text[i:j] * draw(st.integers(1, 3)) + text[j:]
        else:
            text = text[:i]
    return text


@st.composite
def hl7_field_edit(draw) -> str:
    """A valid message with one or more fields (or whole segments) replaced, dropped or repeated."""
    segments = draw(st.sampled_from(seed_hl7())).replace("\n", "\r").split("\r")
    for _ in range(draw(st.integers(1, 4))):
        k = draw(st.integers(0, len(segments) - 1))
        op = draw(st.sampled_from(("field", "field", "drop", "repeat", "swap")))
        if op == "field":
            fields = segments[k].split("|")
            f = draw(st.integers(0, len(fields) + 2))
            value = draw(nasty_text)
            if f < len(fields):
                fields[f] = value
            else:
                fields.append(value)
            segments[k] = "|".join(fields)
        elif op == "drop" and len(segments) > 1:
            segments.pop(k)
        elif op == "repeat":
            segments.insert(k, segments[k])
        else:
            m = draw(st.integers(0, len(segments) - 1))
            segments[k], segments[m] = segments[m], segments[k]
    return draw(st.sampled_from(("\r", "\n", "\r\n"))).join(segments)


def encoded(text: st.SearchStrategy[str]) -> st.SearchStrategy[bytes]:
    return st.tuples(text, st.sampled_from(("utf-8", "latin-1", "utf-16"))).map(
        lambda t: t[0].encode(t[1], "replace"))


hl7_bytes = st.one_of(
    encoded(st.sampled_from(seed_hl7())),
    encoded(hl7_field_edit()),
    encoded(mutated(st.sampled_from(seed_hl7()))),
    st.binary(max_size=300),
    st.binary(max_size=64).map(lambda b: b"MSH|^~\\&|" + b),
)

x12_text = st.one_of(mutated(st.sampled_from(seed_837()), max_ops=10), st.text(max_size=300),
                     st.text(max_size=200).map(lambda t: seed_837()[0][:106] + t))
claims_csv_text = st.one_of(mutated(st.sampled_from(seed_claims_csv()), max_ops=8), st.text(max_size=300))
roster_csv_text = st.one_of(mutated(st.sampled_from(seed_roster_csv()), max_ops=8), st.text(max_size=300))
claims_json_text = st.one_of(mutated(st.sampled_from(seed_claims_json()), max_ops=8), st.text(max_size=200))

# Arbitrary JSON values (bounded depth and size) for JSON bodies.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2 ** 70), 2 ** 70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30)
    | st.sampled_from(["", "2026-02-30", "2026-03-02T10:00:00", "A01", "M000001", "x" * 300, "-1", "1e400"]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=12,
)


@st.composite
def json_object_like(draw, seed: dict) -> dict:
    """``seed`` with some keys replaced by arbitrary JSON values, dropped, or unknown keys added."""
    obj = dict(seed)
    for _ in range(draw(st.integers(0, 4))):
        op = draw(st.sampled_from(("set", "drop", "add")))
        if op == "set" and obj:
            obj[draw(st.sampled_from(sorted(obj)))] = draw(json_values)
        elif op == "drop" and obj:
            obj.pop(draw(st.sampled_from(sorted(obj))))
        else:
            obj[draw(st.text(max_size=10))] = draw(json_values)
    return obj
