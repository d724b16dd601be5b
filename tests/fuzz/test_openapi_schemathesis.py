"""Schemathesis against each service's OpenAPI document: zero 5xx.

Every operation of every service (admissions, gaps, outreach, billing, risk, notifications, intake) gets
schema-conforming (positive) and schema-violating (negative) requests, sent with valid development
credentials (admin, plus a role with narrower rights: hospitalist, nurse, ops, practice), to the app
built by ``create_api(settings)`` on a real PostgreSQL database and the real broker. A response of
500 or more — or an exception escaping the app — is a failure; all of them are collected and
listed together. ``/alerts/stream`` (Server-Sent Events, open-ended) is excluded.

The member portal is fuzzed as its seeded member signed in through the test OpenID provider
(``member.py``: a bearer access token, and a browser session), on its OpenAPI document (the FHIR
patient-access API) plus the member's message pages described by the test. Its answers must also
conform to its document (``CONFORMANCE``: documented status codes, content types, headers and
response schemas).

Budget: ``SCHEMATHESIS_EXAMPLES`` cases per operation and mode (default 8; times FUZZ_SCALE);
the ``slow`` variant runs eight times as many, drawn afresh each run.
"""

from __future__ import annotations

import copy
import os
import time
from collections import Counter
from contextlib import ExitStack

import pytest
from hypothesis import given
from hypothesis.errors import Unsatisfiable

schemathesis = pytest.importorskip("schemathesis", minversion="4.0",
                                   reason="schemathesis 4.x belongs in the test extra (pip install schemathesis)")
GenerationMode = schemathesis.GenerationMode
from schemathesis.core.failures import FailureGroup  # noqa: E402

from .apps import IDENTITIES, SERVICES, build_app, settings_for
from .budget import budget
from .member import Provider, client_settings, member_identities, page_operations
from .seed import seed

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "8"))
EXCLUDED = {("GET", "/alerts/stream")}
# Longer than a write's own deadline (Kafka's acknowledgement, 10 s, and the wait around it): a slow
# write is then answered by the service (503, retried below) rather than cut by the test client.
CALL_TIMEOUT_S = 30
# A stall of the shared machine (seen once in CI: two writes in a row not confirmed by Kafka within
# 10 s while the whole suite ran on 2 cores) is outlasted; a 503 that persists this long is a defect.
RETRY_503_FOR_S = 60

FUZZED = (*SERVICES, "portal")
# Services whose answers are also checked against their OpenAPI document.
CONFORMANCE = {"portal"}

totals: Counter[str] = Counter()


def conformance_checks() -> list:
    from schemathesis.specs.openapi.checks import (
        content_type_conformance, response_headers_conformance, response_schema_conformance,
        status_code_conformance,
    )

    return [status_code_conformance, content_type_conformance, response_headers_conformance,
            response_schema_conformance]


@pytest.fixture(scope="module")
def served(module_topics, module_databases, tmp_path_factory):
    from schemathesis.python import asgi

    apps: dict = {}
    stack = ExitStack()
    # schemathesis's pytest plugin ends every ASGI lifespan at each test's teardown; an app's next
    # request then starts its lifespan again, but what create_api built (the API's Kafka producer,
    # closed by the first shutdown) is not rebuilt: every later write of the module waited for a
    # producer whose thread had stopped (12 s, 503, retried: a CI that never finished). These apps
    # live for the module, so their lifespans end once, here, at its end.
    end_lifespans = asgi.shutdown_lifespans
    asgi.shutdown_lifespans = lambda: None

    def app_for(service: str):
        """(app, seeded path and query values, identities, operations the test describes)."""
        if service not in apps:
            url = module_databases()
            idp = stack.enter_context(Provider()) if service == "portal" else None
            settings = settings_for(service, database_url=url, kafka=module_topics,
                                    var_dir=tmp_path_factory.mktemp(service),
                                    **(client_settings(idp) if idp else {}))
            app = build_app(service, settings)
            with asgi.get_client(app) as client:  # starts the app's lifespan (kept until the end)
                known = seed(service, app, client, url)
            identities, pages = IDENTITIES.get(service, ()), {}
            if idp is not None:
                identities, csrf = member_identities(app, idp, known["patient_id"][0])
                pages = page_operations(csrf)
            apps[service] = (app, known, identities, pages)
        return apps[service]

    yield app_for

    asgi.shutdown_lifespans = end_lifespans
    end_lifespans()  # producers flushed, pools closed before the databases are dropped
    stack.close()
    print("\nschemathesis calls by status class:", dict(sorted(totals.items())))


