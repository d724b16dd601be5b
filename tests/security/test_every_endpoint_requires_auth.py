"""Every endpoint of every service requires authentication.

The test walks each app's routes (``app.routes``: the OpenAPI operations and the routes kept
out of the schema, such as the nurse page) and calls every method of every path without
credentials, with an unknown key, and with a key offered the wrong way (as a cookie or a
query parameter): each answers 401 — the nurse page's HTML routes instead send the browser
to ``/login`` (303), the member portal's to ``/signin`` — and no answer carries member data. The apps hold seeded members and
tasks, so a leak would show. Open by design: ``/healthz``, ``/metrics``, ``/openapi.json``,
``/docs``, ``/redoc``, the page's ``/login`` and ``/logout``, the portal's sign-in routes, and
``/static``. The member portal is checked with the others here (its API is FHIR patient access
with a bearer token; its pages use the member's session).
"""

from __future__ import annotations

import pytest
from fastapi.routing import APIRoute
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from tests.fuzz.apps import SERVICES, build_app, fill_path, settings_for
from tests.fuzz.seed import seed

OPEN = {"/healthz", "/metrics", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc", "/login", "/logout",
        "/fhir/metadata",  # notifications: the FHIR CapabilityStatement (topics only; FHIR and SMART clients read it first)
        "/hospitalist/login", "/hospitalist/logout", "/hospitalist/static/{name}",
        "/signin", "/signin/oidc", "/signin/oidc/callback", "/signout"}  # portal: a member signs in and out
PAGE_SERVICES = {"outreach", "risk", "portal"}  # services whose non-API HTML routes use the page's session cookie
SECURED = (*SERVICES, "portal")  # the member portal: members, not staff keys (tests/fuzz/member.py)


@pytest.fixture(scope="module")
def apps(module_topics, module_databases, tmp_path_factory):
    opened: dict = {}

    def app_for(service: str):
        if service not in opened:
            url = module_databases()
            app = build_app(service, settings_for(service, database_url=url, kafka=module_topics,
                                                  var_dir=tmp_path_factory.mktemp(service)))
            client = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
            client.__enter__()
            opened[service] = (app, client, seed(service, app, client, url))
        return opened[service]

    yield app_for
    for _, client, _ in opened.values():
        client.__exit__(None, None, None)


def flat_routes(routes, prefix: str = ""):
    """Routes with their full paths, through included routers (FastAPI keeps those as
    ``_IncludedRouter`` entries of ``app.routes``)."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from flat_routes(included.routes, prefix + route.include_context.prefix)
        else:
            yield prefix, route


def routes_of(app) -> list[tuple[str, str, bool]]:
    """(method, path, in the OpenAPI document) for every route; mounts (static files) excluded."""
    out = []
    for prefix, route in flat_routes(app.routes):
        if isinstance(route, Mount):
            assert route.path == "/static", f"unexpected mount {route.path}"
            continue
        assert isinstance(route, Route), route
        for method in sorted(route.methods or ()):
            if method != "HEAD":
                out.append((method, prefix + route.path, isinstance(route, APIRoute) and route.include_in_schema))
    return out


ATTEMPTS = {
    "no credentials": {},
    "an unknown key": {"headers": {"Authorization": "Bearer not-a-key", "X-API-Key": "not-a-key"}},
    "a key in a cookie": {"cookies": {"ccp_session": "dev-admin", "api_key": "dev-admin"}},
    "a key in the query": {"params": {"api_key": "dev-admin", "key": "dev-admin", "token": "dev-admin"}},
}


@pytest.mark.parametrize("service", SECURED)
def test_every_route_refuses_a_caller_without_valid_credentials(service, apps):
    app, client, known = apps(service)
    routes = routes_of(app)
    checked, problems = 0, []
    secrets_in_data = [v for values in known.values() for v in values if v.startswith("FZ-")]
    for method, path, in_schema in routes:
        if path in OPEN:
            continue
        url = path
        for name, values in known.items():
            url = url.replace("{%s}" % name, values[0])
        url = fill_path(url)
        page = (service in PAGE_SERVICES or path.startswith("/hospitalist")) and not in_schema \
            and not path.startswith("/api/")
        for what, kw in ATTEMPTS.items():
            client.cookies.clear()
            r = client.request(method, url, json={} if method in ("POST", "PUT", "PATCH") else None, **kw)
            checked += 1
            if page:
                ok = r.status_code == 401 or (r.status_code in (302, 303, 307)
                                              and r.headers.get("location", "").startswith(
                                                  ("/login", "/hospitalist/login", "/signin")))
            else:
                ok = r.status_code == 401 and r.headers.get("www-authenticate", "").startswith("Bearer")
            if not ok:
                problems.append(f"{method} {path} with {what}: {r.status_code} {r.text[:100]!r}")
            leaked = [s for s in secrets_in_data if s in r.text]
            if leaked:
                problems.append(f"{method} {path} with {what}: member data in the answer")
    assert checked >= 4 * len([r for r in routes if r[1] not in OPEN]) > 0
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("service", SECURED)
def test_the_open_routes_hold_no_member_data(service, apps):
    app, client, known = apps(service)
    seeded = [v for values in known.values() for v in values if v.startswith("FZ-")]
    for method, path, _ in routes_of(app):
        if path in OPEN and method == "GET":
            r = client.get(path)
            assert r.status_code < 500, (path, r.status_code)
            assert not [s for s in seeded if s in r.text], f"{path} shows member data"
