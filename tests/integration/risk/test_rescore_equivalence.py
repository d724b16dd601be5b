"""The fast re-score gives the straightforward path's results, on PostgreSQL.

The fast path: the full re-score in chunks read as key ranges, written in one statement per chunk,
scored by ``HccScorer`` (the library's stages, the model's answer remembered per CC set), serially
and over two processes; the incremental path (a batch's members read by id). The straightforward
path: each member re-scored on its own (``rescore(repo, [member])``) through the repository's
generic reads and writes, by a scorer that calls ``hccinfhir.calculate_raf`` for every member,
as the service did before it was made fast.

A population of 320 members goes in through the service's own intake (roster, office, ED and
inpatient claims with replacements and voids, ED alerts and retractions, inpatient discharges,
readmissions, gaps, segments; sex U; a termed member; a roster-authority contract, a V24 contract
taking effect at once, a contract without a policy file). Then, on a later day (the windows moved,
a new month), every stored assessment (scores, tiers, history, reasons) and every tier change
(HCCs with their diagnoses and claims, utilization, reasons, history, event ids) must be the same
both ways; the same for a batch of new claim versions through the worker's use case, and for the
risk views.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial

import pytest
from hccinfhir.model_calculate import calculate_raf
from sqlalchemy import text

from services.risk.adapters.parallel import parallel_full_rescore
from services.risk.adapters.reference import load_normalization, load_policies
from services.risk.adapters.database import connect, open_database
from services.risk.adapters.repository import SqlRiskRepository
from services.risk.adapters.unit_of_work import SqlUnitOfWork
from services.risk.adapters.wiring import transactions
from services.risk.app.context import RiskContext
from services.risk.app.full_rescore import full_rescore
from services.risk.app.rescore import explain_member, rescore
from services.risk.domain.scoring import LIBRARY_MODEL, DiagnosisSource, HccFactor, HccScorer, RiskScore
from services.risk.domain.segments import DUAL_STATUS_CODE, Segment
from services.risk.domain.tiers import parse_policy
from shared.events import ClaimLine, ClaimV1
from tests.unit.risk import events as ev
from tests.unit.risk.fakes import through_routes

INTAKE_DAY = date(2026, 3, 12)
RESCORE_DAY = date(2026, 4, 3)
MEMBERS = 320
CHRONIC = ("E1122", "E119", "E1140", "I5022", "I509", "J449", "N184", "N183", "F329", "F200", "F1020", "C50911",
           "C787", "G309", "I480", "E6601", "Z6841", "L89154", "D66", "J410", "I10", "Z0000")


class ReferenceScorer(HccScorer):
    """The straightforward path: ``calculate_raf`` once per member, its answer read as before."""

    def score(self, *, age: int, sex: str, segment: Segment, diagnoses: list[DiagnosisSource]) -> RiskScore:
        if sex not in ("F", "M"):
            raise ValueError("the model needs sex F or M")
        r = calculate_raf(sorted({d.code for d in diagnoses}), model_name=LIBRARY_MODEL[self.config.model],  # type: ignore[arg-type]
                          age=age, sex=sex, dual_elgbl_cd=DUAL_STATUS_CODE[segment.dual], orec=segment.orec,
                          crec=segment.orec, lti=segment.institutional)
        by_code: dict[str, list[DiagnosisSource]] = {}
        for d in diagnoses:
            by_code.setdefault(d.code, []).append(d)
        labels = {h.hcc: (h.label or "") for h in r.hcc_details}
        hccs = tuple(HccFactor(h, labels.get(h, ""), round(r.coefficients.get(h, 0.0), 3),
                               tuple(s for code in sorted(r.cc_to_dx.get(h, ())) for s in by_code.get(code, ())))
                     for h in sorted(r.hcc_list, key=lambda h: (-r.coefficients.get(h, 0.0), h)))
        cell = r.demographics.category or ""
        raw = round(r.risk_score, 3)
        return RiskScore(
            model=f"CMS-HCC {self.config.model}", payment_year=self.config.payment_year, segment=segment.code(age),
            demographic_cell=cell, demographic_coefficient=round(r.coefficients.get(cell, 0.0), 3), raw=raw,
            payment=round(round(raw / self.config.normalization, 3) * (1 - self.config.coding_adjustment), 3),
            hccs=hccs, other_terms=tuple(sorted((k, round(v, 3)) for k, v in r.coefficients.items()
                                                if k not in set(r.hcc_list) and k != cell)),
            normalization=self.config.normalization, coding_adjustment=self.config.coding_adjustment,
            segment_known=segment.known)


class StraightforwardRepository(SqlRiskRepository):
    """The repository's generic paths on PostgreSQL too: IN lists of ids for reads, the dialect upsert
    (an executemany) for the assessments, as before the array/range reads and the unnest() write."""

    def __init__(self, session) -> None:
        super().__init__(session)
        self._pg = False


def policies() -> dict:
    out = load_policies()
    out["V24-NOW"] = parse_policy({"contract_id": "V24-NOW", "model": "V24", "payment_year": 2025, "effective": "immediate", "tiers": [
        {"tier": "high", "score_at_least": 1.5}, {"tier": "moderate", "score_at_least": 0.9,
                                                   "signals_at_least": {"ed_visits": 1}}]}, "test")
    return out


def context(day: date, reference: bool = False) -> RiskContext:
    ctx = RiskContext(policies(), load_normalization(), lambda: day)
    if reference:
        for model, year in (("V28", 2026), ("V24", 2025)):
            fast = ctx.scorer(parse_policy({"contract_id": "x", "model": model, "payment_year": year}))
            ctx._scorers[(model, year)] = ReferenceScorer(fast.config)
    return ctx


def process_parts(url: str) -> tuple:
    """One process of the parallel re-score (picklable: module level)."""
    db = connect(url, pool_size=1)
    return db, context(RESCORE_DAY), lambda events: None, lambda: None


def inpatient_claim(member_id: str, admit: date, dx: tuple[str, ...]) -> ClaimV1:
    return ClaimV1(**ev._env(ClaimV1, member_id, datetime.combine(admit, datetime.min.time(), ev.UTC)
                             + timedelta(days=20)),
                   claim_id=f"IPC-{uuid.uuid4().hex[:8]}", claim_type="institutional", type_of_bill="111",
                   admission_date=admit, discharge_date=admit + timedelta(days=3), statement_from=admit,
                   statement_to=admit + timedelta(days=3), diagnoses=dx,
                   lines=(ClaimLine(line_number=1, revenue_code="0120", service_date=admit),))


def population(rng: random.Random) -> tuple[list, dict]:
    """Events in intake order, and segments by member."""
    events, segments = [], {}
    for i in range(MEMBERS):
        m = f"EQ-{i:04d}" if i % 5 else f"eq{i}"          # two id shapes: the database orders them
        contract = rng.choice(("MMO-2026", "MMO-2026", "MMO-2026", "GR-2026", "V24-NOW", "NO-POLICY"))
        sex = "U" if i % 41 == 7 else rng.choice("FM")
        status = "termed" if i % 53 == 11 else "active"
        born = date(rng.randint(1926, 1995), rng.randint(1, 12), rng.randint(1, 28))
        events.append(ev.roster(m, born=born, sex=sex, contract=contract, status=status,
                                tier=rng.choice(("low", "moderate", "high", "complex")),
                                at=datetime(2026, 1, 2, tzinfo=ev.UTC)))
        conditions = rng.sample(CHRONIC, rng.choice((0, 1, 2, 3, 5)))
        for _ in range(rng.randint(0, 6)):
            day = INTAKE_DAY - timedelta(days=rng.randint(1, 430))
            dx = tuple(rng.sample(conditions, rng.randint(1, len(conditions)))) if conditions else ("Z0000",)
            kind = rng.random()
            if kind < 0.1:
                events.append(ev.ed_claim(m, (rng.choice(("R079", "J069", "M545", "I5022")),), day))
            elif kind < 0.16:
                events.append(inpatient_claim(m, day, dx))
            else:
                claim = ev.office_claim(m, dx, day, cpt=rng.choice(("99214", "99214", "99214", "85025")))
                events.append(claim)
                if rng.random() < 0.12:     # a replacement (other diagnoses) or a void, later
                    freq = rng.choice("78")
                    events.append(ev.office_claim(m, tuple(rng.sample(CHRONIC, 2)), day, frequency=freq,
                                                  original=claim.claim_id, at=claim.occurred_at + timedelta(days=15)))
        if rng.random() < 0.25:
            arrival = datetime.combine(INTAKE_DAY - timedelta(days=rng.randint(1, 380)), datetime.min.time(),
                                       ev.CHI) + timedelta(hours=rng.uniform(0, 24))
            alert = ev.ed_alert(m, arrival)
            events.append(alert)
            if rng.random() < 0.2:
                events.append(ev.retract(alert))
        if rng.random() < 0.12:
            admit = datetime.combine(INTAKE_DAY - timedelta(days=rng.randint(5, 370)), datetime.min.time(), ev.CHI)
            events.append(ev.inpatient_discharge(m, admit))
            if rng.random() < 0.5:
                events.append(ev.readmission(m, admit.date() + timedelta(days=20)))
        for measure in rng.sample(("CMS130", "CMS125", "CMS122", "CMS165"), rng.choice((0, 0, 1, 2, 3))):
            events.append(ev.gap(m, measure, rng.choice(("open", "open", "closed")),
                                 datetime(2026, 2, rng.randint(1, 28), tzinfo=ev.UTC)))
        if rng.random() < 0.15:
            segments[m] = Segment(rng.choice(("none", "full", "partial")), rng.random() < 0.3,
                                  rng.choice("0011123"), True)
    return events, segments


@dataclass
class Outcome:
    assessments: dict
    changes: dict

    @classmethod
    def read(cls, db, events=()) -> "Outcome":
        with db.engine.connect() as conn:
            rows = conn.execute(text("SELECT member_id, contract_id, practice_id, assessed_on, model, raw_score, "
                                     "payment_score, computed_tier, tier_in_force, history::text, reasons::text "
                                     "FROM risk_assessments")).all()
        changes = {}
        for e in events:
            d = e.model_dump(mode="json", exclude={"occurred_at", "recorded_at"})
            assert e.member_id not in changes
            changes[e.member_id] = d
        return cls({r[0]: tuple(r) for r in rows}, changes)


def snapshot(db) -> None:
    with db.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS eq_snapshot")
        conn.exec_driver_sql("CREATE TABLE eq_snapshot AS SELECT * FROM risk_assessments")


def restore(db) -> None:
    with db.engine.begin() as conn:
        conn.exec_driver_sql("TRUNCATE risk_assessments")
        conn.exec_driver_sql("INSERT INTO risk_assessments SELECT * FROM eq_snapshot")


def one_by_one(db, ctx, ids) -> list:
    out = []
    for mid in ids:
        with db.transaction() as s:
            out += rescore(StraightforwardRepository(s), [mid], ctx)
    return out


@pytest.fixture
def db(pg_url):
    database = open_database(pg_url)
    rng = random.Random(1515)
    events, segments = population(rng)
    intake = context(INTAKE_DAY)
    for i in range(0, len(events), 150):                  # the worker's use case, batch by batch
        with database.transaction() as s:
            through_routes(SqlUnitOfWork.for_session(s), events[i:i + 150], intake)
    with database.transaction() as s:
        SqlRiskRepository(s).put_segments(segments)
    snapshot(database)
    yield database
    database.dispose()


def all_ids(db) -> list[str]:
    with db.transaction() as s:
        return SqlRiskRepository(s).member_ids(None, 10_000)


@pytest.mark.parametrize("start", ["first", "later"])
def test_full_rescore_serial_and_parallel_equal_the_straightforward_path(db, pg_url, start):
    """``first``: no assessment stored yet (every member's first score: the benchmark's case);
    ``later``: after the intake's own incremental assessments, three weeks on (pending changes)."""
    ids = all_ids(db)
    assert len(ids) == MEMBERS
    if start == "first":
        with db.engine.begin() as conn:
            conn.exec_driver_sql("TRUNCATE risk_assessments")
        snapshot(db)

    published: list = []
    stats = full_rescore(transactions(db), context(RESCORE_DAY), published.extend, chunk=37)   # several chunks
    fast = Outcome.read(db, published)
    assert stats.members == MEMBERS

    restore(db)
    reference = Outcome.read(db, one_by_one(db, context(RESCORE_DAY, reference=True), ids))

    assert fast.assessments == reference.assessments
    assert fast.changes == reference.changes
    # the comparison has substance: every active member assessed, tier changes of several kinds
    assert len(reference.assessments) == MEMBERS - sum(1 for i in range(MEMBERS) if i % 53 == 11)
    kinds = {(c["old_tier"], c["new_tier"]) for c in reference.changes.values()}
    assert len(reference.changes) >= (100 if start == "first" else 10) and len(kinds) >= 4
    assert any(c["hccs"] for c in reference.changes.values())
    assert {a[4] for a in reference.assessments.values()} == {"CMS-HCC V28", "CMS-HCC V24"}
    assert any(a[5] is None for a in reference.assessments.values())           # sex U: not scored

    restore(db)
    parallel = parallel_full_rescore(db, partial(process_parts, pg_url), 2, chunk=29)
    assert (parallel.members, parallel.changes) == (MEMBERS, len(reference.changes))
    assert Outcome.read(db).assessments == reference.assessments


