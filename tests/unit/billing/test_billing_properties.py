"""Order does not matter: any order of applying a set of eligibility and claim changes — with
months closing in between — ends with the same balances, equal to a replay into an empty ledger."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing_factories import examples
from shared.events import ClaimLine, ClaimV1, EligibilitySpan, MemberRosterV1
from services.billing.domain import Ledger, accrue_claim_event, accrue_member_events, current_versions

THROUGH = "2026-04"
BOOK = examples()
DAYS = [date(2026, 1, 1) + timedelta(days=n) for n in range(0, 120)]


def _ts(d: date, n: int) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=timezone.utc) + timedelta(minutes=n)


@st.composite
def roster_events(draw, member_id: str):
    out = []
    for n in range(draw(st.integers(1, 3))):
        start = draw(st.sampled_from(DAYS[:60]))
        end = draw(st.one_of(st.none(), st.sampled_from([d for d in DAYS if d >= start])))
        on = draw(st.sampled_from(DAYS))
        out.append(MemberRosterV1(
            **MemberRosterV1.envelope(occurred_at=_ts(on, n), recorded_at=_ts(on, n + 1), source="p", member_id=member_id,
                                      event_id=uuid.uuid4()),
            given_name="T", family_name="M", birth_date=date(1950, 1, 1), sex="U", pcp_practice_id="P1",
            contract_id=draw(st.sampled_from(["MMO-2026", "GR-2026"])),
            risk_tier=draw(st.sampled_from(["low", "moderate", "high", "complex"])),
            eligibility=(EligibilitySpan(start=start, end=end),),
            status=draw(st.sampled_from(["active", "termed"])),
        ))
    return out


@st.composite
def claim_events(draw, member_id: str):
    out = []
    for family in range(draw(st.integers(0, 2))):
        root = f"{member_id}-C{family}"
        versions = draw(st.lists(st.sampled_from(["1", "7", "8"]), min_size=1, max_size=3))
        for i, freq in enumerate(versions):
            lines = tuple(
                ClaimLine(line_number=k + 1, procedure_code=draw(st.sampled_from(["99213", "33533", "93458", "3046F"])),
                          service_date=draw(st.sampled_from(DAYS)),
                          paid_amount=Decimal(draw(st.integers(0, 500_00))) / 100)
                for k in range(draw(st.integers(1, 2)))
            )
            received = draw(st.sampled_from(DAYS))
            out.append(ClaimV1(
                **ClaimV1.envelope(occurred_at=_ts(received, i), recorded_at=_ts(received, i), source="p",
                                   member_id=member_id, event_id=uuid.uuid4()),
                claim_id=root if freq == "1" else f"{root}-v{i}", frequency_code=freq,
                # a replacement or void names the original or an earlier replacement (a chain)
                original_claim_id=None if freq == "1" else draw(st.sampled_from([root, *(f"{root}-v{j}" for j in range(i))])),
                claim_type="professional", lines=lines,
            ))
    return out


@st.composite
def scenarios(draw):
    events = []
    for mid in ("M1", "M2"):
        events += draw(roster_events(mid)) + draw(claim_events(mid))
    # event ids are unique per event (and reproducible per example)
    events = [e.model_copy(update={"event_id": uuid.UUID(int=i + 1)}) for i, e in enumerate(events)]
    order = draw(st.permutations(events))
    closes = draw(st.lists(st.tuples(st.integers(0, len(events)), st.sampled_from(["MMO-2026", "GR-2026"]),
                                     st.sampled_from(["2026-01", "2026-02", "2026-03"])), max_size=4))
    return events, order, closes


def run(order, closes=(), claim_fast_path=False):
    ledger, seen = Ledger(), {}
    for i, event in enumerate(order):
        for at, contract, period in closes:
            if at == i:
                ledger.close(contract, period)
        member = seen.setdefault(event.member_id, [])
        rosters = [e for e in member if e.event_type == "roster.member"]
        claims = [e for e in member if e.event_type == "claim.submitted"]
        member.append(event)
        if claim_fast_path and event.event_type == "claim.submitted":
            acc, families = accrue_claim_event(event.member_id, rosters, claims, event, BOOK)
            ledger.sync_member(event.member_id, acc.postings, event.event_id, families=families)
            continue
        acc = accrue_member_events(event.member_id, [e for e in member if e.event_type == "roster.member"],
                                   [e for e in member if e.event_type == "claim.submitted"], BOOK, THROUGH)
        ledger.sync_member(event.member_id, acc.postings, event.event_id)
    return ledger


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_any_order_of_changes_ends_with_the_same_balances(scenario):
    events, order, closes = scenario
    replay = run(events)  # one order, no closes: a replay into an empty ledger
    live = run(order, closes)
    assert live.key_balances() == replay.key_balances()
    # the per-claim cheap path (only the touched claim family recomputed) ends in the same place
    assert run(order, closes, claim_fast_path=True).key_balances() == replay.key_balances()
    nonzero = lambda b: {k: v for k, v in b.items() if v}  # noqa: E731
    assert nonzero(live.balances(by="period")) == nonzero(replay.balances(by="period"))
    # adjustments only ever go forward, into a month that was open
    for entry in live.entries:
        assert entry.adjustment == (entry.posted_period != entry.key.period)
        assert entry.posted_period >= entry.key.period


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_applying_every_event_twice_posts_exactly_what_applying_once_does(scenario):
    _, order, _ = scenario
    once = run(order)
    twice = run([e for event in order for e in (event, event)])
    assert twice.entries == once.entries


@st.composite
def claim_versions_with_re_sends(draw):
    """Claim versions of two families with few distinct event times and received times that
    disagree with them, plus re-sent copies (same version, new event id, later arrival)."""
    times = [datetime(2026, 3, d, 8, tzinfo=timezone.utc) for d in (1, 2, 3)]
    out = []
    for family in ("C1", "C2"):
        for i, freq in enumerate(draw(st.lists(st.sampled_from(["1", "7", "8"]), min_size=1, max_size=4))):
            cid = family if freq == "1" or draw(st.booleans()) else f"{family}-v{i}"
            line = ClaimLine(line_number=1, procedure_code="99213", service_date=date(2026, 2, 10),
                             paid_amount=Decimal(draw(st.integers(1, 500_00))) / 100)
            for copy in range(draw(st.integers(1, 2))):
                out.append(ClaimV1(
                    **ClaimV1.envelope(occurred_at=draw(st.sampled_from(times)) if copy == 0 else out[-1].occurred_at,
                                       recorded_at=datetime(2026, 3, 10, tzinfo=timezone.utc)
                                       - timedelta(hours=draw(st.integers(0, 48))),
                                       source="p", member_id="M1", event_id=uuid.UUID(int=len(out))),
                    claim_id=cid, frequency_code=freq, original_claim_id=None if freq == "1" else family,
                    claim_type="professional", lines=(line,),
                ))
    # unique event ids, in an order unrelated to the versions' (the smaller id wins among copies)
    ids = draw(st.permutations(range(len(out))))
    return [c.model_copy(update={"event_id": uuid.UUID(int=k + 1)}) for c, k in zip(out, ids)]


@settings(max_examples=200, deadline=None)
@given(claim_versions_with_re_sends(), st.randoms())
def test_the_current_claim_versions_are_the_ones_the_gaps_service_counts(claims, rnd):
    from services.gaps.domain.claims import ClaimBook, current_claims

    rnd.shuffle(claims)
    gaps_current = {str(c.event_id) for c in current_claims(ClaimBook.from_claims(claims))}
    billing_current = {str(c.event_id) for c in current_versions(claims).values()}
    assert billing_current == gaps_current
