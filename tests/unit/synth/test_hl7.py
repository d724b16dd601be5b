"""ADT files: every trigger, python-hl7 parses the good ones, malformed ones are flagged, escaping."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import datetime

import hl7
import pytest

from shared.events.adt import SUPPORTED_TRIGGERS

from carectl.synth import SynthConfig, hl7_escape, iter_adt, load_manifest, read_hl7_file
from carectl.synth import reference as ref
from carectl.synth.care import CareHistory, EdVisit, Registration
from carectl.synth.hl7v2 import AdtBuilder
from carectl.synth.population import make_person


def _hl7_dt(value: str) -> datetime:
    return datetime.strptime(value, "%Y%m%d%H%M%S%z")


def test_every_supported_trigger_is_generated(year_dir):
    triggers = Counter(it.data.trigger for it in iter_adt(year_dir) if it.data.expect == "accept")
    assert set(triggers) == set(SUPPORTED_TRIGGERS)
    assert triggers["A04"] > triggers["A01"] > triggers["A11"] > 0


def test_good_messages_parse_with_python_hl7_and_carry_the_fields(small_dir):
    n = 0
    control_ids = set()
    for it in iter_adt(small_dir):
        a = it.data
        if a.expect != "accept":
            continue
        text = a.message.decode("ascii")
        assert "\n" not in text and text.endswith("\r")
        msg = hl7.parse(text)
        msh = msg.segment("MSH")
        assert str(msh[9][0][0]) == "ADT" and str(msh[9][0][1]) == a.trigger
        assert str(msh[10]) == a.control_id and str(msh[12]) == "2.5.1"
        assert str(msh[4]) == a.facility
        evn = msg.segment("EVN")
        event = _hl7_dt(str(evn[2]))
        assert event <= _hl7_dt(str(msh[7])) == it.at
        pid = msg.segment("PID")
        assert str(pid[3][0][3]) == a.facility and str(pid[3][0][4]) == "MR"
        assert a.patient_key == f"{a.facility}|{pid[3][0][0]}"
        if a.trigger == "A40":
            assert msg.segment("MRG")[1][0][0]
        else:
            pv1 = msg.segment("PV1")
            assert str(pv1[2]) == a.patient_class
            assert str(pv1[19]) == a.visit_number
            assert str(pv1[3][0][3]) == a.facility
            if a.trigger == "A03":
                assert str(pv1[36]) and _hl7_dt(str(pv1[45])) == event
            if a.trigger in ("A01", "A04", "A03"):
                assert msg.segments("DG1")
        control_ids.add(a.control_id)
        n += 1
    assert n > 200 and len(control_ids) == n, "MSH-10 is unique per message"


def test_ed_visits_register_as_class_e_then_discharge(year_dir):
    visits = defaultdict(list)
    for it in iter_adt(year_dir):
        if it.data.expect == "accept" and it.data.patient_class == "E":
            visits[(it.data.facility, it.data.visit_number)].append((it.at, it.data.trigger))
    ed_only = [v for v in visits.values() if v[-1][1] == "A03"]
    assert len(ed_only) > 1000
    for v in ed_only:
        assert v[0][1] == "A04"
        assert [t for _, t in v] == [t for _, t in sorted(v)]


def test_some_patients_are_not_on_the_roster_or_not_matchable(year_dir):
    items = [it.data for it in iter_adt(year_dir) if it.data.expect == "accept"]
    strangers = sum(1 for a in items if not a.member_id)
    unmatched_members = sum(1 for a in items if a.member_id and not a.matchable)
    assert 0.05 < strangers / len(items) < 0.16
    assert unmatched_members > 0
    roster_keys = set()
    import csv
    with open(year_dir / "roster.csv", newline="") as fh:
        for r in csv.DictReader(fh):
            roster_keys |= {p.replace(":", "|") for p in r["mrns"].split(";") if p}
    for a in items[:3000]:
        assert a.matchable == (a.patient_key in roster_keys)


def test_malformed_messages_are_flagged_by_kind(small_dir):
    manifest = load_manifest(small_dir)
    bad = [it.data for it in iter_adt(small_dir) if it.data.expect == "reject"]
    assert len(bad) == manifest["counts"]["adt_malformed"] > 0
    kinds = Counter(a.malformed for a in bad)
    assert set(kinds) == set(manifest["config"]["malformed_kinds"])
    for a in bad:
        m = a.message
        if a.malformed == "garbage":
            assert not m.startswith(b"MSH") and b"\n" not in m and b"\x1c" not in m and b"\x0b" not in m
            continue
        text = m.decode("ascii")
        if a.malformed == "no_msh":
            assert text.startswith("EVN|") and "MSH|" not in text
            continue
        msg = hl7.parse(text)
        if a.malformed == "missing_pid3":
            assert str(msg.segment("PID")[3]) == ""
        elif a.malformed == "unknown_trigger":
            assert str(msg.segment("MSH")[9][0][1]) not in SUPPORTED_TRIGGERS
        elif a.malformed == "bad_date":
            with pytest.raises(ValueError):
                _hl7_dt(str(msg.segment("EVN")[2]))
        elif a.malformed == "non_adt":
            assert str(msg.segment("MSH")[9][0][0]) == "ORU"


def test_default_malformed_rate_is_about_half_a_percent(year_dir):
    c = load_manifest(year_dir)["counts"]
    assert 0.002 < c["adt_malformed"] / c["adt_messages"] < 0.009


def test_index_rows_line_up_with_messages(small_dir):
    for entry in load_manifest(small_dir)["files"]["adt"]:
        msgs = list(read_hl7_file(small_dir / entry["path"]))
        assert len(msgs) == entry["messages"]
    times = [it.at for it in iter_adt(small_dir)]
    assert times == sorted(times)


def test_escape_covers_every_delimiter():
    assert hl7_escape("A|B^C&D~E\\F") == "A\\F\\B\\S\\C\\T\\D\\R\\E\\E\\F"


@pytest.mark.parametrize("family", ref.FAMILY_DELIMITED)
def test_names_with_delimiters_survive_a_round_trip(family):
    cfg = SynthConfig(members=1, seed=1)
    hospitals = ref.make_hospitals(cfg.hospitals)
    person = make_person(cfg, hospitals, ref.make_practices(2, len(hospitals)), 0)
    person.family_name = family
    person.street = "1 Pipe|Caret^ Rd"
    start = datetime(2026, 2, 3, 10, 0)
    visit = EdVisit(Registration(0, "1234567", True), "V1", start, start.replace(hour=13),
                    [("R112", "Nausea & vomiting ^ r/o ~ \\ | x")], "99284")
    builder = AdtBuilder(hospitals, cfg.tz)
    recs = builder.messages(CareHistory(person, ed_visits=[visit]), random.Random(1))
    assert [r.trigger for r in recs][0] == "A04" and recs[-1].trigger == "A03"
    msg = hl7.parse(recs[0].render("CTRL1"))
    pid = msg.segment("PID")
    assert msg.unescape(str(pid[5][0][0])) == family
    assert msg.unescape(str(pid[11][0][0])) == "1 Pipe|Caret^ Rd"
    assert str(pid[3][0][0]) == "1234567"
    assert msg.unescape(str(msg.segment("DG1")[3][0][1])) == "Nausea & vomiting ^ r/o ~ \\ | x"
