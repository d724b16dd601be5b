import uuid
from datetime import date

from hypothesis import given, settings as hsettings, strategies as st

from services.gaps.domain import (
    ClaimBook, apply_claim, current_claims, diff_statuses, evaluate_member, history_from_claims,
)

from .builders import CODES, member, settings
from .claim_factories import claim, t

VISIT = ("99213", date(2026, 2, 1))
COLO = ("45378", date(2026, 2, 1))


def ids(book):
    return [(c.claim_id, c.frequency_code) for c in current_claims(book)]


def test_replacement_supersedes_the_prior_version():
    book = ClaimBook.from_claims([claim("A", [VISIT], at=t(1)),
                                  claim("A-R", [("99214", date(2026, 2, 1))], freq="7", original="A", at=t(2))])
    (cur,) = current_claims(book)
    assert cur.claim_id == "A-R" and cur.lines[0].procedure_code == "99214"
    assert len(book) == 2  # nothing edited away


def test_replacement_reusing_the_claim_id():
    book = ClaimBook.from_claims([claim("A", [VISIT], at=t(1)), claim("A", [COLO], freq="7", at=t(2))])
    (cur,) = current_claims(book)
    assert cur.frequency_code == "7" and cur.lines[0].procedure_code == "45378"


def test_void_withdraws_and_late_original_stays_withdrawn():
    original = claim("A", [COLO], at=t(1))
    void = claim("A", [COLO], freq="8", original="A", at=t(5))
    assert ids(ClaimBook.from_claims([original, void])) == []
    assert ids(ClaimBook.from_claims([void, original])) == []


def test_chain_of_replacements_is_one_family_in_any_order():
    versions = [claim("A", [VISIT], at=t(1)), claim("B", [VISIT], freq="7", original="A", at=t(2)),
                claim("C", [COLO], freq="7", original="B", at=t(3))]
    for order in ([0, 1, 2], [2, 1, 0], [1, 2, 0]):
        assert ids(ClaimBook.from_claims([versions[i] for i in order])) == [("C", "7")]


def test_duplicate_delivery_is_idempotent():
    c = claim("A", [VISIT])
    book = apply_claim(apply_claim(ClaimBook(), c), c)
    assert len(book) == 1


claims_pool = [
    claim("A", [VISIT], at=t(1)),
    claim("A2", [COLO], freq="7", original="A", at=t(2)),
    claim("A2", [COLO], freq="8", original="A2", at=t(3)),
    claim("B", [COLO], at=t(1)),
    claim("C", [("82274", date(2026, 4, 1))], at=t(4)),
    claim("C", [("82274", date(2026, 4, 1))], freq="8", at=t(6)),
    claim("D", [VISIT], at=t(7)),
    claim("D", [("99215", date(2026, 2, 1))], freq="7", original="D", at=t(8)),
]


@hsettings(max_examples=60, deadline=None)
@given(st.permutations(claims_pool))
def test_any_arrival_order_gives_the_same_current_claims(order):
    expected = ids(ClaimBook.from_claims(claims_pool))
    assert ids(ClaimBook.from_claims(order)) == expected
    assert expected == [("B", "1"), ("D", "7")]


def _eval(book):
    m = member()
    h = history_from_claims(current_claims(book), CODES)
    return m, evaluate_member(m, h, settings(measures=("CMS130",)), CODES)


def test_void_that_removes_the_evidence_reopens_the_gap():
    m, first = _eval(ClaimBook.from_claims([claim("V", [VISIT]), claim("COL", [COLO], at=t(1))]))
    assert first[0].status == "closed"
    diff1 = diff_statuses(m, {}, first, cause_event_id="cause-1", occurred_at=t(1))
    assert [e.event_type for e in diff1.events] == ["gap.closed"]

    book = ClaimBook.from_claims([claim("V", [VISIT]), claim("COL", [COLO], at=t(1)),
                                  claim("COL", [COLO], freq="8", at=t(9))])
    m, second = _eval(book)
    assert second[0].status == "open"
    diff2 = diff_statuses(m, diff1.stored, second, cause_event_id="cause-2", occurred_at=t(9))
    (ev,) = diff2.events
    assert ev.event_type == "gap.opened" and "no colorectal cancer screening" in ev.reason


def test_institutional_claim_discharge_feeds_follow_up():
    ip = claim("IP1", [("0120", date(2026, 3, 10))], claim_type="institutional", type_of_bill="111",
               admission_date=date(2026, 3, 8), discharge_date=date(2026, 3, 10), discharge_status="01")
    h = history_from_claims([ip], CODES)
    (dc,) = h.discharges
    assert dc.acute and dc.discharge_id == "IP1" and dc.disposition == "01"
    op = claim("OP1", [("99284", date(2026, 3, 10))], claim_type="institutional", type_of_bill="131",
               discharge_date=date(2026, 3, 10), discharge_status="01")
    (dc2,) = history_from_claims([op], CODES).discharges
    assert not dc2.acute
    assert history_from_claims([op], CODES).services[0].setting == "ed"



def test_revenue_code_only_lines_count_by_revenue_code():
    """837I lines without a procedure code (SV202 absent) are services by revenue code: an ER
    revenue code (045x) puts the claim in the ED setting, and nothing is mistaken for a CPT."""
    from decimal import Decimal

    from shared.events import ClaimLine, ClaimV1

    er = ClaimV1(
        **ClaimV1.envelope(occurred_at=t(2), source="test", member_id="M1"),
        claim_id="ER1", claim_type="institutional", type_of_bill="131",
        lines=(ClaimLine(line_number=1, procedure_code=None, revenue_code="0450", service_date=date(2026, 3, 2),
                         charge_amount=Decimal("900")),
               ClaimLine(line_number=2, procedure_code="3074F", revenue_code="0510", service_date=date(2026, 3, 2))),
    )
    h = history_from_claims([er], CODES)
    cpt2, rev = sorted(h.services, key=lambda s: s.code_system)
    assert (rev.code, rev.code_system) == ("0450", "REV") and cpt2.code_system == "CPT"
    assert {s.setting for s in h.services} == {"ed"}  # a BP reading there does not count for CMS165


# The same versions delivered twice: under their own id, and under another id (a re-sent file
# with new envelopes), so the book's "same version, keep the smaller id" rule is exercised.
_redelivered = claims_pool + [claims_pool[0], claims_pool[5]] + [
    c.model_copy(update={"event_id": uuid.uuid5(uuid.NAMESPACE_URL, f"again/{i}")}) for i, c in
    enumerate(claims_pool[:4])]


@hsettings(max_examples=80, deadline=None)
@given(st.lists(st.sampled_from(_redelivered), max_size=14))
def test_building_a_book_at_once_equals_adding_one_version_at_a_time(arrivals):
    one_by_one = ClaimBook()
    for c in arrivals:
        one_by_one = apply_claim(one_by_one, c)
    assert [v.event_id for v in ClaimBook.from_claims(arrivals).versions] == [v.event_id for v in one_by_one.versions]


def test_a_replacement_whose_original_has_not_arrived_is_held_and_closes_nothing():
    held = ClaimBook.from_claims([claim("V", [VISIT]), claim("R", [COLO], freq="7", original="O", at=t(1))])
    assert ids(held) == [("V", "1")]
    m, results = _eval(held)
    assert results[0].status == "open"  # the colonoscopy waits for the claim it replaces
    m, results = _eval(ClaimBook.from_claims([*held.versions, claim("O", [VISIT], at=t(9))]))
    assert results[0].status == "closed"  # the original arrived (later): the replacement counts
