"""Bad values at every JSON endpoint, on a real PostgreSQL and the real broker: 4xx, never 5xx,
and what a load rejects is dead-lettered.

- a NUL character (or an out-of-range number) in any path or query parameter: PostgreSQL
  refuses such values, which must come back as 422, not as a 500;
- arbitrary JSON bodies (any shape, any type, any size within reason) at every endpoint that
  takes JSON, for an admin: never a 5xx; a roster or claims load that rejects items
  dead-letters every one of them (``rejected == dead_lettered`` in the report).
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.testclient import TestClient

from .apps import ADMIN, NURSE, SERVICES, build_app, fill_path, settings_for
from .budget import budget
from .corpus import json_values
from .seed import seed

# shared.http.install_error_handlers answers 422 for values the database refuses (DataError).
KNOWN_NUL_500: dict[str, str] = {}


@pytest.fixture(scope="module")
def clients(module_topics, module_databases, tmp_path_factory):
    opened: dict = {}

    def client_for(service: str):
        if service not in opened:
            url = module_databases()
            app = build_app(service, settings_for(service, database_url=url, kafka=module_topics,
                                                  var_dir=tmp_path_factory.mktemp(service)))
            client = TestClient(app, raise_server_exceptions=False)
            client.__enter__()
            opened[service] = (client, seed(service, app, client, url))
        return opened[service]

    yield client_for
    for client, _ in opened.values():
        client.__exit__(None, None, None)


def operations(client) -> list[tuple[str, str, dict]]:
    spec = client.get("/openapi.json").json()
    return [(method.upper(), path, op) for path, ops in spec["paths"].items() for method, op in ops.items()
            if path != "/alerts/stream"]


@pytest.mark.parametrize("service", [
    pytest.param(s, marks=pytest.mark.xfail(strict=True, reason=KNOWN_NUL_500[s])) if s in KNOWN_NUL_500 else s
    for s in SERVICES])
def test_a_nul_or_an_out_of_range_number_in_any_parameter_is_4xx(service, clients):
    client, _ = clients(service)
    failures, calls = [], 0
    for method, path, op in operations(client):
        for p in op.get("parameters", []):
            if p["in"] not in ("path", "query"):
                continue
            for bad in ("\x00x", str(2 ** 70)):
                if p["in"] == "path":
                    url, params = fill_path(path.replace("{%s}" % p["name"], bad.replace("\x00", "%00"))), {}
                else:
                    url, params = fill_path(path), {p["name"]: bad}
                r = client.request(method, url, params=params, headers=ADMIN,
                                   json={} if method == "POST" else None)
                calls += 1
                if r.status_code >= 500:
                    failures.append(f"{method} {path} {p['in']} {p['name']}={bad[:6]!r}: {r.status_code}")
    assert calls
    assert not failures, "\n".join(failures)


def test_a_nul_in_a_task_note_is_refused_as_bad_input_not_as_try_again(clients):
    client, known = clients("outreach")
    task_id = known["task_id"][0]
    task = client.get(f"/api/tasks/{task_id}", headers=NURSE)
    assert task.status_code == 200, task.text
    claimed = client.post(f"/api/tasks/{task_id}/claim", json={"expected_version": task.json()["version"]},
                          headers=NURSE)
    assert claimed.status_code == 200, claimed.text
    r = client.post(f"/api/tasks/{task_id}/attempts", headers=NURSE, json={
        "expected_version": claimed.json()["version"], "channel": "phone", "outcome": "no_answer", "note": "a\x00b"})
    assert r.status_code == 422, r.text
    assert "\x00" not in r.text


json_bodies = st.one_of(json_values, st.lists(json_values, max_size=3),
                        st.dictionaries(st.text(max_size=15), json_values, max_size=6))


def _no_nul(value):
    """NUL characters are covered above (some services still answer 500 for them)."""
    return "\x00" not in json.dumps(value)


# JSON endpoints that read the body themselves (no requestBody in their OpenAPI operation)
RAW_JSON_TARGETS = {"admissions": [("POST", "/ingest/adt")]}


NO_JSON_BODIES = {"risk", "gaps"}  # services whose API takes no JSON request body (reads and form posts only)


@pytest.mark.parametrize("service", [s for s in SERVICES if s not in NO_JSON_BODIES])
def test_arbitrary_json_bodies_get_an_answer_not_a_server_error(service, clients):
    client, known = clients(service)
    targets = [(method, path) for method, path, op in operations(client)
               if method == "POST" and "application/json" in (op.get("requestBody") or {}).get("content", {})]
    targets += RAW_JSON_TARGETS.get(service, [])
    assert targets
    failures: list[str] = []
    unkept: list[str] = []

    @budget(25)
    @given(st.sampled_from(targets), json_bodies.filter(_no_nul))
    def send(target, body):
        method, path = target
        url = path
        for name, values in known.items():
            url = url.replace("{%s}" % name, values[0])
        url = fill_path(url)
        r = client.request(method, url, json=body, headers=ADMIN)
        if r.status_code >= 500:
            failures.append(f"{method} {path} -> {r.status_code} {r.text[:120]!r} body={json.dumps(body)[:160]}")
        elif r.status_code == 200 and path in ("/claims", "/roster/members"):
            report = r.json()
            if report.get("rejected", 0) != report.get("dead_lettered", 0):
                unkept.append(f"{path}: rejected {report.get('rejected')} dead-lettered {report.get('dead_lettered')}")

    send()
    assert not failures, "\n".join(sorted(set(failures)))
    assert not unkept, "\n".join(unkept)
