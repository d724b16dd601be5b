"""837P/837I envelopes, counts and control numbers, loops, adjustments; pyx12 reads and validates them."""

from __future__ import annotations

import io
from collections import Counter
from datetime import date

import pyx12.params
import pyx12.x12file
import pyx12.x12n_document
import pytest

from carectl.synth import SynthConfig, generate, load_manifest


def _segments(path):
    raw = path.read_text(encoding="ascii")
    return raw, [s.strip() for s in raw.split("~") if s.strip()]


def _x12_files(out):
    for entry in load_manifest(out)["files"]["claims"]:
        for key, kind in (("x12_837p", "P"), ("x12_837i", "I")):
            if entry[key]:
                yield out / entry[key], kind, entry


def test_envelopes_counts_and_control_numbers(small_dir):
    files = list(_x12_files(small_dir))
    assert {k for _, k, _ in files} == {"P", "I"}
    for path, kind, entry in files:
        raw, segs = _segments(path)
        assert raw.index("~") == 105, "ISA is fixed width: 106 characters with its terminator"
        isa = segs[0].split("*")
        assert len(isa) == 17 and isa[11] == "^" and isa[16] == ":"
        gs, ge, iea = segs[1].split("*"), segs[-2].split("*"), segs[-1].split("*")
        assert iea[0] == "IEA" and iea[1] == "1" and iea[2] == isa[13]
        assert int(isa[13]) == entry["isa_control"]["837" + kind]
        assert ge[0] == "GE" and ge[2] == gs[6]
        assert gs[8] == ("005010X222A1" if kind == "P" else "005010X223A2")
        n_st = 0
        i = 2
        while segs[i].startswith("ST*"):
            st = segs[i].split("*")
            j = next(k for k in range(i, len(segs)) if segs[k].startswith("SE*"))
            se = segs[j].split("*")
            assert int(se[1]) == j - i + 1, "SE01 counts the segments from ST to SE"
            assert se[2] == st[2]
            assert st[3] == gs[8]
            _check_hl(segs[i:j + 1])
            n_st += 1
            i = j + 1
        assert int(ge[1]) == n_st and i == len(segs) - 2
        assert sum(1 for s in segs if s.startswith("CLM*")) == entry["institutional" if kind == "I" else "professional"]


def _check_hl(tx):
    seen = {}
    expected = 1
    for s in tx:
        if s.startswith("HL*"):
            f = s.split("*")
            assert int(f[1]) == expected
            expected += 1
            assert f[3] in ("20", "22")
            if f[3] == "22":
                assert seen[f[2]] == "20", "a subscriber hangs under a billing provider"
            seen[f[1]] = f[3]


def test_claim_segments_by_kind(small_dir):
    for path, kind, _ in _x12_files(small_dir):
        _, segs = _segments(path)
        ids = [s.split("*")[:3] for s in segs]
        clms = [s for s in segs if s.startswith("CLM*")]
        for c in clms:
            f = c.split("*")
            facility, qual, freq = f[5].split(":")
            assert freq in ("1", "7", "8")
            assert qual == ("B" if kind == "P" else "A")
            if kind == "I":
                assert facility in ("11", "13")
        assert any(i[:2] == ["NM1", "IL"] for i in ids)
        assert all(s.split("*")[8] == "MI" for s in segs if s.startswith("NM1*IL*"))
        assert any(s.startswith("HI*ABK:") for s in segs)
        if kind == "P":
            assert any(s.startswith("SV1*HC:") for s in segs)
            assert any(s.startswith("NM1*82*") for s in segs)
        else:
            assert any(s.startswith("SV2*0120**") and "*DA*" in s for s in segs) or not any("*11:A:" in c for c in clms)
            assert any(s.startswith("DTP*434*RD8*") for s in segs)
            assert any(s.startswith("CL1*") for s in segs)
        assert sum(s.startswith("LX*") for s in segs) == sum(s.startswith("DTP*472*") for s in segs)
        assert sum(s.startswith("LX*") for s in segs) == sum(s.startswith("SVD*") for s in segs)


def test_adjustments_reference_earlier_claims_in_x12(small_dir):
    seen: dict[str, set[str]] = {"P": set(), "I": set()}
    freq = Counter()
    for path, kind, _ in _x12_files(small_dir):
        _, segs = _segments(path)
        current = None
        for s in segs:
            if s.startswith("CLM*"):
                f = s.split("*")
                current = (f[1], f[5].split(":")[2])
                freq[current[1]] += 1
                seen[kind].add(f[1])
                if current[1] == "1":
                    current = None
            elif s.startswith("REF*F8*"):
                assert current is not None, "REF*F8 only on replacements and voids"
                assert s.split("*")[2] in seen[kind] and s.split("*")[2] != current[0]
                current = None
            elif s.startswith("HI*") and current is not None:
                pytest.fail("replacement or void without REF*F8")
    assert freq["7"] > 0 and freq["8"] > 0


def test_pyx12_tokenizes_every_file(small_dir):
    for path, kind, entry in _x12_files(small_dir):
        ids = [seg.get_seg_id() for seg in pyx12.x12file.X12Reader(str(path))]
        assert len(ids) == entry["segments"]["837" + kind] + 4     # + ISA GS GE IEA
        assert ids.count("CLM") == entry["institutional" if kind == "I" else "professional"]


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny")
    generate(SynthConfig(members=120, seed=8, start=date(2026, 3, 1), months=1, claim_batch="month",
                         replacement_rate=0.1, void_rate=0.1), out)
    return out


def test_pyx12_validates_837p_and_837i_against_the_5010_maps(tiny_dir):
    params = pyx12.params.params()
    checked = 0
    for path, kind, _ in _x12_files(tiny_dir):
        ack = io.StringIO()
        with open(path, encoding="ascii") as src:
            ok = pyx12.x12n_document.x12n_document(params, src, ack, None, None)
        assert ok, f"{path.name}: {ack.getvalue()}"
        assert "IK5*A" in ack.getvalue()
        checked += 1
    assert checked >= 2


def test_without_paid_amounts_no_adjudication_loops(tmp_path):
    generate(SynthConfig(members=150, seed=4, months=1, include_paid=False), tmp_path)
    for path, _, _ in _x12_files(tmp_path):
        _, segs = _segments(path)
        assert not any(s.startswith(("SVD*", "AMT*D*", "CAS*", "OI*")) for s in segs)
        assert all(s.startswith("SBR*P*") for s in segs if s.startswith("SBR*"))
