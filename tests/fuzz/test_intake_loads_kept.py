"""Bad claims and roster files through the intake API (upload → parser → Kafka), on a real
PostgreSQL and the real broker: every upload gets a report (never a 5xx), the report counts
every rejection as dead-lettered, and the dead letters are on ``<topic>.dlq`` with the load's
id — the file's bad records are kept even though the upload's temporary file is deleted."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from starlette.testclient import TestClient

from shared.topics import CLAIMS, ROSTER
from tests.support.procs import read_topic

from .apps import ADMIN, build_app, settings_for
from .budget import budget
from .corpus import claims_csv_text, claims_json_text, roster_csv_text, x12_text

uploads = st.one_of(
    st.tuples(st.just("/claims/files?format=x12&force=true"), x12_text),
    st.tuples(st.just("/claims/files?format=csv&force=true"), claims_csv_text),
    st.tuples(st.just("/claims/files?format=json&force=true"), claims_json_text),
    st.tuples(st.just("/claims/files?force=true"), st.one_of(x12_text, claims_csv_text)),  # format detected
    st.tuples(st.just("/roster/files"), roster_csv_text),
)


def test_every_rejected_record_of_an_upload_is_dead_lettered(module_topics, module_databases, tmp_path):
    settings = settings_for("intake", database_url=module_databases(), kafka=module_topics, var_dir=tmp_path)
    loads: dict[str, dict[str, int]] = {CLAIMS: {}, ROSTER: {}}
    failures: list[str] = []
    with TestClient(build_app("intake", settings), raise_server_exceptions=False) as client:

        @budget(40)
        @given(uploads)
        def upload(case):
            url, text = case
            if not text.strip():
                return  # an empty upload is refused before any load (422)
            r = client.post(url, content=text.encode("utf-8", "replace"), headers=ADMIN)
            if r.status_code >= 500:
                failures.append(f"{url} -> {r.status_code} {r.text[:120]!r}")
                return
            assert r.status_code == 200, r.text
            report = r.json()
            assert report["status"] in ("done", "rejected", "duplicate"), report  # terminal, never "running"
            if report["status"] == "rejected":
                assert report["error"] and report["accepted"] == 0, report
            assert report["rejected"] == report["dead_lettered"], report
            by_load = loads[ROSTER if url.startswith("/roster") else CLAIMS]
            by_load[report["load_id"]] = by_load.get(report["load_id"], 0) + report["dead_lettered"]

        upload()
    assert not failures, "\n".join(failures)
    for topic, by_load in loads.items():
        expected = sum(by_load.values())
        dead = read_topic(settings, settings.topic(topic + ".dlq"), expect=expected, timeout=30, settle=1.0)
        mine = [m for m in dead if dict(m.headers()).get("intake.load_id", b"").decode() in by_load]
        assert len(mine) == expected, f"{topic}.dlq holds {len(mine)} of {expected} rejected records"
        assert all(m.value() for m in mine), "a dead letter without the rejected text"
        print(f"\n{topic}: {len(by_load)} loads, {expected} rejected records, all on {topic}.dlq")
