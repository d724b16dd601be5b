"""Any arrival order gives the numbers of the sorted delivery (issue 13), for gaps and billing.

The versions of a few claims (originals, replacements under new ids or the reused id, chains,
voids, a correction whose original never comes, adjudication dates or none) and a member's roster
changes (a tier change effective mid-month, a retroactive termination) are delivered in any
permutation, with duplicates, cut into batches; each batch goes through what the workers do:

- gaps: the member's claim book from every version stored, the newest roster snapshot,
  every measure evaluated, diffed with the stored gaps (``diff_statuses``);
- billing: a roster snapshot recomputes the member (``accrue_member_events``), a claim only
  the families it touches (``accrue_claim_event``), the ledger synced.

Afterwards the stored gaps and the ledger (every key; every contract, month and account, to the
cent) equal the sorted delivery's, and both services count the same claim versions.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from services.billing.contracts import example_contracts
from services.billing.domain import ContractBook, Ledger, accrue_claim_event, accrue_member_events, current_versions
from services.gaps.codes import load_code_sets
from services.gaps.domain import (
    ClaimBook, MeasureSettings, Member, Period, current_claims, diff_statuses, evaluate_member, history_from_claims,
)
from shared.events import AttributionSpan, ClaimLine, ClaimV2, EligibilitySpan, MemberRosterV1

BOOK = ContractBook(example_contracts().values())
CODES = load_code_sets()
MEASURES = MeasureSettings(period=Period.calendar_year(2026), measures=("CMS130", "CMS125"), as_of=date(2026, 6, 30))
THROUGH = "2026-04"
UTC = timezone.utc
CODES_PAID = [("99213", "95.00"), ("45378", "5000.00"), ("77067", "210.00"), ("93458", "3000.00"), ("99214", "140.00")]
ADJUDICATED = [None, date(2026, 3, 20), date(2026, 4, 2), date(2026, 4, 9)]


def at(d: date, hour: int = 8) -> datetime:
    return datetime(d.year, d.month, d.day, hour, tzinfo=UTC)


def snapshot(member: str, contract: str, tier: str, on: date, *, end: date | None = None, status: str = "active",
             spans: tuple[tuple[date, str], ...] = ()) -> MemberRosterV1:
    attribution = tuple(AttributionSpan(start=s, end=None, contract_id=contract, risk_tier=t, pcp_practice_id="P1")
                        for s, t in spans)
    return MemberRosterV1(
        **MemberRosterV1.envelope(occurred_at=at(on), recorded_at=at(on, 9), source="t", member_id=member,
                                  event_id=uuid.uuid5(uuid.NAMESPACE_URL, f"r|{member}|{on}|{tier}|{status}|{end}")),
        given_name="T", family_name="M", birth_date=date(1960, 5, 1), sex="F", pcp_practice_id="P1",
        contract_id=contract, risk_tier=tier, eligibility=(EligibilitySpan(start=date(2026, 1, 1), end=end),),
        status=status, attribution=attribution)


@st.composite
def roster_history(draw, member: str, contract: str) -> list[MemberRosterV1]:
    """The first snapshot; maybe a tier change on the 15th of a month (effective the next month);
    maybe, later, a retroactive termination."""
    out = [snapshot(member, contract, "moderate", date(2026, 1, 1))]
    spans: tuple[tuple[date, str], ...] = ()
    if draw(st.booleans()):
        change = date(2026, draw(st.integers(1, 3)), 15)
        spans = ((date(2026, 1, 1), "moderate"), (change, "high"))
        out.append(snapshot(member, contract, "high", change, spans=spans))
    if draw(st.booleans()):
        end = date(2026, draw(st.integers(2, 3)), draw(st.integers(1, 28)))
        out.append(snapshot(member, contract, out[-1].risk_tier, date(2026, 4, 20), end=end, status="termed",
                            spans=spans))
    return out


@st.composite
def claim_versions(draw, member: str) -> list[ClaimV2]:
    out: list[ClaimV2] = []
    for fam in ("A", "B", "C"):
        root = f"{member}-{fam}"
        ids = [root]
        versions = [("1", root, None)] if draw(st.integers(0, 4)) else []  # sometimes the original never comes
        for i in range(draw(st.integers(0, 3))):
            freq = draw(st.sampled_from(["7", "7", "8"]))
            cid = draw(st.sampled_from([root, f"{root}-{i}"]))
            versions.append((freq, cid, draw(st.sampled_from(ids))))
            ids.append(cid)
        for n, (freq, cid, original) in enumerate(versions):
            code, paid = draw(st.sampled_from(CODES_PAID))
            day = date(2026, draw(st.integers(1, 4)), draw(st.integers(1, 28)))
            out.append(ClaimV2(
                **ClaimV2.envelope(occurred_at=at(date(2026, 5, 1)), recorded_at=at(date(2026, 5, 1)), source="t",
                                   member_id=member,
                                   event_id=uuid.uuid5(uuid.NAMESPACE_URL, f"c|{member}|{fam}|{n}|{cid}|{freq}")),
                claim_id=cid, frequency_code=freq, original_claim_id=original, claim_type="professional",
                diagnoses=("Z1211",), adjudication_date=draw(st.sampled_from(ADJUDICATED)),
                lines=(ClaimLine(line_number=1, procedure_code=code, service_date=day, paid_amount=Decimal(paid)),
                       ClaimLine(line_number=2, procedure_code="99213", service_date=day,
                                 paid_amount=Decimal(draw(st.integers(0, 9999))) / 100)),
            ))
    return out


@st.composite
def deliveries(draw):
    events = []
    for member, contract in (("M1", "MMO-2026"), ("M2", "GR-2026")):
        events += draw(roster_history(member, contract)) + draw(claim_versions(member))
    arrivals = draw(st.permutations(events))
    again = draw(st.lists(st.sampled_from(events), max_size=4))  # redeliveries, anywhere
    for e in again:
        arrivals.insert(draw(st.integers(0, len(arrivals))), e)
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(arrivals) - 1)), max_size=4)))
    batches = [arrivals[a:b] for a, b in zip([0, *cuts], [*cuts, len(arrivals)]) if arrivals[a:b]]
    return events, batches


def sorted_delivery(events) -> list[list]:
    """The orderly feed: rosters in time order, then originals before their corrections."""
    rosters = sorted((e for e in events if isinstance(e, MemberRosterV1)), key=lambda e: e.occurred_at)
    claims = sorted((e for e in events if isinstance(e, ClaimV2)),
                    key=lambda c: (c.member_id, c.frequency_code, c.adjudication_date or date.min, c.claim_id))
    return [[e] for e in rosters + claims]


class Workers:
    """What the gaps and billing workers keep, fed batch by batch."""

    def __init__(self) -> None:
        self.rosters: dict[str, dict] = defaultdict(dict)
        self.claims: dict[str, dict] = defaultdict(dict)
        self.gaps: dict[str, dict] = defaultdict(dict)
        self.ledger = Ledger()

    def batch(self, events) -> None:
        touched = set()
        for e in events:
            mid = e.member_id
            store = self.rosters if isinstance(e, MemberRosterV1) else self.claims
            if str(e.event_id) in store[mid]:
                continue  # processed_events: a redelivery is dropped
            rosters, claims = list(self.rosters[mid].values()), list(self.claims[mid].values())
            store[mid][str(e.event_id)] = e
            touched.add(mid)
            if isinstance(e, MemberRosterV1):
                acc = accrue_member_events(mid, [*rosters, e], claims, BOOK, THROUGH)
                self.ledger.sync_member(mid, acc.postings, e.event_id)
            else:
                acc, families = accrue_claim_event(mid, rosters, claims, e, BOOK)
                self.ledger.sync_member(mid, acc.postings, e.event_id, families=families)
        for mid in sorted(touched):  # the gaps worker re-evaluates the batch's members
            if not self.rosters[mid]:
                continue
            newest = max(self.rosters[mid].values(), key=lambda r: (r.occurred_at, str(r.event_id)))
            member = Member.from_roster(newest)
            book = ClaimBook.from_claims(self.claims[mid].values())
            results = evaluate_member(member, history_from_claims(current_claims(book), CODES), MEASURES, CODES)
            diff = diff_statuses(member, self.gaps[mid], results, cause_event_id=uuid.UUID(int=1),
                                 occurred_at=at(date(2026, 6, 30)), period_start=MEASURES.period.start,
                                 measures=MEASURES.measures)
            self.gaps[mid] = dict(diff.stored)

    def run(self, batches) -> "Workers":
        for i, b in enumerate(batches):
            # each batch is a file loaded at its own time: a CSV / JSON claim's event time is the load
            # time, so it says nothing about which version came first (the same content keeps its id)
            loaded = at(date(2026, 5, 1)) + timedelta(hours=i)
            self.batch([e.model_copy(update={"occurred_at": loaded}) if isinstance(e, ClaimV2) else e for e in b])
        return self


def nonzero(balances: dict) -> dict:
    return {k: v for k, v in balances.items() if v}


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(deliveries())
def test_any_arrival_order_gives_the_gaps_and_the_ledger_of_the_sorted_delivery(delivery):
    events, batches = delivery
    expected = Workers().run(sorted_delivery(events))
    got = Workers().run(batches)
    assert got.gaps == expected.gaps
    assert nonzero(got.ledger.key_balances()) == nonzero(expected.ledger.key_balances())
    assert nonzero(got.ledger.balances(by="period")) == nonzero(expected.ledger.balances(by="period"))
    for mid, claims in got.claims.items():  # the two services count the same versions
        counted_by_gaps = {str(c.event_id) for c in current_claims(ClaimBook.from_claims(claims.values()))}
        counted_by_billing = {str(c.event_id) for c in current_versions(claims.values()).values()}
        assert counted_by_gaps == counted_by_billing