def retry_after(headers) -> float:
    """Seconds of a response's Retry-After (schemathesis gives each header as a list of values); 1 when
    absent or not a number, at most 10."""
    value = headers.get("retry-after") or headers.get("Retry-After") or "1"
    if isinstance(value, (list, tuple)):
        value = value[0] if value else "1"
    try:
        return min(max(float(value), 0.0), 10.0)
    except (TypeError, ValueError):
        return 1.0


def exercise(schema, identities, examples: int, known: dict[str, list[str]],
             randomize: bool = False, checks: list | None = None) -> tuple[Counter, list[str]]:
    statuses: Counter[str] = Counter()
    failures: dict[tuple, str] = {}
    for result in schema.get_all_operations():
        op = result.ok()
        if (op.method.upper(), op.path) in EXCLUDED:
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @budget(examples, randomize=randomize)
            @given(case=op.as_strategy(generation_mode=mode))
            def send(case):
                for headers in identities:
                    call(case, headers)
                    names = set(case.path_parameters or {}) & set(known)
                    queried = {"?" + k for k in case.query or {}} & set(known)
                    if names or queried:  # again, naming seeded rows (a real task, member, contract)
                        generated, asked = dict(case.path_parameters or {}), case.query
                        n = sum(map(ord, str(generated) + str(asked)))
                        case.path_parameters = {**generated, **{k: known[k][n % len(known[k])] for k in names}}
                        if queried:
                            case.query = {**asked, **{k[1:]: known[k][n % len(known[k])] for k in queried}}
                        call(case, headers)
                        case.path_parameters, case.query = generated, asked

            def call(case, headers):
                try:
                    response = case.call(headers=headers, timeout=CALL_TIMEOUT_S)
                    retry_until = time.monotonic() + RETRY_503_FOR_S
                    while response.status_code == 503 and time.monotonic() < retry_until:
                        # "try again" (Kafka or the database did not confirm in time: a stall of the
                        # shared machine, not of the input): the same case again after its
                        # Retry-After, as a real client does, for up to RETRY_503_FOR_S; only a 503
                        # that outlasts that counts. Every write waits for Kafka's acknowledgement.
                        statuses["503 retried"] += 1
                        time.sleep(retry_after(response.headers))
                        response = case.call(headers=headers, timeout=CALL_TIMEOUT_S)
                except Exception as exc:  # noqa: BLE001 - an exception escaping the app is a 500
                    statuses["exception"] += 1
                    failures.setdefault((op.method, op.path, type(exc).__name__),
                                        f"{op.method.upper()} {op.path} raised {type(exc).__name__}: "
                                        f"{str(exc)[:200]} (case: {case.path_parameters} "
                                        f"{case.query} {str(case.body)[:200]!r})")
                    return
                statuses[f"{response.status_code // 100}xx"] += 1
                if response.status_code >= 500:
                    failures.setdefault((op.method, op.path, response.status_code),
                                        f"{op.method.upper()} {op.path} -> {response.status_code} "
                                        f"{response.text[:200]!r} (case: {case.path_parameters} "
                                        f"{case.query} {str(case.body)[:200]!r})")
                elif checks:
                    try:
                        case.validate_response(response, checks=checks, headers=headers)
                    except FailureGroup as group:  # the answer is not what the document says
                        statuses["nonconforming"] += 1
                        for failure in group.exceptions:
                            failures.setdefault((op.method, op.path, response.status_code, failure.title),
                                                f"{op.method.upper()} {op.path} -> {response.status_code}: "
                                                f"{failure.title}: {str(failure.message)[:300]} (case: "
                                                f"{case.path_parameters} {case.query} {str(case.body)[:200]!r})")

            try:
                send()
            except Unsatisfiable:
                statuses["no negative case"] += 1  # nothing in the operation can be made invalid (no parameters)
    return statuses, list(failures.values())


@pytest.mark.parametrize("service", FUZZED)
def test_no_request_gets_a_server_error(service, served):
    check_service(service, served, EXAMPLES)


@pytest.mark.slow
@pytest.mark.parametrize("service", FUZZED)
def test_no_request_gets_a_server_error_long(service, served):
    check_service(service, served, EXAMPLES * 8, randomize=True)


def check_service(service: str, served, examples: int, randomize: bool = False) -> None:
    app, known, identities, pages = served(service)
    if pages:  # the app's own document and the operations the test describes
        spec = copy.deepcopy(app.openapi())
        spec["paths"].update(pages)
        schema = schemathesis.openapi.from_dict(spec)
        schema.app = app
    else:
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    checks = conformance_checks() if service in CONFORMANCE else None
    statuses, failures = exercise(schema, identities, examples, known, randomize, checks)
    totals.update(statuses)
    print(f"\n{service}: {sum(statuses.values())} calls {dict(sorted(statuses.items()))}")
    assert sum(statuses.values()) > 0
    assert not failures, f"{len(failures)} operation(s) answered 5xx or off their schema:\n" + "\n".join(failures)
