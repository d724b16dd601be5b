"""Bad claims and roster files (X12 837, claims CSV, claims JSON, roster CSV, roster JSON):
every record is either loaded or rejected with a reason, the text of every rejected record
travels with its rejection (the dead letter), and no parser raises.

Files are read the way the loads read them (``newline=""`` text streams).
"""

from __future__ import annotations

import csv
import io
import json

import pytest
import pyx12.errors
from hypothesis import given
from hypothesis import strategies as st

from services.intake.domain import (
    ParsedClaim, ParsedRoster, Rejection, iter_837, iter_claims_csv, iter_claims_json, iter_roster_csv,
    iter_roster_items,
)
from services.intake.domain.x12_envelope import Tokens
from shared.formats import CLAIM_CSV_COLUMNS, ROSTER_COLUMNS

from .budget import budget
from .corpus import (
    claim_csv_row, claims_csv_text, claims_json_text, json_object_like, json_values, roster_csv_row, roster_csv_text,
    X12_FIXTURES, seed_837, x12_text,
)

SCOPES = {"file", "group", "transaction", "claim", "line", "row"}


def stream(text: str) -> io.StringIO:
    return io.StringIO(text, newline="")


def check_records(out: list) -> None:
    for r in out:
        assert isinstance(r, (ParsedClaim, ParsedRoster, Rejection)), r
        if isinstance(r, Rejection):
            assert r.reason and r.scope in SCOPES


# ---------------------------------------------------------------------------- X12 837

def clm_segments(text: str) -> int | None:
    """CLM segments as the file's own delimiters split it; None when there is no valid ISA."""
    try:
        return sum(1 for sid, _els, _line in Tokens(stream(text)) if sid == "CLM")
    except pyx12.errors.X12Error:
        return None


def check_837(text: str) -> None:
    out = list(iter_837(stream(text)))
    check_records(out)
    accepted = [r for r in out if isinstance(r, ParsedClaim)]
    rejected = [r for r in out if isinstance(r, Rejection)]
    claims = clm_segments(text)
    if claims is None:
        assert rejected, "a file that is not X12 must be rejected, not ignored"
    else:
        assert len(accepted) <= claims
        if len(accepted) < claims:
            assert rejected, "claims were neither loaded nor rejected"
    for r in rejected:
        if r.scope in ("claim", "transaction"):
            assert r.raw, "a rejected claim or set must carry its text for the dead letter"


@budget(250)
@given(x12_text)
def test_every_837_input_is_loaded_or_rejected(text):
    check_837(text)


@pytest.mark.slow
@budget(5000, randomize=True)
@given(x12_text)
def test_every_837_input_is_loaded_or_rejected_long(text):
    check_837(text)


def test_claims_of_a_set_with_a_damaged_st_are_rejected_with_their_text():
    text = (X12_FIXTURES / "837p_office_and_adjustments.x12").read_text(encoding="latin-1")  # 2 sets, 4 claims
    assert "ST*837*0001*005010X222A1~" in text
    out = list(iter_837(stream(text.replace("ST*837*0001*005010X222A1~", "", 1))))
    accepted = sum(isinstance(r, ParsedClaim) for r in out)
    rejected_text = "".join(r.raw or "" for r in out if isinstance(r, Rejection))
    assert accepted + rejected_text.count("CLM*") == 4


# ---------------------------------------------------------------------------- claims CSV

def data_rows(text: str) -> tuple[bool, list[int]]:
    """(header is a known claims/roster header, line numbers of the non-blank data rows)."""
    reader = csv.reader(stream(text))
    header = next(reader, None)
    lines = [reader.line_num for row in reader if any(c.strip() for c in row)]
    return header is not None, lines


def accounted_lines(out: list) -> set[int]:
    lines: set[int] = set()
    for r in out:
        if isinstance(r, ParsedClaim):
            lines.update(r.position.lines)
        elif isinstance(r, ParsedRoster):
            lines.add(r.line_number)
        elif not r.covered and r.raw:
            lines.update(r.position.lines)
    return lines


