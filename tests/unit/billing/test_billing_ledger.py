"""Cost of care from claims, carve-outs, voids and replacements, month close, idempotence."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from hypothesis import given, settings, strategies as st

from billing_factories import at, claim, examples, line, roster
from services.billing.domain import (
    ClosedPeriodPosting, DuplicateEntry, Ledger, Posting, PostingKey, accrue_member_events, current_paid_lines,
    from_ledger_event, to_ledger_event,
)

MMO, GR = "MMO-2026", "GR-2026"


def apply(ledger, member_events, event, through="2026-06", book=None):
    """What the worker does per event: recompute the member, append the diff."""
    member_events.append(event)
    rosters = [e for e in member_events if e.event_type == "roster.member"]
    claims = [e for e in member_events if e.event_type == "claim.submitted"]
    acc = accrue_member_events("M1", rosters, claims, book or examples(), through)
    return ledger.sync_member("M1", acc.postings, event.event_id)


def cost(entries, account="cost_of_care"):
    return sorted((e.key.period, e.key.rule, e.amount_cents, e.posted_period, e.adjustment)
                  for e in entries if e.key.account == account)


def test_a_carve_out_claim_leaves_cost_of_care_and_is_tracked_apart():
    c = claim("C1", (
        line(1, "99213", date(2026, 2, 3), "80.00"),
        line(2, "33533", date(2026, 2, 3), "9000.00"),  # coronary bypass: cardiac surgery
        line(3, "C1769", date(2026, 2, 4), "1200.00", revenue="0481"),  # cath lab revenue code
        line(4, "3301F", date(2026, 2, 4), "0.00"),  # a CPT II code is not cardiac surgery
    ))
    acc = accrue_member_events("M1", [roster(contract_id=GR)], [c], examples(), "2026-02")
    assert acc.postings == {
        PostingKey(GR, "2026-02", "cost_of_care", "M1", "claim:C1"): 8000,
        PostingKey(GR, "2026-02", "carve_out", "M1", "claim:C1:cardiac_surgery"): 900000,
        PostingKey(GR, "2026-02", "carve_out", "M1", "claim:C1:cardiac_catheterization"): 120000,
    }


def test_a_void_after_the_month_closed_posts_an_adjustment_in_the_next_open_month():
    ledger, seen = Ledger(), []
    apply(ledger, seen, roster())
    apply(ledger, seen, claim("C1", (line(1, "99214", date(2026, 2, 10), "120.00"),), received=date(2026, 2, 20)))
    ledger.close(MMO, "2026-02")
    entries = apply(ledger, seen, claim("C1-V", (line(1, "99214", date(2026, 2, 10), "120.00"),),
                                        frequency="8", original="C1", received=date(2026, 3, 5)))
    assert cost(entries) == [("2026-02", "claim:C1", -12000, "2026-03", True)]
    assert entries[0].reverses is not None
    assert ledger.balances(by="period")[(MMO, "2026-02", "cost_of_care")] == 0
    by_books = ledger.balances(by="posted_period")
    assert by_books[(MMO, "2026-02", "cost_of_care")] == 12000  # the closed month's books are unchanged
    assert by_books[(MMO, "2026-03", "cost_of_care")] == -12000
    assert ledger.totals(MMO, "2026-03").adjustments == {("2026-02", "cost_of_care"): -12000}


def test_an_adjustment_skips_every_closed_month():
    ledger, seen = Ledger(), []
    apply(ledger, seen, roster())
    apply(ledger, seen, claim("C1", (line(1, "99214", date(2026, 2, 10), "120.00"),)))
    for p in ("2026-02", "2026-03", "2026-04"):
        ledger.close(MMO, p)
    entries = apply(ledger, seen, claim("C1", (line(1, "99214", date(2026, 2, 10), "100.00"),),
                                        frequency="7", original="C1", received=date(2026, 5, 2)))
    assert cost(entries) == [("2026-02", "claim:C1", -12000, "2026-05", True),
                             ("2026-02", "claim:C1", 10000, "2026-05", True)]
    with pytest.raises(ClosedPeriodPosting):  # nothing is ever booked into a closed month
        ledger.append([Posting(uuid.uuid4(), entries[0].key, 1, "2026-03", uuid.uuid4())])


def test_a_replacement_reverses_and_reposts_even_across_months():
    ledger, seen = Ledger(), []
    apply(ledger, seen, roster())
    apply(ledger, seen, claim("C1", (line(1, "99214", date(2026, 2, 10), "120.00"),)))
    entries = apply(ledger, seen, claim("C2", (line(1, "99214", date(2026, 3, 1), "150.00"),),
                                        frequency="7", original="C1", received=date(2026, 3, 9)))
    assert cost(entries) == [("2026-02", "claim:C1", -12000, "2026-02", False),
                             ("2026-03", "claim:C1", 15000, "2026-03", False)]
    # a void of the replacement ends the whole family
    entries = apply(ledger, seen, claim("C2", (), frequency="8", original="C2", received=date(2026, 3, 20)))
    assert cost(entries) == [("2026-03", "claim:C1", -15000, "2026-03", False)]


def test_a_void_that_arrives_before_its_original_still_wins():
    original = claim("C1", (line(1, "99214", date(2026, 2, 10), "120.00"),), received=date(2026, 2, 20))
    void = claim("C1", (), frequency="8", original="C1", received=date(2026, 3, 1))
    assert current_paid_lines([void, original]) == []


def test_header_paid_amount_is_allocated_to_lines_by_charge():
    c = claim("C1", (line(1, "99214", date(2026, 2, 10), None, charge="200"),
                     line(2, "33533", date(2026, 2, 10), None, charge="100")), paid="90.01")
    assert [(p.line_number, p.paid_cents) for p in current_paid_lines([c])] == [(1, 6001), (2, 3000)]


def test_claims_on_days_without_eligibility_are_not_the_groups_cost():
    r = roster(spans=((date(2026, 2, 15), None),))
    c = claim("C1", (line(1, "99214", date(2026, 2, 14), "50.00"), line(2, "99214", date(2026, 2, 15), "70.00")))
    acc = accrue_member_events("M1", [r], [c], examples(), "2026-02")
    assert acc.postings[PostingKey(MMO, "2026-02", "cost_of_care", "M1", "claim:C1")] == 7000
    assert [(i.period, i.paid_cents) for i in acc.costs] == [("2026-02", 7000)]


def test_applying_the_same_source_event_twice_posts_once():
    ledger, seen = Ledger(), []
    r = roster()
    first = apply(ledger, seen, r, through="2026-03")
    assert len(first) == 3
    assert apply(ledger, seen, r, through="2026-03") == []
    c = claim("C1", (line(1, "99214", date(2026, 2, 10), "120.00"),))
    assert len(apply(ledger, seen, c, through="2026-03")) == 1
    assert apply(ledger, seen, c, through="2026-03") == []
    # a fresh ledger replaying the same events derives the same entry ids
    again, seen2 = Ledger(), []
    apply(again, seen2, r, through="2026-03")
    apply(again, seen2, c, through="2026-03")
    assert [e.entry_id for e in again.entries] == [e.entry_id for e in ledger.entries]
    with pytest.raises(DuplicateEntry):
        again.append([ledger.entries[0]])


def test_postings_become_ledger_events_and_back():
    ledger, seen = Ledger(), []
    apply(ledger, seen, roster(), through="2026-01")
    posting = ledger.entries[0]
    event = to_ledger_event(posting, occurred_at=at(date(2026, 1, 31)))
    assert event.event_id == posting.entry_id and event.member_id == "M1"
    assert (event.period, event.posted_period, event.account, event.amount_cents, event.rule) == \
        ("2026-01", "2026-01", "pmpm_fee", 3000, "pmpm:high")
    assert from_ledger_event(event) == posting


def test_an_older_file_re_sent_after_its_replacement_does_not_become_current_again():
    ledger, seen = Ledger(), []
    apply(ledger, seen, roster())
    original = (line(1, "99214", date(2026, 2, 10), "120.00"),)
    apply(ledger, seen, claim("C1", original, received=date(2026, 2, 20)))
    # the replacement's 837 was created later (event time) than the original's
    replaced = claim("C1", (line(1, "99214", date(2026, 2, 10), "100.00"),), frequency="7", original="C1",
                     received=date(2026, 3, 2)).model_copy(update={"occurred_at": at(date(2026, 3, 1))})
    apply(ledger, seen, replaced)
    # the payer re-sends the original file (same 837, new event id) after the replacement
    entries = apply(ledger, seen, claim("C1", original, received=date(2026, 3, 9), hour=5))
    assert cost(entries) == []
    assert ledger.balances(by="period")[(MMO, "2026-02", "cost_of_care")] == 10000


@given(source=st.uuids(), kind=st.text(max_size=80))
@settings(max_examples=300, deadline=None)
def test_entry_ids_are_the_shared_derived_ids(source, kind):
    """Entry ids must stay ``derive_id(source, kind)``: a rebuild, a replay on another version of
    the worker, and every consumer's dedupe rely on the same id for the same source and key."""
    from shared.events import derive_id
    from services.billing.domain.ledger import entry_id_for

    fast = entry_id_for(source, kind)
    slow = derive_id(source, kind)
    assert fast == slow and str(fast) == str(slow) and hash(fast) == hash(slow)
    assert (fast.version, fast.variant, fast.bytes) == (slow.version, slow.variant, slow.bytes)
    assert entry_id_for(str(source), kind) == derive_id(str(source), kind)


