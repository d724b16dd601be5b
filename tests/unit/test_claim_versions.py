"""The platform's claim-version rule (``shared.claim_versions``): what the versions say decides,
never when they arrived; corrections without their original are held; the v1 → v2 upcaster."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from hypothesis import given, settings, strategies as st

from shared import codec
from shared.claim_versions import counted_versions, current_versions, families, families_of, family_closure
from shared.events import ClaimLine, ClaimV1, ClaimV2

LOADED = datetime(2026, 5, 1, tzinfo=timezone.utc)


def version(claim_id: str, freq: str = "1", original: str | None = None, *, paid: str = "10.00",
            loaded: int = 0, seq: int | None = None, adjudicated: date | None = None,
            received: date | None = None, submitted: datetime | None = None, n: int = 0) -> ClaimV2:
    """A claim version; ``loaded`` = minutes after LOADED the file was loaded (never decisive)."""
    return ClaimV2(
        **ClaimV2.envelope(occurred_at=LOADED + timedelta(minutes=loaded), recorded_at=LOADED, source="t",
                           member_id="M1",
                           event_id=uuid.uuid5(uuid.NAMESPACE_URL, f"{claim_id}|{freq}|{original}|{paid}|{seq}|"
                                                                   f"{adjudicated}|{received}|{submitted}|{n}")),
        claim_id=claim_id, frequency_code=freq, original_claim_id=original, claim_type="professional",
        lines=(ClaimLine(line_number=1, procedure_code="99213", service_date=date(2026, 3, 2),
                         paid_amount=Decimal(paid)),),
        version_sequence=seq, adjudication_date=adjudicated, received_date=received, submitted_at=submitted,
    )


def counted(claims) -> list[tuple[str, str, str]]:
    return [(c.claim_id, c.frequency_code, str(c.lines[0].paid_amount)) for c in counted_versions(claims)]


def test_a_void_loaded_before_its_original_withdraws_it():
    void = version("A", "8", "A", loaded=0)
    original = version("A", loaded=60)  # loaded an hour after the void: the load time decides nothing
    assert counted([void, original]) == counted([original, void]) == []


def test_a_replacement_in_an_earlier_file_than_its_original_stays_current():
    repl = version("B", "7", "A", paid="12.00", loaded=0)
    original = version("A", paid="10.00", loaded=60)
    assert counted([repl, original]) == [("B", "7", "12.00")]
    (fam,) = families([repl, original])
    assert fam.family_id == "A" and fam.status(original) == ("replaced", "replaced by claim B (frequency 7)")


def test_a_correction_without_its_original_is_held_then_applied_when_it_arrives():
    repl = version("B", "7", "A", paid="12.00")
    (held,) = families([repl])
    assert held.held and held.missing() == ["A"] and counted([repl]) == []
    assert "held until its original arrives (claim A)" in held.status(repl)[1]
    void = version("Z", "8", "Q")
    (orphan,) = families([void])
    assert orphan.status(void) == ("held", "void whose original has not arrived (claim Q): it voids nothing yet")
    assert counted([repl, version("A")]) == [("B", "7", "12.00")]


def test_chain_depth_outranks_frequency_and_dates():
    a = version("A", adjudicated=date(2026, 4, 1))
    b = version("B", "7", "A", paid="11.00", adjudicated=date(2026, 4, 20))
    c = version("C", "7", "B", paid="13.00", adjudicated=date(2026, 4, 10))  # replaces B: later in the chain
    assert counted([c, a, b]) == [("C", "7", "13.00")]


def test_reused_claim_ids_rank_by_frequency_then_by_what_the_versions_say():
    a = version("A")
    r1 = version("A", "7", "A", paid="11.00", adjudicated=date(2026, 4, 2))
    r2 = version("A", "7", "A", paid="12.00", adjudicated=date(2026, 4, 9), loaded=-600)
    assert counted([r2, a, r1]) == [("A", "7", "12.00")]
    s1 = version("A", "7", "A", paid="21.00", seq=2, adjudicated=date(2026, 4, 1))
    s2 = version("A", "7", "A", paid="22.00", seq=3, adjudicated=date(2026, 3, 1))
    assert counted([s2, s1, a]) == [("A", "7", "22.00")]  # the sender's version number first


def test_the_same_version_under_two_event_ids_counts_once_as_the_smaller_id():
    a1 = version("A", n=1)
    a2 = version("A", n=2)
    assert a1.event_id != a2.event_id
    (cur,) = counted_versions([a2, a1])
    assert str(cur.event_id) == min(str(a1.event_id), str(a2.event_id))


def test_families_of_names_the_family_before_and_after_a_joining_version():
    a, c = version("A"), version("C", "7", "B")
    b = version("B", "7", "A")  # joins A and the held C into one family
    assert families_of([b], [a, c]) == {"A", "B"}
    assert family_closure([b], [a, c]) == {str(a.event_id), str(c.event_id)}


def test_a_v1_payload_is_lifted_to_v2_with_unknown_stamps():
    v1 = ClaimV1(**ClaimV1.envelope(occurred_at=LOADED, source="t", member_id="M1"), claim_id="A",
                 claim_type="professional")
    lifted = codec.decode(v1.model_dump_json().encode())
    assert isinstance(lifted, ClaimV2) and isinstance(lifted, ClaimV1)
    assert (lifted.schema_version, lifted.submitted_at, lifted.adjudication_date) == (2, None, None)
    body = json.loads(lifted.model_dump_json())
    assert codec.decode(json.dumps(body).encode()) == lifted


# -- any arrival order, any redelivery ----------------------------------------------------
DAYS = [date(2026, 4, d) for d in (1, 5, 9)]


@st.composite
def claim_sets(draw):
    """Versions of three families: originals, replacements (new ids or reused), voids, chains,
    dates or none, sequences or none; some corrections name a claim that never arrives."""
    out = []
    for fam in ("A", "B", "C"):
        ids = [fam]
        if draw(st.booleans()):
            out.append(version(fam, paid=f"{draw(st.integers(1, 99))}.00", adjudicated=draw(st.sampled_from([None, *DAYS]))))
        for i in range(draw(st.integers(0, 3))):
            freq = draw(st.sampled_from(["7", "8"]))
            cid = draw(st.sampled_from([fam, f"{fam}{i}"]))
            out.append(version(cid, freq, draw(st.sampled_from(ids + [f"{fam}-missing"])),
                               paid=f"{draw(st.integers(1, 99))}.00", seq=draw(st.sampled_from([None, 1, 2])),
                               adjudicated=draw(st.sampled_from([None, *DAYS])),
                               received=draw(st.sampled_from([None, *DAYS])), n=i, loaded=draw(st.integers(0, 500))))
            ids.append(cid)
    return out


@settings(max_examples=150, deadline=None)
@given(claim_sets(), st.randoms(use_true_random=False), st.lists(st.integers(0, 30), max_size=6))
def test_any_arrival_order_with_duplicates_gives_the_same_current_versions(claims, rnd, again):
    expected = {f: str(c.event_id) for f, c in current_versions(claims).items()}
    arrivals = list(claims) + [claims[i % len(claims)] for i in again if claims]
    # a file loaded again days later: the same content-derived event ids, a later load time
    arrivals += [c.model_copy(update={"occurred_at": c.occurred_at + timedelta(days=3)}) for c in claims[:2]]
    rnd.shuffle(arrivals)
    got = current_versions(arrivals)
    assert {f: (c.claim_id, c.frequency_code, c.lines[0].paid_amount) for f, c in got.items()} == {
        f: (c.claim_id, c.frequency_code, c.lines[0].paid_amount) for f, c in current_versions(claims).items()}
    assert set(got) == set(expected)


def test_claim_ids_that_name_each_other_decide_the_same_in_every_order():
    from itertools import permutations

    vs = [version("A"), version("B", "7", "A", paid="11.00"), version("A", "7", "B", paid="12.00"),
          version("C", "7", "A", paid="13.00")]  # A and B name each other (bad data)
    results = {tuple(counted(list(p))) for p in permutations(vs)}
    assert len(results) == 1