def check_csv(parse, text: str) -> None:
    try:
        has_header, lines = data_rows(text)
    except csv.Error:
        has_header, lines = False, []  # the reference reader cannot read it either (e.g. a 128 KB field)
    out = list(parse(stream(text)))
    check_records(out)
    file_rejected = any(isinstance(r, Rejection) and r.scope == "file" for r in out)
    if not has_header:
        assert file_rejected
    elif not file_rejected:
        missing = set(lines) - accounted_lines(out)
        assert not missing, f"rows neither loaded nor rejected with their text: lines {sorted(missing)}"


@budget(300)
@given(claims_csv_text)
def test_every_claims_csv_row_is_loaded_or_rejected_with_its_text(text):
    check_csv(iter_claims_csv, text)


@budget(300)
@given(roster_csv_text)
def test_every_roster_csv_row_is_loaded_or_rejected_with_its_text(text):
    check_csv(iter_roster_csv, text)


@pytest.mark.slow
@budget(4000, randomize=True)
@given(st.one_of(claims_csv_text, roster_csv_text))
def test_every_csv_row_is_loaded_or_rejected_long(text):
    check_csv(iter_claims_csv, text)
    check_csv(iter_roster_csv, text)


HUGE_FIELD = '"' + "x" * 140_000 + "\n"


@pytest.mark.parametrize("kind", ["claims", "roster"])
def test_a_csv_with_an_oversized_field_is_rejected_not_raised(kind):
    if kind == "claims":
        text = ",".join(CLAIM_CSV_COLUMNS) + "\n" + claim_csv_row() + "\n" + HUGE_FIELD
        out = list(iter_claims_csv(stream(text)))
    else:
        text = ",".join(ROSTER_COLUMNS) + "\n" + roster_csv_row() + "\n" + HUGE_FIELD
        out = list(iter_roster_csv(stream(text)))
    assert any(isinstance(r, Rejection) for r in out)


def test_a_csv_rejected_for_its_header_keeps_its_rows():
    text = ",".join(CLAIM_CSV_COLUMNS).replace("member_id", "memberid") + "\n" + claim_csv_row() + "\n"
    (r,) = list(iter_claims_csv(stream(text)))
    assert r.scope == "file" and claim_csv_row() in (r.raw or "")


# ---------------------------------------------------------------------------- claims JSON, roster JSON

@budget(300)
@given(claims_json_text)
def test_every_claims_json_input_is_loaded_or_rejected(text):
    out = list(iter_claims_json(stream(text)))
    check_records(out)
    assert out, "an input must be loaded or rejected"
    for r in out:
        if isinstance(r, Rejection) and not r.covered:
            assert r.raw is not None


@pytest.mark.parametrize("text", ["[" * 50_000 + "]" * 50_000, '{"claim_id": ' + "9" * 5000 + "}\n"],
                         ids=["deep-nesting", "huge-integer"])
def test_json_that_breaks_the_json_parser_is_rejected(text):
    out = list(iter_claims_json(stream(text)))
    assert out and all(isinstance(r, Rejection) for r in out)


roster_items = st.lists(st.one_of(
    json_object_like({"member_id": "M1", "given_name": "Jane", "family_name": "Doe", "birth_date": "1960-03-15",
                      "sex": "F", "pcp_practice_id": "P1", "contract_id": "MMO-2026",
                      "eligibility": [{"start": "2025-01-01"}]}),
    json_object_like(dict(zip(ROSTER_COLUMNS, roster_csv_row().split(","), strict=True))),
    json_values,
), max_size=5)


@budget(300)
@given(roster_items)
def test_every_roster_json_item_is_loaded_or_rejected_with_its_text(items):
    items = json.loads(json.dumps(items))  # as the API receives them
    out = list(iter_roster_items(items))
    check_records(out)
    assert accounted_lines(out) == set(range(1, len(items) + 1))