@given(amount=st.integers(min_value=-10**12, max_value=10**12), member=st.sampled_from([None, "M1"]),
       reverses=st.sampled_from([None, uuid.UUID(int=7)]), adjustment=st.booleans())
@settings(max_examples=50, deadline=None)
def test_a_ledger_event_is_the_envelope_built_event(amount, member, reverses, adjustment):
    """``to_ledger_event`` spells the envelope out; the event (and its wire form) must be the one
    ``LedgerEntryV1.envelope`` builds."""
    from datetime import datetime, timezone

    from shared.events import LedgerEntryV1
    from services.billing.domain.accruals import PostingKey
    from services.billing.domain.ledger import Posting, to_ledger_event

    now = datetime(2026, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
    p = Posting(uuid.UUID(int=1), PostingKey("MMO-2026", "2026-02", "cost_of_care", member, "claim:K1"), amount,
                "2026-03", uuid.UUID(int=2), reverses, adjustment)
    k = p.key
    expected = LedgerEntryV1(
        **LedgerEntryV1.envelope(occurred_at=now, recorded_at=now, source="billing", member_id=member,
                                 causation_id=p.source_event_id, event_id=p.entry_id),
        entry_id=p.entry_id, contract_id=k.contract_id, period=k.period, posted_period=p.posted_period,
        account=k.account, amount_cents=amount, rule=k.rule, source_event_id=p.source_event_id, reverses=reverses,
        adjustment=adjustment)
    got = to_ledger_event(p, occurred_at=now, recorded_at=now)
    assert got == expected and got.model_dump_json() == expected.model_dump_json()
    with pytest.raises(ValueError):  # still validated
        to_ledger_event(Posting(p.entry_id, k._replace(period="2026-13"), 1, "2026-03", p.source_event_id),
                        occurred_at=now)
