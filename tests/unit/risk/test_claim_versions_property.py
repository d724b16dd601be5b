"""Risk scores the claim versions gaps counts, in any arrival order (issue 13's one rule,
``shared.claim_versions``).

A member's claim versions (originals, replacements under new ids or the reused id, chains of
them, voids, a correction whose original never comes, version sequences and adjudication dates
or none; each version with diagnoses of its own) and the member's roster snapshot are delivered
in any permutation, with redeliveries, cut into batches, each loaded at its own time (a CSV or
JSON claim's event time is its load time: it says nothing about which version came first). Each
batch goes through what the risk worker does (the consumer's processed-events dedupe, the codec,
the routes table, the batch stored and the member re-scored) on a store that keeps the facts as
the table keeps them. Afterwards:

- the versions risk counts are the ones gaps' claim book counts (``current_claims``);
- the diagnoses risk scores are exactly those of the versions gaps counts;
- the stored assessment (score, tiers, history) is the sorted delivery's.

Facts stored by the release before the rule (no ``orig``, no stamps: the v1 era) read as the v1
upcaster reads a v1 claim, and give gaps' answer for the same v1 claims.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from services.gaps.domain import ClaimBook, current_claims
from services.risk.adapters.reference import load_normalization, load_policies
from services.risk.app.context import RiskContext
from services.risk.domain.assessment import WINDOW_DAYS
from services.risk.domain.claims import ClaimFacts, current_versions
from services.risk.domain.scoring import scoring_diagnoses
from shared.events import ClaimLine, ClaimV1, ClaimV2, MemberRosterV1

from . import events as ev
from .fakes import InMemoryRiskRepository, InMemoryUnitOfWork, through_routes

TODAY = date(2026, 3, 12)
START = TODAY - timedelta(days=WINDOW_DAYS - 1)
UTC = timezone.utc
# each maps to an HCC under V28, so which version counts shows in the score
DIAGNOSES = [("E1122",), ("I5022",), ("J449",), ("N184",), ("F200",), ("Z0000",), ("E1122", "N184")]
ADJUDICATED = [None, date(2026, 2, 20), date(2026, 2, 27), date(2026, 3, 5)]
SEQUENCES = [None, None, 1, 2, 3]
MEMBER = "RP-1"


def context() -> RiskContext:
    return RiskContext(load_policies(), load_normalization(), lambda: TODAY)


@st.composite
def claim_versions(draw, *, v1: bool = False) -> list[ClaimV1]:
    """Three claim families' versions. ``v1``: claim.submitted v1 (no version stamps), and no two
    events of one family that only the stamps could tell apart."""
    out: list[ClaimV1] = []
    for fam in ("A", "B", "C"):
        root = f"{MEMBER}-{fam}"
        ids = [root]
        versions = [("1", root, None)] if draw(st.integers(0, 4)) else []  # sometimes the original never comes
        for i in range(draw(st.integers(0, 3))):
            freq = draw(st.sampled_from(["7", "7", "8"]))
            cid = draw(st.sampled_from([root, f"{root}-{i}"]))
            versions.append((freq, cid, draw(st.sampled_from(ids))))
            ids.append(cid)
        if v1:
            versions = list(dict.fromkeys(versions))
        for n, (freq, cid, original) in enumerate(versions):
            day = TODAY - timedelta(days=draw(st.integers(1, 300)))
            common = dict(
                **(ClaimV1 if v1 else ClaimV2).envelope(
                    occurred_at=datetime(2026, 3, 1, tzinfo=UTC), recorded_at=datetime(2026, 3, 1, tzinfo=UTC),
                    source="t", member_id=MEMBER, event_id=uuid.uuid5(uuid.NAMESPACE_URL, f"c|{fam}|{n}|{cid}|{freq}")),
                claim_id=cid, frequency_code=freq, original_claim_id=original, claim_type="professional",
                place_of_service="11", statement_from=day, statement_to=day,
                diagnoses=draw(st.sampled_from(DIAGNOSES)),
                lines=(ClaimLine(line_number=1, procedure_code="99214", service_date=day),),
            )
            if v1:
                out.append(ClaimV1(**common))
            else:
                out.append(ClaimV2(**common, adjudication_date=draw(st.sampled_from(ADJUDICATED)),
                                   version_sequence=draw(st.sampled_from(SEQUENCES))))
    return out


@st.composite
def deliveries(draw, *, v1: bool = False):
    roster = ev.roster(MEMBER, tier="low", at=datetime(2026, 1, 2, tzinfo=UTC))
    events = [roster, *draw(claim_versions(v1=v1))]
    arrivals = draw(st.permutations(events))
    for e in draw(st.lists(st.sampled_from(events), max_size=4)):  # redeliveries, anywhere
        arrivals.insert(draw(st.integers(0, len(arrivals))), e)
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(arrivals) - 1)), max_size=4)))
    batches = [arrivals[a:b] for a, b in zip([0, *cuts], [*cuts, len(arrivals)]) if arrivals[a:b]]
    return events, batches


class OlderRelease(InMemoryRiskRepository):
    """Stores claim facts as the release before the one rule did (no ``orig``, no stamps) while
    ``older`` is set: the rows an upgrade finds."""

    older = False

    def add_claims(self, claims):
        if not self.older:
            return super().add_claims(claims)
        for c in claims:
            d = c.to_dict()
            d.pop("orig", None)
            d.pop("v", None)
            self._claims[c.member_id].setdefault(c.event_id, ClaimFacts.from_dict(c.member_id, c.event_id,
                                                                                   c.occurred_at, d))


class RiskWorker:
    """The risk worker, batch by batch: processed-events dedupe, the routes table, the commit."""

    def __init__(self, repo: InMemoryRiskRepository | None = None) -> None:
        self.repo = repo or InMemoryRiskRepository()
        self.processed: set[str] = set()
        self.ctx = context()

    def batch(self, events) -> None:
        fresh = []
        for e in events:
            if str(e.event_id) not in self.processed:
                self.processed.add(str(e.event_id))
                fresh.append(e)
        if fresh:
            uow = InMemoryUnitOfWork(self.repo)
            through_routes(uow, fresh, self.ctx)
            uow.commit()

    def run(self, batches, *, older_until: int = 0) -> "RiskWorker":
        for i, b in enumerate(batches):
            if isinstance(self.repo, OlderRelease):
                self.repo.older = i < older_until
            # each batch is a file loaded at its own time: the claims' event time is the load time
            loaded = datetime(2026, 3, 1, tzinfo=UTC) + timedelta(hours=i)
            self.batch([e if isinstance(e, MemberRosterV1) else e.model_copy(update={"occurred_at": loaded})
                        for e in b])
        return self

    def counted(self) -> list[ClaimFacts]:
        return current_versions(self.repo.claims([MEMBER]).get(MEMBER, []))


def sorted_delivery(events) -> list[list]:
    """The orderly feed: the roster, then originals before their corrections, one event a batch."""
    claims = sorted((e for e in events if not isinstance(e, MemberRosterV1)),
                    key=lambda c: (c.frequency_code, getattr(c, "adjudication_date", None) or date.min, c.claim_id))
    return [[e] for e in [*(e for e in events if isinstance(e, MemberRosterV1)), *claims]]


def gaps_counts(events) -> list:
    return current_claims(ClaimBook.from_claims(e for e in events if not isinstance(e, MemberRosterV1)))


def diagnoses_of(claims) -> list[tuple[str, str, date]]:
    return sorted((d.code, d.claim_id, d.service_date) for d in scoring_diagnoses(claims, START, TODAY))


def check(worker: RiskWorker, events) -> None:
    by_gaps = gaps_counts(events)
    counted = worker.counted()
    assert sorted(c.event_id for c in counted) == sorted(str(c.event_id) for c in by_gaps)
    gaps_view = [ClaimFacts(MEMBER, str(c.event_id), c.claim_id, c.occurred_at, c.frequency_code, c.statement_from,
                            c.statement_to, tuple(c.diagnoses), True) for c in by_gaps]
    assert diagnoses_of(counted) == diagnoses_of(gaps_view)


@hsettings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(deliveries())
def test_any_arrival_order_scores_the_versions_gaps_counts(delivery):
    events, batches = delivery
    got = RiskWorker().run(batches)
    check(got, events)
    expected = RiskWorker().run(sorted_delivery(events))
    assert got.repo.assessment(MEMBER).summary == expected.repo.assessment(MEMBER).summary


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(deliveries(v1=True), st.integers(0, 5))
def test_facts_stored_before_the_rule_read_as_v1_claims_and_count_as_gaps_counts(delivery, upgraded_after):
    events, batches = delivery
    got = RiskWorker(OlderRelease()).run(batches, older_until=upgraded_after)
    check(got, events)


def test_a_correction_waits_for_its_original_and_a_void_without_one_voids_nothing():
    """The cases the order of arrival used to decide: a replacement before the claim it replaces,
    a void of a claim that never came."""
    day = date(2026, 2, 20)
    original = ev.office_claim(MEMBER, ("I5022",), day, claim_id="CLM-1")
    replacement = ev.office_claim(MEMBER, ("J449",), day, claim_id="CLM-1R", frequency="7", original="CLM-1",
                                  at=datetime(2026, 1, 1, tzinfo=UTC))          # stamped before the original
    stray_void = ev.office_claim(MEMBER, ("N184",), day, claim_id="CLM-9V", frequency="8", original="CLM-9")
    w = RiskWorker().run([[ev.roster(MEMBER, tier="low", at=datetime(2026, 1, 2, tzinfo=UTC))],
                          [replacement, stray_void]])
    assert w.counted() == []                                   # held: nothing counts yet, nothing is voided
    w.run([[original]])
    assert [c.claim_id for c in w.counted()] == ["CLM-1R"]     # the replacement, whatever the event times say
    assert diagnoses_of(w.counted()) == [("J449", "CLM-1R", day)]