def test_a_batch_of_new_claim_versions_and_the_risk_views_equal_the_straightforward_path(db):
    full_rescore(transactions(db), context(RESCORE_DAY), lambda e: None)
    snapshot(db)
    rng = random.Random(7)
    ids = all_ids(db)
    batch = []
    for m in rng.sample(ids, 60):
        day = RESCORE_DAY - timedelta(days=rng.randint(1, 200))
        batch.append(ev.office_claim(m, tuple(rng.sample(CHRONIC, rng.randint(1, 4))), day,
                                     at=datetime(2026, 4, 2, tzinfo=ev.UTC)))
    touched = sorted({e.member_id for e in batch})

    with db.transaction() as s:
        fast_events = through_routes(SqlUnitOfWork.for_session(s), batch, context(RESCORE_DAY))
    fast = Outcome.read(db, fast_events)

    restore(db)          # the claims stay stored; the reference re-scores the same members one by one
    reference = Outcome.read(db, one_by_one(db, context(RESCORE_DAY, reference=True), touched))
    assert fast.assessments == reference.assessments
    assert fast.changes == reference.changes
    assert len(fast.changes) >= 5

    with db.transaction() as s:
        repo = SqlRiskRepository(s)
        for m in touched[:40]:
            assert explain_member(repo, m, context(RESCORE_DAY)) == \
                explain_member(repo, m, context(RESCORE_DAY, reference=True))
